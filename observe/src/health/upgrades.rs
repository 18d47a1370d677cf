//! Pending security upgrades, from apt's own lists: the Packages indices
//! of every source whose Release file carries Debian's security label,
//! compared with the installed versions. No `apt-get -s upgrade` (seconds,
//! and it takes apt's lock); nothing fetched: as fresh as the last
//! `apt update`, whose age is reported with the answer.

use std::collections::BTreeMap;

use debversion::Version;
use serde::Serialize;
use vpsc_engine::root::Root;

const LISTS: &str = "/var/lib/apt/lists";
/// The `Label:` of Debian's security archive's Release files.
const SECURITY_LABEL: &str = "Debian-Security";

/// What apt's lists say about security upgrades.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Upgrades {
    /// No list of a Debian-Security source: nothing to compare with.
    NoSecuritySource,
    /// Installed packages with a newer version in a security source.
    Pending {
        /// `name (installed → candidate)`.
        packages: Vec<String>,
        /// Seconds since the security source's lists were fetched.
        lists_age: i64,
    },
}

/// Compares the installed packages with the security sources' indices.
pub fn pending(root: &Root) -> Upgrades {
    let names = root.read_dir_names(LISTS).unwrap_or_default();
    let mut candidates: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut newest_release: Option<std::time::SystemTime> = None;
    for release in names
        .iter()
        .filter(|n| n.ends_with("_InRelease") || n.ends_with("_Release"))
    {
        let path = format!("{LISTS}/{release}");
        let Ok(text) = root.read_to_string(&path) else {
            continue;
        };
        if !header(&text)
            .iter()
            .any(|(k, v)| *k == "Label" && *v == SECURITY_LABEL)
        {
            continue;
        }
        if let Ok(m) = root.metadata(&path).and_then(|m| m.modified()) {
            newest_release = newest_release.max(Some(m));
        }
        let prefix = release
            .trim_end_matches("_InRelease")
            .trim_end_matches("_Release");
        for index in names
            .iter()
            .filter(|n| n.starts_with(prefix) && is_packages(n))
        {
            read_index(root, &format!("{LISTS}/{index}"), &mut candidates);
        }
    }
    let Some(fetched) = newest_release else {
        return Upgrades::NoSecuritySource;
    };
    let lists_age = std::time::SystemTime::now()
        .duration_since(fetched)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let mut packages = Vec::new();
    if !candidates.is_empty() {
        for (name, arch, installed) in installed(root) {
            let key = (name.clone(), arch.clone());
            let all = (name.clone(), "all".to_owned());
            let Some(candidate) = candidates.get(&key).or_else(|| candidates.get(&all)) else {
                continue;
            };
            if newer(candidate, &installed) {
                packages.push(format!("{name} ({installed} → {candidate})"));
            }
        }
    }
    Upgrades::Pending {
        packages,
        lists_age,
    }
}

fn is_packages(name: &str) -> bool {
    let base = name
        .rsplit_once('.')
        .filter(|(_, ext)| matches!(*ext, "gz" | "xz" | "lz4" | "zst" | "bz2"))
        .map_or(name, |(b, _)| b);
    base.ends_with("_Packages")
}

/// `candidate` is a newer Debian version than `installed`.
fn newer(candidate: &str, installed: &str) -> bool {
    match (candidate.parse::<Version>(), installed.parse::<Version>()) {
        (Ok(c), Ok(i)) => c > i,
        _ => false,
    }
}

/// The fields of a deb822 file's first paragraph (a signed InRelease's
/// armour header lines are not `Key: value` and fall out).
fn header(text: &str) -> Vec<(&str, &str)> {
    text.lines()
        .skip_while(|l| l.starts_with("-----BEGIN") || l.starts_with("Hash:") || l.is_empty())
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(": "))
        .collect()
}

/// Adds each package's highest version in the index at `path`.
fn read_index(root: &Root, path: &str, out: &mut BTreeMap<(String, String), String>) {
    // apt keeps lists uncompressed unless Acquire::GzipIndexes (or a
    // container image's lz4 setting) says otherwise; apt-helper reads
    // every compression apt writes.
    let text = if is_plain(path) {
        root.read_to_string(path).ok()
    } else {
        Root::new("/")
            .run(&[
                "/usr/lib/apt/apt-helper".to_owned(),
                "cat-file".to_owned(),
                root.path(path).to_string_lossy().into_owned(),
            ])
            .map_err(|e| tracing::warn!(path, error = %e, "cannot read a compressed index"))
            .ok()
    };
    let Some(text) = text else { return };
    for para in text.split("\n\n") {
        let (mut name, mut arch, mut version) = (None, None, None);
        for line in para.lines() {
            if let Some(v) = line.strip_prefix("Package: ") {
                name = Some(v.trim());
            } else if let Some(v) = line.strip_prefix("Architecture: ") {
                arch = Some(v.trim());
            } else if let Some(v) = line.strip_prefix("Version: ") {
                version = Some(v.trim());
            }
        }
        let (Some(name), Some(arch), Some(version)) = (name, arch, version) else {
            continue;
        };
        let key = (name.to_owned(), arch.to_owned());
        match out.get(&key) {
            Some(known) if !newer(version, known) => {}
            _ => {
                out.insert(key, version.to_owned());
            }
        }
    }
}

fn is_plain(path: &str) -> bool {
    path.ends_with("_Packages")
}

/// `(name, architecture, version)` of every installed package.
fn installed(root: &Root) -> Vec<(String, String, String)> {
    let mut argv = root.dpkg_tool("dpkg-query");
    argv.extend([
        "--show".into(),
        "--showformat=${db:Status-Abbrev} ${Package} ${Architecture} ${Version}\\n".into(),
    ]);
    let out = match Root::new("/").run(&argv) {
        Ok(o) => o,
        Err(e) => {
            tracing::warn!(error = %e, "cannot list installed packages");
            return Vec::new();
        }
    };
    out.lines()
        .filter(|l| l.starts_with("ii"))
        .filter_map(|l| {
            let mut f = l.split_whitespace().skip(1);
            Some((f.next()?.into(), f.next()?.into(), f.next()?.into()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_as_dpkg_does() {
        assert!(newer("2.36-9+deb12u10", "2.36-9+deb12u9"));
        assert!(newer("1:1.0", "2.0"));
        assert!(!newer("1.0~rc1", "1.0"));
        assert!(!newer("garbage version!", "1.0"));
    }

    #[test]
    fn release_header_skips_the_armour() {
        let text = "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nOrigin: Debian\nLabel: Debian-Security\nSuite: stable-security\n\nsig";
        assert!(header(text).contains(&("Label", "Debian-Security")));
    }

    #[test]
    fn packages_indices_by_name() {
        assert!(is_packages("x_main_binary-amd64_Packages"));
        assert!(is_packages("x_main_binary-amd64_Packages.lz4"));
        assert!(!is_packages("x_main_i18n_Translation-en"));
    }
}
