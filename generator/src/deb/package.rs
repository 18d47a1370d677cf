//! A whole binary package: control member (control, md5sums, maintainer
//! scripts) and data member, assembled reproducibly.

use md5::{Digest, Md5};

use super::{ar, tar};

/// A file in the data member.
pub struct DataFile {
    /// Absolute path on the target system.
    pub path: String,
    /// Content.
    pub content: Vec<u8>,
    /// Permission bits.
    pub mode: u32,
}

/// Everything one `.deb` holds.
pub struct DebSpec {
    /// Rendered `control` file.
    pub control: String,
    /// Maintainer scripts by name (`postinst`, `prerm`, `postrm`).
    pub scripts: Vec<(String, String)>,
    /// Files to install.
    pub files: Vec<DataFile>,
    /// mtime of every entry (SOURCE_DATE_EPOCH).
    pub epoch: u64,
}

/// `Installed-Size` in KiB, counted as dpkg-gencontrol does: each file
/// rounded up to whole KiB, each directory one KiB.
pub fn installed_size(files: &[DataFile]) -> u64 {
    let mut dirs = std::collections::BTreeSet::new();
    for f in files {
        let mut p = f.path.as_str();
        while let Some((parent, _)) = p.rsplit_once('/') {
            if !parent.is_empty() {
                dirs.insert(parent);
            }
            p = parent;
        }
    }
    files
        .iter()
        .map(|f| (f.content.len() as u64).div_ceil(1024))
        .sum::<u64>()
        + dirs.len() as u64
}

/// The `md5sums` control file: one line per regular file, sorted.
fn md5sums(files: &[DataFile]) -> String {
    let mut lines: Vec<String> = files
        .iter()
        .map(|f| {
            let digest = Md5::digest(&f.content);
            format!("{}  {}\n", hex(&digest), f.path.trim_start_matches('/'))
        })
        .collect();
    lines.sort_by(|a, b| a[34..].cmp(&b[34..]));
    lines.concat()
}

/// Lowercase hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Builds the `.deb` bytes.
pub fn build(spec: &DebSpec) -> Vec<u8> {
    let md5 = md5sums(&spec.files);
    let mut control_entries = vec![
        tar::Entry {
            path: "control",
            data: spec.control.as_bytes(),
            mode: 0o644,
        },
        tar::Entry {
            path: "md5sums",
            data: md5.as_bytes(),
            mode: 0o644,
        },
    ];
    // As dh_installdeb does: every file under /etc is a conffile, so dpkg
    // keeps the administrator's edits and removes it only on purge.
    let conffiles: String = spec
        .files
        .iter()
        .filter(|f| f.path.starts_with("/etc/"))
        .map(|f| format!("{}\n", f.path))
        .collect();
    if !conffiles.is_empty() {
        control_entries.push(tar::Entry {
            path: "conffiles",
            data: conffiles.as_bytes(),
            mode: 0o644,
        });
    }
    for (name, body) in &spec.scripts {
        control_entries.push(tar::Entry {
            path: name,
            data: body.as_bytes(),
            mode: 0o755,
        });
    }
    let control_tar = tar::tar_gz(&control_entries, spec.epoch);
    let data_entries: Vec<tar::Entry<'_>> = spec
        .files
        .iter()
        .map(|f| tar::Entry {
            path: f.path.trim_start_matches('/'),
            data: &f.content,
            mode: f.mode,
        })
        .collect();
    let data_tar = tar::tar_gz(&data_entries, spec.epoch);
    ar::write(
        &[
            ("debian-binary", b"2.0\n"),
            ("control.tar.gz", &control_tar),
            ("data.tar.gz", &data_tar),
        ],
        spec.epoch,
    )
}
