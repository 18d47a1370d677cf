//! The one state file, `/var/lib/vpsc/state.db` (docs/architecture.md principle 5).
//!
//! SQLite in WAL mode with `synchronous=FULL`, so a row committed before a
//! change is applied survives `kill -9` and power loss: the journal is
//! write-ahead. Records that only say a change *finished* (a step applied
//! or undone, with its audit event) and audit-only events commit with
//! `synchronous=NORMAL` ([`State::relaxed`]): they survive `kill -9` at
//! once and power loss from the next durable commit on, which fsyncs the
//! whole WAL before the next change starts. A power cut can thus only
//! return the journal to a state a `kill -9` just before the completion
//! leaves, which recovery handles. The directory is 0700 and the file
//! 0600, root only.

use std::path::PathBuf;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};

use crate::error::{Error, Result};
use crate::root::Root;

/// Path of the state database relative to the root.
pub const STATE_DB: &str = "/var/lib/vpsc/state.db";

const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS modules (
    name    TEXT PRIMARY KEY,
    version TEXT NOT NULL,
    state   TEXT NOT NULL CHECK (state IN ('configuring', 'configured', 'unconfiguring')),
    updated INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS steps (
    module  TEXT NOT NULL,
    key     TEXT NOT NULL,
    seq     INTEGER NOT NULL,
    state   TEXT NOT NULL CHECK (state IN ('pending', 'applied', 'undoing')),
    desired TEXT NOT NULL,
    prior   TEXT NOT NULL,
    backup  BLOB,
    PRIMARY KEY (module, key)
);
CREATE TABLE IF NOT EXISTS profiles (
    name      TEXT PRIMARY KEY,
    overrides TEXT NOT NULL
);
";

/// Tables a capability above the journal keeps in the state database
/// (the audit log, the breakers, the user store): their owner declares
/// them and [`State::tables`] creates them on first use, so the journal
/// needs to know nothing of them.
#[derive(Debug)]
pub struct Tables {
    /// Who owns them, for error messages.
    pub owner: &'static str,
    /// `CREATE TABLE IF NOT EXISTS` statements; additive only.
    pub sql: &'static str,
}

/// An open state database.
pub struct State {
    conn: Connection,
    path: PathBuf,
    /// Owners whose tables are known to exist in a committed schema.
    ready: std::cell::RefCell<std::collections::BTreeSet<&'static str>>,
}

/// Lifecycle of a module in the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ModuleState {
    /// A configure started and has not finished.
    Configuring,
    /// The last configure finished.
    Configured,
    /// An unconfigure started and has not finished.
    Unconfiguring,
}

/// Lifecycle of one journalled step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    /// Recorded, maybe partly applied.
    Pending,
    /// Applied and confirmed.
    Applied,
    /// Undo started.
    Undoing,
}

/// A module row.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ModuleRow {
    /// Module name.
    pub name: String,
    /// Version last configured (or being configured).
    pub version: String,
    /// Lifecycle state.
    pub state: ModuleState,
}

/// One journalled step.
#[derive(Debug, Clone)]
pub struct StepRow {
    /// Effect key.
    pub key: String,
    /// Order of application.
    pub seq: i64,
    /// Lifecycle state.
    pub state: StepState,
    /// The rendered effect as JSON.
    pub desired: String,
    /// The prior state as JSON.
    pub prior: String,
    /// Prior file content, where there was one.
    pub backup: Option<Vec<u8>>,
}

/// The runtime's own directory (`/var/lib/vpsc`, 0700) opened inside the
/// root, made if missing, and its path on the host for the two users that
/// need a name (SQLite and the lock): the path the kernel resolved, checked
/// to lie inside the root, so a link in a `--root` tree cannot lead out.
pub fn state_dir(root: &Root) -> Result<(crate::confined::Dir, std::path::PathBuf)> {
    let dir = root.ensure_dir(STATE_DIR, 0o700)?;
    let host = dir.host_path(root)?;
    Ok((dir, host))
}

/// The runtime's own directory.
pub const STATE_DIR: &str = "/var/lib/vpsc";

