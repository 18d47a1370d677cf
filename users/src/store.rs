//! What vpsc knows about the people it onboarded, in the state database
//! (docs/architecture.md principle 5): one JSON record per user and per team. The
//! system's own files (passwd, group, sudoers.d, the home) stay the truth
//! about access; the record keeps what they cannot: email, roles, grants
//! with their expiry, key fingerprints and history.

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use vpsc_engine::error::{Error, Result};
use vpsc_engine::state::{State, Tables};

/// Tables of users and teams, made on first use.
pub const TABLES: Tables = Tables {
    owner: "users",
    sql: "
CREATE TABLE IF NOT EXISTS users (
    name   TEXT PRIMARY KEY,
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS pending (
    name    TEXT PRIMARY KEY,
    started INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS teams (
    name   TEXT PRIMARY KEY,
    record TEXT NOT NULL
);
",
};

/// Where an account stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Can log in.
    Active,
    /// Locked by `vpsc-user lock`.
    Locked,
    /// Offboarded: locked for good, its UID kept from reuse.
    Deleted,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Active => "active",
            Status::Locked => "locked",
            Status::Deleted => "deleted",
        })
    }
}

/// An authorized SSH key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRecord {
    /// `SHA256:…`, as `ssh-keygen -l` prints it.
    pub fingerprint: String,
    /// Key type, e.g. `ssh-ed25519`.
    pub kind: String,
    /// The key's comment.
    pub comment: String,
    /// The public key line (`type base64 comment`).
    pub line: String,
    /// When it was added (Unix seconds).
    pub added: i64,
    /// When sshd stops accepting it (a rotated key's grace period).
    pub expires: Option<i64>,
}

/// A role held for a limited time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    /// The role.
    pub role: String,
    /// When it was granted (Unix seconds).
    pub granted: i64,
    /// When it ends (Unix seconds).
    pub until: i64,
}

/// One onboarded user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserRecord {
    /// Login name.
    pub name: String,
    /// Numeric user ID.
    pub uid: u32,
    /// Full name (GECOS).
    pub full_name: String,
    /// Email address.
    pub email: String,
    /// Roles held without end.
    pub roles: Vec<String>,
    /// Roles held until a time.
    #[serde(default)]
    pub grants: Vec<Grant>,
    /// Teams.
    pub teams: Vec<String>,
    /// When the account was created (Unix seconds).
    pub created: i64,
    /// When the account expires (Unix seconds), if it does.
    pub expires: Option<i64>,
    /// Active, locked or deleted.
    pub status: Status,
    /// Authorized SSH keys.
    pub keys: Vec<KeyRecord>,
    /// Whether a TOTP secret was set up.
    pub totp: bool,
    /// Archive of the home, once offboarded with `--archive`.
    #[serde(default)]
    pub archive: Option<String>,
}

impl UserRecord {
    /// Roles in force at `now`: the lasting ones, then unexpired grants.
    pub fn roles_at(&self, now: i64) -> Vec<String> {
        let mut out = self.roles.clone();
        for g in &self.grants {
            if g.until > now && !out.contains(&g.role) {
                out.push(g.role.clone());
            }
        }
        out
    }
}

/// A team: a group and a shared folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamRecord {
    /// Team (and group) name.
    pub name: String,
    /// The setgid shared folder.
    pub folder: String,
    /// When it was created (Unix seconds).
    pub created: i64,
}

fn load<T: for<'de> Deserialize<'de>>(state: &State, table: &str, name: &str) -> Result<Option<T>> {
    let text: Option<String> = state
        .tables(&TABLES)?
        .query_row(
            &format!("SELECT record FROM {table} WHERE name = ?1"),
            params![name],
            |r| r.get(0),
        )
        .optional()
        .map_err(state.err())?;
    text.map(|t| {
        serde_json::from_str(&t).map_err(|e| Error::StateCorrupt {
            what: format!("{table} record `{name}`"),
            reason: e.to_string(),
        })
    })
    .transpose()
}

fn load_all<T: for<'de> Deserialize<'de>>(state: &State, table: &str) -> Result<Vec<T>> {
    let mut stmt = state
        .tables(&TABLES)?
        .prepare(&format!("SELECT name, record FROM {table} ORDER BY name"))
        .map_err(state.err())?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .map_err(state.err())?;
    let mut out = Vec::new();
    for row in rows {
        let (name, text) = row.map_err(state.err())?;
        out.push(
            serde_json::from_str(&text).map_err(|e| Error::StateCorrupt {
                what: format!("{table} record `{name}`"),
                reason: e.to_string(),
            })?,
        );
    }
    Ok(out)
}

fn save<T: Serialize>(state: &State, table: &str, name: &str, record: &T) -> Result<()> {
    let text = serde_json::to_string(record).expect("records serialise");
    state
        .tables(&TABLES)?
        .execute(
            &format!("INSERT OR REPLACE INTO {table} (name, record) VALUES (?1, ?2)"),
            params![name, text],
        )
        .map_err(state.err())?;
    Ok(())
}

fn remove(state: &State, table: &str, name: &str) -> Result<()> {
    state
        .tables(&TABLES)?
        .execute(
            &format!("DELETE FROM {table} WHERE name = ?1"),
            params![name],
        )
        .map_err(state.err())?;
    Ok(())
}

/// The record of user `name`, if vpsc onboarded them.
pub fn user(state: &State, name: &str) -> Result<Option<UserRecord>> {
    load(state, "users", name)
}

/// Every user record, by name.
pub fn users(state: &State) -> Result<Vec<UserRecord>> {
    load_all(state, "users")
}

/// Writes a user record.
pub fn save_user(state: &State, record: &UserRecord) -> Result<()> {
    save(state, "users", &record.name, record)
}

/// Deletes a user record (only a failed create does: offboarding keeps it).
pub fn remove_user(state: &State, name: &str) -> Result<()> {
    remove(state, "users", name)
}

/// The record of team `name`.
pub fn team(state: &State, name: &str) -> Result<Option<TeamRecord>> {
    load(state, "teams", name)
}

/// Every team record, by name.
pub fn teams(state: &State) -> Result<Vec<TeamRecord>> {
    load_all(state, "teams")
}

/// Writes a team record.
pub fn save_team(state: &State, record: &TeamRecord) -> Result<()> {
    save(state, "teams", &record.name, record)
}

/// Deletes a team record.
pub fn remove_team(state: &State, name: &str) -> Result<()> {
    remove(state, "teams", name)
}

/// Marks a create of `name` as started, durably, before its first step:
/// a process killed mid-way leaves this row for [`super::recover`].
pub fn begin_create(state: &State, name: &str, now: i64) -> Result<()> {
    state
        .tables(&TABLES)?
        .execute(
            "INSERT OR REPLACE INTO pending (name, started) VALUES (?1, ?2)",
            params![name, now],
        )
        .map_err(state.err())?;
    Ok(())
}

/// Clears the mark of a create that finished or was rolled back.
pub fn end_create(state: &State, name: &str) -> Result<()> {
    remove(state, "pending", name)
}

/// Creates that started and never ended: their process died.
pub fn interrupted_creates(state: &State) -> Result<Vec<String>> {
    let mut stmt = state
        .tables(&TABLES)?
        .prepare("SELECT name FROM pending ORDER BY name")
        .map_err(state.err())?;
    let rows = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .map_err(state.err())?;
    rows.collect::<rusqlite::Result<Vec<_>>>()
        .map_err(state.err())
}
