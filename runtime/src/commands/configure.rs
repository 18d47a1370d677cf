//! `vpsc configure`, `vpsc unconfigure`, `vpsc forget`.

use super::print_json;
use crate::converge;
use crate::error::{Error, Result};
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
    let report = converge::configure(root, state, module, &crate::cis::remedy::Remediations)?;
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
pub fn forget(state: &State, module: &str, force: bool, json: bool) -> Result<i32> {
    // dpkg names the script it runs; only the module's own postrm purge
    // forgets without being told twice.
    let purging = std::env::var("DPKG_MAINTSCRIPT_NAME").is_ok_and(|s| s == "postrm");
    if !force && !purging {
        return Err(Error::Invalid {
            what: format!(
                "forgetting drops the journal and backups of module `{module}`: what they record could never be undone"
            ),
            hint: format!(
                "`apt purge vpsc-mod-{module}` does this when it is time; to do it by hand, pass --force"
            ),
        });
    }
    // Undone steps leave the journal; what is left is in force.
    let live = state.steps(module)?.len();
    if live > 0 && !force {
        return Err(Error::Invalid {
            what: format!(
                "module `{module}` still has {live} change(s) in force; forgetting them would make them permanent"
            ),
            hint: format!(
                "undo them first: `apt remove vpsc-mod-{module}` (or `vpsc unconfigure {module}`)"
            ),
        });
    }
    let dropped = state.forget_module(module)?;
    if json {
        print_json(&serde_json::json!({ "module": module, "steps_forgotten": dropped }));
    } else if dropped > 0 {
        eprintln!("vpsc: module {module}: forgot {dropped} journal step(s)");
    }
    Ok(0)
}
