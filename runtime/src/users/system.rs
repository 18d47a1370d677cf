//! Reading the root's account databases (`/etc/passwd`, `/etc/group`) and
//! changing them only through shadow-utils, aimed at the root with their
//! own `--root` (Debian's tools keep the shadow files and locks right).

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
    let path = root.path(db);
    std::fs::read_to_string(&path).map_err(Error::io("read", &path))
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

/// Whether group `name` exists.
pub fn group_exists(root: &Root, name: &str) -> Result<bool> {
    Ok(read(root, "/etc/group")?
        .lines()
        .any(|l| l.split(':').next() == Some(name)))
}

/// The groups that list `user` as a member (supplementary groups).
pub fn groups_of(root: &Root, user: &str) -> Result<Vec<String>> {
    Ok(read(root, "/etc/group")?
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() == 4 && f[3].split(',').any(|m| m == user)).then(|| f[0].to_owned())
        })
        .collect())
}

/// The numeric ID of group `name`.
pub fn gid(root: &Root, name: &str) -> Result<Option<u32>> {
    Ok(read(root, "/etc/group")?.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() == 4 && f[0] == name)
            .then(|| f[2].parse().ok())
            .flatten()
    }))
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
