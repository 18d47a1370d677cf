//! Events grouped per person: counts, addresses and keys, the last login,
//! and the events themselves. Failed logins for names sshd does not know
//! (`invalid user`) are mostly scanners trying names; they are summed per
//! name apart from the people.

use std::collections::BTreeMap;

use serde::Serialize;

use super::events::{Event, LoginResult, What};
use super::roles::Directory;

/// Accepted and failed logins.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Logins {
    /// Logins sshd accepted.
    pub accepted: u64,
    /// Logins that failed.
    pub failed: u64,
}

/// sudo commands run and refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SudoCounts {
    /// Commands sudo ran.
    pub allowed: u64,
    /// Commands sudo refused.
    pub refused: u64,
}

/// su switches made and failed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SuCounts {
    /// Switches su made.
    pub success: u64,
    /// Switches that failed.
    pub failure: u64,
}

/// The last accepted login.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LastLogin {
    /// When (Unix seconds).
    pub time: i64,
    /// From where.
    pub address: String,
    /// How.
    pub method: String,
    /// With which key.
    pub fingerprint: Option<String>,
}

/// One person's activity in the window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Person {
    /// Login name.
    pub user: String,
    /// Whether vpsc onboarded them (`vpsc-user create`).
    pub onboarded: bool,
    /// SSH logins.
    pub logins: Logins,
    /// sudo commands.
    pub sudo: SudoCounts,
    /// su switches.
    pub su: SuCounts,
    /// Login sessions opened (systemd-logind).
    pub sessions: u64,
    /// Addresses of accepted logins, sorted.
    pub addresses: Vec<String>,
    /// Fingerprints of the keys that logged in, sorted.
    pub keys: Vec<String>,
    /// The last accepted login.
    pub last_login: Option<LastLogin>,
    /// Every event, oldest first.
    pub events: Vec<Event>,
}

/// Failed logins for a name sshd did not know.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InvalidUser {
    /// The name tried.
    pub user: String,
    /// Failed attempts.
    pub attempts: u64,
    /// Addresses they came from (at most 10).
    pub addresses: Vec<String>,
    /// The last attempt (Unix seconds).
    pub last: i64,
}

/// Groups `events` per person, by name; invalid users apart, most tried
/// first.
pub fn group(events: &[Event], dir: &Directory) -> (Vec<Person>, Vec<InvalidUser>) {
    let mut people: BTreeMap<&str, Person> = BTreeMap::new();
    let mut invalid: BTreeMap<&str, InvalidUser> = BTreeMap::new();
    for e in events {
        if let What::Login(l) = &e.what {
            if l.invalid_user {
                let i = invalid.entry(&e.user).or_insert_with(|| InvalidUser {
                    user: e.user.clone(),
                    attempts: 0,
                    addresses: Vec::new(),
                    last: 0,
                });
                i.attempts += 1;
                i.last = i.last.max(e.time);
                if i.addresses.len() < 10 && !i.addresses.contains(&l.address) {
                    i.addresses.push(l.address.clone());
                }
                continue;
            }
        }
        let p = people.entry(&e.user).or_insert_with(|| Person {
            user: e.user.clone(),
            onboarded: dir.knows(&e.user),
            logins: Logins::default(),
            sudo: SudoCounts::default(),
            su: SuCounts::default(),
            sessions: 0,
            addresses: Vec::new(),
            keys: Vec::new(),
            last_login: None,
            events: Vec::new(),
        });
        match &e.what {
            What::Login(l) if l.result == LoginResult::Accepted => {
                p.logins.accepted += 1;
                push_sorted(&mut p.addresses, &l.address);
                if let Some(fp) = &l.fingerprint {
                    push_sorted(&mut p.keys, fp);
                }
                p.last_login = Some(LastLogin {
                    time: e.time,
                    address: l.address.clone(),
                    method: l.method.clone(),
                    fingerprint: l.fingerprint.clone(),
                });
            }
            What::Login(_) => p.logins.failed += 1,
            What::Sudo(s) if s.allowed => p.sudo.allowed += 1,
            What::Sudo(_) => p.sudo.refused += 1,
            What::Su(s) if s.success => p.su.success += 1,
            What::Su(_) => p.su.failure += 1,
            What::Session(s) if s.opened => p.sessions += 1,
            What::Session(_) => {}
        }
        p.events.push(e.clone());
    }
    let mut invalid: Vec<InvalidUser> = invalid.into_values().collect();
    invalid.sort_by(|a, b| {
        b.attempts
            .cmp(&a.attempts)
            .then_with(|| a.user.cmp(&b.user))
    });
    (people.into_values().collect(), invalid)
}

fn push_sorted(into: &mut Vec<String>, item: &str) {
    if let Err(at) = into.binary_search_by(|x| x.as_str().cmp(item)) {
        into.insert(at, item.to_owned());
    }
}
