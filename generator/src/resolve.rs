//! Does every Debian dependency of every module exist in Debian 13? Read
//! from apt's package lists (e.g. a trixie chroot's /var/lib/apt/lists),
//! so a renamed or removed package fails the build, not the user's
//! `apt install`.

use std::collections::HashMap;
use std::path::Path;

use debversion::Version;

use crate::error::{Error, Result};
use crate::profile::{Catalogue, locate};

/// What the package lists offer: versions of real packages, and virtual
/// names with the (optional) version each provider gives them.
#[derive(Debug, Default)]
pub struct Index {
    versions: HashMap<String, Vec<Version>>,
    provided: HashMap<String, Vec<Option<Version>>>,
}

impl Index {
    /// Reads every `*_Packages` file in `dir`.
    pub fn from_lists(dir: &Path) -> Result<Index> {
        let mut index = Index::default();
        let entries = std::fs::read_dir(dir).map_err(Error::io("list", dir))?;
        let mut n = 0;
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.ends_with("_Packages") {
                let text =
                    std::fs::read_to_string(e.path()).map_err(Error::io("read", e.path()))?;
                index.add(&text);
                n += 1;
            }
        }
        if n == 0 {
            return Err(Error::Usage {
                what: format!("{} holds no `*_Packages` list", dir.display()),
                hint: "point --debian-lists at apt's lists directory of a Debian 13 system after `apt update` (/var/lib/apt/lists)".into(),
            });
        }
        Ok(index)
    }

    /// Adds the stanzas of one Packages file.
    pub fn add(&mut self, text: &str) {
        for stanza in text.split("\n\n") {
            let field = |name: &str| {
                stanza
                    .lines()
                    .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(": ")))
            };
            let (Some(package), Some(version)) = (field("Package"), field("Version")) else {
                continue;
            };
            let Ok(version) = version.parse::<Version>() else {
                continue;
            };
            self.versions
                .entry(package.to_owned())
                .or_default()
                .push(version);
            for p in field("Provides").unwrap_or("").split(',') {
                let p = p.trim();
                if p.is_empty() {
                    continue;
                }
                let (name, v) = match p.split_once('(') {
                    Some((n, rest)) => {
                        let v = rest
                            .trim_end_matches(')')
                            .trim()
                            .trim_start_matches('=')
                            .trim();
                        (n.trim(), v.parse::<Version>().ok())
                    }
                    None => (p, None),
                };
                self.provided.entry(name.to_owned()).or_default().push(v);
            }
        }
    }

    /// Whether `name` (with an optional `(op version)` constraint) can be
    /// satisfied by some package in the lists.
    pub fn satisfies(&self, name: &str, constraint: Option<(&str, &Version)>) -> bool {
        let ok = |have: &Version| match constraint {
            None => true,
            Some((op, want)) => match op {
                ">=" => have >= want,
                "<=" => have <= want,
                ">>" => have > want,
                "<<" => have < want,
                _ => have == want,
            },
        };
        self.versions.get(name).is_some_and(|vs| vs.iter().any(ok))
            || self.provided.get(name).is_some_and(|ps| {
                ps.iter().any(|p| match (p, constraint) {
                    (_, None) => true,
                    (Some(v), Some(_)) => ok(v),
                    (None, Some(_)) => false,
                })
            })
    }
}

/// Splits `name (op version)` into its parts.
fn parse_alternative(alt: &str) -> Option<(String, Option<(String, Version)>)> {
    let alt = alt.trim();
    match alt.split_once('(') {
        None => Some((alt.split(':').next()?.trim().to_owned(), None)),
        Some((name, rest)) => {
            let inner = rest.trim_end().trim_end_matches(')').trim();
            let split = inner.find(|c: char| c.is_ascii_alphanumeric())?;
            let (op, version) = inner.split_at(split);
            Some((
                name.split(':').next()?.trim().to_owned(),
                Some((op.trim().to_owned(), version.trim().parse().ok()?)),
            ))
        }
    }
}

/// Checks every `packages:` relation of every module against `index`.
pub fn check(cat: &Catalogue, index: &Index) -> Result<()> {
    // A vendor module's packages come from its vendor's repository, which
    // Debian's lists cannot answer for.
    for m in cat.modules.values().filter(|m| m.vendor.is_none()) {
        for rel in m.packages.iter().chain(&m.suggests) {
            let resolvable = rel.split('|').any(|alt| {
                parse_alternative(alt).is_some_and(|(name, c)| {
                    index.satisfies(&name, c.as_ref().map(|(op, v)| (op.as_str(), v)))
                })
            });
            if !resolvable {
                let source = std::fs::read_to_string(&m.source).unwrap_or_default();
                let first = rel
                    .split(|c: char| c.is_whitespace() || c == '(' || c == '|')
                    .next()
                    .unwrap_or(rel);
                return Err(Error::invalid(
                    locate::find(&m.source, &source, first, 1),
                    format!("module `{}` needs `{rel}`, which no package in the Debian lists provides", m.name),
                    Some("check the package's name in Debian 13 (`apt-cache policy NAME`, packages.debian.org); vendor software belongs in a vpsc-source-* package".into()),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LISTS: &str = "Package: openssh-server\nVersion: 1:10.0p1-7\nProvides: ssh-server\n\nPackage: exim4-daemon-light\nVersion: 4.98-1\nProvides: mail-transport-agent\n\nPackage: golang-go\nVersion: 2:1.24~2\n";

    fn index() -> Index {
        let mut i = Index::default();
        i.add(LISTS);
        i
    }

    #[test]
    fn versions_and_provides_resolve() {
        let i = index();
        let v = |s: &str| s.parse::<Version>().expect("version");
        assert!(i.satisfies("openssh-server", Some((">=", &v("1:9.2")))));
        assert!(!i.satisfies("openssh-server", Some((">=", &v("1:11")))));
        assert!(i.satisfies("mail-transport-agent", None));
        assert!(
            !i.satisfies("ssh-server", Some((">=", &v("1")))),
            "unversioned provides never satisfy a versioned relation"
        );
        assert!(!i.satisfies("netdata", None));
    }

    #[test]
    fn alternatives_parse() {
        let (name, c) = parse_alternative(" golang-go (>= 2:1.22) ").expect("parses");
        assert_eq!(name, "golang-go");
        assert_eq!(c.expect("constraint").0, ">=");
    }
}
