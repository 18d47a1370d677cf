//! Checks of the host's own files that need more than one file's mode:
//! login banners, core dump limits, interactive users' homes and dot
//! files, the mail transfer agent's listening addresses, and the facts
//! only a running kernel has (AppArmor profile modes, wireless
//! interfaces).

use std::os::unix::fs::MetadataExt;

use serde::{Deserialize, Serialize};

use crate::check::Check;
use crate::facts::Facts;
use crate::verdict::{CisStatus, Evidence, Verdict, verdict};
use vpsc_engine::accounts::{self, Db};
use vpsc_engine::root::Root;

/// A banner file shows no OS information.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Banner {
    /// Absolute path, e.g. `/etc/issue`.
    pub path: String,
}

impl Check for Banner {
    fn judge(&self, f: &Facts<'_>) -> Verdict {
        banner(f.root(), &self.path)
    }
}

/// A banner file shows no OS information: none of getty's escapes `\m`,
/// `\r`, `\s`, `\v`, and not the distribution's name (`ID` of
/// os-release). A missing file shows nothing.
fn banner(root: &Root, path: &str) -> Verdict {
    let Ok(text) = root.read_to_string(path) else {
        return verdict(
            CisStatus::Pass,
            vec![Evidence::at(path, 0, "does not exist: nothing is shown")],
        );
    };
    let os = root
        .read_to_string("/etc/os-release")
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| {
                l.strip_prefix("ID=")
                    .map(|v| v.trim_matches('"').to_owned())
            })
        })
        .unwrap_or_else(|| "debian".into());
    let mut bad = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let escapes: Vec<String> = ["\\m", "\\r", "\\s", "\\v"]
            .iter()
            .filter(|e| line.contains(*e))
            .map(|e| (*e).to_owned())
            .collect();
        if !escapes.is_empty() {
            bad.push(Evidence::at(
                path,
                i + 1,
                format!("shows {}", escapes.join(" ")),
            ));
        }
        if line.to_ascii_lowercase().contains(&os.to_ascii_lowercase()) {
            bad.push(Evidence::at(
                path,
                i + 1,
                format!("names the OS: {}", line.trim()),
            ));
        }
    }
    if bad.is_empty() {
        verdict(
            CisStatus::Pass,
            vec![Evidence::at(path, 0, "shows no OS information")],
        )
    } else {
        verdict(CisStatus::Fail, bad)
    }
}

/// Core dumps are limited to 0 for everyone (`* hard core 0`).
#[derive(Debug, Clone, Copy)]
pub struct CoreLimit;

impl Check for CoreLimit {
    fn judge(&self, f: &Facts<'_>) -> Verdict {
        core_limit(f.root())
    }
}

/// `* hard core 0` decides for everyone: the last entry for domain `*`,
/// type `hard` or `-`, item `core` in `/etc/security/limits.conf` and then
/// `limits.d/*.conf` in name order, as pam_limits reads them.
fn core_limit(root: &Root) -> Verdict {
    let mut files = vec!["/etc/security/limits.conf".to_owned()];
    files.extend(crate::paths::dir_files(
        root,
        "/etc/security/limits.d",
        ".conf",
    ));
    let mut last = None;
    for f in &files {
        let Ok(text) = root.read_to_string(f) else {
            continue;
        };
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or_default();
            let w: Vec<&str> = line.split_whitespace().collect();
            if let [domain, kind, item, value] = w[..] {
                if domain == "*" && (kind == "hard" || kind == "-") && item == "core" {
                    last = Some((f.clone(), i + 1, value.to_owned(), line.trim().to_owned()));
                }
            }
        }
    }
    match last {
        Some((file, line, value, text)) => verdict(
            if value == "0" {
                CisStatus::Pass
            } else {
                CisStatus::Fail
            },
            vec![Evidence::at(&file, line, text)],
        ),
        None => verdict(
            CisStatus::Fail,
            vec![Evidence::said(
                "no `* hard core 0` in /etc/security/limits.conf or limits.d",
            )],
        ),
    }
}

