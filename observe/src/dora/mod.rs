//! DORA's four keys for one host, from what the host itself recorded:
//! dpkg's log (when each vpsc package was unpacked), each package's
//! changelog (when its version was built) and vpsc's audit log (whether
//! the configure that followed worked, and whether it was rolled back).
//!
//! The definitions are those of `vpsc(1)`, DORA METRICS; this file is
//! their implementation and the two must say the same:
//!
//! - a **deployment** is an `install` line, or an `upgrade` line to a
//!   different version, of a `vpsc-mod-*` or `vpsc-profile-*` package in
//!   dpkg's log, within the window;
//! - its **lead time** is from the date of its version's entry in the
//!   package's changelog to the log line; median and 90th percentile by
//!   the nearest-rank method;
//! - a deployment **failed** when, within its watch (from its log line
//!   until the next deployment of the same package or [`WATCH`] seconds,
//!   whichever is first), the module's `module.configure` (a profile's
//!   `profile.apply`) ended other than `ok`, or the module was
//!   unconfigured (the profile released or rolled back);
//! - **time to restore** runs from a failed `module.configure` (the first
//!   of a run of failures) to the next `ok` one of the same module.

pub mod changelog;
pub mod dpkglog;

use std::collections::BTreeMap;

use serde::Serialize;
use vpsc_engine::audit::{self, Event};
use vpsc_engine::error::Result;
use vpsc_engine::localtime::Zone;
use vpsc_engine::root::Root;
use vpsc_engine::state::State;

use crate::exposition::Family;
pub use dpkglog::{Kind, Unpack};

/// The window when `--since` is not given: 30 days.
pub const DEFAULT_WINDOW: i64 = 30 * 86_400;

/// How long after a deployment a failed configure or a rollback counts
/// against it: one day.
pub const WATCH: i64 = 86_400;

/// The four keys over one window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dora {
    /// Start of the window (Unix seconds).
    pub since: i64,
    /// End of the window (Unix seconds): now.
    pub until: i64,
    /// Deployment frequency.
    pub deployments: Frequency,
    /// Lead time for changes.
    pub lead_time: LeadTime,
    /// Change failure rate.
    pub change_failure: ChangeFailure,
    /// Time to restore.
    pub time_to_restore: Restore,
    /// Every deployment of the window, oldest first.
    pub changes: Vec<Deployment>,
    /// Every configure failure of the window, oldest first.
    pub incidents: Vec<Incident>,
}

/// How often vpsc packages were deployed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Frequency {
    /// Deployments in the window.
    pub count: usize,
    /// Of which module packages.
    pub modules: usize,
    /// Of which profile packages.
    pub profiles: usize,
    /// Deployments per day of the window.
    pub per_day: f64,
    /// Deployments per week (7 × per day).
    pub per_week: f64,
    /// Deployments per calendar day of the host (dpkg's local date).
    pub by_day: BTreeMap<String, usize>,
}

/// From build to deployment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeadTime {
    /// Deployments whose version's changelog date is known.
    pub measured: usize,
    /// Deployments without one (no changelog of that version installed,
    /// or a date after the deployment).
    pub unmeasured: usize,
    /// Median in seconds (nearest rank), if any was measured.
    pub median_seconds: Option<i64>,
    /// 90th percentile in seconds (nearest rank), if any was measured.
    pub p90_seconds: Option<i64>,
}

/// Deployments that failed or were rolled back.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangeFailure {
    /// Failed deployments.
    pub failed: usize,
    /// All deployments.
    pub deployments: usize,
    /// failed / deployments; `None` without deployments.
    pub ratio: Option<f64>,
}

/// From a failed configure to the next good one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Restore {
    /// Failures (runs of failed configures of one module) in the window.
    pub failures: usize,
    /// Of which were followed by a good configure.
    pub restored: usize,
    /// Of which were not (yet).
    pub unrestored: usize,
    /// Median time to restore in seconds (nearest rank), if any.
    pub median_seconds: Option<i64>,
}

/// One deployment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Deployment {
    /// Unix seconds of dpkg's line.
    pub time: i64,
    /// The host's calendar day of it, as dpkg wrote it.
    pub day: String,
    /// The package.
    pub package: String,
    /// Module or profile.
    pub kind: Kind,
    /// The module or profile.
    pub name: String,
    /// The version replaced, `None` for an install.
    pub from: Option<String>,
    /// The version deployed.
    pub version: String,
    /// Seconds from its changelog date, when known.
    pub lead_time_seconds: Option<i64>,
    /// Why it counts as failed, if it does.
    pub failure: Option<String>,
}

