//! The anomaly rules, applied to events in time order. Events before the
//! window only feed the baselines; each event in the window is judged
//! against what came before it. The rules (also in vpsc-user(8)):
//!
//! - `new_source`: an accepted login from an address the person had no
//!   accepted login from before, judged once they have at least one.
//! - `unusual_hour`: an accepted login [`FAR_HOURS`] or more hours (local
//!   time) from every hour the person logged in at before, judged once
//!   they have [`MIN_LOGINS_FOR_HOURS`](super::baseline::MIN_LOGINS_FOR_HOURS)
//!   earlier logins.
//! - `repeated_failures`: [`Rules::failures`] failed logins within
//!   [`Rules::window`] seconds from one address, or for one user name;
//!   once per burst (a burst ends after a quiet window), at the failure
//!   that reached the count.
//! - `sudo_without_role`: sudo, run or refused, by a person vpsc onboarded
//!   none of whose roles in force grants sudo.
//! - `use_after_expiry`: a login by an onboarded person who then held no
//!   role, or a sudo run by one whose roles then granted none, after a
//!   temporary grant of theirs ended (of a role granting sudo, for sudo).

use std::collections::{HashMap, VecDeque};

use serde::Serialize;

use super::baseline::{Baseline, FAR_HOURS, local_hour};
use super::events::{Event, LoginResult, What};
use super::roles::Directory;

/// The kinds of anomaly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// First login from an address new to the person.
    NewSource,
    /// Login far outside the person's usual hours.
    UnusualHour,
    /// Many failed logins from one address or for one user.
    RepeatedFailures,
    /// sudo by someone whose roles grant none.
    SudoWithoutRole,
    /// Use of access after a temporary grant ended.
    UseAfterExpiry,
}

impl Kind {
    /// Every kind, in order.
    pub const ALL: [Kind; 5] = [
        Kind::NewSource,
        Kind::UnusualHour,
        Kind::RepeatedFailures,
        Kind::SudoWithoutRole,
        Kind::UseAfterExpiry,
    ];

    /// The name used in JSON, metrics and the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::NewSource => "new_source",
            Kind::UnusualHour => "unusual_hour",
            Kind::RepeatedFailures => "repeated_failures",
            Kind::SudoWithoutRole => "sudo_without_role",
            Kind::UseAfterExpiry => "use_after_expiry",
        }
    }
}

/// What an anomaly rests on; only the fields of its kind are set.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Evidence {
    /// The client address of the login, or of the failures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The login's method.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The login key's fingerprint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// Addresses of the person's earlier logins (at most 10).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub known_addresses: Vec<String>,
    /// Local hour of the login.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hour: Option<u32>,
    /// Local hours of the person's earlier logins.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub usual_hours: Vec<u32>,
    /// Earlier logins the judgement rests on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub earlier_logins: Option<usize>,
    /// Failures grouped by `address` or `user`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<&'static str>,
    /// Failed logins in the burst.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failures: Option<usize>,
    /// First failure of the burst (Unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first: Option<i64>,
    /// Last failure of the burst (Unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last: Option<i64>,
    /// User names the failures tried (at most 10).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
    /// The sudo command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Whether sudo ran it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed: Option<bool>,
    /// Roles the person held then.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// The role of the grant that ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant_role: Option<String>,
    /// When that grant ended (Unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant_ended: Option<i64>,
}

/// One anomaly.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Anomaly {
    /// Which rule.
    pub kind: Kind,
    /// The person, when one is concerned (not for failures from an
    /// address that tried several names).
    pub user: Option<String>,
    /// When (Unix seconds).
    pub time: i64,
    /// The journal time in microseconds, part of the anomaly's key.
    #[serde(skip)]
    pub time_us: i64,
    /// What it rests on.
    pub evidence: Evidence,
}

impl Anomaly {
    /// A key naming this anomaly alone, stable across runs over a growing
    /// journal: what `--record` remembers.
    pub fn key(&self) -> String {
        let subject = self
            .evidence
            .address
            .as_deref()
            .or(self.evidence.command.as_deref())
            .unwrap_or("");
        format!(
            "{}|{}|{}|{subject}",
            self.kind.as_str(),
            self.user.as_deref().unwrap_or(""),
            self.time_us
        )
    }
}

/// The thresholds of the failure rule.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// Failures that make a burst (fail2ban's default `maxretry`).
    pub failures: usize,
    /// Seconds they must fall within (fail2ban's default `findtime`).
    pub window: i64,
}

impl Default for Rules {
    fn default() -> Rules {
        Rules {
            failures: 5,
            window: 600,
        }
    }
}

/// Burst tracking of one address or user name.
#[derive(Default)]
struct Burst {
    recent: VecDeque<i64>,
    /// Index into the output of the anomaly of the running burst.
    fired: Option<usize>,
    last: i64,
}