/// Interactive users: UID at least login.defs' UID_MIN (not nobody), with
/// a login shell from /etc/shells other than nologin.
fn interactive_users(root: &Root) -> Vec<(usize, String, u32, u32, String)> {
    let defs = root.read_to_string("/etc/login.defs").unwrap_or_default();
    // The last UID_MIN line wins, as shadow's getdef reads it.
    let uid_min = defs
        .lines()
        .rev()
        .find_map(|l| {
            let mut w = l.split_whitespace();
            (w.next() == Some("UID_MIN")).then(|| w.next().and_then(|v| v.parse::<u32>().ok()))?
        })
        .unwrap_or(1000);
    let shells: Vec<String> = root
        .read_to_string("/etc/shells")
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with('/') && !l.ends_with("/nologin"))
        .map(str::to_owned)
        .collect();
    accounts::table_or_empty(root, Db::Passwd)
        .into_iter()
        .filter_map(|r| {
            let (uid, gid) = (r.id(2)?, r.id(3)?);
            let (home, shell) = (r.fields.get(5)?, r.fields.get(6)?);
            (uid >= uid_min && uid != 65534 && shells.iter().any(|s| s == shell))
                .then(|| (r.line, r.field(0).to_owned(), uid, gid, home.clone()))
        })
        .collect()
}

/// Interactive users' homes exist, are theirs and at most 0750.
#[derive(Debug, Clone, Copy)]
pub struct InteractiveHomes;

impl Check for InteractiveHomes {
    fn judge(&self, f: &Facts<'_>) -> Verdict {
        homes(f.root())
    }
}

/// Each interactive user's home exists, is theirs, and is at most 0750.
fn homes(root: &Root) -> Verdict {
    let users = interactive_users(root);
    let mut bad = Vec::new();
    for (line, name, uid, _, home) in &users {
        match root.metadata(home) {
            Err(_) => bad.push(Evidence::at(
                "/etc/passwd",
                *line,
                format!("{name}'s home {home} does not exist"),
            )),
            Ok(m) if !m.is_dir() => bad.push(Evidence::at(
                home,
                0,
                format!("{name}'s home is not a directory"),
            )),
            Ok(m) => {
                if m.uid() != *uid {
                    bad.push(Evidence::at(
                        home,
                        0,
                        format!(
                            "owned by {}, not {name}",
                            accounts::name_of(root, Db::Passwd, m.uid())
                        ),
                    ));
                }
                if m.mode() & 0o7777 & !0o750 != 0 {
                    bad.push(Evidence::at(
                        home,
                        0,
                        format!("mode {:04o}, more than 0750", m.mode() & 0o7777),
                    ));
                }
            }
        }
    }
    if bad.is_empty() {
        verdict(
            CisStatus::Pass,
            vec![Evidence::said(format!(
                "{} interactive user home(s) checked",
                users.len()
            ))],
        )
    } else {
        verdict(CisStatus::Fail, bad)
    }
}

/// Interactive users' dot files are theirs and not too open.
#[derive(Debug, Clone, Copy)]
pub struct DotFiles;

impl Check for DotFiles {
    fn judge(&self, f: &Facts<'_>) -> Verdict {
        dot_files(f.root())
    }
}

