//! Modes and owners of the files a glob names (`/etc/audit/**/*.rules`,
//! `{audit_log_dir}/*`), each constraint optional, so that CIS's separate
//! mode, owner and group recommendations judge only their own part.
//!
//! Globs are expanded under the root as the shell and find(1) would: `*`
//! and `?` within one component (hidden names only when the component
//! starts with a dot), `**` for any depth of directories. A pattern
//! without glob characters names one path of any type; a glob matches
//! regular files only. Modes and owners are those of the file a symlink
//! points to (`stat -L`, as CIS's audits use). `{audit_log_dir}` is the
//! directory of auditd.conf's `log_file`.

use std::os::unix::fs::{MetadataExt, PermissionsExt};

use serde::{Deserialize, Serialize};
use vpsc_contract::Invalid;

use crate::auditd::AuditdConf;
use crate::check::Check;
use crate::facts::Facts;
use crate::rsyslog::glob_match;
use crate::verdict::{CisStatus, Evidence, Verdict, pass_if, verdict};
use vpsc_engine::accounts::{self, Db};
use vpsc_engine::root::Root;

/// Bound on directory depth under `**`.
const MAX_DEPTH: usize = 32;

/// The paths `pattern` names under `root`, sorted, as seen from the root.
pub fn expand(root: &Root, pattern: &str) -> Vec<String> {
    let literal = !pattern.contains(['*', '?']);
    if literal {
        return if root.metadata(pattern).is_ok() {
            vec![pattern.to_owned()]
        } else {
            Vec::new()
        };
    }
    let parts: Vec<&str> = pattern.split('/').filter(|p| !p.is_empty()).collect();
    let mut out = Vec::new();
    walk(root, String::new(), &parts, &mut out, 0);
    out.retain(|p| root.metadata(p).is_ok_and(|m| m.is_file()));
    out.sort();
    out.dedup();
    out
}

fn walk(root: &Root, at: String, parts: &[&str], out: &mut Vec<String>, depth: usize) {
    let Some((first, rest)) = parts.split_first() else {
        out.push(if at.is_empty() { "/".into() } else { at });
        return;
    };
    if depth > MAX_DEPTH {
        return;
    }
    if *first == "**" {
        // Zero directories, or one more and `**` again.
        walk(root, at.clone(), rest, out, depth + 1);
        for (name, is_dir) in entries(root, &at) {
            if is_dir && !name.starts_with('.') {
                walk(root, format!("{at}/{name}"), parts, out, depth + 1);
            }
        }
        return;
    }
    if !first.contains(['*', '?']) {
        let next = format!("{at}/{first}");
        if root.symlink_metadata(&next).is_ok() {
            walk(root, next, rest, out, depth + 1);
        }
        return;
    }
    for (name, _) in entries(root, &at) {
        if (first.starts_with('.') || !name.starts_with('.')) && glob_match(first, &name) {
            walk(root, format!("{at}/{name}"), rest, out, depth + 1);
        }
    }
}

/// Names in directory `at` (as seen from the root) and whether each is a
/// directory (not following symlinks, so `**` cannot loop).
fn entries(root: &Root, at: &str) -> Vec<(String, bool)> {
    let dir = if at.is_empty() { "/" } else { at };
    let Ok(list) = root.read_dir_names(dir) else {
        return Vec::new();
    };
    let mut names: Vec<(String, bool)> = list
        .into_iter()
        .map(|n| {
            let is_dir = root
                .symlink_metadata(&format!("{}/{n}", dir.trim_end_matches('/')))
                .is_ok_and(|m| m.is_dir());
            (n, is_dir)
        })
        .collect();
    names.sort();
    names
}

/// Whether account name `name` is one of `allowed` (`root|adm`).
pub fn one_of(allowed: &str, name: &str) -> bool {
    allowed.split('|').any(|a| a == name)
}

/// The files some globs name have at most a mode, one of some owners,
/// one of some groups (each optional).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilesAccess {
    /// Globs; `{audit_log_dir}` is the directory of auditd's log.
    pub paths: Vec<String>,
    /// Most permissive allowed mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_mode: Option<String>,
    /// Allowed owners, `root|syslog`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Allowed groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

impl Check for FilesAccess {
    fn validate(&self) -> Result<(), Invalid> {
        if self.paths.is_empty() || self.paths.iter().any(|p| !p.starts_with(['/', '{'])) {
            return Err("files_access needs absolute paths".into());
        }
        if self.max_mode.is_none() && self.owner.is_none() && self.group.is_none() {
            return Err("files_access requires nothing".into());
        }
        self.max_mode.as_deref().map_or(Ok(()), mode_valid)
    }

    fn judge(&self, f: &Facts<'_>) -> Verdict {
        files_access(
            f,
            &self.paths,
            self.max_mode.as_deref(),
            self.owner.as_deref(),
            self.group.as_deref(),
        )
    }
}

/// Whether `mode` is one the plan accepts (`0644`).
fn mode_valid(mode: &str) -> Result<(), Invalid> {
    vpsc_contract::plan::parse_mode(mode)
        .map(drop)
        .map_err(|p| Invalid::new(p.what))
}

