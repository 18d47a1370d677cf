//! Group membership. A missing group is created as a system group; only the
//! memberships this step added are removed on undo, and the group only if
//! this step created it.

use super::{Ctx, Prior};
use crate::accounts;
use crate::error::{Error, Result};
use crate::root::Root;

pub(super) fn capture(ctx: &Ctx<'_>, name: &str) -> Result<(Prior, Option<Vec<u8>>)> {
    let members = accounts::members(ctx.root, name)?;
    Ok((
        Prior::Group {
            existed: members.is_some(),
            members: members.unwrap_or_default(),
        },
        None,
    ))
}

pub(super) fn apply(ctx: &Ctx<'_>, name: &str, members: &[String]) -> Result<()> {
    for m in members {
        vpsc_contract::names::user(m).map_err(|what| Error::Invalid {
            what: format!("group `{name}` of module `{}`: {what}", ctx.module),
            hint: "fix the parameter that names this user".into(),
        })?;
        if accounts::account(ctx.root, m)?.is_none() {
            return Err(Error::Precondition {
                what: format!("cannot add user `{m}` to group `{name}`: the user does not exist"),
                hint: format!(
                    "create the user first (`adduser {m}`), or set the module's parameter to an existing user, then run `dpkg --configure -a`"
                ),
            });
        }
    }
    let current = match accounts::members(ctx.root, name)? {
        Some(m) => m,
        None => {
            ctx.root.shadow_tool(&["groupadd", "--system", name])?;
            Vec::new()
        }
    };
    for m in members {
        if !current.contains(m) {
            ctx.root.shadow_tool(&["gpasswd", "--add", m, name])?;
        }
    }
    Ok(())
}

pub(super) fn undo(
    ctx: &Ctx<'_>,
    name: &str,
    members: &[String],
    existed: bool,
    before: &[String],
) -> Result<()> {
    let Some(current) = accounts::members(ctx.root, name)? else {
        return Ok(());
    };
    for m in members {
        if !before.contains(m) && current.contains(m) {
            ctx.root.shadow_tool(&["gpasswd", "--delete", m, name])?;
        }
    }
    if !existed {
        ctx.root.shadow_tool(&["groupdel", name])?;
    }
    Ok(())
}

/// Members of `group`, or `None` if it does not exist (unreadable counts as absent).
pub fn members(root: &Root, group: &str) -> Option<Vec<String>> {
    accounts::members(root, group).ok().flatten()
}