/// Interactive users' dot files: no `.forward` or `.rhosts`; `.netrc` and
/// `.bash_history` at most 0600; other dot files at most 0644; all owned
/// by the user and their primary group.
fn dot_files(root: &Root) -> Verdict {
    let users = interactive_users(root);
    let mut bad = Vec::new();
    for (_, name, uid, gid, home) in &users {
        let Ok(entries) = root.read_dir_names(home) else {
            continue;
        };
        let at = |n: &str| format!("{}/{n}", home.trim_end_matches('/'));
        let mut names: Vec<String> = entries
            .into_iter()
            .filter(|n| n.starts_with('.'))
            .filter(|n| root.symlink_metadata(&at(n)).is_ok_and(|m| m.is_file()))
            .collect();
        names.sort();
        for n in names {
            let path = format!("{}/{n}", home.trim_end_matches('/'));
            let Ok(m) = root.metadata(&path) else {
                continue;
            };
            if n == ".forward" || n == ".rhosts" {
                bad.push(Evidence::at(&path, 0, format!("{n} must not exist")));
                continue;
            }
            let max = if n == ".netrc" || n == ".bash_history" {
                0o600
            } else {
                0o644
            };
            let mode = m.mode() & 0o7777;
            if mode & !max != 0 {
                bad.push(Evidence::at(
                    &path,
                    0,
                    format!("mode {mode:04o}, more than {max:04o}"),
                ));
            }
            if m.uid() != *uid || m.gid() != *gid {
                bad.push(Evidence::at(
                    &path,
                    0,
                    format!("not owned by {name} and their group"),
                ));
            }
        }
    }
    if bad.is_empty() {
        verdict(
            CisStatus::Pass,
            vec![Evidence::said(format!(
                "dot files of {} interactive user(s) checked",
                users.len()
            ))],
        )
    } else {
        verdict(CisStatus::Fail, bad)
    }
}

/// The mail transfer agent listens on loopback only.
#[derive(Debug, Clone, Copy)]
pub struct MtaLocalOnly;

impl Check for MtaLocalOnly {
    fn judge(&self, f: &Facts<'_>) -> Verdict {
        mta_local_only(f.root(), f.live())
    }
}

/// The mail transfer agent accepts mail only from this host: nothing but
/// loopback listens on ports 25, 465 and 587 (a running system), or the
/// installed MTA's configuration says so (postfix `inet_interfaces`, exim4
/// `dc_local_interfaces`).
fn mta_local_only(root: &Root, live: bool) -> Verdict {
    if live {
        let mut bad = Vec::new();
        for port in [25u16, 465, 587] {
            match vpsc_engine::sockets::listeners(
                std::path::Path::new("/proc/net"),
                vpsc_contract::plan::Protocol::Tcp,
                port,
            ) {
                Ok(addrs) => bad.extend(
                    addrs
                        .into_iter()
                        .filter(|a| !vpsc_engine::sockets::is_loopback(a))
                        .map(|a| Evidence::said(format!("listening on {a}"))),
                ),
                Err(e) => {
                    return verdict(
                        CisStatus::Error,
                        vec![Evidence::said(format!("/proc/net: {e}"))],
                    );
                }
            }
        }
        return if bad.is_empty() {
            verdict(
                CisStatus::Pass,
                vec![Evidence::said(
                    "nothing but loopback listens on 25, 465 or 587",
                )],
            )
        } else {
            verdict(CisStatus::Fail, bad)
        };
    }
    let installed = |p: &str| {
        vpsc_engine::checks::package_status(root, p).is_some_and(|s| s.ends_with(" installed"))
    };
    if installed("postfix") {
        let main = "/etc/postfix/main.cf";
        let text = root.read_to_string(main).unwrap_or_default();
        let set = text.lines().enumerate().filter_map(|(i, l)| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == "inet_interfaces").then(|| (i + 1, v.trim().to_owned()))
        });
        return match set.last() {
            Some((line, v)) => {
                let local = v
                    .split([',', ' '])
                    .filter(|x| !x.is_empty())
                    .all(|x| matches!(x, "loopback-only" | "localhost" | "127.0.0.1" | "[::1]"));
                verdict(
                    if local {
                        CisStatus::Pass
                    } else {
                        CisStatus::Fail
                    },
                    vec![Evidence::at(main, line, format!("inet_interfaces = {v}"))],
                )
            }
            None => verdict(
                CisStatus::Fail,
                vec![Evidence::at(
                    main,
                    0,
                    "inet_interfaces not set: postfix listens on all",
                )],
            ),
        };
    }
    if installed("exim4-daemon-light") || installed("exim4-daemon-heavy") {
        let conf = "/etc/exim4/update-exim4.conf.conf";
        let text = root.read_to_string(conf).unwrap_or_default();
        let set = text
            .lines()
            .enumerate()
            .filter_map(|(i, l)| {
                l.strip_prefix("dc_local_interfaces=")
                    .map(|v| (i + 1, v.trim_matches('\'').to_owned()))
            })
            .last();
        return match set {
            Some((line, v)) => {
                let local = v
                    .split(';')
                    .map(str::trim)
                    .filter(|x| !x.is_empty())
                    .all(|x| x == "127.0.0.1" || x == "::1");
                verdict(
                    if local && !v.trim().is_empty() {
                        CisStatus::Pass
                    } else {
                        CisStatus::Fail
                    },
                    vec![Evidence::at(
                        conf,
                        line,
                        format!("dc_local_interfaces='{v}'"),
                    )],
                )
            }
            None => verdict(
                CisStatus::Fail,
                vec![Evidence::at(conf, 0, "dc_local_interfaces not set")],
            ),
        };
    }
    for other in ["sendmail-bin", "opensmtpd", "nullmailer", "courier-mta"] {
        if installed(other) {
            return verdict(
                CisStatus::NotEvaluated,
                vec![Evidence::said(format!(
                    "{other}: its listening addresses are judged on the running system"
                ))],
            );
        }
    }
    verdict(
        CisStatus::Pass,
        vec![Evidence::said("no mail transfer agent is installed")],
    )
}

