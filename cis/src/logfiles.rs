//! Access to the files under a log directory, by class of file name, in one
//! walk: each regular file gets the first class whose name globs match its
//! base name (the last class is for everything else), and must have at
//! most the class's mode, one of its owners and one of its groups.
//!
//! CIS's audit of 6.1.4.1 lets a file that an application writes under
//! its own system account keep that owner and group; a class with
//! `system_accounts` does the same: when the owner's UID is below UID_MIN
//! and the file's group lists no members, the owner is allowed, and so is
//! the group unless it is the primary group of an account at or above
//! UID_MIN.

use std::collections::BTreeSet;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use vpsc_engine::accounts::{self, Db};

use serde::{Deserialize, Serialize};
use vpsc_contract::Invalid;

use crate::check::Check;
use crate::facts::Facts;
use crate::files::one_of;
use crate::logindefs::uid_min;
use crate::rsyslog::glob_match;
use crate::verdict::{CisStatus, Evidence, Verdict, verdict};

/// Bound on directory depth.
const MAX_DEPTH: usize = 32;

/// One class of log files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogClass {
    /// Base-name globs (`wtmp.*`, `*.journal`); `*` for the rest.
    pub names: Vec<String>,
    /// Most permissive allowed mode, e.g. "0640".
    pub max_mode: String,
    /// Allowed owners, `root|syslog`.
    pub owner: String,
    /// Allowed groups, `root|adm`.
    pub group: String,
    /// Whether an application's own system account may own the file.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub system_accounts: bool,
}

/// Checks the classes are usable: modes parse, the last matches all.
pub fn validate(classes: &[LogClass]) -> Result<(), Invalid> {
    for c in classes {
        vpsc_contract::plan::parse_mode(&c.max_mode).map_err(|p| Invalid::new(p.what))?;
        if c.names.is_empty() || c.owner.is_empty() || c.group.is_empty() {
            return Err("a log class needs names, an owner and a group".into());
        }
    }
    match classes.last() {
        Some(c) if c.names.iter().any(|n| n == "*") => Ok(()),
        _ => Err("the last log class must match every other file (`names: [\"*\"]`)".into()),
    }
}

/// Regular files under `dir` (as seen from the root), not following
/// symlinks, sorted.
fn files(f: &Facts<'_>, dir: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![(dir.trim_end_matches('/').to_owned(), 0usize)];
    while let Some((d, depth)) = stack.pop() {
        let Ok(list) = f.root().read_dir_names(&d) else {
            continue;
        };
        for name in list {
            let path = format!("{d}/{name}");
            match f.root().symlink_metadata(&path) {
                Ok(m) if m.is_dir() && depth < MAX_DEPTH => stack.push((path, depth + 1)),
                Ok(m) if m.is_file() => out.push(path),
                _ => {}
            }
        }
    }
    out.sort();
    out
}

/// Every file under a log directory has the access of its class, in one
/// walk.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogFiles {
    /// The directory.
    pub dir: String,
    /// Classes by file name; the last matches everything else.
    pub classes: Vec<LogClass>,
}

impl Check for LogFiles {
    fn validate(&self) -> Result<(), Invalid> {
        validate(&self.classes)
    }

    fn judge(&self, f: &Facts<'_>) -> Verdict {
        judge(f, &self.dir, &self.classes)
    }
}

fn judge(f: &Facts<'_>, dir: &str, classes: &[LogClass]) -> Verdict {
    let root = f.root();
    if !root.is_dir(dir) {
        return verdict(
            CisStatus::Notapplicable,
            vec![Evidence::said(format!("no {dir}"))],
        );
    }
    let uid_min = uid_min(root);
    let table = |db: Db| -> Vec<Vec<String>> {
        accounts::table_or_empty(root, db)
            .into_iter()
            .map(|r| r.fields)
            .collect()
    };
    let (passwd, groups) = (table(Db::Passwd), table(Db::Group));
    let field = |row: &Vec<String>, n: usize| row.get(n).cloned().unwrap_or_default();
    // Groups that are the primary group of an account at or above UID_MIN.
    let user_groups: BTreeSet<String> = passwd
        .iter()
        .filter(|r| field(r, 2).parse::<u32>().is_ok_and(|u| u >= uid_min))
        .map(|r| field(r, 3))
        .collect();
    let all = files(f, dir);
    let mut bad = Vec::new();
    for p in &all {
        let Ok(meta) = root.metadata(p) else {
            continue;
        };
        let base = p.rsplit('/').next().unwrap_or(p);
        let Some(class) = classes
            .iter()
            .find(|c| c.names.iter().any(|n| glob_match(n, base)))
        else {
            continue;
        };
        let max = vpsc_contract::plan::parse_mode(&class.max_mode).unwrap_or(0);
        let mode = meta.permissions().mode() & 0o7777;
        let u = accounts::name_of(root, Db::Passwd, meta.uid());
        let g = accounts::name_of(root, Db::Group, meta.gid());
        let mut owner_ok = one_of(&class.owner, &u);
        let mut group_ok = one_of(&class.group, &g);
        if class.system_accounts && meta.uid() < uid_min {
            let members = groups
                .iter()
                .find(|r| field(r, 2) == meta.gid().to_string())
                .map(|r| field(r, 3))
                .unwrap_or_default();
            if members.is_empty() {
                owner_ok = true;
                group_ok |= !user_groups.contains(&meta.gid().to_string());
            }
        }
        if mode & !max != 0 || !owner_ok || !group_ok {
            bad.push(Evidence::at(
                p,
                0,
                format!(
                    "{u}:{g} {mode:04o} (wanted at most {}, owner {}, group {})",
                    class.max_mode, class.owner, class.group
                ),
            ));
        }
    }
    if bad.is_empty() {
        verdict(
            CisStatus::Pass,
            vec![Evidence::said(format!(
                "{} files under {dir} looked at",
                all.len()
            ))],
        )
    } else {
        verdict(CisStatus::Fail, bad)
    }
}
