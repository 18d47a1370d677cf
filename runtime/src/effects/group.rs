//! Group membership. A missing group is created as a system group; only the
//! memberships this step added are removed on undo, and the group only if
//! this step created it.

use super::{Ctx, Prior};
use crate::error::{Error, Result};
use crate::root::Root;

/// A line of `/etc/group`.
struct GroupEntry {
    members: Vec<String>,
}

fn read_group(root: &Root, name: &str) -> Result<Option<GroupEntry>> {
    let path = root.path("/etc/group");
    let text = std::fs::read_to_string(&path).map_err(Error::io("read", &path))?;
    Ok(text.lines().find_map(|l| {
        let mut f = l.split(':');
        (f.next() == Some(name)).then(|| GroupEntry {
            members: f
                .nth(2)
                .unwrap_or("")
                .split(',')
                .filter(|m| !m.is_empty())
                .map(str::to_owned)
                .collect(),
        })
    }))
}

fn user_exists(root: &Root, user: &str) -> Result<bool> {
    let path = root.path("/etc/passwd");
    let text = std::fs::read_to_string(&path).map_err(Error::io("read", &path))?;
    Ok(text.lines().any(|l| l.split(':').next() == Some(user)))
}

pub(super) fn capture(ctx: &Ctx<'_>, name: &str) -> Result<(Prior, Option<Vec<u8>>)> {
    let entry = read_group(ctx.root, name)?;
    Ok((
        Prior::Group {
            existed: entry.is_some(),
            members: entry.map(|e| e.members).unwrap_or_default(),
        },
        None,
    ))
}

pub(super) fn apply(ctx: &Ctx<'_>, name: &str, members: &[String]) -> Result<()> {
    for m in members {
        crate::names::user(m).map_err(|what| Error::Invalid {
            what: format!("group `{name}` of module `{}`: {what}", ctx.module),
            hint: "fix the parameter that names this user".into(),
        })?;
        if !user_exists(ctx.root, m)? {
            return Err(Error::Precondition {
                what: format!("cannot add user `{m}` to group `{name}`: the user does not exist"),
                hint: format!(
                    "create the user first (`adduser {m}`), or set the module's parameter to an existing user, then run `dpkg --configure -a`"
                ),
            });
        }
    }
    let current = match read_group(ctx.root, name)? {
        Some(e) => e.members,
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
    let Some(current) = read_group(ctx.root, name)? else {
        return Ok(());
    };
    for m in members {
        if !before.contains(m) && current.members.contains(m) {
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
    read_group(root, group).ok().flatten().map(|e| e.members)
}
