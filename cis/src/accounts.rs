//! The account databases as the CIS rules judge them: /etc/passwd,
//! /etc/group and /etc/shadow read together (unique IDs and names, shadowed
//! and locked passwords, login shells, inactivity, the shadow group).

use serde::{Deserialize, Serialize};

use crate::check::Check;
use crate::facts::Facts;
use crate::logindefs::login_defs_value;
use crate::verdict::{CisStatus, Evidence, Verdict, verdict};
use vpsc_engine::accounts::{self, Db};
use vpsc_engine::root::Root;

/// A property of the account databases (`/etc/passwd`, `/etc/group`,
/// `/etc/shadow`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Accounts {
    /// Which property.
    pub property: AccountsProperty,
}

/// Properties of the account databases a rule can require.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountsProperty {
    /// Every account's password lives in /etc/shadow (`x` in passwd).
    Shadowed,
    /// No /etc/shadow password field is empty.
    NoEmptyPasswords,
    /// Every primary GID in /etc/passwd is a group of /etc/group.
    GroupsExist,
    /// The shadow group has no members.
    ShadowGroupEmpty,
    /// No UID is used twice.
    UniqueUids,
    /// No GID is used twice.
    UniqueGids,
    /// No user name is used twice.
    UniqueUserNames,
    /// No group name is used twice.
    UniqueGroupNames,
    /// root is the only account with UID 0.
    RootOnlyUid0,
    /// root is the only account with primary GID 0.
    RootOnlyGid0,
    /// root is the only group with GID 0.
    RootOnlyGroupGid0,
    /// root has a password or is locked, never an empty one.
    RootAccessControlled,
    /// System accounts (UID below login.defs' UID_MIN, and nobody) other
    /// than root, sync, shutdown and halt have no login shell.
    SystemAccountsNoShell,
    /// Accounts other than root without a login shell are locked (`!` or
    /// `*` in /etc/shadow, what `passwd -S` shows as L).
    NoShellAccountsLocked,
    /// /etc/shells lists no nologin.
    NologinNotAShell,
    /// No account's last password change lies in the future.
    PasswordChangesInPast,
    /// Accounts with a password are disabled at most 45 days after it
    /// expires: `INACTIVE` in /etc/default/useradd for new ones, the
    /// seventh /etc/shadow field for existing ones.
    InactiveLock,
}

impl Check for Accounts {
    fn judge(&self, f: &Facts<'_>) -> Verdict {
        judge(f.root(), self.property)
    }
}

