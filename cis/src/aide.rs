//! AIDE's configuration as aide reads it (aide.conf(5)): `/etc/aide/aide.conf`
//! with `@@include FILE`, `@@include DIR REGEX` and `@@x_include DIR REGEX`
//! expanded in place (a directory's matching files in name order; Debian's
//! aide.conf pulls in `/etc/aide/aide.conf.d` this way), `@@define` and
//! `@@{VAR}`, `@@ifdef`/`@@ifndef` blocks, group definitions (`NAME =
//! p+i+sha512`) and selection lines (`/path attrs`, `=/path attrs`,
//! `!/path`, optionally with a file-type restriction in the middle).
//!
//! The rules look for the selection line of each audit tool, as CIS's
//! audit does: a line naming the tool's path itself (`/sbin/auditctl` or,
//! on merged /usr, `/usr/sbin/auditctl`), the last one winning, a `!` line
//! excluding it. Its attribute expression is resolved through the groups
//! (`AuditTools = p+i+...`, `R+b+sha512`, `H` for every hash). The output
//! of an executable included by `@@x_include` is not known without running
//! it; a tool no other line covers is then not evaluated.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt;

use serde::{Deserialize, Serialize};
use vpsc_contract::Invalid;

use crate::check::Check;
use crate::facts::{Fact, Facts};
use crate::verdict::{CisStatus, Evidence, Verdict, verdict};
use vpsc_engine::root::Root;

/// The main file.
pub const MAIN: &str = "/etc/aide/aide.conf";

/// Bound on nested includes and group definitions.
const MAX_DEPTH: usize = 16;

/// AIDE's predefined groups (aide.conf(5), DEFAULT GROUPS).
const BUILTIN_GROUPS: &[(&str, &str)] = &[
    ("R", "p+ftype+i+l+n+u+g+s+m+c+acl+selinux+xattrs"),
    ("L", "p+ftype+i+l+n+u+g+acl+selinux+xattrs"),
    (">", "p+ftype+l+u+g+i+n+S+acl+selinux+xattrs"),
    (
        "H",
        "md5+sha1+sha256+sha512+rmd160+tiger+haval+gost+crc32+whirlpool+stribog256+stribog512",
    ),
    ("E", ""),
];

/// AIDE's attribute names.
const ATTRIBUTES: [&str; 33] = [
    "p",
    "i",
    "n",
    "u",
    "g",
    "s",
    "b",
    "m",
    "a",
    "c",
    "S",
    "I",
    "l",
    "ftype",
    "acl",
    "selinux",
    "xattrs",
    "e2fsattrs",
    "caps",
    "md5",
    "sha1",
    "sha256",
    "sha512",
    "rmd160",
    "tiger",
    "haval",
    "gost",
    "crc32",
    "whirlpool",
    "stribog256",
    "stribog512",
    "sha512_256",
    "bsize",
];

/// A selection line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Selection {
    /// `!`, `=` or empty.
    kind: char,
    /// Path as written, without the prefix and a trailing `$`.
    path: String,
    /// File types it is restricted to (`f+d`); empty: all.
    types: String,
    /// Attribute expression.
    attrs: String,
    /// File and line.
    file: String,
    line: usize,
}

/// The configuration as read.
#[derive(Debug, Default)]
pub struct AideConf {
    /// Whether aide.conf exists.
    pub found: bool,
    groups: BTreeMap<String, String>,
    vars: BTreeMap<String, String>,
    selections: Vec<Selection>,
    /// Executable includes whose output is unknown.
    pub executables: Vec<String>,
}

impl AideConf {
    /// Reads aide.conf and its includes under `root`.
    pub fn load(root: &Root) -> AideConf {
        let mut c = AideConf {
            found: root.is_file(MAIN),
            ..AideConf::default()
        };
        c.read(root, MAIN, 0);
        c
    }

