//! `vpsc report`.

use std::path::Path;

use crate::error::{Error, Result};
use crate::root::Root;

/// Writes the compliance report.
pub fn run(_root: &Root, _html: Option<&Path>, _json: bool) -> Result<i32> {
    Err(Error::Invalid {
        what: "vpsc report is not written yet".into(),
        hint: "wait for the next vpsc release".into(),
    })
}
