//! GNOME's system settings as dconf compiles them: the keyfiles of
//! `/etc/dconf/db/<db>.d/` (`[org/gnome/login-screen]` then
//! `key=value`), a later file overriding an earlier one, and the locks in
//! `<db>.d/locks/` that users cannot override. Only the keyfiles are read:
//! the compiled databases are what `dconf update` makes of them.

use serde::{Deserialize, Serialize};

use crate::check::Check;
use crate::facts::Facts;
use crate::verdict::{CisStatus, Evidence, Verdict, pass_if, verdict};
use vpsc_engine::root::Root;

/// The keyfile directories (`local.d`, `gdm.d`, …) and their files, in
/// the order dconf reads them.
fn files(root: &Root, locks: bool) -> Vec<String> {
    let base = "/etc/dconf/db";
    let mut dbs: Vec<String> = root
        .read_dir_names(base)
        .unwrap_or_default()
        .into_iter()
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
        let mut names: Vec<String> = root
            .read_dir_names(&dir)
            .unwrap_or_default()
            .into_iter()
            .filter(|n| {
                root.symlink_metadata(&format!("{dir}/{n}"))
                    .is_ok_and(|m| m.is_file())
            })
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
        let Ok(text) = root.read_to_string(&f) else {
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
            } else if section == dir {
                if let Some((_, v)) = line.split_once('=').filter(|(k, _)| k.trim() == key) {
                    last = Some((f.clone(), i + 1, v.trim().to_owned()));
                }
            }
        }
    }
    last
}

/// A GNOME system setting in /etc/dconf/db/*.d.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dconf {
    /// Key path, e.g. `/org/gnome/login-screen/disable-user-list`.
    pub key: String,
    /// Allowed values as written (GVariant text).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub one_of: Vec<String>,
    /// Smallest allowed number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<u64>,
    /// Largest allowed number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u64>,
}

impl Check for Dconf {
    fn judge(&self, f: &Facts<'_>) -> Verdict {
        setting(f.root(), &self.key, &self.one_of, self.min, self.max)
    }
}

/// A GNOME setting has one of `one_of` (GVariant text, e.g. `true`), or a
/// number (the last word: `uint32 900`) within `min..=max`.
fn setting(
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
    pass_if(ok, vec![Evidence::at(&file, line, format!("{key}={v}"))])
}

/// A GNOME system setting is locked against users' changes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DconfLocked {
    /// Key path.
    pub key: String,
}

impl Check for DconfLocked {
    fn judge(&self, f: &Facts<'_>) -> Verdict {
        locked(f.root(), &self.key)
    }
}

/// A GNOME setting is locked: a line of a `locks/` file names it.
fn locked(root: &Root, key: &str) -> Verdict {
    for f in files(root, true) {
        let Ok(text) = root.read_to_string(&f) else {
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

/// The last value of `key` in `[section]` of /etc/gdm3/daemon.conf
/// (Debian's name for GDM's custom.conf), with its line: GKeyFile keeps
/// the last of repeated keys.
fn gdm_value(root: &Root, section: &str, key: &str) -> Option<(usize, String)> {
    let text = root.read_to_string(GDM_CONF).unwrap_or_default();
    let mut current = String::new();
    let mut found = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = s.to_ascii_lowercase();
        } else if current == section {
            if let Some((_, v)) = line.split_once('=').filter(|(k, _)| k.trim() == key) {
                found = Some((i + 1, v.trim().to_owned()));
            }
        }
    }
    found
}

const GDM_CONF: &str = "/etc/gdm3/daemon.conf";

/// GDM's XDMCP is not enabled.
#[derive(Debug, Clone, Copy)]
pub struct XdmcpOff;

impl Check for XdmcpOff {
    fn judge(&self, f: &Facts<'_>) -> Verdict {
        xdmcp_off(f.root())
    }
}

/// GDM's XDMCP is off: `Enable` in `[xdmcp]` is not true.
fn xdmcp_off(root: &Root) -> Verdict {
    match gdm_value(root, "xdmcp", "Enable") {
        Some((line, v)) if v.eq_ignore_ascii_case("true") => verdict(
            CisStatus::Fail,
            vec![Evidence::at(GDM_CONF, line, format!("Enable={v}"))],
        ),
        _ => verdict(
            CisStatus::Pass,
            vec![Evidence::at(GDM_CONF, 0, "XDMCP is not enabled")],
        ),
    }
}

/// GDM offers no Wayland session (CIS Debian 13 1.7.11, Xwayland).
#[derive(Debug, Clone, Copy)]
pub struct WaylandOff;

impl Check for WaylandOff {
    fn judge(&self, f: &Facts<'_>) -> Verdict {
        wayland_off(f.root())
    }
}

/// GDM offers no Wayland session, so no Xwayland runs under it:
/// `WaylandEnable=false` in `[daemon]` (GDM's default is true).
fn wayland_off(root: &Root) -> Verdict {
    match gdm_value(root, "daemon", "WaylandEnable") {
        Some((line, v)) if v.eq_ignore_ascii_case("false") => verdict(
            CisStatus::Pass,
            vec![Evidence::at(GDM_CONF, line, format!("WaylandEnable={v}"))],
        ),
        Some((line, v)) => verdict(
            CisStatus::Fail,
            vec![Evidence::at(GDM_CONF, line, format!("WaylandEnable={v}"))],
        ),
        None => verdict(
            CisStatus::Fail,
            vec![Evidence::at(
                GDM_CONF,
                0,
                "WaylandEnable is not set in [daemon]: GDM enables Wayland, and Xwayland with it",
            )],
        ),
    }
}
