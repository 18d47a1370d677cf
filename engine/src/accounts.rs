//! The root's account databases (`/etc/passwd`, `/etc/group`,
//! `/etc/shadow`): read here, by the group effect and by `vpsc-user`, and
//! changed only through shadow-utils aimed at the root with their own
//! `--root` (Debian's tools keep the shadow files and locks right).

use crate::error::{Error, Result};
use crate::root::Root;

/// A line of `/etc/passwd`.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    /// Login name.
    pub name: String,
    /// User ID.
    pub uid: u32,
    /// Primary group ID.
    pub gid: u32,
    /// GECOS field.
    pub gecos: String,
    /// Home directory.
    pub home: String,
    /// Login shell.
    pub shell: String,
}

fn read(root: &Root, db: &str) -> Result<String> {
    root.read_to_string(db).map_err(Error::io("read", db))
}

/// The account `name`, if the root has one.
pub fn account(root: &Root, name: &str) -> Result<Option<Account>> {
    Ok(read(root, "/etc/passwd")?.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() == 7 && f[0] == name).then(|| Account {
            name: f[0].to_owned(),
            uid: f[2].parse().unwrap_or(u32::MAX),
            gid: f[3].parse().unwrap_or(u32::MAX),
            gecos: f[4].to_owned(),
            home: f[5].to_owned(),
            shell: f[6].to_owned(),
        })
    }))
}

/// A line of `/etc/group`: name, GID and members.
struct GroupLine {
    name: String,
    gid: Option<u32>,
    members: Vec<String>,
}

fn groups(root: &Root) -> Result<Vec<GroupLine>> {
    Ok(read(root, "/etc/group")?
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() == 4).then(|| GroupLine {
                name: f[0].to_owned(),
                gid: f[2].parse().ok(),
                members: f[3]
                    .split(',')
                    .filter(|m| !m.is_empty())
                    .map(str::to_owned)
                    .collect(),
            })
        })
        .collect())
}

/// Whether group `name` exists.
pub fn group_exists(root: &Root, name: &str) -> Result<bool> {
    Ok(members(root, name)?.is_some())
}

/// The members of group `name`, or `None` when there is no such group.
pub fn members(root: &Root, name: &str) -> Result<Option<Vec<String>>> {
    Ok(groups(root)?
        .into_iter()
        .find(|g| g.name == name)
        .map(|g| g.members))
}

/// The groups that list `user` as a member (supplementary groups).
pub fn groups_of(root: &Root, user: &str) -> Result<Vec<String>> {
    Ok(groups(root)?
        .into_iter()
        .filter(|g| g.members.iter().any(|m| m == user))
        .map(|g| g.name)
        .collect())
}

/// The numeric ID of group `name`.
pub fn gid(root: &Root, name: &str) -> Result<Option<u32>> {
    Ok(groups(root)?
        .into_iter()
        .find(|g| g.name == name)
        .and_then(|g| g.gid))
}

/// Adds `user` to `group` unless already a member; whether it was added.
pub fn join(root: &Root, user: &str, group: &str) -> Result<bool> {
    if groups_of(root, user)?.iter().any(|g| g == group) {
        return Ok(false);
    }
    root.shadow_tool(&["gpasswd", "--add", user, group])?;
    Ok(true)
}

/// Removes `user` from `group` if a member.
pub fn leave(root: &Root, user: &str, group: &str) -> Result<()> {
    if groups_of(root, user)?.iter().any(|g| g == group) {
        root.shadow_tool(&["gpasswd", "--delete", user, group])?;
    }
    Ok(())
}

/// Field 8 of `/etc/shadow` for `name` (account expiry in days since the
/// epoch; empty when it never expires).
pub fn shadow_expiry(root: &Root, name: &str) -> Result<String> {
    Ok(read(root, "/etc/shadow")?
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() >= 8 && f[0] == name).then(|| f[7].to_owned())
        })
        .unwrap_or_default())
}

/// Whether the password field of `name` in `/etc/shadow` starts with `!`
/// (locked, as `usermod --lock` leaves it).
pub fn password_locked(root: &Root, name: &str) -> Result<bool> {
    Ok(read(root, "/etc/shadow")?.lines().any(|l| {
        let f: Vec<&str> = l.split(':').collect();
        f.len() >= 2 && f[0] == name && f[1].starts_with('!')
    }))
}
