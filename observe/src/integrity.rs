//! File integrity by Debian's AIDE: its daily check (dailyaidecheck.service,
//! from aide-common) writes `/var/log/aide/aide.log`; `vpsc integrity
//! record`, run by that service when it stops, reads the log into the
//! audit log and the metrics. AIDE's own report format is parsed here;
//! vpsc's drift check of the files it manages is separate and unchanged.

use serde::Serialize;
use vpsc_engine::audit::{self, NewEvent, Query};
use vpsc_engine::error::{Error, Result};
use vpsc_engine::root::Root;
use vpsc_engine::state::State;

use crate::exposition::Family;

/// The log of the last daily check.
pub const LOG: &str = "/var/log/aide/aide.log";
/// At most this many paths per kind of change go into an audit event: the
/// counts are always complete; the log has every path.
const PATHS_KEPT: usize = 100;

/// One AIDE check, as its report says.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Check {
    /// When it started (Unix seconds), from `Start timestamp:`.
    pub started: Option<i64>,
    /// AIDE's exit code, when dailyaidecheck recorded it: a bit mask of
    /// 1 added, 2 removed, 4 changed; 14 and above are errors.
    pub exit_code: Option<i32>,
    /// Entries in the database.
    pub total: Option<u64>,
    /// Paths added since the database was made.
    pub added: Vec<String>,
    /// Paths removed.
    pub removed: Vec<String>,
    /// Paths changed.
    pub changed: Vec<String>,
    /// Counts from the summary (complete even when paths are not listed).
    pub counts: Counts,
}

/// The summary's counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Added entries.
    pub added: u64,
    /// Removed entries.
    pub removed: u64,
    /// Changed entries.
    pub changed: u64,
}

impl Check {
    /// Whether AIDE found any difference.
    pub fn found_changes(&self) -> bool {
        self.counts.added + self.counts.removed + self.counts.changed > 0
    }

    /// Whether AIDE itself failed (exit code 14 or more).
    pub fn failed(&self) -> bool {
        self.exit_code.is_some_and(|c| c >= 14)
    }
}

/// Parses a report (AIDE's plain output, as dailyaidecheck logs it).
/// Lines it does not know are skipped: the format is AIDE's.
pub fn parse(text: &str) -> Check {
    let mut check = Check::default();
    let mut section: Option<&str> = None;
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(rest) = trimmed.strip_prefix("Start timestamp:") {
            check.started = timestamp(rest.trim());
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix("AIDE returned with exit code ") {
            check.exit_code = rest
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .and_then(|n| n.parse().ok());
            continue;
        }
        if let Some((key, value)) = trimmed.split_once(':') {
            let n = value.trim().parse::<u64>().ok();
            match (key, n) {
                ("Total number of entries", Some(n)) => check.total = Some(n),
                ("Added entries", Some(n)) => check.counts.added = n,
                ("Removed entries", Some(n)) => check.counts.removed = n,
                ("Changed entries", Some(n)) => check.counts.changed = n,
                _ => {}
            }
        }
        match trimmed {
            "Added entries:" => section = Some("added"),
            "Removed entries:" => section = Some("removed"),
            "Changed entries:" => section = Some("changed"),
            t if t.starts_with("Detailed information about changes")
                || t.starts_with("The attributes of the (uncompressed) database")
                || t.starts_with("End timestamp:") =>
            {
                section = None;
            }
            _ => {}
        }
        let Some(kind) = section else { continue };
        // `f++++++++++++++++++: /etc/newfile`, `f >.... mc..H.. .  : /etc/motd`
        let Some((flags, path)) = line.split_once(": /") else {
            continue;
        };
        // The first flag is the file type: f, d, l, b, c, p, s, D, P.
        if !flags.starts_with(|c: char| c.is_ascii_alphabetic()) {
            continue;
        }
        let path = format!("/{}", path.trim_end());
        let list = match kind {
            "added" => &mut check.added,
            "removed" => &mut check.removed,
            _ => &mut check.changed,
        };
        list.push(path);
    }
    check
}

