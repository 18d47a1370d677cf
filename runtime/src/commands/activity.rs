//! `vpsc-user activity`: who logged in and did what, from the journal
//! (the work is `vpsc_observe::activity`'s). Exit status 1 when the
//! report shows anomalies, as verify does for failing checks; with
//! `--record`, whose job is to record them, 0.

use std::borrow::Cow;
use std::path::PathBuf;

use crate::error::Result;
use crate::observe::activity::events::What;
use crate::observe::activity::{self, Anomaly, Options, Report, record};
use crate::root::Root;
use crate::state::State;

/// Prints who logged in and did what, with anomalies.
pub fn run(
    root: &Root,
    name: Option<&str>,
    since: Option<&str>,
    files: &[PathBuf],
    record: bool,
    json: bool,
) -> Result<i32> {
    let now = crate::dates::now();
    let report = activity::run(
        root,
        &Options {
            since: since.map(str::to_owned),
            files: files.to_vec(),
            now,
        },
    )?;
    if record {
        // Everyone's, whatever NAME says: the audit log and the metrics
        // describe the host.
        let state = State::open(root)?;
        let new = record::record(root, &state, &report)?;
        let written = crate::observe::textfile::write(
            root,
            crate::METRICS_DIR,
            record::TEXTFILE,
            &record::metrics(&report),
        )?;
        tracing::info!(
            new = new.len(),
            metrics = written,
            "activity anomalies recorded"
        );
    }
    let report = match name {
        Some(n) => report.only(n),
        None => report,
    };
    if json {
        super::print_json(&report);
    } else {
        show(&report, name.is_some());
    }
    Ok(if report.anomalies.is_empty() || record {
        0
    } else {
        1
    })
}

/// Text as shown on a terminal: control characters (from a name an
/// attacker chose) escaped, never sent to the terminal.
fn shown(s: &str) -> Cow<'_, str> {
    if s.chars().any(char::is_control) {
        Cow::Owned(s.chars().flat_map(char::escape_default).collect())
    } else {
        Cow::Borrowed(s)
    }
}

fn at(t: i64) -> String {
    crate::dates::utc(t)
}

fn show(r: &Report, detailed: bool) {
    let e = &r.entries;
    outln!(
        "activity from {} to {} UTC (hours judged in {}); {} journal entries, {} events",
        at(r.since),
        at(r.until),
        r.zone,
        e.read,
        e.events
    );
    if e.malformed + e.untrusted + e.oversized > 0 {
        outln!(
            "  skipped: {} not understood, {} not from the program they name, {} oversized",
            e.malformed,
            e.untrusted,
            e.oversized
        );
    }
    for n in &r.notes {
        outln!("  note: {n}");
    }
    if r.people.is_empty() {
        outln!("nobody was active");
    } else {
        outln!(
            "{:<16} {:>6} {:>6} {:>5} {:>7} {:>4} {:>8}  LAST LOGIN (UTC)     FROM",
            "USER",
            "LOGINS",
            "FAILED",
            "SUDO",
            "REFUSED",
            "SU",
            "SESSIONS"
        );
        for p in &r.people {
            let last = match &p.last_login {
                Some(l) => format!(
                    "{}  {} {}{}",
                    at(l.time),
                    shown(&l.address),
                    l.method,
                    l.fingerprint
                        .as_deref()
                        .map(|f| format!(" {}", shown(f)))
                        .unwrap_or_default()
                ),
                None => "-".into(),
            };
            outln!(
                "{:<16} {:>6} {:>6} {:>5} {:>7} {:>4} {:>8}  {last}",
                shown(&p.user),
                p.logins.accepted,
                p.logins.failed,
                p.sudo.allowed,
                p.sudo.refused,
                p.su.success + p.su.failure,
                p.sessions
            );
        }
    }
    if detailed {
        for p in &r.people {
            outln!("events of {}:", shown(&p.user));
            for e in &p.events {
                outln!("  {}  {}", at(e.time), event_line(&e.what));
            }
        }
    }
    if !r.invalid_users.is_empty() {
        let attempts: u64 = r.invalid_users.iter().map(|i| i.attempts).sum();
        let top: Vec<String> = r
            .invalid_users
            .iter()
            .take(5)
            .map(|i| format!("{} ×{}", shown(&i.user), i.attempts))
            .collect();
        outln!(
            "unknown user names tried: {} name(s), {attempts} attempt(s) (most: {})",
            r.invalid_users.len(),
            top.join(", ")
        );
    }
    if r.anomalies.is_empty() {
        outln!("no anomalies");
    } else {
        outln!("anomalies:");
        for a in &r.anomalies {
            outln!(
                "  {}  {:<18} {:<12} {}",
                at(a.time),
                a.kind.as_str(),
                shown(a.user.as_deref().unwrap_or("-")),
                evidence_line(a)
            );
        }
    }
}

fn event_line(w: &What) -> String {
    match w {
        What::Login(l) => format!(
            "login {} {} from {} port {}{}{}",
            match l.result {
                activity::events::LoginResult::Accepted => "accepted",
                activity::events::LoginResult::Failed => "failed",
            },
            l.method,
            shown(&l.address),
            l.port,
            l.key_type
                .as_deref()
                .map(|k| format!(" {}", shown(k)))
                .unwrap_or_default(),
            l.fingerprint
                .as_deref()
                .map(|f| format!(" {}", shown(f)))
                .unwrap_or_default()
        ),
        What::Sudo(s) => format!(
            "sudo as {}: {} ({}, {}){}",
            shown(&s.run_as),
            shown(&s.command),
            shown(&s.tty),
            shown(&s.cwd),
            s.refused
                .as_deref()
                .map(|r| format!(" refused: {}", shown(r)))
                .unwrap_or_default()
        ),
        What::Su(s) => format!(
            "su to {} on {}{}",
            shown(&s.to),
            shown(&s.tty),
            if s.success { "" } else { " failed" }
        ),
        What::Session(s) => format!(
            "session {} {}",
            shown(&s.id),
            if s.opened { "opened" } else { "closed" }
        ),
    }
}

fn evidence_line(a: &Anomaly) -> String {
    let e = &a.evidence;
    let mut parts = Vec::new();
    if let Some(addr) = &e.address {
        parts.push(format!("from {}", shown(addr)));
    }
    if !e.known_addresses.is_empty() {
        parts.push(format!("known: {}", e.known_addresses.join(", ")));
    }
    if let Some(h) = e.hour {
        let usual: Vec<String> = e.usual_hours.iter().map(|h| format!("{h:02}")).collect();
        parts.push(format!("at {h:02}h, usual {}h", usual.join(",")));
    }
    if let (Some(n), Some(first), Some(last)) = (e.failures, e.first, e.last) {
        parts.push(format!(
            "{n} failures by {} from {} to {}",
            e.by.unwrap_or("?"),
            at(first),
            at(last)
        ));
    }
    if let Some(c) = &e.command {
        parts.push(format!(
            "sudo {}{}",
            shown(c),
            if e.allowed == Some(false) {
                " (refused)"
            } else {
                ""
            }
        ));
    }
    if let (Some(role), Some(ended)) = (&e.grant_role, e.grant_ended) {
        parts.push(format!("grant of {role} ended {}", at(ended)));
    }
    parts.join("; ")
}
