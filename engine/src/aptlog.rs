//! apt's own record of its transactions: `/var/log/apt/history.log` and
//! its rotated copies (`history.log.1`, `history.log.2.gz`, …).
//!
//! apt keeps no other record of *why* a package is on the system: dpkg
//! knows what is installed, apt's `extended_states` only whether it was
//! installed automatically. The history says which apt run installed it,
//! so `vpsc rollback` reads it to learn what a profile added.
//!
//! The format (apt-pkg's `dpkgpm.cc`): blocks separated by a blank line,
//! each `Key: value` lines starting with `Start-Date:`; package lists are
//! `name:arch (version)`, with `, automatic` for a package apt pulled in,
//! and `(old, new)` for upgrades. Unknown keys are skipped (apt adds keys
//! now and then); anything that is not `Key: value`, or a package list
//! that does not parse, is an error naming the file and line: a rollback
//! computed from a misread history could remove the wrong packages.

use std::io::Read;
use vpsc_contract::Invalid;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::root::Root;

/// Where apt writes its history.
pub const HISTORY_DIR: &str = "/var/log/apt";

/// One package named in a transaction's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// Package name.
    pub name: String,
    /// Architecture as written (`amd64`; apt writes the native one for
    /// `Architecture: all` packages too), if the line had one.
    pub arch: Option<String>,
    /// What the parentheses held: `1.0`, or `1.0, 1.1` for an upgrade.
    pub version: String,
    /// Whether apt installed it automatically (a dependency).
    pub automatic: bool,
}

/// One apt run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Transaction {
    /// The file it was read from, inside the root.
    pub file: String,
    /// Line of its `Start-Date:` in that file (from 1).
    pub line: usize,
    /// `Start-Date:` as apt wrote it.
    pub start: String,
    /// `Commandline:`, empty when apt did not write one.
    pub commandline: String,
    /// Packages newly installed.
    pub install: Vec<Entry>,
    /// Packages upgraded.
    pub upgrade: Vec<Entry>,
    /// Packages removed, configuration kept.
    pub remove: Vec<Entry>,
    /// Packages purged.
    pub purge: Vec<Entry>,
    /// `Error:`, when apt reported one.
    pub error: Option<String>,
}

impl Transaction {
    /// Whether the transaction removed or purged `name`.
    pub fn removed(&self, name: &str) -> bool {
        self.remove
            .iter()
            .chain(&self.purge)
            .any(|e| e.name == name)
    }
}

/// Every transaction under `root`, oldest first: the rotated files from
/// the highest number down, then `history.log`. An absent directory or
/// file is no history, not an error.
pub fn read_history(root: &Root) -> Result<Vec<Transaction>> {
    let names = match rotated(root, HISTORY_DIR, "history.log") {
        Ok(names) => names,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("list", HISTORY_DIR)(e)),
    };
    let mut all = Vec::new();
    for name in names {
        let path = format!("{HISTORY_DIR}/{name}");
        let raw = root.read(&path).map_err(Error::io("read", &path))?;
        let bytes = decompress(&name, raw).map_err(|e| Error::Invalid {
            what: format!("{path} is not a readable gzip file: {e}"),
            hint: format!(
                "apt's history is incomplete without it; restore {path} or move it aside (what it records is then not rolled back)"
            ),
        })?;
        // Command lines may hold any bytes; package lists are ASCII.
        all.extend(parse(&String::from_utf8_lossy(&bytes), &path)?);
    }
    Ok(all)
}

/// The names of the log `base` in directory `dir` and of its rotated
/// copies (`base.1`, `base.2.gz`, … as logrotate names them), oldest
/// first: the highest number down, then `base` itself. Other files of the
/// directory are left out. apt's history and dpkg's log both rotate so.
pub fn rotated(root: &Root, dir: &str, base: &str) -> std::io::Result<Vec<String>> {
    let mut files: Vec<(u32, String)> = root
        .read_dir_names(dir)?
        .into_iter()
        .filter_map(|n| rotation(&n, base).map(|r| (r, n)))
        .collect();
    // Higher rotation numbers are older; the log itself is 0.
    files.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    Ok(files.into_iter().map(|(_, n)| n).collect())
}