    fn read(&mut self, root: &Root, file: &str, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        let Ok(text) = root.read_to_string(file) else {
            return;
        };
        // Whether each enclosing @@if block is taken.
        let mut taken: Vec<bool> = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = self.substitute(raw.trim());
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            let active = taken.iter().all(|t| *t);
            match words[0] {
                "@@ifdef" | "@@ifndef" => {
                    let defined = words.get(1).is_some_and(|v| self.vars.contains_key(*v));
                    taken.push(defined == (words[0] == "@@ifdef"));
                    continue;
                }
                // The host name is not the tree's to know: such a block is
                // left out.
                "@@ifhost" | "@@ifnhost" => {
                    taken.push(false);
                    continue;
                }
                "@@else" => {
                    if let Some(t) = taken.last_mut() {
                        *t = !*t;
                    }
                    continue;
                }
                "@@endif" => {
                    taken.pop();
                    continue;
                }
                _ if !active => continue,
                "@@define" => {
                    if let Some(name) = words.get(1) {
                        self.vars.insert(
                            (*name).to_owned(),
                            words.get(2).copied().unwrap_or("").to_owned(),
                        );
                    }
                    continue;
                }
                "@@undef" => {
                    if let Some(name) = words.get(1) {
                        self.vars.remove(*name);
                    }
                    continue;
                }
                "@@include" | "@@x_include" => {
                    let exec = words[0] == "@@x_include";
                    match (words.get(1), words.get(2)) {
                        (Some(dir), Some(regex)) => {
                            for f in dir_files(root, dir, regex) {
                                let executable = root
                                    .metadata(&f)
                                    .is_ok_and(|m| m.permissions().mode() & 0o111 != 0);
                                if exec && executable {
                                    self.executables.push(f);
                                } else {
                                    self.read(root, &f, depth + 1);
                                }
                            }
                        }
                        (Some(f), None) => self.read(root, f, depth + 1),
                        _ => {}
                    }
                    continue;
                }
                _ => {}
            }
            if let Some(first) = line.chars().next() {
                if first == '/' || ((first == '!' || first == '=') && line[1..].starts_with('/')) {
                    let (kind, rest) = match first {
                        '!' | '=' => (first, &line[1..]),
                        _ => (' ', line.as_str()),
                    };
                    let words: Vec<&str> = rest.split_whitespace().collect();
                    let (types, attrs) = match words.len() {
                        0 | 1 => ("", ""),
                        2 => ("", words[1]),
                        _ => (words[1], words[2]),
                    };
                    self.selections.push(Selection {
                        kind,
                        path: words
                            .first()
                            .map_or("", |p| p.trim_end_matches('$'))
                            .to_owned(),
                        types: types.to_owned(),
                        attrs: attrs.to_owned(),
                        file: file.to_owned(),
                        line: i + 1,
                    });
                } else if let Some((name, expr)) = line.split_once('=') {
                    let name = name.trim();
                    if !name.is_empty() && !name.contains(char::is_whitespace) {
                        self.groups.insert(name.to_owned(), expr.trim().to_owned());
                    }
                }
            }
        }
    }

    /// `@@{VAR}` replaced by its value.
    fn substitute(&self, line: &str) -> String {
        let mut out = line.to_owned();
        for (k, v) in &self.vars {
            out = out.replace(&format!("@@{{{k}}}"), v);
        }
        out
    }

    /// The attributes an expression stands for, or the name AIDE would not
    /// know.
    fn attributes(&self, expr: &str, depth: usize) -> Result<BTreeSet<String>, Unresolved> {
        if depth > MAX_DEPTH {
            return Err(Unresolved::TooDeep(expr.to_owned()));
        }
        let mut set = BTreeSet::new();
        let mut sign = '+';
        let mut term = String::new();
        for c in expr.chars().chain(std::iter::once('+')) {
            if (c == '+' || c == '-') && !term.is_empty() {
                let resolved = self.term(&term, depth)?;
                if sign == '+' {
                    set.extend(resolved);
                } else {
                    set.retain(|a| !resolved.contains(a));
                }
                term.clear();
                sign = c;
            } else if c == '+' || c == '-' {
                sign = c;
            } else {
                term.push(c);
            }
        }
        Ok(set)
    }

    fn term(&self, term: &str, depth: usize) -> Result<BTreeSet<String>, Unresolved> {
        if let Some(expr) = self.groups.get(term) {
            return self.attributes(expr, depth + 1);
        }
        if let Some((_, expr)) = BUILTIN_GROUPS.iter().find(|(g, _)| *g == term) {
            return self.attributes(expr, depth + 1);
        }
        if ATTRIBUTES.contains(&term) {
            return Ok(BTreeSet::from([term.to_owned()]));
        }
        Err(Unresolved::Unknown(term.to_owned()))
    }
}

/// Why an attribute expression does not resolve, as aide would refuse it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum Unresolved {
    /// Groups defined through each other too deep (or in a loop).
    #[error("{0}: groups nest too deep")]
    TooDeep(String),
    /// A name that is neither an attribute nor a group.
    #[error("`{0}` is no AIDE attribute or group")]
    Unknown(String),
}

/// The regular files of `dir` whose names `regex` matches, in name order.
/// Only the shapes aide.conf uses are read: `^[class]+$` (Debian's) and
/// `.*`; another regex matches every name.
fn dir_files(root: &Root, dir: &str, regex: &str) -> Vec<String> {
    let Ok(list) = root.read_dir_names(dir) else {
        return Vec::new();
    };
    let class = regex
        .strip_prefix("^[")
        .and_then(|r| r.strip_suffix("]+$"))
        .map(class_chars);
    let mut out: Vec<String> = list
        .into_iter()
        .filter(|n| root.is_file(&format!("{}/{n}", dir.trim_end_matches('/'))))
        .filter(|n| {
            class
                .as_ref()
                .is_none_or(|c| !n.is_empty() && n.chars().all(|x| c.contains(&x)))
        })
        .map(|n| format!("{}/{n}", dir.trim_end_matches('/')))
        .collect();
    out.sort();
    out
}

/// The characters of a bracket class body like `a-zA-Z0-9_-`.
fn class_chars(body: &str) -> BTreeSet<char> {
    let chars: Vec<char> = body.chars().collect();
    let mut set = BTreeSet::new();
    let mut i = 0;
    while i < chars.len() {
        if i + 2 < chars.len() && chars[i + 1] == '-' {
            for c in chars[i]..=chars[i + 2] {
                set.insert(c);
            }
            i += 3;
        } else {
            set.insert(chars[i]);
            i += 1;
        }
    }
    set
}

