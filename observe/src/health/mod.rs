//! `vpsc health`: one look at the host from local facts only. [`gather`]
//! reads the facts, [`judge`] turns them into findings with a status, and
//! the metrics are written from the same facts, so `vpsc health` and the
//! dashboards never disagree.

mod disk;
mod system;
mod upgrades;
mod vpsc;

use serde::Serialize;
use vpsc_engine::error::Result;
use vpsc_engine::root::Root;
use vpsc_engine::state::State;

pub use disk::Usage;
pub use system::{Reboot, Timesync};
pub use upgrades::Upgrades;
pub use vpsc::{Grant, LastScan};

/// Above this share of blocks or inodes used, a filesystem is degraded.
pub const DISK_LIMIT: f64 = 0.90;
/// A CIS scan older than this (seconds) is stale: the timer runs daily.
pub const SCAN_MAX_AGE: i64 = 3 * 86_400;

/// Everything `vpsc health` looks at, as read.
#[derive(Debug, Serialize)]
pub struct Facts {
    /// When they were read (Unix seconds).
    pub time: i64,
    /// Each installed module's verify results.
    pub verify: Vec<vpsc_engine::checks::CheckResult>,
    /// Managed files changed since vpsc wrote them.
    pub drift: Vec<vpsc_engine::drift::Drift>,
    /// The circuit breakers.
    pub breakers: Vec<vpsc_engine::breaker::Row>,
    /// The audit chain: events checked, or why it is broken.
    pub audit: AuditState,
    /// The last recorded CIS scan.
    pub cis: Option<LastScan>,
    /// Security upgrades not yet installed.
    pub upgrades: Upgrades,
    /// Whether a package asked for a reboot.
    pub reboot: Reboot,
    /// Failed systemd units; `None` when systemd is not running here.
    pub failed_units: Option<Vec<String>>,
    /// Block and inode use of `/` and `/var`.
    pub disks: Vec<Usage>,
    /// Whether the clock is synchronised.
    pub timesync: Timesync,
    /// Temporary grants of people, with their expiry.
    pub grants: Vec<Grant>,
}

/// The audit chain's state.
#[derive(Debug, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AuditState {
    /// Every event links and hashes as it should.
    Intact {
        /// Events checked.
        events: i64,
    },
    /// The first event that does not fit, and why.
    Broken {
        /// Its sequence number.
        seq: i64,
        /// Why.
        why: String,
    },
}

/// How one aspect of the host is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// As it should be.
    Ok,
    /// Not known here (e.g. no systemd in a `--root` tree).
    Unknown,
    /// Needs attention.
    Degraded,
}

impl Status {
    /// The word shown in the table.
    pub fn word(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Unknown => "unknown",
            Status::Degraded => "DEGRADED",
        }
    }
}

/// One judged aspect: `verify`, `drift`, `disk:/var`…
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// Which aspect.
    pub name: String,
    /// Its status.
    pub status: Status,
    /// What was found, in a few words; for a degraded aspect, why.
    pub summary: String,
}

/// Reads every fact. Errors only when the state database cannot be read
/// at all; a fact that cannot be read on this host is `Unknown`.
pub fn gather(root: &Root, state: &State, now: i64) -> Result<Facts> {
    Ok(Facts {
        time: now,
        verify: vpsc::verify(root, state)?,
        drift: vpsc_engine::drift::all(root, state)?,
        breakers: vpsc_engine::breaker::status(state)?,
        audit: vpsc::audit(root, state)?,
        cis: vpsc::last_scan(state)?,
        upgrades: upgrades::pending(root),
        reboot: system::reboot(root),
        failed_units: system::failed_units(root),
        disks: disk::usage(root),
        timesync: system::timesync(root),
        grants: vpsc::grants(state)?,
    })
}

