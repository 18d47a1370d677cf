//! `vpsc integrity record|status`.

use super::{open_locked, print_json};
use crate::cli::IntegrityAction;
use crate::error::Result;
use crate::observe::{integrity, textfile};
use crate::root::Root;

/// `record`: the last AIDE check into the audit log (once) and the
/// metrics; exit 0. `status`: the last check; exit 1 when it found
/// changes, as `vpsc verify` does for a failing check.
pub fn run(root: &Root, action: IntegrityAction, json: bool) -> Result<i32> {
    match action {
        IntegrityAction::Record => {
            let (state, _lock) = open_locked(root)?;
            let recorded = integrity::record(root, &state)?;
            textfile::write(
                root,
                crate::METRICS_DIR,
                "vpsc_integrity.prom",
                &integrity::families(&recorded.check),
            )?;
            if json {
                print_json(&recorded);
            } else {
                outln!(
                    "{} AIDE's check of {}: {}",
                    if recorded.new {
                        "recorded"
                    } else {
                        "already recorded"
                    },
                    crate::dates::utc(recorded.check.started.unwrap_or(0)),
                    summary(&recorded.check)
                );
            }
            Ok(0)
        }
        IntegrityAction::Status => {
            let check = integrity::last(root)?;
            if json {
                print_json(&check);
            } else {
                outln!(
                    "AIDE's last check: {}, {}",
                    crate::dates::utc(check.started.unwrap_or(0)),
                    summary(&check)
                );
                for (word, list) in [
                    ("added", &check.added),
                    ("removed", &check.removed),
                    ("changed", &check.changed),
                ] {
                    for p in list {
                        outln!("  {word:<8} {p}");
                    }
                }
            }
            Ok(i32::from(check.found_changes() || check.failed()))
        }
    }
}

fn summary(c: &integrity::Check) -> String {
    if c.failed() {
        return format!(
            "AIDE failed (exit code {}; see {})",
            c.exit_code.unwrap_or(0),
            integrity::LOG
        );
    }
    format!(
        "{} added, {} removed, {} changed of {} entries",
        c.counts.added,
        c.counts.removed,
        c.counts.changed,
        c.total.unwrap_or(0)
    )
}