/// Loaded AppArmor profiles are enforcing (or complaining, when
/// `complain_ok`); not evaluated off a running system.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApparmorProfiles {
    /// Whether complain mode passes too.
    #[serde(default)]
    pub complain_ok: bool,
}

impl Check for ApparmorProfiles {
    fn judge(&self, f: &Facts<'_>) -> Verdict {
        apparmor_profiles(f.live(), self.complain_ok)
    }
}

/// Every loaded AppArmor profile is in enforce mode (or, with
/// `complain_ok`, in complain mode); only a running kernel knows.
fn apparmor_profiles(live: bool, complain_ok: bool) -> Verdict {
    if !live {
        return verdict(
            CisStatus::NotEvaluated,
            vec![Evidence::said(
                "loaded AppArmor profiles are known to a running kernel only",
            )],
        );
    }
    let path = "/sys/kernel/security/apparmor/profiles";
    let Ok(text) = std::fs::read_to_string(path) else {
        return verdict(
            CisStatus::Fail,
            vec![Evidence::at(
                path,
                0,
                "cannot be read: AppArmor is not enabled",
            )],
        );
    };
    let mut bad = Vec::new();
    let mut count = 0;
    for line in text.lines() {
        count += 1;
        let Some((name, mode)) = line.rsplit_once(" (") else {
            continue;
        };
        let mode = mode.trim_end_matches(')');
        if !(mode == "enforce" || (complain_ok && mode == "complain")) {
            bad.push(Evidence::at(path, 0, format!("{name}: {mode}")));
        }
    }
    if count == 0 {
        return verdict(
            CisStatus::Fail,
            vec![Evidence::at(path, 0, "no profile is loaded")],
        );
    }
    if bad.is_empty() {
        verdict(
            CisStatus::Pass,
            vec![Evidence::at(
                path,
                0,
                format!("{count} profile(s) loaded, all as required"),
            )],
        )
    } else {
        verdict(CisStatus::Fail, bad)
    }
}

/// No wireless interface; not evaluated off a running system.
#[derive(Debug, Clone, Copy)]
pub struct Wireless;

impl Check for Wireless {
    fn judge(&self, f: &Facts<'_>) -> Verdict {
        wireless(f.live())
    }
}

