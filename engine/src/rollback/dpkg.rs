//! The installed packages as dpkg and apt record them: `/var/lib/dpkg/status`
//! (what is unpacked, its Depends, Pre-Depends, Recommends and Provides)
//! and apt's `/var/lib/apt/extended_states` (which were installed
//! automatically). Read as files under the root, so `--root` needs no
//! tool inside the tree.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{Error, Result};
use crate::root::Root;

/// dpkg's database of installed packages.
pub const STATUS: &str = "/var/lib/dpkg/status";
/// apt's automatic-installation marks.
pub const EXTENDED_STATES: &str = "/var/lib/apt/extended_states";
/// Where dpkg keeps each package's file list and maintainer scripts.
pub const INFO_DIR: &str = "/var/lib/dpkg/info";

/// One installed package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    /// Package name.
    pub name: String,
    /// Its `Architecture:` (`amd64`, `all`).
    pub arch: String,
    /// `Essential: yes`.
    pub essential: bool,
    /// apt installed it automatically (`Auto-Installed: 1`).
    pub auto: bool,
    /// `Pre-Depends` and `Depends`: each clause its alternatives, by bare
    /// name (versions and `:any` dropped, see [`Packages::satisfiers`]).
    pub depends: Vec<Vec<String>>,
    /// `Recommends`, the same way.
    pub recommends: Vec<Vec<String>>,
    /// Virtual packages it provides, by bare name.
    pub provides: Vec<String>,
}

/// The installed packages, by key: the name, or `name:arch` for a package
/// of a foreign architecture (as `dpkg-query -W` shows them).
#[derive(Debug, Clone, Default)]
pub struct Packages {
    /// The native architecture (that of the `dpkg` package).
    pub native: String,
    /// Installed packages by key.
    pub map: BTreeMap<String, Package>,
    by_name: BTreeMap<String, Vec<String>>,
    providers: BTreeMap<String, Vec<String>>,
}

impl Packages {
    /// Reads both databases under `root`.
    pub fn read(root: &Root) -> Result<Packages> {
        let status = root
            .read_to_string(STATUS)
            .map_err(Error::io("read", STATUS))?;
        let extended = match root.read_to_string(EXTENDED_STATES) {
            Ok(text) => text,
            // apt writes it on its first automatic installation.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(Error::io("read", EXTENDED_STATES)(e)),
        };
        Ok(Packages::parse(&status, &extended))
    }

    /// Builds the database from the texts of the two files.
    pub fn parse(status: &str, extended: &str) -> Packages {
        let mut auto = BTreeSet::new();
        for stanza in stanzas(extended) {
            let Some(name) = stanza.get("Package") else {
                continue;
            };
            if stanza.get("Auto-Installed").is_some_and(|v| v == "1") {
                let arch = stanza.get("Architecture").cloned().unwrap_or_default();
                auto.insert((name.clone(), arch));
            }
        }
        let installed: Vec<BTreeMap<String, String>> = stanzas(status)
            .into_iter()
            .filter(|s| s.get("Status").is_some_and(|v| on_disk(v)))
            .collect();
        let native = installed
            .iter()
            .find(|s| s.get("Package").is_some_and(|p| p == "dpkg"))
            .and_then(|s| s.get("Architecture").cloned())
            .unwrap_or_else(|| "amd64".into());
        let mut db = Packages {
            native,
            ..Packages::default()
        };
        for s in installed {
            let Some(name) = s.get("Package").cloned() else {
                continue;
            };
            let arch = s.get("Architecture").cloned().unwrap_or_default();
            let field = |k: &str| s.get(k).map(String::as_str).unwrap_or_default();
            let mut depends = relations(field("Pre-Depends"));
            depends.extend(relations(field("Depends")));
            let package = Package {
                // apt records `all` packages under the native architecture.
                auto: auto.contains(&(name.clone(), arch.clone()))
                    || auto.contains(&(name.clone(), db.native.clone())),
                essential: field("Essential") == "yes",
                depends,
                recommends: relations(field("Recommends")),
                provides: relations(field("Provides")).into_iter().flatten().collect(),
                name,
                arch,
            };
            let key = db.key(&package.name, Some(&package.arch));
            db.by_name
                .entry(package.name.clone())
                .or_default()
                .push(key.clone());
            for p in &package.provides {
                db.providers.entry(p.clone()).or_default().push(key.clone());
            }
            db.map.insert(key, package);
        }
        db
    }

    /// The key of `name` of architecture `arch`: the bare name for the
    /// native architecture, `all` or none, else `name:arch`.
    pub fn key(&self, name: &str, arch: Option<&str>) -> String {
        match arch {
            Some(a) if a != self.native && a != "all" && !a.is_empty() => format!("{name}:{a}"),
            _ => name.to_owned(),
        }
    }

