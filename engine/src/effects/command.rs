//! Commands with an explicit undo command. The `run` command must be
//! idempotent: a configure killed while it ran runs it again on resume.

use super::{Ctx, Prior};
use crate::error::Result;

pub(super) fn capture(ctx: &Ctx<'_>, creates: Option<&str>) -> Result<(Prior, Option<Vec<u8>>)> {
    let skipped = creates.is_some_and(|p| ctx.root.symlink_metadata(p).is_ok());
    Ok((Prior::Command { skipped }, None))
}

pub(super) fn apply(ctx: &Ctx<'_>, run: &[String], prior: &Prior) -> Result<()> {
    if matches!(prior, Prior::Command { skipped: true }) {
        return Ok(());
    }
    ctx.root.run(run).map(drop)
}

pub(super) fn undo(ctx: &Ctx<'_>, undo: &[String], skipped: bool) -> Result<()> {
    if skipped {
        return Ok(());
    }
    ctx.root.run(undo).map(drop)
}
