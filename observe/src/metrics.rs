//! The health facts as Prometheus metrics, one textfile per source, so a
//! source that cannot be read leaves the others current. Names follow
//! Prometheus' conventions: `vpsc_` prefix, base units in the suffix
//! (`_seconds`, `_ratio`), state sets as one series per state.

use crate::exposition::Family;
use crate::health::{AuditState, Facts, Finding, Reboot, Status, Timesync, Upgrades};

/// One file of metrics: its name in the collector's directory and content.
pub struct Source {
    /// File name, `vpsc_*.prom`.
    pub file: &'static str,
    /// Its families.
    pub families: Vec<Family>,
}

/// Every source derived from the health facts.
pub fn sources(facts: &Facts, findings: &[Finding]) -> Vec<Source> {
    vec![
        Source {
            file: "vpsc_health.prom",
            families: health(facts, findings),
        },
        Source {
            file: "vpsc_verify.prom",
            families: verify(facts),
        },
        Source {
            file: "vpsc_drift.prom",
            families: drift(facts),
        },
        Source {
            file: "vpsc_breaker.prom",
            families: breakers(facts),
        },
        Source {
            file: "vpsc_audit.prom",
            families: audit(facts),
        },
        Source {
            file: "vpsc_upgrades.prom",
            families: upgrades(facts),
        },
        Source {
            file: "vpsc_host.prom",
            families: host(facts),
        },
        Source {
            file: "vpsc_users.prom",
            families: users(facts),
        },
    ]
}

