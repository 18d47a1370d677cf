//! Applying and undoing effects.
//!
//! Each kind captures the prior state *before* the write-ahead record is
//! committed, applies idempotently (a resumed configure may apply twice),
//! and undoes idempotently (a resumed unconfigure may undo twice).

mod command;
mod divert;
mod fetch;
mod file;
mod group;
mod stat_override;
mod symlink;
mod sysctl;
mod unit;

use serde::{Deserialize, Serialize};

pub use divert::DIVERT_SUFFIX;
pub use group::members as group_members;
pub use sysctl::persisted as sysctl_persisted;
pub use sysctl::persisted_at as sysctl_persisted_at;
pub use unit::is_enabled as unit_is_enabled;

use crate::breaker::Breakers;
use crate::error::Result;
use crate::root::Root;
use vpsc_contract::plan::Effect;

/// Whether the file an effect writes with content of its own (a managed
/// file, a diversion's replacement, a fetched file) is still as vpsc
/// wrote it: content and mode. `None` for every other effect. Drift and
/// a converging configure both ask this.
pub fn content_matches(root: &Root, effect: &Effect) -> Option<bool> {
    match effect {
        Effect::ManagedFile {
            path,
            template,
            mode,
            ..
        }
        | Effect::Divert {
            path,
            template,
            mode,
            ..
        } => Some(file::matches_content(
            root,
            path,
            template.as_bytes(),
            *mode,
        )),
        Effect::Fetch {
            path, sha256, mode, ..
        } => Some(file::matches_sha256(root, path, sha256, *mode)),
        _ => None,
    }
}

/// What the system looked like before an effect was first applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Prior {
    /// Nothing to restore (vendor files are dpkg's business).
    Nothing,
    /// A managed file: whether it existed, and its metadata (content is
    /// kept in the step's backup blob).
    File {
        /// Whether a file was there.
        existed: bool,
        /// Its permission bits.
        mode: u32,
        /// Its owner.
        uid: u32,
        /// Its group.
        gid: u32,
    },
    /// A diversion: whether the path was already diverted by us.
    Divert {
        /// Whether our diversion already existed.
        existed: bool,
    },
    /// A path replaced by a link: the old link's target, or the old
    /// regular file's mode, uid and gid (content in the backup blob), or
    /// neither when nothing was there.
    Symlink {
        /// Target of the link that was there.
        link: Option<String>,
        /// Mode, uid, gid of the regular file that was there.
        file: Option<[u32; 3]>,
    },
    /// A file's owner and mode before a stat override.
    StatOverride {
        /// Permission bits.
        mode: u32,
        /// Owner.
        uid: u32,
        /// Group.
        gid: u32,
    },
    /// A unit: its enablement before.
    Unit {
        /// Whether it was enabled.
        enabled: bool,
    },
    /// A kernel parameter's running value, when the system was live.
    Sysctl {
        /// Running value before, if it was read.
        running: Option<String>,
    },
    /// A group: whether it existed and who was in it.
    Group {
        /// Whether the group existed.
        existed: bool,
        /// Its members before.
        members: Vec<String>,
    },
    /// A command: whether it was skipped because `creates` existed.
    Command {
        /// True when the command did not run (and so is never undone).
        skipped: bool,
    },
}

/// Context shared by all effects of one module.
pub struct Ctx<'a> {
    /// The target root.
    pub root: &'a Root,
    /// Module name (diversions are registered for `vpsc-mod-<module>`).
    pub module: &'a str,
    /// Circuit breakers for effects that reach the network.
    pub breakers: &'a Breakers<'a>,
}

impl Ctx<'_> {
    /// The Debian package that owns this module's changes.
    pub fn package(&self) -> String {
        format!("vpsc-mod-{}", self.module)
    }
}

