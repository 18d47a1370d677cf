//! The apt repository indices: `Packages` (plain and gzip) per architecture
//! and a `Release` file with the hashes of every index (PACKAGING.md §5).
//! Architecture-all packages are listed for every architecture.

use std::fmt::Write;

use md5::Md5;
use sha2::{Digest, Sha256};

use crate::deb::{gzip, hex};
use crate::profile::raw::RawConfig;

/// One package in the pool.
pub struct PoolEntry {
    /// Its control paragraph, as in the `.deb`.
    pub control: String,
    /// Path relative to the repository root (`pool/…`).
    pub filename: String,
    /// The `.deb` bytes (for size and hashes).
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
        let architecture = control
            .lines()
            .find_map(|l| l.strip_prefix("Architecture:"))
            .map(|a| a.trim().to_owned())
            .unwrap_or_else(|| "all".into());
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

/// Files of `dists/<suite>/` as (relative path, bytes), `Release` last.
pub fn indices(entries: &[PoolEntry], config: &RawConfig, epoch: u64) -> Vec<(String, Vec<u8>)> {
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
        files.push((format!("{dir}/Packages.gz"), gzip(packages.as_bytes())));
        files.push((format!("{dir}/Packages"), packages.into_bytes()));
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let mut release = format!(
        "Origin: {}\nLabel: {}\nSuite: {}\nCodename: {}\nDate: {}\nArchitectures: {}\nComponents: {}\nDescription: {}\nSHA256:\n",
        config.origin,
        config.label,
        config.suite,
        config.codename,
        crate::doc::rfc2822(epoch).replace("+0000", "UTC"),
        config.architectures.join(" "),
        config.component,
        config.description,
    );
    for (path, data) in &files {
        let _ = writeln!(
            release,
            " {} {:>8} {path}",
            hex(&Sha256::digest(data)),
            data.len()
        );
    }
    files.push(("Release".into(), release.into_bytes()));
    files
}
