//! `vpsc integrity record|status`.

use crate::cli::IntegrityAction;
use crate::error::{Error, Result};
use crate::root::Root;

/// Records or shows AIDE's last check.
pub fn run(_root: &Root, _action: IntegrityAction, _json: bool) -> Result<i32> {
    Err(Error::Invalid {
        what: "vpsc integrity is not written yet".into(),
        hint: "wait for the next vpsc release".into(),
    })
}
