//! Which directories are separate mounts, and with which options: on a
//! running system what `/proc/self/mounts` says; on a tree, what would be
//! mounted at boot: its `/etc/fstab`, systemd's `tmp.mount` for `/tmp`
//! (enabled by default on Debian 13) and systemd's own `/dev/shm`.

use serde::{Deserialize, Serialize};

use crate::check::Check;
use crate::facts::Facts;
use crate::verdict::{CisStatus, Evidence, Verdict, verdict};
use vpsc_engine::root::Root;

/// A directory is a separate mount.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeparatePartition {
    /// Mount point.
    pub path: String,
}

impl Check for SeparatePartition {
    fn judge(&self, f: &Facts<'_>) -> Verdict {
        let path = &self.path;
        match find(f.root(), path) {
            Some(m) => verdict(
                CisStatus::Pass,
                vec![Evidence::said(format!("{path} is mounted: {}", m.source))],
            ),
            None => verdict(
                CisStatus::Fail,
                vec![Evidence::said(format!("{path} is not a separate mount"))],
            ),
        }
    }
}

/// A separate mount carries an option; not applicable when the directory
/// is not a separate mount (its own rule says so).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MountOption {
    /// Mount point.
    pub path: String,
    /// Option, e.g. `nodev`.
    pub option: String,
}

impl Check for MountOption {
    fn judge(&self, f: &Facts<'_>) -> Verdict {
        let (path, option) = (&self.path, &self.option);
        match find(f.root(), path) {
            Some(m) => verdict(
                if m.options.iter().any(|o| o == option) {
                    CisStatus::Pass
                } else {
                    CisStatus::Fail
                },
                vec![Evidence::said(format!(
                    "{path} options {} ({})",
                    m.options.join(","),
                    m.source
                ))],
            ),
            None => verdict(
                CisStatus::Notapplicable,
                vec![Evidence::said(format!("{path} is not a separate mount"))],
            ),
        }
    }
}

/// A mount and where that was read.
#[derive(Debug, Clone)]
pub struct Mount {
    /// Mount options.
    pub options: Vec<String>,
    /// Where it was found (`/etc/fstab:12`, `/proc/self/mounts`, …).
    pub source: String,
}

/// The mount at `path`, if it is a separate one.
pub fn find(root: &Root, path: &str) -> Option<Mount> {
    let split = |o: &str| o.split(',').map(str::to_owned).collect::<Vec<_>>();
    if root.is_live() {
        // The last line for a mount point is the one on top.
        return std::fs::read_to_string("/proc/self/mounts")
            .unwrap_or_default()
            .lines()
            .rev()
            .find_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (f.len() > 3 && f[1] == path).then(|| Mount {
                    options: split(f[3]),
                    source: format!("/proc/self/mounts: {} on {} type {}", f[0], f[1], f[2]),
                })
            });
    }
    let fstab = root.read_to_string("/etc/fstab").unwrap_or_default();
    for (i, line) in fstab.lines().enumerate() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() > 3 && !f[0].starts_with('#') && f[1] == path {
            return Some(Mount {
                options: split(f[3]),
                source: format!("/etc/fstab:{}", i + 1),
            });
        }
    }
    match path {
        "/tmp" => {
            let unit = [
                "/etc/systemd/system/tmp.mount",
                "/usr/lib/systemd/system/tmp.mount",
            ]
            .into_iter()
            .find(|u| root.symlink_metadata(u).is_ok())?;
            if root
                .read_link(unit)
                .is_ok_and(|t| t == std::path::Path::new("/dev/null"))
            {
                return None;
            }
            let text = root.read_to_string(unit).ok()?;
            let options = text
                .lines()
                .find_map(|l| l.trim().strip_prefix("Options="))
                .map(split)
                .unwrap_or_default();
            Some(Mount {
                options,
                source: format!("{unit} (systemd mounts /tmp at boot)"),
            })
        }
        // systemd mounts /dev/shm itself (mount-setup) with these options.
        "/dev/shm" => Some(Mount {
            options: split("rw,nosuid,nodev"),
            source: "systemd's built-in /dev/shm mount".into(),
        }),
        _ => None,
    }
}