/// One failure of a module's configure and its restoration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incident {
    /// The module.
    pub module: String,
    /// Unix seconds of the first failed configure.
    pub failed: i64,
    /// Its recorded result (`exit 1`, `error: …`).
    pub result: String,
    /// Unix seconds of the next `ok` configure, if there was one.
    pub restored: Option<i64>,
    /// Seconds between the two.
    pub seconds: Option<i64>,
}

impl Dora {
    /// Whether the window holds no deployment.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

/// The keys of `root` over `[since, until]`, read from its dpkg log,
/// changelogs and audit log.
pub fn gather(root: &Root, state: &State, since: i64, until: i64) -> Result<Dora> {
    let zone = Zone::of_root(root)?;
    let unpacks = dpkglog::read(root, &zone);
    let mut dates: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    for u in unpacks.iter().filter(|u| (since..=until).contains(&u.time)) {
        if !dates.contains_key(&u.package) {
            dates.insert(u.package.clone(), changelog::dates(root, &u.package));
        }
    }
    let events = audit::query(
        state,
        &audit::Query {
            since: Some(since),
            ..audit::Query::default()
        },
    )?;
    let built = |package: &str, version: &str| dates.get(package)?.get(version).copied();
    Ok(compute(&unpacks, &built, &events, since, until))
}

/// The keys from what was read: dpkg's unpacks, the build date of a
/// package version, and the audit events (in chain order).
pub fn compute(
    unpacks: &[Unpack],
    built: &dyn Fn(&str, &str) -> Option<i64>,
    events: &[Event],
    since: i64,
    until: i64,
) -> Dora {
    let deployed: Vec<&Unpack> = unpacks
        .iter()
        .filter(|u| (since..=until).contains(&u.time))
        .filter(|u| u.old.as_deref() != Some(u.new.as_str()))
        .collect();
    let mut changes = Vec::new();
    for (i, u) in deployed.iter().enumerate() {
        let next = deployed[i + 1..]
            .iter()
            .find(|n| n.package == u.package)
            .map_or(i64::MAX, |n| n.time);
        let end = next.min(u.time.saturating_add(WATCH));
        let watched = events
            .iter()
            .filter(|e| e.time >= u.time * 1_000_000 && e.time < end.saturating_mul(1_000_000));
        let failure = watched.filter_map(|e| failure_of(u, e)).next();
        let lead = built(&u.package, &u.new).map(|b| u.time - b);
        if lead.is_some_and(|l| l < 0) {
            tracing::debug!(
                "{} {}: changelog dated after its deployment (a clock off?); no lead time",
                u.package,
                u.new
            );
        }
        changes.push(Deployment {
            time: u.time,
            day: u.day.clone(),
            package: u.package.clone(),
            kind: u.kind,
            name: u.name.clone(),
            from: u.old.clone(),
            version: u.new.clone(),
            lead_time_seconds: lead.filter(|l| *l >= 0),
            failure,
        });
    }
    let incidents = incidents(events, since, until);
    summarise(changes, incidents, since, until)
}

/// Why event `e` makes deployment `u` a failure, if it does.
fn failure_of(u: &Unpack, e: &Event) -> Option<String> {
    if e.target != u.name {
        return None;
    }
    let (configure, undo): (&str, &[&str]) = match u.kind {
        Kind::Module => ("module.configure", &["module.unconfigure"]),
        Kind::Profile => (
            "profile.apply",
            &[
                "profile.release",
                "profile.rollback.plan",
                "profile.rollback",
            ],
        ),
    };
    if e.action == configure && e.result != "ok" {
        return Some(format!("{} {}: {}", e.action, e.target, e.result));
    }
    undo.contains(&e.action.as_str())
        .then(|| format!("rolled back: {} {}", e.action, e.target))
}

/// The failures of `module.configure` in the window and when each was
/// put right.
fn incidents(events: &[Event], since: i64, until: i64) -> Vec<Incident> {
    // Module → (its incident in `out`, the failure's time in µs).
    let mut open: BTreeMap<&str, (usize, i64)> = BTreeMap::new();
    let mut out: Vec<Incident> = Vec::new();
    let (from, to) = (
        since.saturating_mul(1_000_000),
        until.saturating_add(1).saturating_mul(1_000_000),
    );
    let configures = events
        .iter()
        .filter(|e| e.action == "module.configure" && e.time >= from && e.time < to);
    for e in configures {
        let secs = e.time.div_euclid(1_000_000);
        if e.result == "ok" {
            if let Some((i, failed_us)) = open.remove(e.target.as_str()) {
                out[i].restored = Some(secs);
                out[i].seconds = Some((e.time - failed_us) / 1_000_000);
            }
        } else if !open.contains_key(e.target.as_str()) {
            open.insert(&e.target, (out.len(), e.time));
            out.push(Incident {
                module: e.target.clone(),
                failed: secs,
                result: e.result.clone(),
                restored: None,
                seconds: None,
            });
        }
    }
    out
}

fn summarise(changes: Vec<Deployment>, incidents: Vec<Incident>, since: i64, until: i64) -> Dora {
    let count = changes.len();
    let days = (until - since).max(1) as f64 / 86_400.0;
    let mut by_day = BTreeMap::new();
    for c in &changes {
        *by_day.entry(c.day.clone()).or_insert(0) += 1;
    }
    let mut leads: Vec<i64> = changes.iter().filter_map(|c| c.lead_time_seconds).collect();
    leads.sort_unstable();
    let failed = changes.iter().filter(|c| c.failure.is_some()).count();
    let mut restores: Vec<i64> = incidents.iter().filter_map(|i| i.seconds).collect();
    restores.sort_unstable();
    Dora {
        since,
        until,
        deployments: Frequency {
            count,
            modules: changes.iter().filter(|c| c.kind == Kind::Module).count(),
            profiles: changes.iter().filter(|c| c.kind == Kind::Profile).count(),
            per_day: count as f64 / days,
            per_week: count as f64 * 7.0 / days,
            by_day,
        },
        lead_time: LeadTime {
            measured: leads.len(),
            unmeasured: count - leads.len(),
            median_seconds: nearest_rank(&leads, 50),
            p90_seconds: nearest_rank(&leads, 90),
        },
        change_failure: ChangeFailure {
            failed,
            deployments: count,
            ratio: (count > 0).then(|| failed as f64 / count as f64),
        },
        time_to_restore: Restore {
            failures: incidents.len(),
            restored: restores.len(),
            unrestored: incidents.len() - restores.len(),
            median_seconds: nearest_rank(&restores, 50),
        },
        changes,
        incidents,
    }
}

/// The `percent`th percentile of `sorted` by the nearest-rank method: the
/// value at rank ⌈percent × n / 100⌉ (from 1). Integer arithmetic, so the
/// rank is exact (0.9 × 10 is 9, not 9.000000000000002).
pub fn nearest_rank(sorted: &[i64], percent: usize) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (percent * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// The window's Prometheus families (gauges over the window, as `vpsc
/// metrics write` exposes them): deployments by kind, lead time
/// quantiles, the failure ratio and the time to restore.
pub fn families(d: &Dora) -> Vec<Family> {
    let window = (d.until - d.since) as f64;
    let mut out = Vec::new();
    let mut f = Family::gauge(
        "vpsc_dora_window_seconds",
        "Length of the window the DORA metrics cover, ending now.",
    );
    f.value(window);
    out.push(f);
    let mut f = Family::gauge(
        "vpsc_dora_deployments",
        "Installs and upgrades of vpsc packages in the window, by kind (dpkg's log).",
    );
    f.sample(&[("kind", "module")], d.deployments.modules as f64)
        .sample(&[("kind", "profile")], d.deployments.profiles as f64);
    out.push(f);
    let mut f = Family::gauge(
        "vpsc_dora_failed_deployments",
        "Deployments in the window whose configure failed or that were rolled back.",
    );
    f.value(d.change_failure.failed as f64);
    out.push(f);
    let mut f = Family::gauge(
        "vpsc_dora_change_failure_ratio",
        "Failed deployments over deployments in the window (NaN without deployments).",
    );
    f.value(d.change_failure.ratio.unwrap_or(f64::NAN));
    out.push(f);
    // Two gauges, not a `quantile` label: Prometheus keeps that label for
    // summaries, and these are nearest-rank figures of the window.
    let secs = |v: Option<i64>| v.map_or(f64::NAN, |v| v as f64);
    let mut f = Family::gauge(
        "vpsc_dora_lead_time_median_seconds",
        "Median time from a package version's changelog date to its deployment, over the window (nearest rank).",
    );
    f.value(secs(d.lead_time.median_seconds));
    out.push(f);
    let mut f = Family::gauge(
        "vpsc_dora_lead_time_p90_seconds",
        "90th percentile of the time from a package version's changelog date to its deployment, over the window (nearest rank).",
    );
    f.value(secs(d.lead_time.p90_seconds));
    out.push(f);
    let mut f = Family::gauge(
        "vpsc_dora_time_to_restore_seconds",
        "Median time from a failed module configure to the next good one, over the window.",
    );
    f.value(secs(d.time_to_restore.median_seconds));
    out.push(f);
    let mut f = Family::gauge(
        "vpsc_dora_unrestored_failures",
        "Module configure failures in the window not yet followed by a good configure.",
    );
    f.value(d.time_to_restore.unrestored as f64);
    out.push(f);
    out
}

/// A duration for people: `45s`, `12m 5s`, `3h 20m`, `4d 2h`.
pub fn human(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {}s", s / 60, s % 60),
        3600..86_400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
    }
}

#[cfg(test)]
mod tests;