    /// Whether `key` is installed.
    pub fn installed(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// The installed packages that can satisfy a relation on `name`: those
    /// of that name, then those providing it. Versions are not compared: a
    /// dependency dpkg accepted is met by what is installed, and where an
    /// alternative's version would not fit, the simulation of the purge
    /// (`apt-get -s`) still catches a package that would lose it.
    pub fn satisfiers(&self, name: &str) -> impl Iterator<Item = &String> {
        self.by_name
            .get(name)
            .into_iter()
            .flatten()
            .chain(self.providers.get(name).into_iter().flatten())
    }

    /// dpkg's file list of `key`, if it has one (`name.list`, or
    /// `name:arch.list` for Multi-Arch: same packages).
    pub fn file_list(&self, root: &Root, key: &str) -> Vec<String> {
        let Some(p) = self.map.get(key) else {
            return Vec::new();
        };
        self.info_file(root, p, "list")
            .map(|text| text.lines().map(str::to_owned).collect())
            .unwrap_or_default()
    }

    /// The text of `key`'s maintainer script or info file `what`
    /// (`postinst`), if it has one.
    pub fn info_text(&self, root: &Root, key: &str, what: &str) -> Option<String> {
        self.info_file(root, self.map.get(key)?, what)
    }

    fn info_file(&self, root: &Root, p: &Package, what: &str) -> Option<String> {
        [
            format!("{INFO_DIR}/{}.{what}", p.name),
            format!("{INFO_DIR}/{}:{}.{what}", p.name, p.arch),
        ]
        .iter()
        .find_map(|path| root.read(path).ok())
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
    }
}

/// Whether a `Status:` value means the package's files are on disk: every
/// state but `not-installed` and `config-files`.
fn on_disk(status: &str) -> bool {
    !matches!(
        status.split_whitespace().nth(2),
        None | Some("not-installed" | "config-files")
    )
}

/// The stanzas of a deb822 file, continuation lines joined.
fn stanzas(text: &str) -> Vec<BTreeMap<String, String>> {
    let mut out = Vec::new();
    let mut current: BTreeMap<String, String> = BTreeMap::new();
    let mut last: Option<String> = None;
    for line in text.lines() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            last = None;
        } else if line.starts_with([' ', '\t']) {
            if let Some(value) = last.as_ref().and_then(|k| current.get_mut(k)) {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((k, v)) = line.split_once(':') {
            current.insert(k.to_owned(), v.trim().to_owned());
            last = Some(k.to_owned());
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// A relation field (`a (>= 1) | b:any, c`) as clauses of bare names.
fn relations(field: &str) -> Vec<Vec<String>> {
    field
        .split(',')
        .map(|clause| {
            clause
                .split('|')
                .filter_map(|alt| {
                    let name = alt.split(['(', '[', '<', ' ']).find(|w| !w.is_empty())?;
                    // `python3:any`, `foo:native`: any installed instance
                    // serves (multi-arch details are left to apt's check).
                    Some(name.split(':').next().unwrap_or(name).trim().to_owned())
                })
                .filter(|n| !n.is_empty())
                .collect::<Vec<_>>()
        })
        .filter(|c| !c.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS_TEXT: &str = "\
Package: dpkg
Status: install ok installed
Essential: yes
Architecture: amd64
Version: 1.22

Package: git
Status: install ok installed
Architecture: amd64
Depends: libc6 (>= 2.38), perl:any,
 git-man (>> 1:2.47)
Recommends: less, patch
Description: fast
 scalable

Package: mawk
Status: install ok installed
Architecture: amd64
Provides: awk

Package: libc6
Status: install ok installed
Architecture: i386
Multi-Arch: same

Package: gone
Status: deinstall ok config-files
Architecture: all

Package: python3-pip-whl
Status: install ok unpacked
Architecture: all
Pre-Depends: dpkg (>= 1.17) | awk
";

    const EXTENDED: &str = "Package: mawk\nArchitecture: amd64\nAuto-Installed: 1\n\n\
        Package: python3-pip-whl\nArchitecture: amd64\nAuto-Installed: 1\n\n\
        Package: git\nArchitecture: amd64\nAuto-Installed: 0\n";

    #[test]
    fn status_and_marks() {
        let db = Packages::parse(STATUS_TEXT, EXTENDED);
        assert_eq!(db.native, "amd64");
        let keys: Vec<&str> = db.map.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["dpkg", "git", "libc6:i386", "mawk", "python3-pip-whl"]
        );
        let git = &db.map["git"];
        assert_eq!(
            git.depends,
            [vec!["libc6"], vec!["perl"], vec!["git-man"]],
            "continuation joined, versions and :any dropped"
        );
        assert_eq!(git.recommends, [vec!["less"], vec!["patch"]]);
        assert!(!git.auto);
        assert!(db.map["mawk"].auto);
        assert!(db.map["python3-pip-whl"].auto, "all marked as native");
        assert_eq!(db.map["python3-pip-whl"].depends, [vec!["dpkg", "awk"]]);
        assert!(db.map["dpkg"].essential);
        let awk: Vec<&String> = db.satisfiers("awk").collect();
        assert_eq!(awk, ["mawk"]);
        let libc: Vec<&String> = db.satisfiers("libc6").collect();
        assert_eq!(libc, ["libc6:i386"]);
        assert_eq!(db.key("libc6", Some("amd64")), "libc6");
        assert_eq!(db.key("tzdata", Some("all")), "tzdata");
        assert_eq!(db.key("libc6", Some("i386")), "libc6:i386");
    }
}