/// Applies the rules to `events` (time order); judges those at or after
/// `since_us`. `offset_at` gives the host's UTC offset at a time.
pub fn find(
    events: &[Event],
    since_us: i64,
    dir: &Directory,
    offset_at: impl Fn(i64) -> i32,
    rules: Rules,
) -> Vec<Anomaly> {
    let mut out: Vec<Anomaly> = Vec::new();
    let mut baselines: HashMap<&str, Baseline> = HashMap::new();
    let mut by_address: HashMap<&str, Burst> = HashMap::new();
    let mut by_user: HashMap<&str, Burst> = HashMap::new();
    for e in events {
        let judged = e.time_us >= since_us;
        let anomaly = |kind, user: Option<&str>, evidence| Anomaly {
            kind,
            user: user.map(str::to_owned),
            time: e.time,
            time_us: e.time_us,
            evidence,
        };
        match &e.what {
            What::Login(l) if l.result == LoginResult::Accepted => {
                let hour = local_hour(e.time, offset_at(e.time));
                let b = baselines.entry(e.user.as_str()).or_default();
                if judged {
                    if b.new_address(&l.address) == Some(true) {
                        let mut known = b.known_addresses();
                        known.truncate(10);
                        out.push(anomaly(
                            Kind::NewSource,
                            Some(&e.user),
                            Evidence {
                                address: Some(l.address.clone()),
                                method: Some(l.method.clone()),
                                fingerprint: l.fingerprint.clone(),
                                known_addresses: known,
                                earlier_logins: Some(b.logins()),
                                ..Evidence::default()
                            },
                        ));
                    }
                    if b.hours_from_usual(hour).is_some_and(|d| d >= FAR_HOURS) {
                        out.push(anomaly(
                            Kind::UnusualHour,
                            Some(&e.user),
                            Evidence {
                                address: Some(l.address.clone()),
                                hour: Some(hour),
                                usual_hours: b.usual_hours(),
                                earlier_logins: Some(b.logins()),
                                ..Evidence::default()
                            },
                        ));
                    }
                    if let Some(a) = after_expiry_login(e, dir) {
                        out.push(a);
                    }
                }
                b.add(&l.address, hour);
            }
            What::Login(l) => {
                for (map, key, by) in [
                    (&mut by_address, l.address.as_str(), "address"),
                    (&mut by_user, e.user.as_str(), "user"),
                ] {
                    let burst = map.entry(key).or_default();
                    failure(burst, e, judged, rules, &mut out, |count| {
                        let mut evidence = Evidence {
                            by: Some(by),
                            failures: Some(count),
                            ..Evidence::default()
                        };
                        if by == "address" {
                            evidence.address = Some(l.address.clone());
                        }
                        Anomaly {
                            kind: Kind::RepeatedFailures,
                            user: (by == "user").then(|| e.user.clone()),
                            time: e.time,
                            time_us: e.time_us,
                            evidence,
                        }
                    });
                }
            }
            What::Sudo(s) if judged && dir.judges_roles() => {
                let Some(roles) = dir.roles_at(&e.user, e.time) else {
                    continue;
                };
                if roles.iter().any(|r| dir.grants_sudo(r)) {
                    continue;
                }
                let expired = s
                    .allowed
                    .then(|| dir.ended_before(&e.user, e.time, |g| dir.grants_sudo(&g.role)))
                    .flatten();
                let mut evidence = Evidence {
                    command: Some(s.command.clone()),
                    allowed: Some(s.allowed),
                    roles: Some(roles),
                    ..Evidence::default()
                };
                let kind = match expired {
                    Some(g) => {
                        evidence.grant_role = Some(g.role.clone());
                        evidence.grant_ended = Some(g.end);
                        Kind::UseAfterExpiry
                    }
                    None => Kind::SudoWithoutRole,
                };
                out.push(anomaly(kind, Some(&e.user), evidence));
            }
            _ => {}
        }
    }
    out.sort_by_key(|a| (a.time_us, a.kind));
    out
}

/// A login by someone who holds no role, after a grant of theirs ended.
fn after_expiry_login(e: &Event, dir: &Directory) -> Option<Anomaly> {
    let roles = dir.roles_at(&e.user, e.time)?;
    if !roles.is_empty() {
        return None;
    }
    let g = dir.ended_before(&e.user, e.time, |_| true)?;
    let What::Login(l) = &e.what else {
        return None;
    };
    Some(Anomaly {
        kind: Kind::UseAfterExpiry,
        user: Some(e.user.clone()),
        time: e.time,
        time_us: e.time_us,
        evidence: Evidence {
            address: Some(l.address.clone()),
            method: Some(l.method.clone()),
            roles: Some(roles),
            grant_role: Some(g.role.clone()),
            grant_ended: Some(g.end),
            ..Evidence::default()
        },
    })
}

