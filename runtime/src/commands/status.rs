//! `vpsc status`: what the journal holds, and drift of managed files.

use serde::Serialize;

use super::print_json;
use crate::error::Result;
use crate::root::Root;
use crate::state::{ModuleState, State, StepState};

/// One module in the status output.
#[derive(Debug, Serialize)]
struct ModuleStatus {
    name: String,
    version: String,
    state: ModuleState,
    steps: usize,
    pending: Vec<String>,
    drift: Vec<String>,
}

/// Prints the journal's view of every module; 1 when a managed file drifted.
pub fn status(root: &Root, state: &State, json: bool) -> Result<i32> {
    let mut out = Vec::new();
    for m in state.modules()? {
        let steps = state.steps(&m.name)?;
        let pending = steps
            .iter()
            .filter(|s| s.state != StepState::Applied)
            .map(|s| s.key.clone())
            .collect();
        let drift = crate::drift::of_module(root, state, &m.name)?;
        out.push(ModuleStatus {
            steps: steps.len(),
            name: m.name,
            version: m.version,
            state: m.state,
            pending,
            drift,
        });
    }
    let profiles: Vec<String> = state.profiles()?.into_iter().map(|(n, _)| n).collect();
    if json {
        print_json(&serde_json::json!({ "profiles": profiles, "modules": out }));
    } else {
        if !profiles.is_empty() {
            outln!("profile: {}", profiles.join(", "));
        }
        for m in &out {
            outln!(
                "{:<16} {:<10} {:?} ({} steps)",
                m.name,
                m.version,
                m.state,
                m.steps
            );
            for p in &m.pending {
                outln!("  pending: {p}");
            }
            for d in &m.drift {
                outln!("  drift: {d} was changed since vpsc wrote it");
            }
        }
        if out.is_empty() {
            outln!("no module configured");
        }
    }
    // Like `vpsc verify`: 1 when something is not as vpsc left it.
    Ok(i32::from(out.iter().any(|m| !m.drift.is_empty())))
}
