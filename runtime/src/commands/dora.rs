//! `vpsc dora`: DORA's four keys for this host's vpsc changes, over a
//! window ending now (definitions in `vpsc(1)`, DORA METRICS, and in
//! `vpsc_observe::dora`).

use super::print_json;
use crate::error::{Error, Result};
use crate::observe::dora::{self, Dora, human};
use crate::root::Root;
use crate::state::State;

/// Prints the DORA metrics of this host's changes; 0 when they were read.
pub fn run(root: &Root, since: Option<&str>, json: bool) -> Result<i32> {
    let now = crate::dates::now();
    let since = match since {
        Some(text) => crate::dates::parse_time("--since", text)?,
        None => now - dora::DEFAULT_WINDOW,
    };
    if since >= now {
        return Err(Error::Invalid {
            what: format!(
                "--since {} is not in the past: the window would be empty",
                crate::dates::utc(since)
            ),
            hint: "give a start before now, e.g. --since 2026-11-01 (default: 30 days ago)".into(),
        });
    }
    let state = State::open(root)?;
    let d = dora::gather(root, &state, since, now)?;
    if json {
        print_json(&d);
    } else {
        for line in text(&d) {
            outln!("{line}");
        }
    }
    Ok(0)
}

/// The summary as lines of text.
fn text(d: &Dora) -> Vec<String> {
    let days = (d.until - d.since) as f64 / 86_400.0;
    let mut out = vec![format!(
        "DORA metrics from {} to {} UTC ({days:.1} days)",
        crate::dates::utc(d.since),
        crate::dates::utc(d.until)
    )];
    if d.is_empty() {
        out.push(
            "no deployments: no vpsc-mod-* or vpsc-profile-* package was installed or upgraded in this window (dpkg's log)".into(),
        );
    } else {
        let f = &d.deployments;
        out.push(format!(
            "deployment frequency   {} deployment(s) ({} module, {} profile): {:.2} a day, {:.2} a week",
            f.count, f.modules, f.profiles, f.per_day, f.per_week
        ));
        let l = &d.lead_time;
        out.push(match (l.median_seconds, l.p90_seconds) {
            (Some(median), Some(p90)) => format!(
                "lead time for changes  median {}, p90 {} ({} measured, {} without a changelog date)",
                human(median),
                human(p90),
                l.measured,
                l.unmeasured
            ),
            _ => format!(
                "lead time for changes  unknown: none of the {} deployment(s) has its version's changelog date",
                l.unmeasured
            ),
        });
        let c = &d.change_failure;
        out.push(format!(
            "change failure rate    {:.1}% ({} of {} failed or were rolled back)",
            c.ratio.unwrap_or(0.0) * 100.0,
            c.failed,
            c.deployments
        ));
    }
    let r = &d.time_to_restore;
    out.push(match r.median_seconds {
        Some(median) => format!(
            "time to restore        median {} ({} failure(s): {} restored, {} not yet)",
            human(median),
            r.failures,
            r.restored,
            r.unrestored
        ),
        None if r.failures == 0 => {
            "time to restore        no failed configure in this window".into()
        }
        None => format!(
            "time to restore        unknown: {} failure(s), none restored yet",
            r.failures
        ),
    });
    for c in d.changes.iter().filter(|c| c.failure.is_some()) {
        out.push(format!(
            "  failed: {} {} at {} UTC: {}",
            c.package,
            c.version,
            crate::dates::utc(c.time),
            c.failure.as_deref().unwrap_or_default()
        ));
    }
    out
}
