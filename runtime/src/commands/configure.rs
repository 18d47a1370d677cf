//! `vpsc configure`, `vpsc unconfigure`, `vpsc forget`.

use super::print_json;
use crate::converge;
use crate::error::Result;
use crate::root::Root;
use crate::state::State;

/// `vpsc configure MODULE [--from OLDVER]`.
pub fn configure(
    root: &Root,
    state: &State,
    module: &str,
    from: Option<&str>,
    json: bool,
) -> Result<i32> {
    if let Some(old) = from {
        tracing::info!(module, from = old, "upgrading");
    }
    let report = converge::configure(root, state, module)?;
    if json {
        print_json(&report);
    } else if !report.applied.is_empty() || !report.undone.is_empty() {
        eprintln!(
            "vpsc: module {module}: {} applied, {} undone, {} unchanged",
            report.applied.len(),
            report.undone.len(),
            report.unchanged.len()
        );
    }
    Ok(0)
}

/// `vpsc unconfigure MODULE`.
pub fn unconfigure(root: &Root, state: &State, module: &str, json: bool) -> Result<i32> {
    let report = converge::unconfigure(root, state, module)?;
    if json {
        print_json(&report);
    } else if !report.undone.is_empty() {
        eprintln!(
            "vpsc: module {module}: {} step(s) undone",
            report.undone.len()
        );
    }
    Ok(0)
}

/// `vpsc forget MODULE`: drops whatever journal is left (after a removal
/// whose prerm could not run); backups go with it.
pub fn forget(state: &State, module: &str, json: bool) -> Result<i32> {
    let dropped = state.forget_module(module)?;
    if json {
        print_json(&serde_json::json!({ "module": module, "steps_forgotten": dropped }));
    } else if dropped > 0 {
        eprintln!("vpsc: module {module}: forgot {dropped} journal step(s)");
    }
    Ok(0)
}