/// The text of a log file read as `raw`: gunzipped when `name` ends in
/// `.gz` (multi-member: logrotate may append), as is otherwise.
pub fn decompress(name: &str, raw: Vec<u8>) -> std::io::Result<Vec<u8>> {
    if !name.ends_with(".gz") {
        return Ok(raw);
    }
    // flate2 is already a dependency (home archives); no gzip subprocess
    // is needed.
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(raw.as_slice()).read_to_end(&mut out)?;
    Ok(out)
}

/// The rotation number of a file name of the log `base` (`base` itself is
/// 0), or `None` for other files of the directory (term.log, eipp.log.xz).
fn rotation(name: &str, base: &str) -> Option<u32> {
    if name == base {
        return Some(0);
    }
    let rest = name.strip_prefix(base)?.strip_prefix('.')?;
    let number = rest.strip_suffix(".gz").unwrap_or(rest);
    number.parse().ok().filter(|&n| n > 0)
}

/// Parses the text of one history file; `file` names it in errors.
pub fn parse(text: &str, file: &str) -> Result<Vec<Transaction>> {
    let mut out = Vec::new();
    let mut current: Option<Transaction> = None;
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let corrupt = |why: String| Error::Invalid {
            what: format!("{file}:{line}: {why}"),
            hint: format!(
                "apt writes this file and the rollback depends on it; repair the line from a backup, or move {file} aside if what it records is not vpsc's; nothing was changed"
            ),
        };
        if raw.trim().is_empty() {
            out.extend(current.take());
            continue;
        }
        let Some((key, value)) = split_key(raw) else {
            return Err(corrupt(format!(
                "`{}` is not a `Key: value` line of apt's history",
                shorten(raw)
            )));
        };
        if key == "Start-Date" {
            if current.is_some() {
                return Err(corrupt(
                    "a second `Start-Date:` without the blank line that ends a transaction".into(),
                ));
            }
            current = Some(Transaction {
                file: file.to_owned(),
                line,
                start: value.to_owned(),
                ..Transaction::default()
            });
            continue;
        }
        let Some(tx) = current.as_mut() else {
            return Err(corrupt(format!(
                "`{key}:` outside a transaction (no `Start-Date:` before it)"
            )));
        };
        let list = |v: &str| entries(v).map_err(|e| corrupt(format!("`{key}:` {e}")));
        match key {
            "Commandline" => tx.commandline = value.to_owned(),
            "Install" => tx.install.extend(list(value)?),
            "Upgrade" => tx.upgrade.extend(list(value)?),
            "Remove" => tx.remove.extend(list(value)?),
            "Purge" => tx.purge.extend(list(value)?),
            "Error" => tx.error = Some(value.to_owned()),
            // Requested-By, End-Date, Downgrade, Reinstall and keys of
            // later apt versions say nothing about what a run added.
            _ => {}
        }
    }
    out.extend(current);
    Ok(out)
}

/// `Key: value` with a key of letters and `-`.
fn split_key(line: &str) -> Option<(&str, &str)> {
    let (key, value) = line.split_once(':')?;
    let ok = !key.is_empty()
        && key.starts_with(|c: char| c.is_ascii_alphabetic())
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    ok.then(|| (key, value.trim()))
}

/// The start of a long line, for messages.
fn shorten(line: &str) -> String {
    match line.char_indices().nth(80) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line.to_owned(),
    }
}

