//! Who the people are, for the rules that need their roles: the records
//! of vpsc-users, which roles grant sudo (a role whose resolved sudo rules
//! are not empty), and the history of temporary grants.
//!
//! A record keeps only the grants in force: the sweep drops a grant once
//! it ended. The history comes from the audit log instead, where every
//! change of access is an event carrying the grants after it
//! (`user.temp_access.grant.access` and the like, `details.grants`). A
//! grant runs from `granted` to its last `until`, or to the first change
//! that dropped it before then (a revoke).

use std::collections::{BTreeMap, HashMap, HashSet};

use vpsc_engine::audit::{self, Query};
use vpsc_engine::error::Result;
use vpsc_engine::root::Root;
use vpsc_engine::state::{STATE_DB, State};
use vpsc_users::rbac::Roles;
use vpsc_users::store::{self, Grant, UserRecord};

/// A temporary grant as it ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantSpan {
    /// The role.
    pub role: String,
    /// When it was granted (Unix seconds).
    pub from: i64,
    /// When it was to end.
    pub until: i64,
    /// When it ended: `until`, or earlier if revoked.
    pub end: i64,
}

/// People vpsc onboarded, their grants, and the roles that grant sudo.
#[derive(Debug, Default)]
pub struct Directory {
    people: HashMap<String, (UserRecord, Vec<GrantSpan>)>,
    /// Roles whose rules include sudo; `None` without a roles file.
    sudo_roles: Option<HashSet<String>>,
}

impl Directory {
    /// A directory of `records`, grant history from `changes` (time in
    /// seconds, user, grants after the change, oldest first), and the
    /// roles that grant sudo.
    pub fn new(
        records: Vec<UserRecord>,
        changes: &[(i64, String, Vec<Grant>)],
        sudo_roles: Option<HashSet<String>>,
    ) -> Directory {
        let mut people = HashMap::new();
        for r in records {
            let mut snapshots: Vec<(i64, &[Grant])> = changes
                .iter()
                .filter(|(_, u, _)| *u == r.name)
                .map(|(t, _, g)| (*t, g.as_slice()))
                .collect();
            snapshots.push((i64::MAX, r.grants.as_slice()));
            let spans = spans(&snapshots);
            people.insert(r.name.clone(), (r, spans));
        }
        Directory { people, sudo_roles }
    }

    /// Reads the records and audit log of `root`'s state database (none
    /// if it has none) and its roles file; says what it could not read.
    pub fn load(root: &Root) -> Result<(Directory, Vec<String>)> {
        let mut notes = Vec::new();
        let sudo_roles = match Roles::load(root) {
            Ok(roles) => {
                let mut set = HashSet::new();
                for name in roles.names() {
                    if !roles.resolve(name)?.sudo.is_empty() {
                        set.insert(name.to_owned());
                    }
                }
                Some(set)
            }
            Err(e) => {
                notes.push(format!(
                    "roles not judged (sudo_without_role, use_after_expiry): {e}"
                ));
                None
            }
        };
        if !root.exists(STATE_DB) {
            notes.push("no state database: nobody is onboarded, role rules not judged".into());
            return Ok((Directory::new(Vec::new(), &[], sudo_roles), notes));
        }
        let state = State::open(root)?;
        let records = store::users(&state)?;
        let events = audit::query(
            &state,
            &Query {
                action: Some("user.".into()),
                ..Query::default()
            },
        )?;
        let changes: Vec<(i64, String, Vec<Grant>)> = events
            .into_iter()
            .filter(|e| e.result == "ok")
            .filter_map(|e| {
                let grants = serde_json::from_value(e.details.get("grants")?.clone()).ok()?;
                Some((e.time.div_euclid(1_000_000), e.target, grants))
            })
            .collect();
        Ok((Directory::new(records, &changes, sudo_roles), notes))
    }

    /// Whether vpsc onboarded `user`.
    pub fn knows(&self, user: &str) -> bool {
        self.people.contains_key(user)
    }

    /// Whether role rules can be judged (a roles file was read).
    pub fn judges_roles(&self) -> bool {
        self.sudo_roles.is_some()
    }

    /// Roles `user` held at `t`: the lasting ones and the grants running;
    /// `None` for someone vpsc did not onboard.
    pub fn roles_at(&self, user: &str, t: i64) -> Option<Vec<String>> {
        let (record, spans) = self.people.get(user)?;
        let mut roles = record.roles.clone();
        for s in spans {
            if s.from <= t && t < s.end && !roles.contains(&s.role) {
                roles.push(s.role.clone());
            }
        }
        Some(roles)
    }

    /// Whether `role` grants sudo (false without a roles file).
    pub fn grants_sudo(&self, role: &str) -> bool {
        self.sudo_roles.as_ref().is_some_and(|s| s.contains(role))
    }

    /// The latest grant of `user` that ended at or before `t` and matches
    /// `which`.
    pub fn ended_before(
        &self,
        user: &str,
        t: i64,
        which: impl Fn(&GrantSpan) -> bool,
    ) -> Option<&GrantSpan> {
        let (_, spans) = self.people.get(user)?;
        spans
            .iter()
            .filter(|s| s.end <= t && which(s))
            .max_by_key(|s| s.end)
    }
}

/// Grant spans from snapshots of a person's grants over time.
fn spans(snapshots: &[(i64, &[Grant])]) -> Vec<GrantSpan> {
    let mut out: BTreeMap<(String, i64), GrantSpan> = BTreeMap::new();
    let mut before: HashSet<(String, i64)> = HashSet::new();
    for (t, grants) in snapshots {
        let now: HashSet<(String, i64)> =
            grants.iter().map(|g| (g.role.clone(), g.granted)).collect();
        for g in grants.iter() {
            let span = out
                .entry((g.role.clone(), g.granted))
                .or_insert_with(|| GrantSpan {
                    role: g.role.clone(),
                    from: g.granted,
                    until: g.until,
                    end: g.until,
                });
            // An extension moves the end.
            span.until = span.until.max(g.until);
            span.end = span.until;
        }
        for key in before.difference(&now) {
            if let Some(span) = out.get_mut(key) {
                span.end = span.end.min(*t);
            }
        }
        before = now;
    }
    out.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(role: &str, granted: i64, until: i64) -> Grant {
        Grant {
            role: role.into(),
            granted,
            until,
        }
    }

    #[test]
    fn grant_history_from_changes_extension_and_revoke() {
        let snapshots: Vec<(i64, Vec<Grant>)> = vec![
            (100, vec![grant("admin", 100, 200)]),
            (150, vec![grant("admin", 100, 300)]),
            (400, vec![]),
            (500, vec![grant("devops", 500, 900)]),
            (600, vec![]),
        ];
        let refs: Vec<(i64, &[Grant])> =
            snapshots.iter().map(|(t, g)| (*t, g.as_slice())).collect();
        let got = spans(&refs);
        assert_eq!(
            got,
            [
                GrantSpan {
                    role: "admin".into(),
                    from: 100,
                    until: 300,
                    end: 300
                },
                GrantSpan {
                    role: "devops".into(),
                    from: 500,
                    until: 900,
                    end: 600
                },
            ]
        );
    }
}
