//! `/etc/audit/auditd.conf` as auditd reads it (auditd-config.c,
//! auditd.conf(5)): each line is `name = value [option]`, words split at
//! spaces only, the name matched without regard to case, a later line
//! overriding an earlier one, and what no line sets keeps auditd's
//! built-in default. A line auditd cannot split that way (`name=value`
//! without spaces, a tab between the words) or an option on a keyword that
//! takes none makes auditd refuse the whole file: it does not start. So
//! does an `exec` action whose program is not an absolute path to a
//! regular file owned by root with mode 0750 or 0755 (check_exe_name).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use vpsc_contract::Invalid;

use crate::check::Check;
use crate::facts::{Fact, Facts};
use crate::verdict::{CisStatus, Evidence, Verdict, pass_if, verdict};
use vpsc_engine::accounts::{self, Db};
use vpsc_engine::root::Root;

/// The file.
pub const FILE: &str = "/etc/audit/auditd.conf";

/// auditd's built-in defaults (clear_config in auditd-config.c) of the
/// keys the rules judge.
const DEFAULTS: &[(&str, &str)] = &[
    ("action_mail_acct", "root"),
    ("admin_space_left_action", "ignore"),
    ("disk_error_action", "syslog"),
    ("disk_full_action", "ignore"),
    ("log_file", "/var/log/audit/audit.log"),
    ("log_group", "root"),
    ("max_log_file", "0"),
    ("max_log_file_action", "ignore"),
    ("space_left_action", "ignore"),
];

/// Keywords whose value is an action auditd compares without regard to
/// case (strcasecmp against its table).
const ACTIONS: [&str; 5] = [
    "admin_space_left_action",
    "disk_error_action",
    "disk_full_action",
    "max_log_file_action",
    "space_left_action",
];

/// Keywords that take an option word after the value (`exec /path`).
const WITH_OPTION: [&str; 4] = [
    "admin_space_left_action",
    "disk_error_action",
    "disk_full_action",
    "space_left_action",
];

/// One setting and its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The value (actions in lower case).
    pub value: String,
    /// The line as written.
    pub written: String,
    /// Line number.
    pub line: usize,
}

/// The file as auditd reads it.
#[derive(Debug, Default)]
pub struct AuditdConf {
    /// Whether the file exists.
    pub found: bool,
    /// The line that makes auditd refuse the file, and why.
    pub refused: Option<(usize, String)>,
    settings: BTreeMap<String, Setting>,
}

/// Whether the rules may name `key` (one with a known default).
pub fn known(key: &str) -> bool {
    DEFAULTS.iter().any(|(k, _)| *k == key)
}

impl AuditdConf {
    /// Reads the file under `root`.
    pub fn load(root: &Root) -> AuditdConf {
        match root.read_to_string(FILE) {
            Ok(text) => AuditdConf::parse(&text, &|exe| exe_ok(root, exe)),
            Err(_) => AuditdConf::default(),
        }
    }

    fn parse(text: &str, exe_ok: &dyn Fn(&str) -> Result<(), ExecRefused>) -> AuditdConf {
        let mut conf = AuditdConf {
            found: true,
            ..AuditdConf::default()
        };
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            // audit_strsplit splits at spaces only.
            let words: Vec<&str> = raw.split(' ').filter(|w| !w.is_empty()).collect();
            let Some(name) = words.first() else {
                continue;
            };
            if name.starts_with('#') {
                continue;
            }
            let refuse = |why: &str| Some((line, format!("{}: {why}", raw.trim())));
            if words.len() < 3 {
                conf.refused = refuse("not `name = value` (words are split at spaces only)");
                return conf;
            }
            if words[1] != "=" {
                conf.refused = refuse("missing ` = ` between name and value");
                return conf;
            }
            let key = name.to_ascii_lowercase();
            if words.len() > 3 && !WITH_OPTION.contains(&key.as_str()) {
                conf.refused = refuse("the keyword takes no option word");
                return conf;
            }
            let value = if ACTIONS.contains(&key.as_str()) {
                words[2].to_ascii_lowercase()
            } else {
                words[2].to_owned()
            };
            let checked = (value == "exec" && WITH_OPTION.contains(&key.as_str()))
                .then(|| exe_ok(words.get(3).copied().unwrap_or("")));
            if let Some(Err(why)) = checked {
                conf.refused = refuse(&why.to_string());
                return conf;
            }
            conf.settings.insert(
                key,
                Setting {
                    value,
                    written: raw.trim().to_owned(),
                    line,
                },
            );
        }
        conf
    }

    /// The value of `key` and the line that sets it; `None` for the line
    /// when it is auditd's default.
    pub fn get(&self, key: &str) -> (String, Option<&Setting>) {
        match self.settings.get(key) {
            Some(s) => (s.value.clone(), Some(s)),
            None => (
                DEFAULTS
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, d)| (*d).to_owned())
                    .unwrap_or_default(),
                None,
            ),
        }
    }

    /// The directory of the audit log (`log_file`'s).
    pub fn log_dir(&self) -> String {
        let (file, _) = self.get("log_file");
        match file.rsplit_once('/') {
            Some(("", _)) | None => "/".to_owned(),
            Some((dir, _)) => dir.to_owned(),
        }
    }
}

