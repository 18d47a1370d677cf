//! `vpsc health`.

use crate::error::{Error, Result};
use crate::root::Root;

/// Prints the host's health; 0 healthy, 1 degraded, 2 error.
pub fn run(_root: &Root, _json: bool) -> Result<i32> {
    Err(Error::Invalid {
        what: "vpsc health is not written yet".into(),
        hint: "wait for the next vpsc release".into(),
    })
}
