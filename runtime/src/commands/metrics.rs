//! `vpsc metrics write`.

use crate::cli::MetricsAction;
use crate::error::{Error, Result};
use crate::root::Root;

/// Writes every metrics file.
pub fn run(_root: &Root, _action: MetricsAction, _json: bool) -> Result<i32> {
    Err(Error::Invalid {
        what: "vpsc metrics is not written yet".into(),
        hint: "wait for the next vpsc release".into(),
    })
}
