//! The root's account databases (`/etc/passwd`, `/etc/group`,
//! `/etc/shadow`): the one reader every caller uses (the group effect,
//! `vpsc-user`, the audit actor, verify checks, rollback, the CIS rules), and
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

/// One of the root's account databases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    /// `/etc/passwd`.
    Passwd,
    /// `/etc/group`.
    Group,
    /// `/etc/shadow`.
    Shadow,
}

impl Db {
    /// Its path in the root.
    pub fn path(self) -> &'static str {
        match self {
            Db::Passwd => "/etc/passwd",
            Db::Group => "/etc/group",
            Db::Shadow => "/etc/shadow",
        }
    }
}

/// One line of an account database, as written (numbered from 1, split
/// at `:`), so checks can judge malformed lines and point at them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Line number in the file.
    pub line: usize,
    /// The fields between the colons.
    pub fields: Vec<String>,
}

impl Row {
    /// Field `n` (0-based), empty when the line is shorter.
    pub fn field(&self, n: usize) -> &str {
        self.fields.get(n).map_or("", String::as_str)
    }

    /// Field `n` as a number, when it is one.
    pub fn id(&self, n: usize) -> Option<u32> {
        self.field(n).parse().ok()
    }
}

/// Every line of `text` that is neither blank nor a comment.
pub fn parse(text: &str) -> Vec<Row> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|(i, l)| Row {
            line: i + 1,
            fields: l.split(':').map(str::to_owned).collect(),
        })
        .collect()
}

/// The rows of `db` in the root; an error when it cannot be read.
pub fn table(root: &Root, db: Db) -> Result<Vec<Row>> {
    let text = root
        .read_to_string(db.path())
        .map_err(Error::io("read", db.path()))?;
    Ok(parse(&text))
}

/// The rows of `db`, none when it cannot be read (scans report what is
/// there rather than stop).
pub fn table_or_empty(root: &Root, db: Db) -> Vec<Row> {
    table(root, db).unwrap_or_default()
}

/// The name `id` has in `db` (`Passwd`: a UID, `Group`: a GID), or the
/// number itself when it has none.
pub fn name_of(root: &Root, db: Db, id: u32) -> String {
    table_or_empty(root, db)
        .into_iter()
        .find(|r| r.id(2) == Some(id))
        .map_or_else(|| id.to_string(), |r| r.field(0).to_owned())
}

impl Account {
    /// The account a well-formed passwd row describes.
    pub fn from_row(row: &Row) -> Option<Account> {
        (row.fields.len() == 7).then(|| Account {
            name: row.field(0).to_owned(),
            uid: row.id(2).unwrap_or(u32::MAX),
            gid: row.id(3).unwrap_or(u32::MAX),
            gecos: row.field(4).to_owned(),
            home: row.field(5).to_owned(),
            shell: row.field(6).to_owned(),
        })
    }
}

/// Every well-formed account of the root.
pub fn accounts(root: &Root) -> Result<Vec<Account>> {
    Ok(table(root, Db::Passwd)?
        .iter()
        .filter_map(Account::from_row)
        .collect())
}

/// The account `name`, if the root has one.
pub fn account(root: &Root, name: &str) -> Result<Option<Account>> {
    Ok(accounts(root)?.into_iter().find(|a| a.name == name))
}

/// A line of `/etc/group`: name, GID and members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Group name.
    pub name: String,
    /// Group ID, when the field is a number.
    pub gid: Option<u32>,
    /// Supplementary members.
    pub members: Vec<String>,
}

impl Group {
    /// The group a well-formed group row describes.
    pub fn from_row(row: &Row) -> Option<Group> {
        (row.fields.len() == 4).then(|| Group {
            name: row.field(0).to_owned(),
            gid: row.id(2),
            members: row
                .field(3)
                .split(',')
                .filter(|m| !m.is_empty())
                .map(str::to_owned)
                .collect(),
        })
    }
}

/// Every well-formed group of the root.
pub fn groups(root: &Root) -> Result<Vec<Group>> {
    Ok(table(root, Db::Group)?
        .iter()
        .filter_map(Group::from_row)
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

/// The shadow row of `name`, if there is one.
fn shadow_row(root: &Root, name: &str) -> Result<Option<Row>> {
    Ok(table(root, Db::Shadow)?
        .into_iter()
        .find(|r| r.field(0) == name))
}

/// Field 8 of `/etc/shadow` for `name` (account expiry in days since the
/// epoch; empty when it never expires).
pub fn shadow_expiry(root: &Root, name: &str) -> Result<String> {
    Ok(shadow_row(root, name)?
        .filter(|r| r.fields.len() >= 8)
        .map(|r| r.field(7).to_owned())
        .unwrap_or_default())
}

/// The password field of `name` in `/etc/shadow` (`None`: no such line).
pub fn shadow_password(root: &Root, name: &str) -> Result<Option<String>> {
    Ok(shadow_row(root, name)?
        .filter(|r| r.fields.len() >= 2)
        .map(|r| r.field(1).to_owned()))
}

/// Whether the password field of `name` in `/etc/shadow` starts with `!`
/// (locked, as `usermod --lock` leaves it).
pub fn password_locked(root: &Root, name: &str) -> Result<bool> {
    Ok(shadow_password(root, name)?.is_some_and(|p| p.starts_with('!')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_keep_their_line_numbers_and_malformed_lines() {
        let rows = parse(
            "root:x:0:0:root:/root:/bin/bash\n\n# note\nbroken\nada:x:1000:1000::/home/ada:/bin/sh\n",
        );
        assert_eq!(rows.len(), 3);
        assert_eq!((rows[0].line, rows[1].line, rows[2].line), (1, 4, 5));
        assert_eq!(rows[1].field(0), "broken");
        assert_eq!(rows[1].field(5), "");
        assert_eq!(rows[1].id(2), None);
        let accounts: Vec<Account> = rows.iter().filter_map(Account::from_row).collect();
        assert_eq!(accounts.len(), 2, "the malformed line is no account");
        assert_eq!(accounts[1].home, "/home/ada");
        assert_eq!(accounts[1].uid, 1000);
    }

    #[test]
    fn group_members_and_ids() {
        let rows = parse("sudo:x:27:ada,,bob\nodd:x:nan:\nshort:x:5\n");
        let groups: Vec<Group> = rows.iter().filter_map(Group::from_row).collect();
        assert_eq!(groups.len(), 2, "a line without four fields is no group");
        assert_eq!(groups[0].members, ["ada", "bob"]);
        assert_eq!(groups[0].gid, Some(27));
        assert_eq!(groups[1].gid, None);
        assert!(groups[1].members.is_empty());
    }

    #[test]
    fn names_of_ids_fall_back_to_the_number() {
        let dir = crate::testing::tree(&[
            ("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n"),
            ("/etc/group", "adm:x:4:\n"),
        ]);
        let root = Root::new(dir.path());
        assert_eq!(name_of(&root, Db::Passwd, 0), "root");
        assert_eq!(name_of(&root, Db::Group, 4), "adm");
        assert_eq!(name_of(&root, Db::Passwd, 4242), "4242");
    }
}