/// `2026-12-06 13:26:27 +0000` as Unix seconds.
fn timestamp(text: &str) -> Option<i64> {
    let mut parts = text.split_whitespace();
    let (date, time, zone) = (parts.next()?, parts.next()?, parts.next()?);
    let d: Vec<i64> = date
        .split('-')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let t: Vec<i64> = time
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    if d.len() != 3 || t.len() != 3 || zone.len() != 5 {
        return None;
    }
    let sign = match zone.as_bytes()[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let hh: i64 = zone.get(1..3)?.parse().ok()?;
    let mm: i64 = zone.get(3..5)?.parse().ok()?;
    let days = vpsc_engine::dates::days_from_civil(d[0], d[1], d[2]);
    Some(days * 86_400 + t[0] * 3600 + t[1] * 60 + t[2] - sign * (hh * 3600 + mm * 60))
}

/// Reads the last check's log.
pub fn last(root: &Root) -> Result<Check> {
    let text = root.read_to_string(LOG).map_err(|e| Error::Invalid {
        what: format!("cannot read AIDE's log {LOG}: {e}"),
        hint: "AIDE's daily check writes it: is vpsc-mod-aide installed and has dailyaidecheck.service run? (systemctl start dailyaidecheck.service)".into(),
    })?;
    let check = parse(&text);
    if check.started.is_none() {
        return Err(Error::Invalid {
            what: format!("{LOG} holds no AIDE report (no `Start timestamp:` line)"),
            hint: "run the check again: systemctl start dailyaidecheck.service".into(),
        });
    }
    Ok(check)
}

/// What [`record`] did.
#[derive(Debug, Serialize)]
pub struct Recorded {
    /// The check.
    pub check: Check,
    /// Whether it was new to the audit log (false: recorded before).
    pub new: bool,
}

/// Appends the last check to the audit log once (a check already
/// recorded is not recorded again) and returns it.
pub fn record(root: &Root, state: &State) -> Result<Recorded> {
    let check = last(root)?;
    let previous = audit::query(
        state,
        &Query {
            action: Some("integrity.check".into()),
            ..Query::default()
        },
    )?;
    let seen = previous
        .last()
        .is_some_and(|e| e.details["started"].as_i64() == check.started);
    if !seen {
        let keep = |v: &[String]| v.iter().take(PATHS_KEPT).cloned().collect::<Vec<_>>();
        let result = if check.failed() {
            format!("error: AIDE exited with {}", check.exit_code.unwrap_or(0))
        } else if check.found_changes() {
            format!(
                "error: {} added, {} removed, {} changed",
                check.counts.added, check.counts.removed, check.counts.changed
            )
        } else {
            "ok".into()
        };
        let event = audit::append(
            state,
            NewEvent {
                actor: audit::actor(root),
                action: "integrity.check".into(),
                target: "aide".into(),
                result,
                details: serde_json::json!({
                    "started": check.started,
                    "exit_code": check.exit_code,
                    "total": check.total,
                    "counts": check.counts,
                    "added": keep(&check.added),
                    "removed": keep(&check.removed),
                    "changed": keep(&check.changed),
                }),
            },
        )?;
        audit::forward(root, &event);
    }
    Ok(Recorded { check, new: !seen })
}

/// The check's metrics (`vpsc_integrity.prom`).
pub fn families(check: &Check) -> Vec<Family> {
    let mut entries = Family::gauge(
        "vpsc_integrity_entries",
        "Entries AIDE's last check found added, removed or changed since its database was made.",
    );
    for (change, n) in [
        ("added", check.counts.added),
        ("removed", check.counts.removed),
        ("changed", check.counts.changed),
    ] {
        entries.sample(&[("change", change)], n as f64);
    }
    let mut total = Family::gauge(
        "vpsc_integrity_database_entries",
        "Entries in AIDE's database at its last check.",
    );
    total.value(check.total.unwrap_or(0) as f64);
    let mut failed = Family::gauge(
        "vpsc_integrity_check_failed",
        "1 when AIDE's last check ended in an error (exit code 14 or more), else 0.",
    );
    failed.value(if check.failed() { 1.0 } else { 0.0 });
    let mut when = Family::gauge(
        "vpsc_integrity_last_check_timestamp_seconds",
        "When AIDE's last check started, in seconds since the epoch.",
    );
    when.value(check.started.unwrap_or(0) as f64);
    vec![entries, total, failed, when]
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = include_str!("../tests/fixtures/aide.log");

    #[test]
    fn reads_dailyaidechecks_log() {
        let c = parse(REPORT);
        assert_eq!(c.exit_code, Some(5));
        assert_eq!(c.total, Some(13792));
        assert_eq!(
            c.counts,
            Counts {
                added: 2,
                removed: 1,
                changed: 2
            }
        );
        assert_eq!(c.added, ["/etc/newfile", "/etc/cron.d/evil"]);
        assert_eq!(c.removed, ["/etc/issue"]);
        assert_eq!(c.changed, ["/etc/motd", "/var/log/aide/aideinit.log"]);
        assert_eq!(c.started, Some(1_796_563_587));
        assert!(c.found_changes() && !c.failed());
    }

    #[test]
    fn a_report_of_no_change() {
        let c = parse(
            "Start timestamp: 2026-12-06 13:26:27 +0100 (AIDE 0.19.1)\n\nAIDE found NO differences between database and filesystem. Looks okay!!\n",
        );
        assert_eq!(c.started, Some(1_796_563_587 - 3600));
        assert!(!c.found_changes());
    }

    #[test]
    fn garbage_is_not_a_report() {
        let c = parse("\u{0}\u{7}: /x\nAdded entries:\t\tlots\nStart timestamp: yesterday\n");
        assert_eq!(c, Check::default());
    }
}