fn files_access(
    f: &Facts<'_>,
    paths: &[String],
    max_mode: Option<&str>,
    owner: Option<&str>,
    group: Option<&str>,
) -> Verdict {
    let root = f.root();
    let max = max_mode.and_then(|m| vpsc_contract::plan::parse_mode(m).ok());
    let mut matched = Vec::new();
    for p in paths {
        let p = if p.contains("{audit_log_dir}") {
            p.replace("{audit_log_dir}", &f.get::<AuditdConf>().log_dir())
        } else {
            p.clone()
        };
        matched.extend(expand(root, &p));
    }
    matched.sort();
    matched.dedup();
    if matched.is_empty() {
        return verdict(
            CisStatus::Notapplicable,
            vec![Evidence::said(format!(
                "nothing matches {}",
                paths.join(" ")
            ))],
        );
    }
    let wanted = [
        max_mode.map(|m| format!("at most {m}")),
        owner.map(|o| format!("owner {o}")),
        group.map(|g| format!("group {g}")),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(", ");
    let mut bad = Vec::new();
    let mut good = Vec::new();
    for p in &matched {
        let Ok(meta) = root.metadata(p) else {
            continue;
        };
        let mode = meta.permissions().mode() & 0o7777;
        let u = accounts::name_of(root, Db::Passwd, meta.uid());
        let g = accounts::name_of(root, Db::Group, meta.gid());
        let ok = max.is_none_or(|m| mode & !m == 0)
            && owner.is_none_or(|o| one_of(o, &u))
            && group.is_none_or(|x| one_of(x, &g));
        let e = Evidence::at(p, 0, format!("{u}:{g} {mode:04o}"));
        if ok {
            good.push(e)
        } else {
            bad.push(Evidence {
                value: format!("{} (wanted {wanted})", e.value),
                ..e
            })
        }
    }
    if bad.is_empty() {
        verdict(CisStatus::Pass, good)
    } else {
        verdict(CisStatus::Fail, bad)
    }
}

/// A file's mode grants no more than `max_mode`, with this owner and
/// group; not applicable when the file does not exist. A `*` in the last
/// component stands for every matching file (SSH host keys).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileAccess {
    /// Absolute path.
    pub path: String,
    /// Most permissive allowed mode, octal, e.g. "0644".
    pub max_mode: String,
    /// Owner name.
    pub owner: String,
    /// Group name.
    pub group: String,
}

impl Check for FileAccess {
    fn validate(&self) -> Result<(), Invalid> {
        mode_valid(&self.max_mode)
    }

    fn judge(&self, f: &Facts<'_>) -> Verdict {
        file_access(
            f.root(),
            &self.path,
            &self.max_mode,
            &self.owner,
            &self.group,
        )
    }
}

/// As [`FileAccess`], but the file must exist (`/etc/cron.allow`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilePresent {
    /// Absolute path.
    pub path: String,
    /// Most permissive allowed mode, octal.
    pub max_mode: String,
    /// Owner name (`a|b` for either).
    pub owner: String,
    /// Group name (`a|b` for either).
    pub group: String,
}

impl Check for FilePresent {
    fn validate(&self) -> Result<(), Invalid> {
        mode_valid(&self.max_mode)
    }

    fn judge(&self, f: &Facts<'_>) -> Verdict {
        if f.root().exists(&self.path) {
            file_access(
                f.root(),
                &self.path,
                &self.max_mode,
                &self.owner,
                &self.group,
            )
        } else {
            verdict(
                CisStatus::Fail,
                vec![Evidence::at(&self.path, 0, "does not exist")],
            )
        }
    }
}

fn file_access(root: &Root, path: &str, max_mode: &str, owner: &str, group: &str) -> Verdict {
    if path.contains('*') {
        let files = crate::paths::expand(root, path);
        if files.is_empty() {
            return verdict(
                CisStatus::Notapplicable,
                vec![Evidence::said(format!("no file matches {path}"))],
            );
        }
        let verdicts: Vec<Verdict> = files
            .iter()
            .map(|p| file_access(root, p, max_mode, owner, group))
            .collect();
        let failed = verdicts.iter().any(|v| v.status == CisStatus::Fail);
        return verdict(
            if failed {
                CisStatus::Fail
            } else {
                CisStatus::Pass
            },
            verdicts.into_iter().flat_map(|v| v.evidence).collect(),
        );
    }
    let Ok(meta) = root.metadata(path) else {
        return verdict(
            CisStatus::Notapplicable,
            vec![Evidence::at(path, 0, "does not exist")],
        );
    };
    let max = vpsc_contract::plan::parse_mode(max_mode).unwrap_or(0);
    let mode = meta.permissions().mode() & 0o7777;
    let (u, g) = (
        accounts::name_of(root, Db::Passwd, meta.uid()),
        accounts::name_of(root, Db::Group, meta.gid()),
    );
    // `root|shadow`: any of these.
    let ok =
        mode & !max == 0 && owner.split('|').any(|o| o == u) && group.split('|').any(|x| x == g);
    pass_if(
        ok,
        vec![Evidence::at(
            path,
            0,
            format!("{u}:{g} {mode:04o} (wanted {owner}:{group}, at most {max_mode})"),
        )],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_expand_as_find_and_the_shell_do() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = Root::new(dir.path());
        for p in [
            "etc/audit/auditd.conf",
            "etc/audit/rules.d/audit.rules",
            "etc/audit/rules.d/deep/x.rules",
            "etc/audit/plugins.d/af_unix.conf",
            "etc/audit/audit-stop.rules",
            "etc/audit/.hidden.conf",
        ] {
            let path = dir.path().join(p);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, "").expect("write");
        }
        assert_eq!(
            expand(&root, "/etc/audit/**/*.rules"),
            vec![
                "/etc/audit/audit-stop.rules",
                "/etc/audit/rules.d/audit.rules",
                "/etc/audit/rules.d/deep/x.rules"
            ]
        );
        assert_eq!(
            expand(&root, "/etc/audit/**/*.conf"),
            vec![
                "/etc/audit/auditd.conf",
                "/etc/audit/plugins.d/af_unix.conf"
            ]
        );
        assert_eq!(
            expand(&root, "/etc/audit/rules.d"),
            vec!["/etc/audit/rules.d"]
        );
        assert!(expand(&root, "/etc/nothing/*").is_empty());
    }
}
