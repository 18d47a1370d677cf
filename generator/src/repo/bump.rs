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
     file named (e.g. 1.1.0 -> 1.1.1) and rebuild; the packages whose relations name a \
     bumped one change with it (a profile's Depends name each module's version), so they \
     are listed too. `vpsc-gen repo check --pool DIR --published REPO` lists them without \
     writing";

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

/// A package that did not change, but will once the packages its
/// relations name get their new versions (a profile's `Depends:` names
/// each module's current version): it needs a new version in the same
/// release, so it is named in the same message, not in the next one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dependent {
    /// Package name.
    pub package: String,
    /// Its published version.
    pub version: String,
    /// Where its version is set.
    pub version_in: String,
    /// The packages needing a new version that its relations name.
    pub names: Vec<String>,
}

impl fmt::Display for Dependent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: raise `version:` in {} (it names {})",
            self.package,
            self.version,
            self.version_in,
            self.names.join(", ")
        )
    }
}

/// A package already published under its version with the same bytes:
/// name, version, control paragraph and where its version is set.
pub struct Unchanged<'a> {
    /// Package name.
    pub package: &'a str,
    /// Version.
    pub version: &'a str,
    /// Its control paragraph.
    pub control: &'a str,
    /// Where its version is set.
    pub version_in: String,
}

/// The packages of `unchanged` whose versioned relations (`Pre-Depends`,
/// `Depends`, `Recommends`, `Suggests`) name a package of `unbumped`, and,
/// since bumping those changes them in turn, the packages that name
/// those: everything the release must bump besides `unbumped`, sorted.
pub fn dependents(unbumped: &[Unbumped], unchanged: &[Unchanged<'_>]) -> Vec<Dependent> {
    use std::collections::BTreeSet;
    let mut bumping: BTreeSet<&str> = unbumped.iter().map(|u| u.package.as_str()).collect();
    let mut out: Vec<Dependent> = Vec::new();
    loop {
        let mut grew = false;
        for c in unchanged {
            if bumping.contains(c.package) {
                continue;
            }
            let names: BTreeSet<String> = versioned_relations(c.control)
                .into_iter()
                .filter(|n| bumping.contains(n.as_str()))
                .collect();
            if names.is_empty() {
                continue;
            }
            bumping.insert(c.package);
            out.push(Dependent {
                package: c.package.to_owned(),
                version: c.version.to_owned(),
                version_in: c.version_in.clone(),
                names: names.into_iter().collect(),
            });
            grew = true;
        }
        if !grew {
            break;
        }
    }
    out.sort_by(|a, b| a.package.cmp(&b.package));
    out
}

/// The package names of the relations with a version constraint in a
/// control paragraph's relation fields; a field that is no Debian
/// relation names nothing.
fn versioned_relations(control: &str) -> Vec<String> {
    use debian_control::lossless::relations::Relations;
    let mut names = Vec::new();
    for field in ["Pre-Depends", "Depends", "Recommends", "Suggests"] {
        let Some(relations) = super::index::control_field(control, field)
            .and_then(|value| value.parse::<Relations>().ok())
        else {
            continue;
        };
        for entry in relations.entries() {
            names.extend(
                entry
                    .relations()
                    .filter(|r| r.version().is_some())
                    .filter_map(|r| r.try_name()),
            );
        }
    }
    names
}

/// Every package of `new` that needs a new version: the same version is
/// in `published` with other bytes, or twice among `new` itself.
pub fn all_unbumped(new: &[Deb], published: &[Deb]) -> Vec<Unbumped> {
    let mut out = unbumped(new, published);
    for u in duplicates(new) {
        if !out
            .iter()
            .any(|o| (&o.package, &o.version, &o.arch) == (&u.package, &u.version, &u.arch))
        {
            out.push(u);
        }
    }
    out.sort_by(|a, b| (&a.package, &a.arch).cmp(&(&b.package, &b.arch)));
    out
}

/// The packages of `new` published with the same bytes under their
/// version, for [`dependents`].
pub fn unchanged<'a>(new: &'a [Deb], published: &[Deb]) -> Vec<Unchanged<'a>> {
    new.iter()
        .filter(|d| {
            published.iter().any(|p| {
                (&p.package, &p.version, &p.arch) == (&d.package, &d.version, &d.arch)
                    && p.entry.sha256 == d.entry.sha256
            })
        })
        .map(|d| Unchanged {
            package: &d.package,
            version: &d.version,
            control: &d.entry.control,
            version_in: version_in(&d.package),
        })
        .collect()
}

/// The one-line-per-package list of an error message, then the packages
/// that change once those are bumped.
pub fn listed(unbumped: &[Unbumped], dependents: &[Dependent]) -> String {
    let mut out: String = unbumped.iter().map(|u| format!("\n  {u}")).collect();
    if !dependents.is_empty() {
        out.push_str("\nand these, whose relations name those versions (they change with them):");
        out.extend(dependents.iter().map(|d| format!("\n  {d}")));
    }
    out
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

    fn unbumped_named(package: &str) -> Unbumped {
        Unbumped {
            package: package.into(),
            version: "1.0.0".into(),
            arch: "all".into(),
            published: PathBuf::from("old.deb"),
            built: PathBuf::from("new.deb"),
            version_in: version_in(package),
        }
    }

    #[test]
    fn dependents_follow_versioned_relations_transitively() {
        let control = |depends: &str| format!("Package: x\nDepends: {depends}\n");
        let (security, caddy, profile, plain, git) = (
            control("vpsc-runtime (>= 0.2.0), vpsc-mod-system (>= 1.2.0)"),
            control("vpsc-mod-security (>= 1.4.0), caddy"),
            control("vpsc-mod-caddy (>= 1.0.0) | vpsc-mod-other (>= 1)"),
            // Without a version, a new one changes nothing here.
            control("vpsc-mod-system"),
            control("vpsc-runtime (>= 0.2.0)"),
        );
        let unchanged: Vec<Unchanged<'_>> = [
            ("vpsc-profile-web", &profile),
            ("vpsc-mod-caddy", &caddy),
            ("vpsc-mod-security", &security),
            ("vpsc-mod-plain", &plain),
            ("vpsc-mod-git", &git),
        ]
        .into_iter()
        .map(|(package, control)| Unchanged {
            package,
            version: "1.0.0",
            control,
            version_in: version_in(package),
        })
        .collect();
        let found = dependents(&[unbumped_named("vpsc-mod-system")], &unchanged);
        let names: Vec<(&str, Vec<&str>)> = found
            .iter()
            .map(|d| {
                (
                    d.package.as_str(),
                    d.names.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            names,
            [
                ("vpsc-mod-caddy", vec!["vpsc-mod-security"]),
                ("vpsc-mod-security", vec!["vpsc-mod-system"]),
                ("vpsc-profile-web", vec!["vpsc-mod-caddy"]),
            ]
        );
        assert_eq!(found[2].version_in, "profiles/web.yaml");
        assert!(dependents(&[], &unchanged).is_empty());
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