/// Why auditd refuses the program of an `exec` action.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecRefused {
    /// A relative path or none.
    #[error("exec needs the absolute path of a program")]
    NotAbsolute,
    /// No such file.
    #[error("{0} does not exist")]
    Missing(String),
    /// Not a root-owned regular file with mode 0750 or 0755.
    #[error("{0} must be a regular file owned by root with mode 0750 or 0755")]
    Unfit(String),
}

/// What auditd's check_exe_name demands of an `exec` action's program.
fn exe_ok(root: &Root, exe: &str) -> Result<(), ExecRefused> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    if !exe.starts_with('/') {
        return Err(ExecRefused::NotAbsolute);
    }
    let meta = root
        .metadata(exe)
        .map_err(|_| ExecRefused::Missing(exe.to_owned()))?;
    let mode = meta.permissions().mode() & 0o777;
    if !meta.is_file() || meta.uid() != 0 || !matches!(mode, 0o750 | 0o755) {
        return Err(ExecRefused::Unfit(exe.to_owned()));
    }
    Ok(())
}

impl Fact for AuditdConf {
    fn read(root: &Root, _live: bool) -> AuditdConf {
        AuditdConf::load(root)
    }
}

/// A setting of `/etc/audit/auditd.conf` as auditd reads it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditdValue {
    /// Key, e.g. `max_log_file_action`.
    pub key: String,
    /// Allowed values (actions in lower case).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub one_of: Vec<String>,
    /// Smallest allowed number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<u64>,
}

impl Check for AuditdValue {
    fn validate(&self) -> Result<(), Invalid> {
        let key = &self.key;
        if !known(key) {
            Err(Invalid::new(format!(
                "auditd.conf key {key} is not one the scanner knows the default of"
            )))
        } else if self.one_of.is_empty() && self.min.is_none() {
            Err(Invalid::new(format!(
                "auditd.conf {key}: say one_of or min"
            )))
        } else {
            Ok(())
        }
    }

    fn judge(&self, f: &Facts<'_>) -> Verdict {
        judge(f, &self.key, &self.one_of, self.min)
    }
}

/// The value of `key` is one of `one_of` (when given) and at least `min`
/// (when given).
fn judge(f: &Facts<'_>, key: &str, one_of: &[String], min: Option<u64>) -> Verdict {
    let conf = f.get::<AuditdConf>();
    if !conf.found {
        return verdict(
            CisStatus::Fail,
            vec![Evidence::said(format!(
                "no {FILE}: auditd is not installed"
            ))],
        );
    }
    if let Some((line, why)) = &conf.refused {
        return verdict(
            CisStatus::Fail,
            vec![Evidence::at(
                FILE,
                *line,
                format!("{why}; auditd refuses the file and does not start"),
            )],
        );
    }
    let (mut value, at) = conf.get(key);
    if key == "log_group" && value.bytes().all(|b| b.is_ascii_digit()) {
        // A numeric group is the group of that GID.
        value = value
            .parse()
            .map(|gid| accounts::name_of(f.root(), Db::Group, gid))
            .unwrap_or(value);
    }
    let mut evidence = vec![match at {
        Some(s) => Evidence::at(FILE, s.line, s.written.clone()),
        None => Evidence::at(
            FILE,
            0,
            format!("{key} is not set: auditd's default {value}"),
        ),
    }];
    let mut ok = one_of.is_empty() || one_of.contains(&value);
    if let Some(m) = min {
        ok &= value.parse::<u64>().is_ok_and(|n| n >= m);
    }
    if !ok {
        let wanted = [
            (!one_of.is_empty()).then(|| one_of.join(" or ")),
            min.map(|m| format!("at least {m}")),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ");
        evidence.push(Evidence::said(format!("{key} is {value}, wanted {wanted}")));
    }
    pass_if(ok, evidence)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_read_as_auditd_reads_them() {
        let c = AuditdConf::parse(
            "# comment\n\nmax_log_file = 8\nMAX_LOG_FILE_ACTION = Keep_Logs\n\
             disk_full_action = exec /usr/local/sbin/full\nmax_log_file = 32\n",
            &|_| Ok(()),
        );
        assert_eq!(c.refused, None);
        assert_eq!(c.get("max_log_file").0, "32", "the later line wins");
        assert_eq!(c.get("max_log_file_action").0, "keep_logs");
        assert_eq!(c.get("disk_full_action").0, "exec");
        assert_eq!(c.get("disk_error_action"), ("syslog".into(), None));
        assert_eq!(c.log_dir(), "/var/log/audit");
    }

    #[test]
    fn a_line_auditd_cannot_split_refuses_the_file() {
        let ok = |_: &str| Ok(());
        let c = AuditdConf::parse("max_log_file = 8\nmax_log_file_action=keep_logs\n", &ok);
        assert_eq!(c.refused.as_ref().map(|r| r.0), Some(2));
        let c = AuditdConf::parse("max_log_file\t=\t8\n", &ok);
        assert!(c.refused.is_some(), "a tab separates no words");
        let c = AuditdConf::parse("max_log_file = 8 # MB\n", &ok);
        assert!(c.refused.is_some(), "a trailing comment is an option word");
        let c = AuditdConf::parse("disk_full_action = exec /nope\n", &|exe| {
            Err(ExecRefused::Missing(exe.to_owned()))
        });
        assert!(c.refused.is_some(), "auditd checks the program");
    }
}
