//! Time synchronisation (which daemon, and its servers), systemd-coredump's
//! settings and the boot loader's password: small checks over the files
//! those programs read.

use serde::{Deserialize, Serialize};

use crate::check::Check;
use crate::facts::Facts;
use crate::units::UnitState;
use crate::verdict::{CisStatus, Evidence, Verdict, verdict};
use vpsc_engine::root::Root;

/// The time daemons Debian ships, by unit.
const DAEMONS: &[&str] = &[
    "systemd-timesyncd.service",
    "chrony.service",
    "ntpsec.service",
    "ntp.service",
    "openntpd.service",
];

/// Exactly one time synchronisation daemon starts at boot.
#[derive(Debug, Clone, Copy)]
pub struct TimeSyncSingle;

impl Check for TimeSyncSingle {
    fn judge(&self, f: &Facts<'_>) -> Verdict {
        single(f.root())
    }
}

/// Exactly one time synchronisation daemon starts at boot.
fn single(root: &Root) -> Verdict {
    let on: Vec<&str> = DAEMONS
        .iter()
        .copied()
        .filter(|u| UnitState::load(root, u).starts_at_boot())
        .collect();
    let evidence = if on.is_empty() {
        vec![Evidence::said(
            "no time synchronisation daemon starts at boot",
        )]
    } else {
        on.iter()
            .map(|u| Evidence::said(format!("{u} starts at boot")))
            .collect()
    };
    verdict(
        if on.len() == 1 {
            CisStatus::Pass
        } else {
            CisStatus::Fail
        },
        evidence,
    )
}

/// Files of a systemd configuration in the order they apply: the main
/// file, then the drop-ins of `<name>.d` under /usr/lib, /usr/local/lib,
/// /run and /etc, where a same-named drop-in of a later directory hides
/// an earlier one, in the lexical order of their names.
fn systemd_conf_files(root: &Root, main: &str, name: &str) -> Vec<String> {
    let mut drop_ins = std::collections::BTreeMap::new();
    for dir in [
        "/usr/lib/systemd",
        "/usr/local/lib/systemd",
        "/run/systemd",
        "/etc/systemd",
    ] {
        let d = format!("{dir}/{name}.d");
        if let Ok(entries) = root.read_dir_names(&d) {
            for n in entries {
                if n.ends_with(".conf") {
                    drop_ins.insert(n.clone(), format!("{d}/{n}"));
                }
            }
        }
    }
    std::iter::once(main.to_owned())
        .chain(drop_ins.into_values())
        .collect()
}

/// The last assignment of `key` in `section` across a systemd
/// configuration file and its drop-ins, with where it is.
fn systemd_setting(
    root: &Root,
    main: &str,
    name: &str,
    section: &str,
    key: &str,
) -> Option<(String, usize, String)> {
    let mut last = None;
    for f in systemd_conf_files(root, main, name) {
        let Ok(text) = root.read_to_string(&f) else {
            continue;
        };
        let mut current = String::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                current = s.to_owned();
            } else if current == section {
                if let Some((_, v)) = line.split_once('=').filter(|(k, _)| k.trim() == key) {
                    last = Some((f.clone(), i + 1, v.trim().to_owned()));
                }
            }
        }
    }
    last
}

/// A systemd-coredump setting (coredump.conf and its drop-ins).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Coredump {
    /// Key in `[Coredump]`, e.g. `Storage`.
    pub key: String,
    /// Allowed values (any case).
    pub one_of: Vec<String>,
}

impl Check for Coredump {
    fn judge(&self, f: &Facts<'_>) -> Verdict {
        coredump(f.root(), &self.key, &self.one_of)
    }
}

/// A setting of systemd-coredump (`[Coredump]` of coredump.conf and its
/// drop-ins) is one of `one_of`; unset, systemd's default decides, which
/// keeps core dumps (Storage=external, ProcessSizeMax=2G).
fn coredump(root: &Root, key: &str, one_of: &[String]) -> Verdict {
    match systemd_setting(
        root,
        "/etc/systemd/coredump.conf",
        "coredump.conf",
        "Coredump",
        key,
    ) {
        Some((file, line, value)) => verdict(
            if one_of.iter().any(|v| v.eq_ignore_ascii_case(&value)) {
                CisStatus::Pass
            } else {
                CisStatus::Fail
            },
            vec![Evidence::at(&file, line, format!("{key}={value}"))],
        ),
        None => verdict(
            CisStatus::Fail,
            vec![Evidence::said(format!(
                "{key} is not set: systemd-coredump's default keeps core dumps"
            ))],
        ),
    }
}

/// systemd-timesyncd has `NTP=` or `FallbackNTP=` servers set.
#[derive(Debug, Clone, Copy)]
pub struct TimesyncdServers;

impl Check for TimesyncdServers {
    fn judge(&self, f: &Facts<'_>) -> Verdict {
        timesyncd_servers(f.root())
    }
}

/// systemd-timesyncd has servers of the administrator's choosing: `NTP=`
/// or `FallbackNTP=` in `[Time]`, the last assignment winning.
fn timesyncd_servers(root: &Root) -> Verdict {
    let last: Vec<(&str, (String, usize, String))> = ["NTP", "FallbackNTP"]
        .into_iter()
        .filter_map(|key| {
            systemd_setting(
                root,
                "/etc/systemd/timesyncd.conf",
                "timesyncd.conf",
                "Time",
                key,
            )
            .map(|found| (key, found))
        })
        .collect();
    let set: Vec<Evidence> = last
        .iter()
        .filter(|(_, (_, _, v))| !v.is_empty())
        .map(|(k, (f, l, v))| Evidence::at(f, *l, format!("{k}={v}")))
        .collect();
    if set.is_empty() {
        verdict(
            CisStatus::Fail,
            vec![Evidence::said(
                "neither NTP= nor FallbackNTP= is set: timesyncd uses the servers compiled in",
            )],
        )
    } else {
        verdict(CisStatus::Pass, set)
    }
}