fn flag(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

fn health(facts: &Facts, findings: &[Finding]) -> Vec<Family> {
    let mut degraded = Family::gauge(
        "vpsc_health_degraded",
        "1 when vpsc health finds the host degraded, else 0.",
    );
    degraded.value(flag(crate::health::overall(findings) == Status::Degraded));
    let mut check = Family::gauge(
        "vpsc_health_check_status",
        "State of each aspect vpsc health judges: 1 for its current status.",
    );
    for f in findings {
        for s in [Status::Ok, Status::Unknown, Status::Degraded] {
            let word = match s {
                Status::Ok => "ok",
                Status::Unknown => "unknown",
                Status::Degraded => "degraded",
            };
            check.sample(&[("check", &f.name), ("status", word)], flag(f.status == s));
        }
    }
    let mut when = Family::gauge(
        "vpsc_health_last_run_timestamp_seconds",
        "When vpsc last judged the host's health, in seconds since the epoch.",
    );
    when.value(facts.time as f64);
    vec![degraded, check, when]
}

fn verify(facts: &Facts) -> Vec<Family> {
    let mut checks = Family::gauge(
        "vpsc_verify_checks",
        "Verify checks of the installed modules by module and result.",
    );
    let mut counts: std::collections::BTreeMap<(&str, &str), usize> = Default::default();
    for r in &facts.verify {
        let status = match r.status {
            vpsc_engine::checks::Status::Pass => "pass",
            vpsc_engine::checks::Status::Fail => "fail",
            vpsc_engine::checks::Status::NotEvaluated => "not_evaluated",
        };
        *counts.entry((&r.module, status)).or_default() += 1;
    }
    for ((module, status), n) in counts {
        checks.sample(&[("module", module), ("status", status)], n as f64);
    }
    let mut failed = Family::gauge(
        "vpsc_verify_check_failed",
        "1 for each verify check that fails, by module and check.",
    );
    for r in facts.verify.iter().filter(|r| r.failed()) {
        failed.sample(&[("module", &r.module), ("check", &r.check)], 1.0);
    }
    vec![checks, failed]
}

fn drift(facts: &Facts) -> Vec<Family> {
    let mut files = Family::gauge(
        "vpsc_drift_files",
        "Managed files changed since vpsc wrote them.",
    );
    files.value(facts.drift.len() as f64);
    let mut file = Family::gauge(
        "vpsc_drift_file",
        "1 for each managed file changed since vpsc wrote it, by module and path.",
    );
    for d in &facts.drift {
        file.sample(&[("module", &d.module), ("path", &d.path)], 1.0);
    }
    vec![files, file]
}

fn breakers(facts: &Facts) -> Vec<Family> {
    use vpsc_engine::breaker::Phase;
    let mut state = Family::gauge(
        "vpsc_breaker_state",
        "State of each circuit breaker of network steps: 1 for its current state.",
    );
    let mut open = Family::gauge(
        "vpsc_breakers_open",
        "Circuit breakers not closed (open or half-open).",
    );
    open.value(
        facts
            .breakers
            .iter()
            .filter(|b| b.state != Phase::Closed)
            .count() as f64,
    );
    for b in &facts.breakers {
        for (p, word) in [
            (Phase::Closed, "closed"),
            (Phase::Open, "open"),
            (Phase::HalfOpen, "half_open"),
        ] {
            state.sample(&[("key", &b.key), ("state", word)], flag(b.state == p));
        }
    }
    vec![open, state]
}

fn audit(facts: &Facts) -> Vec<Family> {
    let mut intact = Family::gauge(
        "vpsc_audit_chain_intact",
        "1 when every event of the audit log links and hashes as it should, else 0.",
    );
    let mut events = Family::gauge("vpsc_audit_events", "Events in the audit log.");
    match facts.audit {
        AuditState::Intact { events: n } => {
            intact.value(1.0);
            events.value(n as f64);
        }
        AuditState::Broken { .. } => {
            intact.value(0.0);
        }
    }
    let mut out = vec![intact];
    if !events.is_empty() {
        out.push(events);
    }
    out
}

fn upgrades(facts: &Facts) -> Vec<Family> {
    match &facts.upgrades {
        // No series at all: absent() in an alert tells it from "0 pending".
        Upgrades::NoSecuritySource => Vec::new(),
        Upgrades::Pending {
            packages,
            lists_age,
        } => {
            let mut pending = Family::gauge(
                "vpsc_security_upgrades_pending",
                "Installed packages with a newer version in a Debian-Security source.",
            );
            pending.value(packages.len() as f64);
            let mut age = Family::gauge(
                "vpsc_apt_security_lists_age_seconds",
                "Age of apt's lists of the Debian-Security source.",
            );
            age.value(*lists_age as f64);
            vec![pending, age]
        }
    }
}

fn host(facts: &Facts) -> Vec<Family> {
    let mut reboot = Family::gauge(
        "vpsc_reboot_required",
        "1 when a package asked for a reboot (/run/reboot-required), else 0.",
    );
    reboot.value(flag(matches!(facts.reboot, Reboot::Required { .. })));
    let mut out = vec![reboot];
    if let Some(units) = &facts.failed_units {
        let mut failed = Family::gauge("vpsc_systemd_units_failed", "Failed systemd units.");
        failed.value(units.len() as f64);
        out.push(failed);
    }
    let mut blocks = Family::gauge(
        "vpsc_filesystem_used_ratio",
        "Share of a filesystem's blocks in use, as df counts them (0 to 1).",
    );
    let mut inodes = Family::gauge(
        "vpsc_filesystem_inodes_used_ratio",
        "Share of a filesystem's inodes in use (0 to 1).",
    );
    for d in &facts.disks {
        blocks.sample(&[("mountpoint", &d.mount)], d.blocks_used_ratio());
        inodes.sample(&[("mountpoint", &d.mount)], d.inodes_used_ratio());
    }
    out.extend([blocks, inodes]);
    if facts.timesync != Timesync::Unknown {
        let mut sync = Family::gauge(
            "vpsc_time_synchronised",
            "1 when the system clock is synchronised to a time source, else 0.",
        );
        sync.value(flag(facts.timesync == Timesync::Synchronised));
        out.push(sync);
    }
    out
}

fn users(facts: &Facts) -> Vec<Family> {
    let mut grants = Family::gauge(
        "vpsc_user_grant_expiry_timestamp_seconds",
        "When each temporary grant of a role ends, in seconds since the epoch.",
    );
    for g in &facts.grants {
        grants.sample(&[("user", &g.user), ("role", &g.role)], g.until as f64);
    }
    vec![grants]
}
