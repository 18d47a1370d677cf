//! `vpsc withdraw`: what vpsc-runtime's prerm runs before the runtime is
//! removed. Like every module's prerm it undoes the changes the runtime
//! journalled for itself: `vpsc cis remediate` and `vpsc-user 2fa
//! enforce`. Module journals are empty by then (every vpsc-mod-* package
//! depends on the runtime, so dpkg removed them first); should one still
//! hold changes, a marker tells the postrm to keep the journal on purge,
//! so the changes can still be undone.

use super::print_json;
use crate::error::Result;
use crate::root::Root;
use crate::state::State;

/// The runtime's own journals, undone in this order.
const OWN: [&str; 2] = [
    crate::users::twofactor::JOURNAL_NAME,
    crate::cis::remedy::JOURNAL_NAME,
];

/// Names the journals that still describe changes in force, one per line;
/// vpsc-runtime's postrm keeps `/var/lib/vpsc` on purge while it exists.
pub const KEEP_MARKER: &str = "/var/lib/vpsc/live-changes";

/// Undoes the runtime's own journals and marks what is left.
pub fn withdraw(root: &Root, state: &State, json: bool) -> Result<i32> {
    let mut undone = Vec::new();
    for name in OWN {
        let report = crate::converge::unconfigure_own(root, state, name)?;
        if !report.undone.is_empty() {
            undone.push(serde_json::json!({"journal": name, "undone": report.undone}));
        }
    }
    let mut live = Vec::new();
    for m in state.modules()? {
        let steps = state.steps(&m.name)?.len();
        if steps > 0 {
            live.push(format!("{} ({steps} change(s))", m.name));
        }
    }
    if live.is_empty() {
        root.remove_file(KEEP_MARKER)?;
    } else {
        tracing::warn!(
            modules = %live.join(", "),
            "changes still in force: purging vpsc-runtime will keep /var/lib/vpsc so they can be undone"
        );
        root.write_file(
            KEEP_MARKER,
            format!("{}\n", live.join("\n")).as_bytes(),
            0o600,
            0,
            0,
        )?;
    }
    if json {
        print_json(&serde_json::json!({"undone": undone, "still_in_force": live}));
    } else {
        for u in &undone {
            outln!(
                "{}: {} change(s) undone",
                u["journal"].as_str().unwrap_or_default(),
                u["undone"].as_array().map_or(0, Vec::len)
            );
        }
    }
    Ok(0)
}