/// chronyd's configuration files: chrony.conf, then what its `confdir`
/// and `sourcedir` lines name (`*.conf` and `*.sources`).
fn chrony_lines(root: &Root) -> Vec<(String, usize, String)> {
    let main = "/etc/chrony/chrony.conf";
    let mut out = Vec::new();
    let read = |file: &str, out: &mut Vec<(String, usize, String)>| {
        if let Ok(text) = root.read_to_string(file) {
            for (i, raw) in text.lines().enumerate() {
                let line = raw.split(['#', '!', ';']).next().unwrap_or_default().trim();
                if !line.is_empty() {
                    out.push((file.to_owned(), i + 1, line.to_owned()));
                }
            }
        }
    };
    read(main, &mut out);
    let dirs: Vec<(String, &str)> = out
        .iter()
        .filter_map(|(_, _, l)| {
            let mut w = l.split_whitespace();
            match w.next() {
                Some("confdir") => w.next().map(|d| (d.to_owned(), ".conf")),
                Some("sourcedir") => w.next().map(|d| (d.to_owned(), ".sources")),
                _ => None,
            }
        })
        .collect();
    for (dir, ext) in dirs {
        let Ok(entries) = root.read_dir_names(&dir) else {
            continue;
        };
        let mut names: Vec<String> = entries.into_iter().filter(|n| n.ends_with(ext)).collect();
        names.sort();
        for n in names {
            read(&format!("{dir}/{n}"), &mut out);
        }
    }
    out
}

/// chrony has a `server` or `pool` line.
#[derive(Debug, Clone, Copy)]
pub struct ChronyServers;

impl Check for ChronyServers {
    fn judge(&self, f: &Facts<'_>) -> Verdict {
        chrony_servers(f.root())
    }
}

/// chrony has a `server` or `pool` to follow.
fn chrony_servers(root: &Root) -> Verdict {
    let found: Vec<Evidence> = chrony_lines(root)
        .into_iter()
        .filter(|(_, _, l)| {
            matches!(
                l.split_whitespace().next(),
                Some("server" | "pool" | "peer")
            )
        })
        .map(|(f, i, l)| Evidence::at(&f, i, l))
        .collect();
    if found.is_empty() {
        verdict(
            CisStatus::Fail,
            vec![Evidence::said(
                "no server or pool line in chrony's configuration",
            )],
        )
    } else {
        verdict(CisStatus::Pass, found)
    }
}

/// chronyd runs as `_chrony`.
#[derive(Debug, Clone, Copy)]
pub struct ChronyUser;

impl Check for ChronyUser {
    fn judge(&self, f: &Facts<'_>) -> Verdict {
        chrony_user(f.root())
    }
}

/// chronyd drops root for `_chrony`: no `user` directive and no `-u`
/// option in /etc/default/chrony naming another account.
fn chrony_user(root: &Root) -> Verdict {
    let mut bad = Vec::new();
    for (f, i, l) in chrony_lines(root) {
        let mut w = l.split_whitespace();
        if w.next() == Some("user") && w.next().is_some_and(|u| u != "_chrony") {
            bad.push(Evidence::at(&f, i, l.clone()));
        }
    }
    let defaults = "/etc/default/chrony";
    if let Ok(text) = root.read_to_string(defaults) {
        for (i, line) in text.lines().enumerate() {
            let Some(opts) = line.trim().strip_prefix("DAEMON_OPTS=") else {
                continue;
            };
            let words: Vec<&str> = opts.trim_matches('"').split_whitespace().collect();
            if let Some(p) = words.iter().position(|w| *w == "-u") {
                if words.get(p + 1).is_some_and(|u| *u != "_chrony") {
                    bad.push(Evidence::at(defaults, i + 1, line.trim().to_owned()));
                }
            }
        }
    }
    if bad.is_empty() {
        verdict(
            CisStatus::Pass,
            vec![Evidence::said("chronyd runs as _chrony (its default)")],
        )
    } else {
        verdict(CisStatus::Fail, bad)
    }
}

/// GRUB's configuration sets a superuser with a password.
#[derive(Debug, Clone, Copy)]
pub struct GrubPassword;

impl Check for GrubPassword {
    fn judge(&self, f: &Facts<'_>) -> Verdict {
        grub_password(f.root())
    }
}

/// GRUB asks for a password: grub.cfg sets `superusers` and a
/// `password_pbkdf2` for one; not applicable without GRUB's configuration.
fn grub_password(root: &Root) -> Verdict {
    let cfg = "/boot/grub/grub.cfg";
    let Ok(text) = root.read_to_string(cfg) else {
        return verdict(
            CisStatus::Notapplicable,
            vec![Evidence::at(
                cfg,
                0,
                "does not exist: GRUB is not the boot loader",
            )],
        );
    };
    let find = |word: &str| {
        text.lines()
            .enumerate()
            .find(|(_, l)| l.trim_start().starts_with(word))
            .map(|(i, l)| Evidence::at(cfg, i + 1, l.trim().to_owned()))
    };
    match (find("set superusers="), find("password_pbkdf2 ")) {
        (Some(a), Some(b)) => verdict(CisStatus::Pass, vec![a, b]),
        _ => verdict(
            CisStatus::Fail,
            vec![Evidence::at(
                cfg,
                0,
                "no `set superusers=` with a `password_pbkdf2` line: anyone at the console may edit the boot entries",
            )],
        ),
    }
}