/// Counts one failure into `burst`; raises the burst's anomaly when it
/// reaches the count, and keeps its evidence up to date after.
fn failure(
    burst: &mut Burst,
    e: &Event,
    judged: bool,
    rules: Rules,
    out: &mut Vec<Anomaly>,
    make: impl FnOnce(usize) -> Anomaly,
) {
    if burst.last != 0 && e.time - burst.last >= rules.window {
        *burst = Burst::default();
    }
    burst.last = e.time;
    burst.recent.push_back(e.time);
    while burst
        .recent
        .front()
        .is_some_and(|&t| e.time - t >= rules.window)
    {
        burst.recent.pop_front();
    }
    match burst.fired {
        Some(i) => {
            let ev = &mut out[i].evidence;
            ev.failures = ev.failures.map(|n| n + 1);
            ev.last = Some(e.time);
            if let What::Login(_) = e.what {
                if ev.users.len() < 10 && !ev.users.contains(&e.user) {
                    ev.users.push(e.user.clone());
                }
            }
        }
        None if judged && burst.recent.len() >= rules.failures => {
            let first = *burst.recent.front().expect("at least `failures` entries");
            let mut a = make(burst.recent.len());
            a.evidence.first = Some(first);
            a.evidence.last = Some(e.time);
            a.evidence.users = vec![e.user.clone()];
            burst.fired = Some(out.len());
            out.push(a);
        }
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activity::events::{Login, Sudo};
    use vpsc_users::store::{Grant, Status, UserRecord};

    const DAY: i64 = 86_400;
    const T0: i64 = 1_767_225_600; // 2026-01-01 00:00 UTC

    fn login(t: i64, user: &str, address: &str, result: LoginResult) -> Event {
        Event {
            time_us: t * 1_000_000,
            time: t,
            user: user.into(),
            what: What::Login(Login {
                result,
                method: "publickey".into(),
                address: address.into(),
                port: 22,
                key_type: None,
                fingerprint: Some("SHA256:k".into()),
                invalid_user: false,
                pid: None,
                gave_up: false,
            }),
        }
    }

    fn sudo(t: i64, user: &str, allowed: bool) -> Event {
        Event {
            time_us: t * 1_000_000,
            time: t,
            user: user.into(),
            what: What::Sudo(Sudo {
                allowed,
                refused: (!allowed).then(|| "user NOT in sudoers".into()),
                run_as: "root".into(),
                command: "/usr/bin/id".into(),
                tty: "pts/0".into(),
                cwd: "/".into(),
            }),
        }
    }

    fn record(name: &str, roles: &[&str], grants: Vec<Grant>) -> UserRecord {
        UserRecord {
            name: name.into(),
            uid: 1000,
            full_name: String::new(),
            email: String::new(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            grants,
            teams: vec![],
            created: 0,
            expires: None,
            status: Status::Active,
            keys: vec![],
            totp: false,
            archive: None,
        }
    }

    fn kinds(a: &[Anomaly]) -> Vec<(Kind, Option<&str>, i64)> {
        a.iter()
            .map(|a| (a.kind, a.user.as_deref(), a.time))
            .collect()
    }

    fn run(events: &[Event], since: i64, dir: &Directory) -> Vec<Anomaly> {
        find(events, since * 1_000_000, dir, |_| 0, Rules::default())
    }

    #[test]
    fn a_new_address_stands_out_once_and_never_for_a_first_login() {
        let events = [
            login(T0 + 9 * 3600, "ada", "10.0.0.1", LoginResult::Accepted),
            login(
                T0 + DAY + 9 * 3600,
                "ada",
                "10.0.0.1",
                LoginResult::Accepted,
            ),
            login(
                T0 + 2 * DAY + 9 * 3600,
                "ada",
                "198.51.100.7",
                LoginResult::Accepted,
            ),
            login(
                T0 + 3 * DAY + 9 * 3600,
                "ada",
                "198.51.100.7",
                LoginResult::Accepted,
            ),
        ];
        let got = run(&events, T0, &Directory::default());
        assert_eq!(
            kinds(&got),
            [(Kind::NewSource, Some("ada"), T0 + 2 * DAY + 9 * 3600)]
        );
        assert_eq!(got[0].evidence.known_addresses, ["10.0.0.1"]);
        // Before the window, the same logins only teach the baseline.
        assert!(run(&events, T0 + 3 * DAY, &Directory::default()).is_empty());
    }

    #[test]
    fn an_hour_far_from_every_usual_one_is_flagged_with_enough_history() {
        let mut events: Vec<Event> = (0..10)
            .map(|d| {
                login(
                    T0 + d * DAY + 9 * 3600 + (d % 3) * 3600,
                    "ada",
                    "10.0.0.1",
                    LoginResult::Accepted,
                )
            })
            .collect();
        // 13:00 is 2 hours from 11:00: usual enough; 03:00 is 6 from 09:00.
        events.push(login(
            T0 + 10 * DAY + 13 * 3600,
            "ada",
            "10.0.0.1",
            LoginResult::Accepted,
        ));
        events.push(login(
            T0 + 11 * DAY + 3 * 3600,
            "ada",
            "10.0.0.1",
            LoginResult::Accepted,
        ));
        let got = run(&events, T0, &Directory::default());
        assert_eq!(
            kinds(&got),
            [(Kind::UnusualHour, Some("ada"), T0 + 11 * DAY + 3 * 3600)]
        );
        assert_eq!(got[0].evidence.usual_hours, [9, 10, 11, 13]);
        assert_eq!(got[0].evidence.hour, Some(3));
        // Nine earlier logins are not enough to judge.
        let few: Vec<Event> = events[..9]
            .iter()
            .cloned()
            .chain([events[11].clone()])
            .collect();
        assert!(run(&few, T0, &Directory::default()).is_empty());
    }

    #[test]
    fn five_failures_in_ten_minutes_make_one_anomaly_per_burst() {
        let mut events: Vec<Event> = (0..7)
            .map(|i| {
                login(
                    T0 + i * 60,
                    &format!("u{i}"),
                    "203.0.113.9",
                    LoginResult::Failed,
                )
            })
            .collect();
        // Four spread over an hour: never five within ten minutes.
        events.extend(
            (0..4).map(|i| login(T0 + 7200 + i * 900, "bob", "192.0.2.1", LoginResult::Failed)),
        );
        // A second burst from the first address after a quiet window.
        events.extend(
            (0..5).map(|i| login(T0 + 20_000 + i, "root", "203.0.113.9", LoginResult::Failed)),
        );
        let got = run(&events, T0, &Directory::default());
        let bursts: Vec<_> = got
            .iter()
            .map(|a| {
                (
                    a.evidence.by,
                    a.user.as_deref(),
                    a.time,
                    a.evidence.failures,
                )
            })
            .collect();
        assert_eq!(
            bursts,
            [
                (Some("address"), None, T0 + 240, Some(7)),
                (Some("address"), None, T0 + 20_004, Some(5)),
                (Some("user"), Some("root"), T0 + 20_004, Some(5)),
            ]
        );
        assert_eq!(got[0].evidence.users.len(), 3);
        assert_eq!(got[0].evidence.first, Some(T0));
        assert_eq!(got[0].evidence.last, Some(T0 + 360));
    }

    #[test]
    fn sudo_without_a_sudo_role_and_after_a_grant_ended() {
        let sudo_roles = Some(["admin".to_owned()].into_iter().collect());
        let dir = Directory::new(
            vec![
                record("ada", &["admin"], vec![]),
                record("dev", &["developer"], vec![]),
                record("cy", &["viewer"], vec![]),
            ],
            &[(
                T0,
                "cy".into(),
                vec![Grant {
                    role: "admin".into(),
                    granted: T0,
                    until: T0 + 3600,
                }],
            )],
            sudo_roles,
        );
        let events = [
            sudo(T0 + 60, "ada", true),
            sudo(T0 + 60, "cy", true),
            sudo(T0 + 120, "dev", false),
            sudo(T0 + 7200, "cy", true),
            sudo(T0 + 7300, "stranger", true),
        ];
        let got = run(&events, T0, &dir);
        assert_eq!(
            kinds(&got),
            [
                (Kind::SudoWithoutRole, Some("dev"), T0 + 120),
                (Kind::UseAfterExpiry, Some("cy"), T0 + 7200),
            ]
        );
        assert_eq!(got[0].evidence.allowed, Some(false));
        assert_eq!(got[1].evidence.grant_role.as_deref(), Some("admin"));
        assert_eq!(got[1].evidence.grant_ended, Some(T0 + 3600));
    }

    #[test]
    fn a_login_with_no_role_left_after_a_grant_is_use_after_expiry() {
        let dir = Directory::new(
            vec![record("tmp", &[], vec![])],
            &[(
                T0,
                "tmp".into(),
                vec![Grant {
                    role: "developer".into(),
                    granted: T0,
                    until: T0 + 60,
                }],
            )],
            Some(Default::default()),
        );
        let events = [
            login(T0 + 30, "tmp", "10.0.0.1", LoginResult::Accepted),
            login(T0 + 120, "tmp", "10.0.0.1", LoginResult::Accepted),
        ];
        let got = run(&events, T0, &dir);
        assert_eq!(kinds(&got), [(Kind::UseAfterExpiry, Some("tmp"), T0 + 120)]);
    }
}
