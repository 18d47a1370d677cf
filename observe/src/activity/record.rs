//! `--record`: each anomaly not recorded before becomes an audit event
//! (`activity.anomaly`), and the window's figures become Prometheus
//! gauges. What was recorded is remembered by key (see
//! [`Anomaly::key`]) in the state database, so the hourly timer, reading
//! overlapping windows, records each anomaly once; keys older than the
//! window and its history are forgotten.
//!
//! The figures are counts over the window, which moves: they go up and
//! down, so they are gauges (`vpsc_activity_logins`), not `_total`
//! counters.

use vpsc_engine::audit::{self, NewEvent};
use vpsc_engine::error::Result;
use vpsc_engine::root::Root;
use vpsc_engine::state::{State, Tables};

use super::anomaly::{Anomaly, Kind};
use super::{HISTORY, Options, Report};
use crate::exposition::Family;

/// The keys of recorded anomalies, made on first use.
pub const TABLES: Tables = Tables {
    owner: "activity",
    sql: "
CREATE TABLE IF NOT EXISTS activity_recorded (
    key  TEXT PRIMARY KEY,
    time INTEGER NOT NULL
);
",
};

/// The audit action of a recorded anomaly.
pub const ACTION: &str = "activity.anomaly";

/// The textfile activity's metrics go to.
pub const TEXTFILE: &str = "vpsc_activity.prom";

/// Appends each anomaly of `report` not recorded before to the audit
/// log, the key and the event in one transaction; returns those new.
pub fn record<'a>(root: &Root, state: &State, report: &'a Report) -> Result<Vec<&'a Anomaly>> {
    let conn = state.tables(&TABLES)?;
    let mut new = Vec::new();
    for a in &report.anomalies {
        let recorded = state.atomically(|| {
            let inserted = conn
                .execute(
                    "INSERT OR IGNORE INTO activity_recorded (key, time) VALUES (?1, ?2)",
                    (a.key(), a.time),
                )
                .map_err(state.err())?;
            if inserted == 0 {
                return Ok(None);
            }
            let event = audit::append(
                state,
                NewEvent {
                    actor: audit::actor(root),
                    action: ACTION.into(),
                    target: a
                        .user
                        .clone()
                        .or_else(|| a.evidence.address.clone())
                        .unwrap_or_default(),
                    result: "ok".into(),
                    details: serde_json::to_value(a).expect("anomalies serialise"),
                },
            )?;
            Ok(Some(event))
        })?;
        if let Some(event) = recorded {
            audit::forward(root, &event);
            new.push(a);
        }
    }
    conn.execute(
        "DELETE FROM activity_recorded WHERE time < ?1",
        (report.since - HISTORY,),
    )
    .map_err(state.err())?;
    Ok(new)
}

/// The activity gauges of `report`.
pub fn metrics(report: &Report) -> Vec<Family> {
    let sum = |f: &dyn Fn(&super::Person) -> u64| report.people.iter().map(f).sum::<u64>() as f64;
    let invalid: u64 = report.invalid_users.iter().map(|i| i.attempts).sum();

    let mut window = Family::gauge(
        "vpsc_activity_window_seconds",
        "Length of the window the other vpsc_activity gauges count over.",
    );
    window.value((report.until - report.since) as f64);

    let mut logins = Family::gauge(
        "vpsc_activity_logins",
        "SSH logins in the window, by result (failed includes unknown user names).",
    );
    logins
        .sample(&[("result", "accepted")], sum(&|p| p.logins.accepted))
        .sample(
            &[("result", "failed")],
            sum(&|p| p.logins.failed) + invalid as f64,
        );

    let mut sudo = Family::gauge(
        "vpsc_activity_sudo_commands",
        "sudo commands in the window, by result.",
    );
    sudo.sample(&[("result", "allowed")], sum(&|p| p.sudo.allowed))
        .sample(&[("result", "refused")], sum(&|p| p.sudo.refused));

    let mut su = Family::gauge(
        "vpsc_activity_su_switches",
        "su switches of user in the window, by result.",
    );
    su.sample(&[("result", "success")], sum(&|p| p.su.success))
        .sample(&[("result", "failure")], sum(&|p| p.su.failure));

    let mut sessions = Family::gauge(
        "vpsc_activity_sessions",
        "Login sessions systemd-logind opened in the window.",
    );
    sessions.value(sum(&|p| p.sessions));

    let mut people = Family::gauge(
        "vpsc_activity_people",
        "People with an accepted login in the window.",
    );
    people.value(
        report
            .people
            .iter()
            .filter(|p| p.logins.accepted > 0)
            .count() as f64,
    );

    let mut anomalies = Family::gauge(
        "vpsc_activity_anomalies",
        "Anomalies in the window, by kind (see vpsc-user(8), ACTIVITY).",
    );
    for kind in Kind::ALL {
        let n = report.anomalies.iter().filter(|a| a.kind == kind).count();
        anomalies.sample(&[("kind", kind.as_str())], n as f64);
    }

    let mut skipped = Family::gauge(
        "vpsc_activity_journal_entries_skipped",
        "Journal entries read and not used, by reason.",
    );
    skipped
        .sample(&[("reason", "malformed")], report.entries.malformed as f64)
        .sample(&[("reason", "untrusted")], report.entries.untrusted as f64)
        .sample(&[("reason", "oversized")], report.entries.oversized as f64);

    let mut out = vec![
        window, logins, sudo, su, sessions, people, anomalies, skipped,
    ];
    if let Some(last) = report.anomalies.iter().map(|a| a.time).max() {
        let mut f = Family::gauge(
            "vpsc_activity_last_anomaly_timestamp_seconds",
            "Unix time of the newest anomaly in the window.",
        );
        f.value(last as f64);
        out.push(f);
    }
    out
}

/// The activity gauges of the default window (seven days to `now`) of
/// `root`'s journal: for `vpsc metrics`, which writes every source.
pub fn families(root: &Root, now: i64) -> Result<Vec<Family>> {
    let report = super::run(
        root,
        &Options {
            now,
            ..Options::default()
        },
    )?;
    Ok(metrics(&report))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition;

    #[test]
    fn an_empty_window_renders_every_gauge_with_zeros() {
        let report = Report {
            since: 0,
            until: 604_800,
            zone: "UTC".into(),
            entries: Default::default(),
            people: vec![],
            invalid_users: vec![],
            anomalies: vec![],
            notes: vec![],
        };
        let text = exposition::render(&metrics(&report));
        assert!(text.contains("# TYPE vpsc_activity_logins gauge\n"));
        assert!(text.contains("vpsc_activity_logins{result=\"failed\"} 0\n"));
        assert!(text.contains("vpsc_activity_anomalies{kind=\"use_after_expiry\"} 0\n"));
        assert!(text.contains("vpsc_activity_window_seconds 604800\n"));
        assert!(!text.contains("last_anomaly"));
    }
}