/// The findings, in a fixed order.
pub fn judge(f: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut add = |name: &str, status: Status, summary: String| {
        out.push(Finding {
            name: name.to_owned(),
            status,
            summary,
        });
    };
    let failed: Vec<String> = f
        .verify
        .iter()
        .filter(|r| r.failed())
        .map(|r| format!("{}: {}", r.module, r.check))
        .collect();
    if failed.is_empty() {
        add(
            "verify",
            Status::Ok,
            format!("{} checks pass", f.verify.len()),
        );
    } else {
        add(
            "verify",
            Status::Degraded,
            format!(
                "{} of {} checks fail: {}",
                failed.len(),
                f.verify.len(),
                listed(&failed)
            ),
        );
    }
    if f.drift.is_empty() {
        add("drift", Status::Ok, "no managed file changed".into());
    } else {
        let files: Vec<String> = f
            .drift
            .iter()
            .map(|d| format!("{} ({})", d.path, d.module))
            .collect();
        add(
            "drift",
            Status::Degraded,
            format!("changed since vpsc wrote them: {}", files.join(", ")),
        );
    }
    let open: Vec<&str> = f
        .breakers
        .iter()
        .filter(|b| b.state != vpsc_engine::breaker::Phase::Closed)
        .map(|b| b.key.as_str())
        .collect();
    if open.is_empty() {
        add(
            "breakers",
            Status::Ok,
            format!("{} closed", f.breakers.len()),
        );
    } else {
        add(
            "breakers",
            Status::Degraded,
            format!("open: {} (vpsc breaker status)", open.join(", ")),
        );
    }
    match &f.audit {
        AuditState::Intact { events } => add(
            "audit",
            Status::Ok,
            format!("chain intact, {events} events"),
        ),
        AuditState::Broken { seq, why } => add(
            "audit",
            Status::Degraded,
            format!("chain broken at event {seq}: {why}"),
        ),
    }
    match &f.cis {
        None => add(
            "cis",
            Status::Unknown,
            "never scanned (vpsc cis scan --record)".into(),
        ),
        Some(s) => {
            let age = f.time - s.time;
            let text = format!(
                "score {:.1} % ({}), scanned {} ago",
                s.score,
                s.benchmark,
                duration(age)
            );
            if age > SCAN_MAX_AGE {
                add(
                    "cis",
                    Status::Degraded,
                    format!("{text}: older than 3 days, is vpsc-cis-scan.timer running?"),
                );
            } else {
                add("cis", Status::Ok, text);
            }
        }
    }
    match &f.upgrades {
        Upgrades::NoSecuritySource => add(
            "upgrades",
            Status::Unknown,
            "no Debian-Security source in apt's lists (apt update, or add trixie-security)".into(),
        ),
        Upgrades::Pending {
            packages,
            lists_age,
        } => {
            let when = format!("lists {} old", duration(*lists_age));
            if packages.is_empty() {
                add(
                    "upgrades",
                    Status::Ok,
                    format!("no security upgrade pending ({when})"),
                );
            } else {
                add(
                    "upgrades",
                    Status::Degraded,
                    format!(
                        "{} security upgrade(s) pending: {} ({when})",
                        packages.len(),
                        listed(packages)
                    ),
                );
            }
        }
    }
    match &f.reboot {
        Reboot::NotRequired => add("reboot", Status::Ok, "not required".into()),
        Reboot::Required { packages } => add(
            "reboot",
            Status::Degraded,
            if packages.is_empty() {
                "required".into()
            } else {
                format!("required by {}", packages.join(", "))
            },
        ),
    }
    match &f.failed_units {
        None => add(
            "units",
            Status::Unknown,
            "systemd is not running here".into(),
        ),
        Some(u) if u.is_empty() => add("units", Status::Ok, "no failed unit".into()),
        Some(u) => add(
            "units",
            Status::Degraded,
            format!("failed: {}", u.join(", ")),
        ),
    }
    for d in &f.disks {
        let name = format!("disk:{}", d.mount);
        let text = format!(
            "{:.0} % of blocks, {:.0} % of inodes used",
            d.blocks_used_ratio() * 100.0,
            d.inodes_used_ratio() * 100.0
        );
        if d.blocks_used_ratio() > DISK_LIMIT || d.inodes_used_ratio() > DISK_LIMIT {
            add(&name, Status::Degraded, format!("{text} (over 90 %)"));
        } else {
            add(&name, Status::Ok, text);
        }
    }
    match f.timesync {
        Timesync::Synchronised => add("time", Status::Ok, "synchronised".into()),
        Timesync::NotSynchronised => add(
            "time",
            Status::Degraded,
            "not synchronised (timedatectl timesync-status; is systemd-timesyncd or chrony running?)".into(),
        ),
        Timesync::Unknown => add("time", Status::Unknown, "no running system to ask".into()),
    }
    out
}

/// The worst status among the findings (unknown counts as ok).
pub fn overall(findings: &[Finding]) -> Status {
    if findings.iter().any(|f| f.status == Status::Degraded) {
        Status::Degraded
    } else {
        Status::Ok
    }
}

/// The first few items and how many more (`--json` has them all).
fn listed(items: &[String]) -> String {
    const SHOWN: usize = 5;
    if items.len() <= SHOWN {
        items.join(", ")
    } else {
        format!(
            "{}, and {} more (--json lists them)",
            items[..SHOWN].join(", "),
            items.len() - SHOWN
        )
    }
}

/// `90 s`, `5 min`, `3 h`, `2 d`.
pub fn duration(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..=119 => format!("{s} s"),
        120..=7199 => format!("{} min", s / 60),
        7200..=172_799 => format!("{} h", s / 3600),
        _ => format!("{} d", s / 86_400),
    }
}