/// Reads the state an effect will change; `backup` receives file content.
pub fn capture(ctx: &Ctx<'_>, effect: &Effect) -> Result<(Prior, Option<Vec<u8>>)> {
    match effect {
        Effect::VendorFile { .. } => Ok((Prior::Nothing, None)),
        Effect::ManagedFile { path, .. } | Effect::Fetch { path, .. } => file::capture(ctx, path),
        Effect::Divert { path, .. } => divert::capture(ctx, path),
        Effect::Symlink { path, .. } => symlink::capture(ctx, path),
        Effect::StatOverride { path, .. } => stat_override::capture(ctx, path),
        Effect::Unit { name, .. } => unit::capture(ctx, name),
        Effect::Sysctl { key, .. } => sysctl::capture(ctx, key),
        Effect::Group { name, .. } => group::capture(ctx, name),
        Effect::Command { creates, .. } => command::capture(ctx, creates.as_deref()),
        Effect::CisRemediation { .. } => Err(unexpanded(effect)),
    }
}

/// A `cis_remediation` reaches the effects only expanded; this is a bug.
fn unexpanded(effect: &Effect) -> crate::error::Error {
    crate::error::Error::Invalid {
        what: format!(
            "effect `{}` was not expanded before it was applied",
            effect.key()
        ),
        hint: "this is a bug in vpsc; please report it".into(),
    }
}

/// Brings the system to the effect's desired state.
pub fn apply(ctx: &Ctx<'_>, effect: &Effect, prior: &Prior, backup: Option<&[u8]>) -> Result<()> {
    crate::fault::point("effect.apply");
    match effect {
        Effect::VendorFile { path } => file::check_vendor(ctx, path),
        Effect::ManagedFile {
            path,
            template,
            mode,
            validate,
        } => file::apply(
            ctx,
            path,
            template.as_bytes(),
            *mode,
            validate.as_deref(),
            prior,
            backup,
        ),
        Effect::Divert {
            path,
            template,
            mode,
            validate,
        } => divert::apply(
            ctx,
            path,
            template.as_bytes(),
            *mode,
            validate.as_deref(),
            prior,
        ),
        Effect::Fetch {
            path,
            url,
            sha256,
            mode,
        } => {
            let content = fetch::download(ctx, url, sha256)?;
            file::apply(ctx, path, &content, *mode, None, prior, backup)
        }
        Effect::Symlink { path, target } => symlink::apply(ctx, path, target),
        Effect::StatOverride {
            path,
            owner,
            group,
            mode,
        } => stat_override::apply(ctx, path, owner, group, *mode),
        Effect::Unit { name, enabled } => unit::apply(ctx, name, *enabled),
        Effect::Sysctl { key, value } => sysctl::apply(ctx, key, value),
        Effect::Group { name, members } => group::apply(ctx, name, members),
        Effect::Command { run, .. } => command::apply(ctx, run, prior),
        Effect::CisRemediation { .. } => Err(unexpanded(effect)),
    }
}

/// Returns the system to the prior state.
pub fn undo(ctx: &Ctx<'_>, effect: &Effect, prior: &Prior, backup: Option<&[u8]>) -> Result<()> {
    crate::fault::point("effect.undo");
    match (effect, prior) {
        (Effect::VendorFile { .. }, _) => Ok(()),
        (Effect::ManagedFile { path, .. } | Effect::Fetch { path, .. }, prior) => {
            file::restore(ctx, path, prior, backup)
        }
        (Effect::Divert { path, .. }, Prior::Divert { existed }) => {
            divert::undo(ctx, path, *existed)
        }
        (Effect::Symlink { path, .. }, Prior::Symlink { link, file }) => {
            symlink::undo(ctx, path, link.as_deref(), *file, backup)
        }
        (Effect::StatOverride { path, .. }, Prior::StatOverride { mode, uid, gid }) => {
            stat_override::undo(ctx, path, *mode, *uid, *gid)
        }
        (Effect::Unit { name, enabled }, Prior::Unit { enabled: before }) => {
            unit::undo(ctx, name, *enabled, *before)
        }
        (Effect::Sysctl { key, .. }, Prior::Sysctl { running }) => {
            sysctl::undo(ctx, key, running.as_deref())
        }
        (
            Effect::Group { name, members },
            Prior::Group {
                existed,
                members: before,
            },
        ) => group::undo(ctx, name, members, *existed, before),
        (Effect::Command { undo, .. }, Prior::Command { skipped }) => {
            command::undo(ctx, undo, *skipped)
        }
        (effect, prior) => Err(crate::error::Error::StateCorrupt {
            what: format!("step `{}`", effect.key()),
            reason: format!("prior state {prior:?} does not belong to this kind of effect"),
        }),
    }
}