impl State {
    /// Opens (creating if needed) the state database under `root`.
    pub fn open(root: &Root) -> Result<State> {
        let (dir, host_dir) = state_dir(root)?;
        // Made with its final mode, never briefly readable by others; SQLite
        // gives the WAL and shm files the database file's mode.
        if dir.stat("state.db")?.is_none() {
            match dir.create_new("state.db", 0o600) {
                Ok(_) => {}
                // Another process made it first: theirs is as good.
                Err(Error::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
        }
        let path = host_dir.join("state.db");
        let db_err = |source| Error::State {
            path: path.clone(),
            source,
        };
        let conn = Connection::open(&path).map_err(db_err)?;
        dir.set_owner_mode("state.db", 0, 0, 0o600)?;
        conn.busy_timeout(Duration::from_secs(30)).map_err(db_err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db_err)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(db_err)?;
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(db_err)?;
        if version > SCHEMA_VERSION {
            return Err(Error::Precondition {
                what: format!(
                    "state database {} has schema {version}, newer than this runtime's {SCHEMA_VERSION}",
                    path.display()
                ),
                hint:
                    "upgrade vpsc-runtime; never downgrade it below a version that wrote the state"
                        .into(),
            });
        }
        conn.execute_batch(SCHEMA).map_err(db_err)?;
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(db_err)?;
        Ok(State {
            conn,
            path,
            ready: Default::default(),
        })
    }

    /// The SQLite connection, with `tables` made if missing: how the
    /// audit log, the breakers and the user store reach their own tables.
    pub fn tables(&self, tables: &Tables) -> Result<&Connection> {
        if !self.ready.borrow().contains(tables.owner) {
            self.conn
                .execute_batch(tables.sql)
                .map_err(|source| Error::State {
                    path: self.path.clone(),
                    source,
                })?;
            // Made inside a transaction that may yet roll back: make
            // sure again next time rather than trust it.
            if self.conn.is_autocommit() {
                self.ready.borrow_mut().insert(tables.owner);
            }
        }
        Ok(&self.conn)
    }

    /// Runs `f` in one write transaction: everything it records commits
    /// together or not at all (a journal step and its audit event).
    pub fn atomically<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(self.err())?;
        match f() {
            Ok(v) => {
                crate::fault::point("state.commit");
                self.conn.execute_batch("COMMIT").map_err(self.err())?;
                Ok(v)
            }
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    /// Runs `f` with commits durable against a process crash but not yet
    /// against power loss (`synchronous=NORMAL`), for completion records and
    /// audit-only events; the next durable commit makes them durable too.
    /// Inside a caller's transaction it changes nothing.
    pub fn relaxed<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        if !self.conn.is_autocommit() {
            return f();
        }
        self.conn
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(self.err())?;
        let result = f();
        self.conn
            .pragma_update(None, "synchronous", "FULL")
            .map_err(self.err())?;
        result
    }

    /// Maps a SQLite error to [`Error::State`] naming this database.
    pub fn err(&self) -> impl Fn(rusqlite::Error) -> Error + '_ {
        |source| Error::State {
            path: self.path.clone(),
            source,
        }
    }

    /// The module's row, if it is in the journal.
    pub fn module(&self, name: &str) -> Result<Option<ModuleRow>> {
        let row = self
            .conn
            .query_row(
                "SELECT name, version, state FROM modules WHERE name = ?1",
                [name],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                },
            )
            .optional()
            .map_err(self.err())?;
        row.map(|(name, version, state)| {
            Ok(ModuleRow {
                state: parse_module_state(&name, &state)?,
                name,
                version,
            })
        })
        .transpose()
    }

    /// Every module in the journal, by name.
    pub fn modules(&self) -> Result<Vec<ModuleRow>> {
        let mut stmt = self
            .conn
            .prepare("SELECT name, version, state FROM modules ORDER BY name")
            .map_err(self.err())?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(self.err())?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(self.err())?;
        rows.into_iter()
            .map(|(name, version, state)| {
                Ok(ModuleRow {
                    state: parse_module_state(&name, &state)?,
                    name,
                    version,
                })
            })
            .collect()
    }

    /// Records the module's lifecycle state (durably, before work starts).
    pub fn set_module(&self, name: &str, version: &str, state: ModuleState) -> Result<()> {
        crate::fault::point("state.set_module");
        let state = match state {
            ModuleState::Configuring => "configuring",
            ModuleState::Configured => "configured",
            ModuleState::Unconfiguring => "unconfiguring",
        };
        self.conn
            .execute(
                "INSERT INTO modules (name, version, state, updated) VALUES (?1, ?2, ?3, unixepoch())
                 ON CONFLICT (name) DO UPDATE SET version = ?2, state = ?3, updated = unixepoch()",
                params![name, version, state],
            )
            .map_err(self.err())?;
        Ok(())
    }

    /// Removes the module's row once nothing of it is left.
    pub fn delete_module(&self, name: &str) -> Result<()> {
        crate::fault::point("state.delete_module");
        self.conn
            .execute("DELETE FROM modules WHERE name = ?1", [name])
            .map_err(self.err())?;
        Ok(())
    }