/// `/usr/sbin/auditctl` for `/sbin/auditctl` and back: the same file on
/// merged /usr.
fn twin(path: &str) -> String {
    match path.strip_prefix("/usr") {
        Some(rest) => rest.to_owned(),
        None => format!("/usr{path}"),
    }
}

impl Fact for AideConf {
    fn read(root: &Root, _live: bool) -> AideConf {
        AideConf::load(root)
    }
}

/// AIDE checks these paths with at least these attributes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AideRules {
    /// Paths of the files.
    pub paths: Vec<String>,
    /// Attributes, e.g. `sha512`.
    pub attributes: Vec<String>,
}

impl Check for AideRules {
    fn validate(&self) -> Result<(), Invalid> {
        if self.paths.is_empty() || self.attributes.is_empty() {
            Err("aide_rules needs paths and attributes".into())
        } else {
            Ok(())
        }
    }

    fn judge(&self, f: &Facts<'_>) -> Verdict {
        judge(&f.get::<AideConf>(), &self.paths, &self.attributes)
    }
}

/// Every path has a selection line with every attribute.
fn judge(conf: &AideConf, paths: &[String], attributes: &[String]) -> Verdict {
    if !conf.found {
        return verdict(
            CisStatus::Fail,
            vec![Evidence::said(format!("no {MAIN}: AIDE is not installed"))],
        );
    }
    let mut evidence = Vec::new();
    let mut status = CisStatus::Pass;
    let worse = |s: &mut CisStatus, new: CisStatus| {
        if new == CisStatus::Fail || *s == CisStatus::Pass {
            *s = new;
        }
    };
    for p in paths {
        let names = [p.clone(), twin(p)];
        let decisive = conf
            .selections
            .iter()
            .rev()
            .find(|s| names.contains(&s.path) && (s.types.is_empty() || s.types.contains('f')));
        let Some(sel) = decisive else {
            if conf.executables.is_empty() {
                worse(&mut status, CisStatus::Fail);
                evidence.push(Evidence::said(format!("{p}: no AIDE selection line")));
            } else {
                worse(&mut status, CisStatus::NotEvaluated);
                evidence.push(Evidence::said(format!(
                    "{p}: no selection line read; {} run by @@x_include may print one",
                    conf.executables.join(", ")
                )));
            }
            continue;
        };
        if sel.kind == '!' {
            worse(&mut status, CisStatus::Fail);
            evidence.push(Evidence::at(
                &sel.file,
                sel.line,
                format!("!{}: excluded from the check", sel.path),
            ));
            continue;
        }
        match conf.attributes(&sel.attrs, 0) {
            Ok(have) => {
                let missing: Vec<&str> = attributes
                    .iter()
                    .filter(|a| !have.contains(*a))
                    .map(String::as_str)
                    .collect();
                if missing.is_empty() {
                    evidence.push(Evidence::at(
                        &sel.file,
                        sel.line,
                        format!("{} {}", sel.path, sel.attrs),
                    ));
                } else {
                    worse(&mut status, CisStatus::Fail);
                    evidence.push(Evidence::at(
                        &sel.file,
                        sel.line,
                        format!("{} {}: lacks {}", sel.path, sel.attrs, missing.join("+")),
                    ));
                }
            }
            Err(why) => {
                worse(&mut status, CisStatus::Fail);
                evidence.push(Evidence::at(&sel.file, sel.line, why.to_string()));
            }
        }
    }
    verdict(status, evidence)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_resolve_and_the_last_line_for_a_path_wins() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = Root::new(dir.path());
        let write = |p: &str, t: &str| vpsc_engine::testing::write(dir.path(), p, t);
        write(
            MAIN,
            "@@define TOOLS /usr/sbin\nAuditTools = p+i+n+u+g+s+b+acl+xattrs+sha512\n\
             @@x_include /etc/aide/aide.conf.d ^[a-zA-Z0-9_-]+$\n",
        );
        write(
            "/etc/aide/aide.conf.d/31_audit",
            "/sbin/auditctl AuditTools\n@@{TOOLS}/auditd R+b+sha512\n/sbin/ausearch R-m\n",
        );
        write("/etc/aide/aide.conf.d/99_skipped.conf", "!/sbin/auditctl\n");
        let c = AideConf::load(&root);
        assert_eq!(c.selections.len(), 3, "{:?}", c.selections);
        assert_eq!(c.selections[1].path, "/usr/sbin/auditd");
        let have = c.attributes("R+b+sha512", 0).expect("known");
        assert!(
            ["p", "i", "n", "u", "g", "s", "b", "acl", "xattrs", "sha512"]
                .iter()
                .all(|a| have.contains(*a))
        );
        assert!(!c.attributes("R-m", 0).expect("known").contains("m"));
        assert!(c.attributes("Nope+p", 0).is_err());
        assert_eq!(twin("/sbin/auditd"), "/usr/sbin/auditd");
    }
}
