//! systemd units as `systemctl is-enabled` and `is-active` see them, read
//! from the root's files (systemd.unit(5)): a unit is defined by the first
//! file of its name in the unit directories, the administrator's first; it
//! is masked when that file is a symlink to `/dev/null` or empty; it is
//! started at boot when a `*.wants/`, `*.requires/` or `*.upholds/` link
//! of some unit directory names it (what `systemctl enable` and packages'
//! vendor links make); and it is static when its file has no `[Install]`
//! section to enable it with, so that only other units pull it in (as
//! sysinit.target.wants pulls in systemd-journald.service).
//!
//! Whether a unit is active is a fact of a running system: it is asked of
//! `systemctl is-active` only when the root is live, with the unit name as
//! one argument (names are validated when the rules load). On a `--root`
//! tree nothing runs, so "active" is not evaluated there.

use serde::{Deserialize, Serialize};
use vpsc_contract::Invalid;

use crate::check::Check;
use crate::facts::{Facts, KeyedFact};
use crate::verdict::{CisStatus, Evidence, Verdict, verdict};
use vpsc_engine::root::Root;

/// Directories systemd loads system units from (systemd.unit(5)), the
/// administrator's first; Debian 12 packages still install into
/// /lib/systemd/system.
pub const UNIT_DIRS: [&str; 5] = [
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
];

/// Suffixes of the directories whose links start a unit with another.
const WANTS: [&str; 3] = [".wants", ".requires", ".upholds"];

/// Bound on symlink hops, as the kernel's own (40).
const MAX_HOPS: usize = 40;

/// Where unit `u` is defined: a unit file (or a mask) in one of
/// [`UNIT_DIRS`], or for `NAME.service` a SysV script `/etc/init.d/NAME`
/// that systemd-sysv-generator turns into that unit. `None`: no such unit
/// on this system, as when the package that ships it is not installed.
pub fn unit_source(root: &Root, u: &str) -> Option<String> {
    UNIT_DIRS
        .iter()
        .map(|d| format!("{d}/{u}"))
        .chain(
            u.strip_suffix(".service")
                .map(|name| format!("/etc/init.d/{name}")),
        )
        .find(|p| root.symlink_metadata(p).is_ok())
}

/// `abs` with its symlinks followed inside the root: an absolute target
/// is read from the root, not the host (`/etc/systemd/system/x.service`
/// links to `/lib/systemd/system/x.service` of the root). `None` when a
/// link dangles or loops.
pub fn resolve(root: &Root, abs: &str) -> Option<String> {
    let mut path = abs.to_owned();
    for _ in 0..MAX_HOPS {
        let meta = root.symlink_metadata(&path).ok()?;
        if !meta.file_type().is_symlink() {
            return Some(path);
        }
        let target = root.read_link(&path).ok()?;
        let target = target.to_string_lossy();
        path = if target.starts_with('/') {
            target.into_owned()
        } else {
            let parent = path.rsplit_once('/').map_or("", |(p, _)| p);
            normalize(&format!("{parent}/{target}"))
        };
        if path == "/dev/null" {
            return Some(path);
        }
    }
    None
}

/// `/a/./b/../c` as `/a/c`.
fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

/// What the files say about one unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitState {
    /// Its defining file as seen from the root; `None`: no such unit.
    pub source: Option<String>,
    /// The defining file is a symlink to /dev/null or empty.
    pub masked: bool,
    /// Its file has no `[Install]` section: it cannot be enabled, other
    /// units pull it in.
    pub is_static: bool,
    /// The links that start it with another unit, as seen from the root
    /// (`/etc/systemd/system/multi-user.target.wants/rsyslog.service`).
    pub wanted_by: Vec<String>,
}

impl UnitState {
    /// Reads the state of unit `u` under `root`.
    pub fn load(root: &Root, u: &str) -> UnitState {
        let source = unit_source(root, u);
        let resolved = source.as_deref().and_then(|s| resolve(root, s));
        let masked = match resolved.as_deref() {
            Some("/dev/null") => true,
            Some(p) => root.metadata(p).is_ok_and(|m| m.len() == 0),
            None => false,
        };
        let text = resolved
            .as_deref()
            .filter(|p| *p != "/dev/null")
            .and_then(|p| root.read_to_string(p).ok())
            .unwrap_or_default();
        let mut wanted_by = Vec::new();
        for dir in UNIT_DIRS {
            let Ok(entries) = root.read_dir_names(dir) else {
                continue;
            };
            let mut names: Vec<String> = entries
                .into_iter()
                .filter(|n| WANTS.iter().any(|w| n.ends_with(w)))
                .collect();
            names.sort();
            for n in names {
                let link = format!("{dir}/{n}/{u}");
                if root.symlink_metadata(&link).is_ok() {
                    wanted_by.push(link);
                }
            }
        }
        UnitState {
            is_static: source.is_some() && !masked && !has_install(&text),
            source,
            masked,
            wanted_by,
        }
    }

