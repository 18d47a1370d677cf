//! `vpsc-user activity`.

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::root::Root;

/// Prints who logged in and did what, with anomalies.
pub fn run(
    _root: &Root,
    _name: Option<&str>,
    _since: Option<&str>,
    _files: &[PathBuf],
    _record: bool,
    _json: bool,
) -> Result<i32> {
    Err(Error::Invalid {
        what: "vpsc-user activity is not written yet".into(),
        hint: "wait for the next vpsc release".into(),
    })
}
