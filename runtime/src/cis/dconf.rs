//! GNOME's system settings as dconf compiles them: the keyfiles of
//! `/etc/dconf/db/<db>.d/` (`[org/gnome/login-screen]` then
//! `key=value`), a later file overriding an earlier one, and the locks in
//! `<db>.d/locks/` that users cannot override. Only the keyfiles are read:
//! the compiled databases are what `dconf update` makes of them.

use super::checks::{CisStatus, Evidence, Verdict, verdict};
use crate::root::Root;

/// The keyfile directories (`local.d`, `gdm.d`, …) and their files, in
/// the order dconf reads them.
fn files(root: &Root, locks: bool) -> Vec<String> {
    let base = "/etc/dconf/db";
    let mut dbs: Vec<String> = std::fs::read_dir(root.path(base))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".d"))
        .collect();
    dbs.sort();
    let mut out = Vec::new();
    for db in dbs {
        let dir = if locks {
            format!("{base}/{db}/locks")
        } else {
            format!("{base}/{db}")
        };
        let mut names: Vec<String> = std::fs::read_dir(root.path(&dir))
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        out.extend(names.into_iter().map(|n| format!("{dir}/{n}")));
    }
    out
}

/// The value `/org/gnome/…/key` is set to, with where.
fn value(root: &Root, key_path: &str) -> Option<(String, usize, String)> {
    let (dir, key) = key_path.trim_start_matches('/').rsplit_once('/')?;
    let mut last = None;
    for f in files(root, false) {
        let Ok(text) = std::fs::read_to_string(root.path(&f)) else {
            continue;
        };
        let mut section = String::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.starts_with('#') {
                continue;
            }
            if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = s.trim_matches('/').to_owned();
            } else if section == dir
                && let Some((k, v)) = line.split_once('=')
                && k.trim() == key
            {
                last = Some((f.clone(), i + 1, v.trim().to_owned()));
            }
        }
    }
    last
}

/// A GNOME setting has one of `one_of` (GVariant text, e.g. `true`), or a
/// number (the last word: `uint32 900`) within `min..=max`.
pub fn setting(
    root: &Root,
    key: &str,
    one_of: &[String],
    min: Option<u64>,
    max: Option<u64>,
) -> Verdict {
    let Some((file, line, v)) = value(root, key) else {
        return verdict(
            CisStatus::Fail,
            vec![Evidence::said(format!(
                "{key} is not set in /etc/dconf/db/*.d"
            ))],
        );
    };
    let mut ok = one_of.is_empty() || one_of.contains(&v);
    if min.is_some() || max.is_some() {
        let n = v
            .split_whitespace()
            .last()
            .and_then(|n| n.parse::<u64>().ok());
        ok &= n.is_some_and(|n| min.is_none_or(|m| n >= m) && max.is_none_or(|m| n <= m));
    }
    verdict(
        if ok { CisStatus::Pass } else { CisStatus::Fail },
        vec![Evidence::at(&file, line, format!("{key}={v}"))],
    )
}

/// A GNOME setting is locked: a line of a `locks/` file names it.
pub fn locked(root: &Root, key: &str) -> Verdict {
    for f in files(root, true) {
        let Ok(text) = std::fs::read_to_string(root.path(&f)) else {
            continue;
        };
        if let Some((i, _)) = text.lines().enumerate().find(|(_, l)| l.trim() == key) {
            return verdict(
                CisStatus::Pass,
                vec![Evidence::at(&f, i + 1, format!("{key} is locked"))],
            );
        }
    }
    verdict(
        CisStatus::Fail,
        vec![Evidence::said(format!(
            "{key} is not locked: users may change it"
        ))],
    )
}

/// GDM's XDMCP is off: no `Enable=true` in `[xdmcp]` of
/// /etc/gdm3/daemon.conf (Debian's name for custom.conf).
pub fn xdmcp_off(root: &Root) -> Verdict {
    let conf = "/etc/gdm3/daemon.conf";
    let text = std::fs::read_to_string(root.path(conf)).unwrap_or_default();
    let mut section = String::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = s.to_ascii_lowercase();
        } else if section == "xdmcp"
            && let Some((k, v)) = line.split_once('=')
            && k.trim() == "Enable"
            && v.trim().eq_ignore_ascii_case("true")
        {
            return verdict(
                CisStatus::Fail,
                vec![Evidence::at(conf, i + 1, line.to_owned())],
            );
        }
    }
    verdict(
        CisStatus::Pass,
        vec![Evidence::at(conf, 0, "XDMCP is not enabled")],
    )
}
