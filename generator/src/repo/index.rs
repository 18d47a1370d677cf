//! The apt repository indices (docs/packaging.md §5): `Packages` (plain, gzip
//! and xz) per architecture, their `by-hash/SHA256/` copies, and a `Release`
//! file with the hashes of every index. Architecture-all packages are
//! listed for every architecture.

use std::fmt::Write;

use sha2::{Digest, Sha256};

use crate::deb::{gzip, hex};
use crate::error::Result;
use crate::profile::raw::RawConfig;

/// One package in the pool, as the indices describe it.
#[derive(Debug, Clone)]
pub struct PoolEntry {
    /// Its control paragraph, as in the `.deb`.
    pub control: String,
    /// Path relative to the repository root (`pool/…`).
    pub filename: String,
    /// Size of the `.deb` in bytes.
    pub size: u64,
    /// MD5 of the `.deb`.
    pub md5: String,
    /// SHA-256 of the `.deb`.
    pub sha256: String,
    /// `Architecture:` of the package.
    pub architecture: String,
}

impl PoolEntry {
    /// Describes a `.deb` placed at `filename`.
    pub fn new(control: String, filename: String, deb: &[u8]) -> PoolEntry {
        use md5::Md5;
        let architecture = control_field(&control, "Architecture").unwrap_or_else(|| "all".into());
        PoolEntry {
            control,
            filename,
            size: deb.len() as u64,
            md5: hex(&Md5::digest(deb)),
            sha256: hex(&Sha256::digest(deb)),
            architecture,
        }
    }
}

/// The value of a single-line field of a control paragraph.
pub fn control_field(control: &str, name: &str) -> Option<String> {
    control.lines().find_map(|l| {
        l.strip_prefix(name)
            .and_then(|rest| rest.strip_prefix(':'))
            .map(|v| v.trim().to_owned())
    })
}

/// An index file of `dists/<suite>/`, path relative to that directory.
pub struct IndexFile {
    /// Relative path, e.g. `main/binary-amd64/Packages.xz`.
    pub path: String,
    /// Content.
    pub data: Vec<u8>,
    /// Hex SHA-256 of `data` (its by-hash name).
    pub sha256: String,
}

impl IndexFile {
    fn new(path: String, data: Vec<u8>) -> IndexFile {
        let sha256 = hex(&Sha256::digest(&data));
        IndexFile { path, data, sha256 }
    }

    /// Where apt fetches it with `Acquire-By-Hash: yes`: `by-hash/SHA256/`
    /// beside the index.
    pub fn by_hash_path(&self) -> String {
        let dir = self.path.rsplit_once('/').map_or("", |(d, _)| d);
        format!("{dir}/by-hash/SHA256/{}", self.sha256)
    }
}

/// The indices of `entries` (sorted by filename) and the `Release` text
/// that lists them, dated `date` (seconds since the epoch).
pub fn indices(
    entries: &[PoolEntry],
    config: &RawConfig,
    date: u64,
) -> Result<(Vec<IndexFile>, String)> {
    let mut files = Vec::new();
    for arch in &config.architectures {
        let mut packages = String::new();
        for e in entries
            .iter()
            .filter(|e| e.architecture == "all" || &e.architecture == arch)
        {
            packages.push_str(e.control.trim_end());
            let _ = write!(
                packages,
                "\nFilename: {}\nSize: {}\nMD5sum: {}\nSHA256: {}\n\n",
                e.filename, e.size, e.md5, e.sha256
            );
        }
        let dir = format!("{}/binary-{arch}", config.component);
        files.push(IndexFile::new(
            format!("{dir}/Packages.gz"),
            gzip(packages.as_bytes()),
        ));
        files.push(IndexFile::new(
            format!("{dir}/Packages.xz"),
            xz(packages.as_bytes())?,
        ));
        files.push(IndexFile::new(
            format!("{dir}/Packages"),
            packages.into_bytes(),
        ));
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let mut release = format!(
        "Origin: {}\nLabel: {}\nSuite: {}\nCodename: {}\nDate: {}\nArchitectures: {}\nComponents: {}\nDescription: {}\nAcquire-By-Hash: yes\nSHA256:\n",
        config.origin,
        config.label,
        config.suite,
        config.codename,
        crate::doc::rfc2822(date).replace("+0000", "UTC"),
        config.architectures.join(" "),
        config.component,
        config.description,
    );
    for f in &files {
        let _ = writeln!(release, " {} {:>8} {}", f.sha256, f.data.len(), f.path);
    }
    Ok((files, release))
}

/// xz-compresses with xz-utils (Priority: required, so always there); its
/// output depends only on the input and the preset.
fn xz(data: &[u8]) -> Result<Vec<u8>> {
    let mut cmd = std::process::Command::new("xz");
    cmd.args(["-6", "--threads=1", "--check=crc64", "-c"]);
    crate::tool::run(cmd, Some(data), "xz -6 --threads=1", "xz-utils")
}