/// A package list: `name:arch (version[, automatic]), …`. Commas inside
/// the parentheses belong to the entry.
fn entries(value: &str) -> std::result::Result<Vec<Entry>, Invalid> {
    let mut items = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in value.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth = depth.checked_sub(1).ok_or_else(|| {
                    Invalid::new(format!("has an unmatched `)` at column {}", i + 1))
                })?;
            }
            ',' if depth == 0 => {
                items.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err("has an unclosed `(`".into());
    }
    items.push(&value[start..]);
    items
        .into_iter()
        .filter(|item| !item.trim().is_empty())
        .map(|item| entry(item.trim()))
        .collect()
}

/// One `name:arch (version[, automatic])`.
fn entry(item: &str) -> std::result::Result<Entry, Invalid> {
    let bad = || {
        Invalid::new(format!(
            "entry `{}` is not `package:arch (version)`",
            shorten(item)
        ))
    };
    let (head, rest) = item.split_once(" (").ok_or_else(bad)?;
    let inner = rest.strip_suffix(')').ok_or_else(bad)?;
    let (name, arch) = match head.split_once(':') {
        Some((name, arch)) => (name, Some(arch)),
        None => (head, None),
    };
    vpsc_contract::names::package(name).map_err(|_| bad())?;
    if let Some(arch) = arch {
        if arch.is_empty()
            || !arch
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(bad());
        }
    }
    let (version, automatic) = match inner.strip_suffix(", automatic") {
        Some(v) => (v, true),
        None => (inner, false),
    };
    if version.trim().is_empty() {
        return Err(bad());
    }
    Ok(Entry {
        name: name.to_owned(),
        arch: arch.map(str::to_owned),
        version: version.to_owned(),
        automatic,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "
Start-Date: 2026-12-06  06:26:50
Commandline: apt-get install --install-recommends git
Install: git:amd64 (1:2.47.3-0+deb13u1), perl:amd64 (5.40.1-6+deb13u1, automatic), patch:amd64 (2.8-2+deb13u1, automatic)
End-Date: 2026-12-06  06:26:54

Start-Date: 2026-12-06  06:26:59
Commandline: apt-get install vpsc-profile-beginner
Requested-By: alice (1000)
Install: vpsc-profile-beginner:amd64 (1.3.0), vpsc-runtime:amd64 (0.6.0-1, automatic)
Upgrade: libc6:amd64 (2.41-12, 2.41-12+deb13u1)
Remove: nano:amd64 (8.4-1)
End-Date: 2026-12-06  06:28:51

Start-Date: 2026-12-07  10:00:00
Commandline: apt-get purge foo
Purge: foo:i386 (1.0)
Error: Sub-process /usr/bin/dpkg returned an error code (1)
End-Date: 2026-12-07  10:00:01
";

    #[test]
    fn transactions_with_their_lists() {
        let txs = parse(LOG, "/var/log/apt/history.log").expect("parses");
        assert_eq!(txs.len(), 3);
        assert_eq!(txs[0].line, 2);
        assert_eq!(txs[0].start, "2026-12-06  06:26:50");
        let names: Vec<(&str, bool)> = txs[0]
            .install
            .iter()
            .map(|e| (e.name.as_str(), e.automatic))
            .collect();
        assert_eq!(names, [("git", false), ("perl", true), ("patch", true)]);
        assert_eq!(txs[0].install[0].version, "1:2.47.3-0+deb13u1");
        assert_eq!(txs[0].install[0].arch.as_deref(), Some("amd64"));
        assert_eq!(txs[1].commandline, "apt-get install vpsc-profile-beginner");
        assert_eq!(txs[1].upgrade[0].version, "2.41-12, 2.41-12+deb13u1");
        assert!(!txs[1].upgrade[0].automatic);
        assert!(txs[1].removed("nano"));
        assert!(txs[2].removed("foo"));
        assert_eq!(txs[2].purge[0].arch.as_deref(), Some("i386"));
        assert!(txs[2].error.is_some());
    }

    #[test]
    fn unknown_keys_and_unfinished_runs_are_accepted() {
        let text = "Start-Date: x\nCommandline: apt install a\n\nStart-Date: y\nComment: later apt\nInstall: bb (1.0)\nDowngrade: c:amd64 (2, 1)\n";
        let txs = parse(text, "f").expect("parses");
        assert_eq!(txs.len(), 2);
        assert!(txs[0].install.is_empty(), "a run killed before it ended");
        assert_eq!(txs[1].install[0].name, "bb");
        assert_eq!(txs[1].install[0].arch, None);
    }

    #[test]
    fn corrupt_lines_name_file_and_line() {
        for (text, line, why) in [
            ("Start-Date: x\nInstall: git:amd64 (1.0\n", 2, "unclosed"),
            (
                "Start-Date: x\nInstall: git:amd64 1.0\n",
                2,
                "is not `package:arch",
            ),
            (
                "Start-Date: x\nInstall: Git:amd64 (1.0)\n",
                2,
                "is not `package:arch",
            ),
            (
                "Start-Date: x\nInstall: git:amd64 ()\n",
                2,
                "is not `package:arch",
            ),
            (
                "Start-Date: x\nInstall: aa:amd64 (1)), bb (2)\n",
                2,
                "unmatched",
            ),
            ("Start-Date: x\n\u{0}garbage\n", 2, "not a `Key: value`"),
            ("\nInstall: git:amd64 (1.0)\n", 2, "outside a transaction"),
            ("Start-Date: x\nStart-Date: y\n", 2, "second `Start-Date:`"),
        ] {
            let err = parse(text, "/var/log/apt/history.log.2.gz").expect_err(text);
            let shown = err.to_string();
            assert!(
                shown.starts_with(&format!("/var/log/apt/history.log.2.gz:{line}: ")),
                "{shown}"
            );
            assert!(shown.contains(why), "{shown}");
            assert!(
                err.hint()
                    .is_some_and(|h| h.contains("nothing was changed"))
            );
        }
    }

    fn write_gz(path: &std::path::Path, text: &str) {
        use std::io::Write;
        let file = std::fs::File::create(path).expect("create");
        let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
        gz.write_all(text.as_bytes()).expect("write");
        gz.finish().expect("finish");
    }

    #[test]
    fn rotated_files_are_read_oldest_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let logs = dir.path().join("var/log/apt");
        std::fs::create_dir_all(&logs).expect("mkdir");
        let tx = |n: &str| format!("\nStart-Date: {n}\nInstall: p{n}:amd64 (1)\nEnd-Date: {n}\n");
        std::fs::write(logs.join("history.log"), tx("4")).expect("write");
        std::fs::write(logs.join("history.log.1"), tx("3")).expect("write");
        write_gz(&logs.join("history.log.2.gz"), &tx("2"));
        write_gz(&logs.join("history.log.10.gz"), &tx("1"));
        std::fs::write(logs.join("term.log"), "not a history\n").expect("write");
        std::fs::write(logs.join("history.log.old"), "ignored\n").expect("write");
        let txs = read_history(&Root::new(dir.path())).expect("reads");
        let order: Vec<&str> = txs.iter().map(|t| t.start.as_str()).collect();
        assert_eq!(order, ["1", "2", "3", "4"]);
        assert_eq!(txs[1].file, "/var/log/apt/history.log.2.gz");
        assert_eq!(txs[1].install[0].name, "p2");
    }

    #[test]
    fn a_damaged_archive_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let logs = dir.path().join("var/log/apt");
        std::fs::create_dir_all(&logs).expect("mkdir");
        std::fs::write(logs.join("history.log.3.gz"), b"\x1f\x8b not gzip").expect("write");
        let err = read_history(&Root::new(dir.path())).expect_err("damaged");
        assert!(
            err.to_string().contains("/var/log/apt/history.log.3.gz"),
            "{err}"
        );
    }

    #[test]
    fn no_history_is_empty() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(read_history(&Root::new(dir.path())).expect("ok").is_empty());
    }
}