fn judge(root: &Root, property: AccountsProperty) -> Verdict {
    let table = |db: Db| -> Vec<(usize, Vec<String>)> {
        accounts::table_or_empty(root, db)
            .into_iter()
            .map(|r| (r.line, r.fields))
            .collect()
    };
    let field = |row: &Vec<String>, n: usize| row.get(n).cloned().unwrap_or_default();
    let (passwd, group, shadow) = (table(Db::Passwd), table(Db::Group), table(Db::Shadow));
    let mut bad: Vec<Evidence> = Vec::new();
    let duplicates = |rows: &[(usize, Vec<String>)],
                      n: usize,
                      file: &str,
                      what: &str,
                      bad: &mut Vec<Evidence>| {
        let mut seen = std::collections::BTreeMap::new();
        for (line, row) in rows {
            if let Some(first) = seen.insert(field(row, n), *line) {
                bad.push(Evidence::at(
                    file,
                    *line,
                    format!("{what} {} also on line {first}", field(row, n)),
                ));
            }
        }
    };
    match property {
        AccountsProperty::Shadowed => {
            for (line, row) in &passwd {
                if field(row, 1) != "x" {
                    bad.push(Evidence::at(
                        "/etc/passwd",
                        *line,
                        format!("{} keeps its password in /etc/passwd", field(row, 0)),
                    ));
                }
            }
        }
        AccountsProperty::NoEmptyPasswords => {
            for (line, row) in &shadow {
                if field(row, 1).is_empty() {
                    bad.push(Evidence::at(
                        "/etc/shadow",
                        *line,
                        format!("{} has an empty password", field(row, 0)),
                    ));
                }
            }
        }
        AccountsProperty::GroupsExist => {
            let gids: std::collections::BTreeSet<String> =
                group.iter().map(|(_, r)| field(r, 2)).collect();
            for (line, row) in &passwd {
                if !gids.contains(&field(row, 3)) {
                    bad.push(Evidence::at(
                        "/etc/passwd",
                        *line,
                        format!(
                            "{}'s group {} is not in /etc/group",
                            field(row, 0),
                            field(row, 3)
                        ),
                    ));
                }
            }
        }
        AccountsProperty::ShadowGroupEmpty => {
            for (line, row) in group.iter().filter(|(_, r)| field(r, 0) == "shadow") {
                if !field(row, 3).is_empty() {
                    bad.push(Evidence::at(
                        "/etc/group",
                        *line,
                        format!("shadow has members {}", field(row, 3)),
                    ));
                }
                for (pline, p) in passwd.iter().filter(|(_, p)| field(p, 3) == field(row, 2)) {
                    bad.push(Evidence::at(
                        "/etc/passwd",
                        *pline,
                        format!("{}'s primary group is shadow", field(p, 0)),
                    ));
                }
            }
        }
        AccountsProperty::UniqueUids => duplicates(&passwd, 2, "/etc/passwd", "UID", &mut bad),
        AccountsProperty::UniqueGids => duplicates(&group, 2, "/etc/group", "GID", &mut bad),
        AccountsProperty::UniqueUserNames => {
            duplicates(&passwd, 0, "/etc/passwd", "user", &mut bad)
        }
        AccountsProperty::UniqueGroupNames => {
            duplicates(&group, 0, "/etc/group", "group", &mut bad)
        }
        AccountsProperty::RootOnlyUid0 | AccountsProperty::RootOnlyGid0 => {
            let n = if property == AccountsProperty::RootOnlyUid0 {
                2
            } else {
                3
            };
            for (line, row) in &passwd {
                if field(row, n) == "0" && field(row, 0) != "root" {
                    bad.push(Evidence::at(
                        "/etc/passwd",
                        *line,
                        format!(
                            "{} has {} 0",
                            field(row, 0),
                            if n == 2 { "UID" } else { "GID" }
                        ),
                    ));
                }
            }
        }
        AccountsProperty::RootOnlyGroupGid0 => {
            for (line, row) in &group {
                if field(row, 2) == "0" && field(row, 0) != "root" {
                    bad.push(Evidence::at(
                        "/etc/group",
                        *line,
                        format!("group {} has GID 0", field(row, 0)),
                    ));
                }
            }
        }
        AccountsProperty::RootAccessControlled
        | AccountsProperty::SystemAccountsNoShell
        | AccountsProperty::NoShellAccountsLocked
        | AccountsProperty::NologinNotAShell
        | AccountsProperty::PasswordChangesInPast
        | AccountsProperty::InactiveLock => {}
    }
    // Login shells: what /etc/shells lists, nologin excepted.
    let shells: Vec<String> = root
        .read_to_string("/etc/shells")
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with('/'))
        .map(str::to_owned)
        .collect();
    let login_shell = |s: &str| shells.iter().any(|x| x == s) && !s.ends_with("/nologin");
    let locked = |name: &str| {
        shadow
            .iter()
            .find(|(_, r)| field(r, 0) == name)
            .map(|(_, r)| field(r, 1))
    };
    match property {
        AccountsProperty::RootAccessControlled => match locked("root") {
            Some(p) if p.is_empty() => {
                bad.push(Evidence::at("/etc/shadow", 0, "root has an empty password"))
            }
            None => bad.push(Evidence::at("/etc/shadow", 0, "root has no entry")),
            Some(_) => {}
        },
        AccountsProperty::SystemAccountsNoShell => {
            let defs = root.read_to_string("/etc/login.defs").unwrap_or_default();
            let uid_min = login_defs_value(&defs, "UID_MIN")
                .and_then(|(_, v)| v.parse::<u64>().ok())
                .unwrap_or(1000);
            for (line, row) in &passwd {
                let name = field(row, 0);
                let uid = field(row, 2).parse::<u64>().unwrap_or(0);
                let system = uid < uid_min || uid == 65534;
                let exempt =
                    ["root", "sync", "shutdown", "halt", "nfsnobody"].contains(&name.as_str());
                if system && !exempt && login_shell(&field(row, 6)) {
                    bad.push(Evidence::at(
                        "/etc/passwd",
                        *line,
                        format!("system account {name} has login shell {}", field(row, 6)),
                    ));
                }
            }
        }
        AccountsProperty::NoShellAccountsLocked => {
            for (line, row) in &passwd {
                let name = field(row, 0);
                if name == "root" || login_shell(&field(row, 6)) {
                    continue;
                }
                match locked(&name) {
                    Some(p) if p.starts_with('!') || p.starts_with('*') => {}
                    Some(_) => bad.push(Evidence::at(
                        "/etc/passwd",
                        *line,
                        format!(
                            "{name} has no login shell ({}) but is not locked",
                            field(row, 6)
                        ),
                    )),
                    None => {}
                }
            }
        }
        AccountsProperty::InactiveLock => {
            let defaults = root
                .read_to_string("/etc/default/useradd")
                .unwrap_or_default();
            let set = defaults
                .lines()
                .enumerate()
                .filter_map(|(i, l)| {
                    l.trim()
                        .strip_prefix("INACTIVE=")
                        .map(|v| (i + 1, v.trim().to_owned()))
                })
                .last();
            match set {
                Some((_, v)) if v.parse::<i64>().is_ok_and(|n| (0..=45).contains(&n)) => {}
                Some((line, v)) => bad.push(Evidence::at(
                    "/etc/default/useradd",
                    line,
                    format!("INACTIVE={v}: new accounts are not disabled within 45 days of expiry"),
                )),
                None => bad.push(Evidence::at(
                    "/etc/default/useradd",
                    0,
                    "INACTIVE is not set (-1: never disabled)",
                )),
            }
            for (line, row) in &shadow {
                let hash = field(row, 1);
                if hash.is_empty() || hash.starts_with('!') || hash.starts_with('*') {
                    continue;
                }
                let inactive = field(row, 6);
                if !inactive.parse::<i64>().is_ok_and(|n| (0..=45).contains(&n)) {
                    bad.push(Evidence::at(
                        "/etc/shadow",
                        *line,
                        format!(
                            "{}: inactivity period {}",
                            field(row, 0),
                            if inactive.is_empty() {
                                "unset"
                            } else {
                                inactive.as_str()
                            }
                        ),
                    ));
                }
            }
        }
        AccountsProperty::NologinNotAShell => {
            for s in shells.iter().filter(|s| s.ends_with("/nologin")) {
                bad.push(Evidence::at(
                    "/etc/shells",
                    0,
                    format!("{s} is listed as a shell"),
                ));
            }
        }
        AccountsProperty::PasswordChangesInPast => {
            let today = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() / 86_400)
                .unwrap_or(0);
            for (line, row) in &shadow {
                if let Ok(day) = field(row, 2).parse::<u64>() {
                    if day > today {
                        bad.push(Evidence::at(
                            "/etc/shadow",
                            *line,
                            format!(
                                "{}'s last password change is {} days ahead",
                                field(row, 0),
                                day - today
                            ),
                        ));
                    }
                }
            }
        }
        _ => {}
    }
    if bad.is_empty() {
        verdict(
            CisStatus::Pass,
            vec![Evidence::said(format!(
                "{} accounts, {} groups checked",
                passwd.len(),
                group.len()
            ))],
        )
    } else {
        verdict(CisStatus::Fail, bad)
    }
}
