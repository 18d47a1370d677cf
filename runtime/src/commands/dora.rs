//! `vpsc dora`.

use crate::error::{Error, Result};
use crate::root::Root;

/// Prints the DORA metrics of this host's changes.
pub fn run(_root: &Root, _since: Option<&str>, _json: bool) -> Result<i32> {
    Err(Error::Invalid {
        what: "vpsc dora is not written yet".into(),
        hint: "wait for the next vpsc release".into(),
    })
}