    /// Whether it starts at boot: it exists, is not masked, and a link
    /// makes another unit want it.
    pub fn starts_at_boot(&self) -> bool {
        self.source.is_some() && !self.masked && !self.wanted_by.is_empty()
    }

    /// What `systemctl is-enabled` would say, for evidence.
    pub fn word(&self) -> &'static str {
        match (&self.source, self.masked) {
            (None, _) => "not found",
            (Some(_), true) => "masked",
            _ if self.is_static => "static",
            _ if self.wanted_by.is_empty() => "disabled",
            _ => "enabled",
        }
    }
}

/// Whether a unit file has an `[Install]` section that enables it
/// (`WantedBy=`, `RequiredBy=`, `UpheldBy=`, `Alias=`, `Also=`).
fn has_install(text: &str) -> bool {
    let mut install = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            install = line == "[Install]";
        } else if install
            && ["WantedBy", "RequiredBy", "UpheldBy", "Alias", "Also"]
                .iter()
                .any(|k| {
                    line.strip_prefix(k)
                        .is_some_and(|rest| rest.trim_start().starts_with('='))
                })
        {
            return true;
        }
    }
    false
}

/// Why `systemctl is-active` gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum AskError {
    /// systemctl could not be run.
    #[error("cannot run systemctl is-active {unit}: {source}")]
    NotRun {
        /// The unit asked about.
        unit: String,
        /// Why.
        source: std::io::Error,
    },
    /// systemctl printed no word.
    #[error("systemctl is-active {unit} said nothing: {stderr}")]
    Silent {
        /// The unit asked about.
        unit: String,
        /// What it printed on stderr instead.
        stderr: String,
    },
}