    /// The module's steps in application order.
    pub fn steps(&self, module: &str) -> Result<Vec<StepRow>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT key, seq, state, desired, prior, backup FROM steps WHERE module = ?1 ORDER BY seq",
            )
            .map_err(self.err())?;
        let rows = stmt
            .query_map([module], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, Option<Vec<u8>>>(5)?,
                ))
            })
            .map_err(self.err())?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(self.err())?;
        rows.into_iter()
            .map(|(key, seq, state, desired, prior, backup)| {
                let state = match state.as_str() {
                    "pending" => StepState::Pending,
                    "applied" => StepState::Applied,
                    "undoing" => StepState::Undoing,
                    other => {
                        return Err(Error::StateCorrupt {
                            what: format!("step `{key}` of module `{module}`"),
                            reason: format!("unknown state `{other}`"),
                        });
                    }
                };
                Ok(StepRow {
                    key,
                    seq,
                    state,
                    desired,
                    prior,
                    backup,
                })
            })
            .collect()
    }

    /// Records a new step as pending, with the prior state captured before
    /// anything was changed. This is the write-ahead record.
    pub fn insert_step(
        &self,
        module: &str,
        key: &str,
        desired: &str,
        prior: &str,
        backup: Option<&[u8]>,
    ) -> Result<()> {
        crate::fault::point("state.insert_step");
        self.conn
            .execute(
                "INSERT INTO steps (module, key, seq, state, desired, prior, backup)
                 VALUES (?1, ?2, (SELECT COALESCE(MAX(seq), 0) + 1 FROM steps WHERE module = ?1), 'pending', ?3, ?4, ?5)",
                params![module, key, desired, prior, backup],
            )
            .map_err(self.err())?;
        Ok(())
    }

    /// Marks a step pending with a new desired state (upgrade or resume).
    pub fn repend_step(&self, module: &str, key: &str, desired: &str) -> Result<()> {
        crate::fault::point("state.repend_step");
        self.conn
            .execute(
                "UPDATE steps SET state = 'pending', desired = ?3 WHERE module = ?1 AND key = ?2",
                params![module, key, desired],
            )
            .map_err(self.err())?;
        Ok(())
    }

    /// Sets a step's lifecycle state.
    pub fn set_step_state(&self, module: &str, key: &str, state: StepState) -> Result<()> {
        crate::fault::point("state.set_step_state");
        let state = match state {
            StepState::Pending => "pending",
            StepState::Applied => "applied",
            StepState::Undoing => "undoing",
        };
        self.conn
            .execute(
                "UPDATE steps SET state = ?3 WHERE module = ?1 AND key = ?2",
                params![module, key, state],
            )
            .map_err(self.err())?;
        Ok(())
    }

    /// Forgets a step after its undo completed.
    pub fn delete_step(&self, module: &str, key: &str) -> Result<()> {
        crate::fault::point("state.delete_step");
        self.conn
            .execute(
                "DELETE FROM steps WHERE module = ?1 AND key = ?2",
                params![module, key],
            )
            .map_err(self.err())?;
        Ok(())
    }

    /// Forgets everything about a module (purge). Returns steps dropped.
    pub fn forget_module(&self, module: &str) -> Result<usize> {
        crate::fault::point("state.forget_module");
        let n = self
            .conn
            .execute("DELETE FROM steps WHERE module = ?1", [module])
            .map_err(self.err())?;
        self.delete_module(module)?;
        Ok(n)
    }

    /// Parameter overrides of an applied profile.
    pub fn set_profile(&self, name: &str, overrides: &str) -> Result<()> {
        crate::fault::point("state.set_profile");
        self.conn
            .execute(
                "INSERT INTO profiles (name, overrides) VALUES (?1, ?2)
                 ON CONFLICT (name) DO UPDATE SET overrides = ?2",
                params![name, overrides],
            )
            .map_err(self.err())?;
        Ok(())
    }

    /// Drops an applied profile's overrides.
    pub fn delete_profile(&self, name: &str) -> Result<()> {
        crate::fault::point("state.delete_profile");
        self.conn
            .execute("DELETE FROM profiles WHERE name = ?1", [name])
            .map_err(self.err())?;
        Ok(())
    }

    /// All applied profiles with their overrides JSON, by name.
    pub fn profiles(&self) -> Result<Vec<(String, String)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT name, overrides FROM profiles ORDER BY name")
            .map_err(self.err())?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(self.err())?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(self.err())
    }
}

fn parse_module_state(name: &str, state: &str) -> Result<ModuleState> {
    match state {
        "configuring" => Ok(ModuleState::Configuring),
        "configured" => Ok(ModuleState::Configured),
        "unconfiguring" => Ok(ModuleState::Unconfiguring),
        other => Err(Error::StateCorrupt {
            what: format!("module `{name}`"),
            reason: format!("unknown state `{other}`"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn state_file_is_root_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = Root::new(dir.path());
        let _state = State::open(&root).expect("open");
        let meta = root.metadata(STATE_DB).expect("stat");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        let dmeta = root.metadata("/var/lib/vpsc").expect("stat");
        assert_eq!(dmeta.permissions().mode() & 0o777, 0o700);
    }

    #[test]
    fn steps_keep_insertion_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = State::open(&Root::new(dir.path())).expect("open");
        state
            .insert_step("m", "b", "{}", "{}", None)
            .expect("insert");
        state
            .insert_step("m", "a", "{}", "{}", Some(b"x"))
            .expect("insert");
        let keys: Vec<_> = state
            .steps("m")
            .expect("steps")
            .into_iter()
            .map(|s| s.key)
            .collect();
        assert_eq!(keys, ["b", "a"]);
    }
}
