//! Which packages need a new version: a package whose version is already
//! published with other bytes. apt caches packages by name, version and
//! architecture, so a second file under one version is taken for a corrupt
//! download on every server that has the first; a changed package needs a
//! new version (Policy §3.2.2). `build --against`, `repo check` and
//! `repo publish` all say so before anything is written, naming every such
//! package and the file whose `version:` to raise.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::pool::Deb;

/// A package built with a version that is already published with other
/// content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unbumped {
    /// Package name.
    pub package: String,
    /// The version both files carry.
    pub version: String,
    /// Architecture.
    pub arch: String,
    /// The published file.
    pub published: PathBuf,
    /// The new file (or, for `build --against`, the input it comes from).
    pub built: PathBuf,
    /// Where its version is set, e.g. `profiles/modules/git.yaml`.
    pub version_in: String,
}

impl fmt::Display for Unbumped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} ({}): raise `version:` in {}",
            self.package, self.version, self.arch, self.version_in
        )
    }
}

/// The hint every refusal ends with.
pub const HINT: &str = "a changed package needs a new version: raise the `version:` of each \
     file named (e.g. 1.1.0 -> 1.1.1) and rebuild; when a module's version changes, the \
     profiles that depend on it change too (their Depends name it) and need a new version \
     as well. `vpsc-gen repo check --pool DIR --published REPO` lists them without writing";

/// Where the version of `package` is set, by the naming convention of
/// vpsc's packages (the build knows the exact file and says it instead).
pub fn version_in(package: &str) -> String {
    if let Some(name) = package.strip_prefix("vpsc-mod-") {
        format!("profiles/modules/{name}.yaml")
    } else if let Some(name) = package.strip_prefix("vpsc-profile-") {
        format!("profiles/{name}.yaml")
    } else if let Some(name) = package.strip_prefix("vpsc-source-") {
        format!("profiles/sources/{name}.yaml")
    } else if package == crate::archive::PACKAGE {
        "repo.yaml (`archive.keyring_version`)".to_owned()
    } else if package == "vpsc-runtime" || package == "vpsc-gen" {
        "Cargo.toml (`[workspace.package] version`)".to_owned()
    } else {
        format!("the sources of {package}")
    }
}

/// Every package of `new` whose (name, version, architecture) is also in
/// `published` with other bytes, sorted by name. Files at one path are the
/// same file and never conflict.
pub fn unbumped(new: &[Deb], published: &[Deb]) -> Vec<Unbumped> {
    let mut by_id: BTreeMap<(&str, &str, &str), &Deb> = BTreeMap::new();
    for deb in published {
        by_id.insert((&deb.package, &deb.version, &deb.arch), deb);
    }
    let mut out: Vec<Unbumped> = new
        .iter()
        .filter_map(|deb| {
            let old = by_id.get(&(
                deb.package.as_str(),
                deb.version.as_str(),
                deb.arch.as_str(),
            ))?;
            (old.path != deb.path && old.entry.sha256 != deb.entry.sha256).then(|| Unbumped {
                package: deb.package.clone(),
                version: deb.version.clone(),
                arch: deb.arch.clone(),
                published: old.path.clone(),
                built: deb.path.clone(),
                version_in: version_in(&deb.package),
            })
        })
        .collect();
    out.sort_by(|a, b| (&a.package, &a.arch).cmp(&(&b.package, &b.arch)));
    out.dedup_by(|a, b| a.package == b.package && a.version == b.version && a.arch == b.arch);
    out
}

/// Same version, different bytes among `debs` themselves (any two of the
/// pools a publish reads): the first file found stands for "published".
pub fn duplicates(debs: &[Deb]) -> Vec<Unbumped> {
    let mut first: BTreeMap<(&str, &str, &str), &Deb> = BTreeMap::new();
    let mut out = Vec::new();
    for deb in debs {
        let id = (
            deb.package.as_str(),
            deb.version.as_str(),
            deb.arch.as_str(),
        );
        match first.get(&id) {
            Some(old) if old.entry.sha256 != deb.entry.sha256 => out.push(Unbumped {
                package: deb.package.clone(),
                version: deb.version.clone(),
                arch: deb.arch.clone(),
                published: old.path.clone(),
                built: deb.path.clone(),
                version_in: version_in(&deb.package),
            }),
            Some(_) => {}
            None => {
                first.insert(id, deb);
            }
        }
    }
    out.sort_by(|a, b| (&a.package, &a.arch).cmp(&(&b.package, &b.arch)));
    out.dedup_by(|a, b| a.package == b.package && a.version == b.version && a.arch == b.arch);
    out
}

/// The one-line-per-package list of an error message.
pub fn listed(unbumped: &[Unbumped]) -> String {
    unbumped
        .iter()
        .map(|u| format!("\n  {u}"))
        .collect::<String>()
}

/// The mtime of the first ar member of a `.deb`: the SOURCE_DATE_EPOCH
/// vpsc-gen built it with (deb/ar.rs writes one mtime for every member
/// and every tar entry). `None` for a file that is not an ar archive.
pub fn deb_epoch(deb: &[u8]) -> Option<u64> {
    let header = deb.strip_prefix(b"!<arch>\n")?.get(..60)?;
    std::str::from_utf8(&header[16..28])
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The epoch of the `.deb` at `path`, if it is one vpsc-gen could have built.
pub fn file_epoch(path: &Path) -> Option<u64> {
    use std::io::Read;
    let mut head = [0u8; 68];
    let mut file = std::fs::File::open(path).ok()?;
    file.read_exact(&mut head).ok()?;
    deb_epoch(&head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_found_where_each_kind_of_package_sets_it() {
        assert_eq!(version_in("vpsc-mod-git"), "profiles/modules/git.yaml");
        assert_eq!(version_in("vpsc-profile-server"), "profiles/server.yaml");
        assert_eq!(
            version_in("vpsc-source-cursor"),
            "profiles/sources/cursor.yaml"
        );
        assert!(version_in("vpsc-archive-keyring").contains("keyring_version"));
        assert!(version_in("vpsc-runtime").starts_with("Cargo.toml"));
    }

    #[test]
    fn epoch_is_read_from_the_ar_header() {
        let deb = crate::deb::build(&crate::deb::DebSpec {
            control: "Package: x\n".into(),
            scripts: vec![],
            files: vec![],
            epoch: 1_795_615_200,
        });
        assert_eq!(deb_epoch(&deb), Some(1_795_615_200));
        assert_eq!(deb_epoch(b"not an archive"), None);
    }
}