/// `systemctl is-active UNIT` on the live root: its one-word answer
/// (`active`, `inactive`, `failed`, ...), or why it could not be asked.
pub fn is_active(root: &Root, u: &str) -> Result<String, AskError> {
    let out = vpsc_engine::root::waiting(|| root.command(&["systemctl", "is-active", u]).output())
        .map_err(|source| AskError::NotRun {
            unit: u.to_owned(),
            source,
        })?;
    let word = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if word.is_empty() {
        return Err(AskError::Silent {
            unit: u.to_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    Ok(word)
}

/// Whether an `is-active` answer means the unit runs (or is about to).
pub fn runs(word: &str) -> bool {
    matches!(
        word,
        "active" | "activating" | "reloading" | "refreshing" | "deactivating"
    )
}

/// `systemctl is-active` of one unit, asked once per scan.
struct Activity(Result<String, AskError>);

impl KeyedFact for Activity {
    fn read(root: &Root, unit: &str) -> Activity {
        Activity(is_active(root, unit))
    }
}

/// A systemd unit is (or is not) enabled and active; whether it is active
/// is asked only on a running system.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unit {
    /// Unit name.
    pub name: String,
    /// Whether it must start at boot (static counts) or must not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Whether it must be running or must not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
}

impl Check for Unit {
    fn validate(&self) -> Result<(), Invalid> {
        let name = &self.name;
        vpsc_contract::names::unit(name)?;
        if self.enabled.is_none() && self.active.is_none() {
            Err(Invalid::new(format!(
                "unit {name}: say enabled, active or both"
            )))
        } else {
            Ok(())
        }
    }

    fn judge(&self, f: &Facts<'_>) -> Verdict {
        judge(f, &self.name, self.enabled, self.active)
    }
}

/// `enabled` (starts at boot, static counts; or does not start) and
/// `active` (runs, or does not), each when given.
fn judge(f: &Facts<'_>, name: &str, enabled: Option<bool>, active: Option<bool>) -> Verdict {
    let state = UnitState::load(f.root(), name);
    let mut evidence = vec![match &state.source {
        Some(s) => Evidence::at(s, 0, format!("{name}: {}", state.word())),
        None => Evidence::said(format!(
            "{name}: no unit file (its package is not installed)"
        )),
    }];
    for w in &state.wanted_by {
        evidence.push(Evidence::at(w, 0, format!("starts {name} at boot")));
    }
    let mut status = CisStatus::Pass;
    let fail = |s: &mut CisStatus| *s = CisStatus::Fail;
    match enabled {
        Some(true) if state.starts_at_boot() || (state.is_static && !state.masked) => {}
        Some(true) => fail(&mut status),
        Some(false) if state.starts_at_boot() => fail(&mut status),
        _ => {}
    }
    match active {
        Some(want) if f.live() => match &f.get_for::<Activity>(name).0 {
            Ok(word) => {
                evidence.push(Evidence::said(format!(
                    "systemctl is-active {name}: {word}"
                )));
                if runs(word) != want {
                    fail(&mut status);
                }
            }
            Err(why) => {
                evidence.push(Evidence::said(why.to_string()));
                if status == CisStatus::Pass {
                    status = CisStatus::NotEvaluated;
                }
            }
        },
        // Nothing runs on a tree: what cannot start is not active, the
        // rest only a running system can tell.
        Some(true) if state.source.is_none() || state.masked => fail(&mut status),
        Some(false) if state.source.is_none() || state.masked => {}
        Some(_) => {
            evidence.push(Evidence::said(format!(
                "whether {name} is active only a running system can tell (a --root tree is not running)"
            )));
            if status == CisStatus::Pass {
                status = CisStatus::NotEvaluated;
            }
        }
        None => {}
    }
    verdict(status, evidence)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> tempfile::TempDir {
        tempfile::tempdir().expect("tempdir")
    }

    fn write(dir: &std::path::Path, p: &str, t: &str) {
        let path = dir.join(p.trim_start_matches('/'));
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, t).expect("write");
    }

    fn link(dir: &std::path::Path, p: &str, target: &str) {
        let path = dir.join(p.trim_start_matches('/'));
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::os::unix::fs::symlink(target, path).expect("symlink");
    }

    #[test]
    fn enablement_masks_and_static_units_are_read_from_the_links() {
        let dir = tree();
        let root = Root::new(dir.path());
        write(
            dir.path(),
            "/usr/lib/systemd/system/rsyslog.service",
            "[Service]\nExecStart=/usr/sbin/rsyslogd -n\n\n[Install]\nWantedBy=multi-user.target\nAlias=syslog.service\n",
        );
        write(
            dir.path(),
            "/usr/lib/systemd/system/systemd-journald.service",
            "[Service]\nExecStart=/usr/lib/systemd/systemd-journald\n",
        );
        link(
            dir.path(),
            "/usr/lib/systemd/system/sysinit.target.wants/systemd-journald.service",
            "../systemd-journald.service",
        );
        let rsyslog = UnitState::load(&root, "rsyslog.service");
        assert_eq!(rsyslog.word(), "disabled");
        assert!(!rsyslog.starts_at_boot());
        link(
            dir.path(),
            "/etc/systemd/system/multi-user.target.wants/rsyslog.service",
            "/usr/lib/systemd/system/rsyslog.service",
        );
        let rsyslog = UnitState::load(&root, "rsyslog.service");
        assert_eq!(rsyslog.word(), "enabled");
        assert_eq!(
            rsyslog.wanted_by,
            vec!["/etc/systemd/system/multi-user.target.wants/rsyslog.service".to_owned()]
        );
        let journald = UnitState::load(&root, "systemd-journald.service");
        assert_eq!(journald.word(), "static");
        assert!(journald.starts_at_boot());
        // The mask in /etc hides the vendor file, and its links count no more.
        link(
            dir.path(),
            "/etc/systemd/system/rsyslog.service",
            "/dev/null",
        );
        let rsyslog = UnitState::load(&root, "rsyslog.service");
        assert_eq!(rsyslog.word(), "masked");
        assert!(!rsyslog.starts_at_boot());
        write(dir.path(), "/etc/systemd/system/auditd.service", "");
        assert!(UnitState::load(&root, "auditd.service").masked);
        assert_eq!(UnitState::load(&root, "aide.timer").word(), "not found");
    }

    #[test]
    fn absolute_links_resolve_inside_the_root() {
        let dir = tree();
        let root = Root::new(dir.path());
        write(dir.path(), "/lib/systemd/system/x.service", "[Service]\n");
        link(
            dir.path(),
            "/etc/systemd/system/x.service",
            "/lib/systemd/system/x.service",
        );
        assert_eq!(
            resolve(&root, "/etc/systemd/system/x.service").as_deref(),
            Some("/lib/systemd/system/x.service")
        );
        link(dir.path(), "/etc/a", "b");
        link(dir.path(), "/etc/b", "a");
        assert_eq!(resolve(&root, "/etc/a"), None, "a loop");
        assert_eq!(normalize("/a/./b/../c"), "/a/c");
    }
}
