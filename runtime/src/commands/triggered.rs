//! `vpsc triggered`: what vpsc-runtime's postinst runs when dpkg processes
//! its file trigger on `/usr/share/vpsc/modules` — once per dpkg run that
//! installed, upgraded or removed a module, however many there were.
//!
//! It verifies every configured module together (a module configured late
//! in the run may have changed what an earlier one checked), records the
//! outcome in the audit log and runs the `post-install` hooks. Failures are
//! reported, not fatal: each module passed its own verify when configured,
//! and failing dpkg's trigger processing would leave vpsc-runtime
//! half-configured over a problem it did not cause.

use std::collections::BTreeSet;

use super::print_json;
use crate::audit::{self, NewEvent};
use crate::checks::{CheckResult, Status};
use crate::converge;
use crate::error::Result;
use crate::hooks::{self, Event};
use crate::root::Root;
use crate::state::{ModuleState, State};

/// Runs the system-wide verify and the post-install hooks.
pub fn triggered(root: &Root, state: &State, triggers: &[String], json: bool) -> Result<i32> {
    let configured: BTreeSet<String> = state
        .modules()?
        .into_iter()
        .filter(|m| m.state == ModuleState::Configured)
        .map(|m| m.name)
        .collect();
    let (mut verified, mut pending) = (Vec::new(), Vec::new());
    let mut results: Vec<CheckResult> = Vec::new();
    for name in converge::installed_modules(root)? {
        // A module dpkg has unpacked but not configured yet is checked by
        // its own configure (or the next trigger), not here.
        if !configured.contains(&name) {
            pending.push(name);
            continue;
        }
        let plan = converge::load_plan(root, &name)?;
        let params = converge::resolve_params(root, state, &plan)?;
        results.extend(converge::verify_plan(root, state, &plan, &params)?);
        verified.push(name);
    }
    let count = |s: Status| results.iter().filter(|r| r.status == s).count();
    let failures: Vec<&CheckResult> = results.iter().filter(|r| r.failed()).collect();
    let event = audit::append(
        state,
        NewEvent {
            actor: audit::actor(root),
            action: "system.verify".into(),
            target: "*".into(),
            result: if failures.is_empty() {
                "ok".into()
            } else {
                format!(
                    "error: {} of {} checks failed",
                    failures.len(),
                    results.len()
                )
            },
            details: serde_json::json!({
                "triggers": triggers,
                "modules": verified,
                "pending": pending,
                "failed": failures,
            }),
        },
    )?;
    audit::forward(root, &event);
    hooks::run(
        root,
        state,
        Event::PostInstall,
        &[
            ("MODULES", verified.join(" ")),
            ("VERIFY_FAILED", failures.len().to_string()),
        ],
    )?;
    if json {
        print_json(&serde_json::json!({
            "modules": verified,
            "pending": pending,
            "passed": count(Status::Pass),
            "failed": failures.len(),
            "not_evaluated": count(Status::NotEvaluated),
            "failures": failures,
        }));
    } else if !failures.is_empty() {
        eprintln!(
            "vpsc: WARNING: {} of {} checks fail across the installed modules:",
            failures.len(),
            results.len()
        );
        for f in &failures {
            eprintln!("  {} {} — {}", f.module, f.check, f.detail);
        }
        eprintln!(
            "vpsc: `vpsc verify` shows them again; `vpsc audit query --action system.verify` keeps the record"
        );
    }
    Ok(0)
}
