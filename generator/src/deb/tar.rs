//! Deterministic gzip'd tar members: sorted entries, root:root, fixed
//! mtime, explicit modes, parent directories listed before their children.

use std::collections::BTreeSet;

use flate2::Compression;
use flate2::GzBuilder;

/// One regular file to archive.
pub struct Entry<'a> {
    /// Path relative to the archive root, without leading `./`.
    pub path: &'a str,
    /// Content.
    pub data: &'a [u8],
    /// Permission bits.
    pub mode: u32,
}

/// A `tar.gz` of `entries` (and their parent directories, mode 0755).
pub fn tar_gz(entries: &[Entry<'_>], epoch: u64) -> Vec<u8> {
    let mut dirs = BTreeSet::new();
    for e in entries {
        let mut p = e.path;
        while let Some((parent, _)) = p.rsplit_once('/') {
            dirs.insert(parent.to_owned());
            p = parent;
        }
    }
    let mut items: Vec<(String, Option<&Entry<'_>>)> = dirs
        .into_iter()
        .map(|d| (format!("./{d}/"), None))
        .collect();
    items.extend(entries.iter().map(|e| (format!("./{}", e.path), Some(e))));
    items.sort_by(|a, b| a.0.cmp(&b.0));

    let mut builder = tar::Builder::new(Vec::new());
    builder.mode(tar::HeaderMode::Deterministic);
    let mut append = |path: &str, entry: Option<&Entry<'_>>| {
        let mut h = tar::Header::new_gnu();
        h.set_mtime(epoch);
        h.set_uid(0);
        h.set_gid(0);
        h.set_username("root").expect("fits");
        h.set_groupname("root").expect("fits");
        match entry {
            None => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(0o755);
                h.set_size(0);
                builder
                    .append_data(&mut h, path, std::io::empty())
                    .expect("writing to a Vec cannot fail");
            }
            Some(e) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(e.mode);
                h.set_size(e.data.len() as u64);
                builder
                    .append_data(&mut h, path, e.data)
                    .expect("writing to a Vec cannot fail");
            }
        }
    };
    append("./", None);
    for (path, entry) in &items {
        append(path, *entry);
    }
    let tar = builder.into_inner().expect("writing to a Vec cannot fail");
    gzip(&tar)
}

/// gzip at maximum compression with no name and a zero timestamp (lintian:
/// package-contains-timestamped-gzip, changelog-not-compressed-with-max-compression).
pub fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), Compression::best());
    enc.write_all(data).expect("writing to a Vec cannot fail");
    enc.finish().expect("writing to a Vec cannot fail")
}