/// No wireless interface exists; only a running kernel knows.
fn wireless(live: bool) -> Verdict {
    if !live {
        return verdict(
            CisStatus::NotEvaluated,
            vec![Evidence::said(
                "network interfaces are known to a running kernel only",
            )],
        );
    }
    let found: Vec<Evidence> = std::fs::read_dir("/sys/class/net")
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join("wireless").exists())
        .map(|e| {
            Evidence::said(format!(
                "wireless interface {}: disable its driver in modprobe.d",
                e.file_name().to_string_lossy()
            ))
        })
        .collect();
    if found.is_empty() {
        verdict(
            CisStatus::Pass,
            vec![Evidence::said("no wireless interface")],
        )
    } else {
        verdict(CisStatus::Fail, found)
    }
}

/// AppArmor is enabled in the running kernel; not evaluated off it.
#[derive(Debug, Clone, Copy)]
pub struct ApparmorEnabled;

impl Check for ApparmorEnabled {
    fn judge(&self, f: &Facts<'_>) -> Verdict {
        apparmor_enabled(f.live())
    }
}

/// AppArmor is enabled in the running kernel; only it knows.
fn apparmor_enabled(live: bool) -> Verdict {
    if !live {
        return verdict(
            CisStatus::NotEvaluated,
            vec![Evidence::said(
                "whether AppArmor is enabled only the running kernel knows",
            )],
        );
    }
    let path = "/sys/module/apparmor/parameters/enabled";
    let on = std::fs::read_to_string(path).is_ok_and(|v| v.trim() == "Y");
    verdict(
        if on { CisStatus::Pass } else { CisStatus::Fail },
        vec![Evidence::at(
            path,
            0,
            if on { "Y" } else { "AppArmor is not enabled" },
        )],
    )
}

/// An APT option's value across apt.conf.d and apt.conf.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AptOption {
    /// Option, e.g. `APT::Install-Recommends`.
    pub key: String,
    /// Allowed values (any case).
    pub one_of: Vec<String>,
}

impl Check for AptOption {
    fn judge(&self, f: &Facts<'_>) -> Verdict {
        apt_option(f.root(), &self.key, &self.one_of)
    }
}

/// An APT option as apt reads it: the files of /etc/apt/apt.conf.d in
/// name order, then /etc/apt/apt.conf, the last assignment winning
/// (`APT::Install-Recommends "false";`).
fn apt_option(root: &Root, key: &str, one_of: &[String]) -> Verdict {
    let dir = "/etc/apt/apt.conf.d";
    let mut files: Vec<String> = root
        .read_dir_names(dir)
        .unwrap_or_default()
        .into_iter()
        .filter(|n| {
            // apt skips names with other characters than these (apt.conf(5)).
            n.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
                && !n.ends_with(".disabled")
                && !n.ends_with(".dpkg-old")
                && !n.ends_with(".dpkg-dist")
        })
        .map(|n| format!("{dir}/{n}"))
        .collect();
    files.sort();
    files.push("/etc/apt/apt.conf".into());
    let mut last = None;
    for f in &files {
        let Ok(text) = root.read_to_string(f) else {
            continue;
        };
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split("//").next().unwrap_or_default().trim();
            if let Some(rest) = line.strip_prefix(key) {
                if rest.starts_with([' ', '\t', '"']) {
                    let value = rest.trim().trim_end_matches(';').trim().trim_matches('"');
                    last = Some((f.clone(), i + 1, value.to_owned()));
                }
            }
        }
    }
    match last {
        Some((f, line, v)) => verdict(
            if one_of.iter().any(|w| w.eq_ignore_ascii_case(&v)) {
                CisStatus::Pass
            } else {
                CisStatus::Fail
            },
            vec![Evidence::at(&f, line, format!("{key} \"{v}\""))],
        ),
        None => verdict(
            CisStatus::Fail,
            vec![Evidence::said(format!(
                "{key} is not set: apt's default applies"
            ))],
        ),
    }
}
