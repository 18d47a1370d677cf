//! The tamper-evident audit log: every change the runtime makes is an event
//! in the `audit` table of the state database, chained by SHA-256 so that an
//! edited, deleted, inserted or reordered event breaks the chain at that
//! event.
//!
//! Event `n` stores `hash = SHA-256(hash(n-1) ‖ canonical JSON of event n)`,
//! the first event chaining from 64 zeros. The chain head (sequence number
//! and hash) is also written to the system log after each append, so a
//! truncated tail can be told from the log even though the database alone
//! cannot show it. Purging a module never deletes audit events.

use std::io::Write;

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::root::Root;
use crate::state::State;

/// Hash the first event chains from.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Table of the audit events (created with the state schema).
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS audit (
    seq     INTEGER PRIMARY KEY,
    time    INTEGER NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    target  TEXT NOT NULL,
    result  TEXT NOT NULL,
    details TEXT NOT NULL,
    prev    TEXT NOT NULL,
    hash    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_time ON audit (time);
";

/// What happened, before it is chained.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// Who: `user:alice`, or `package:vpsc-mod-ssh` for a maintainer script.
    pub actor: String,
    /// What, dotted: `effect.apply`, `module.configure`, `user.create`.
    pub action: String,
    /// On what: a module, an effect key, a user.
    pub target: String,
    /// `ok`, or `error: …`.
    pub result: String,
    /// Anything else, as JSON.
    pub details: serde_json::Value,
}

/// A recorded event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Position in the chain, from 1, without gaps.
    pub seq: i64,
    /// Unix time in microseconds.
    pub time: i64,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// On what.
    pub target: String,
    /// Outcome.
    pub result: String,
    /// Details (JSON text).
    pub details: serde_json::Value,
    /// Hash of the previous event.
    pub prev: String,
    /// This event's hash.
    pub hash: String,
}

/// The hash of an event: over the previous hash and every other field, in
/// a fixed order, so no field can change without the hash changing.
fn chain_hash(prev: &str, e: &Event) -> String {
    let canonical = serde_json::json!([
        e.seq, e.time, e.actor, e.action, e.target, e.result, e.details
    ]);
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(canonical.to_string().as_bytes());
    hex(&h.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Who is acting: the package whose maintainer script runs us, else the
/// user behind sudo, else the login user, else root.
pub fn actor(root: &Root) -> String {
    if let Ok(package) = std::env::var("DPKG_MAINTSCRIPT_PACKAGE")
        && !package.is_empty()
    {
        return format!("package:{package}");
    }
    if let Ok(user) = std::env::var("SUDO_USER")
        && !user.is_empty()
    {
        return format!("user:{user}");
    }
    let uid = std::fs::read_to_string("/proc/self/loginuid")
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        .filter(|&u| u != u32::MAX);
    match uid {
        Some(uid) => format!(
            "user:{}",
            user_name(root, uid).unwrap_or_else(|| uid.to_string())
        ),
        None => "user:root".into(),
    }
}

fn user_name(root: &Root, uid: u32) -> Option<String> {
    root.read_to_string("/etc/passwd")
        .ok()?
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 2 && f[2] == uid.to_string()).then(|| f[0].to_owned())
        })
}

/// Appends an event. Inside a transaction of the caller it becomes part of
/// it (so a journal step and its event commit together); otherwise it
/// takes the write lock first, so concurrent appenders never fork the chain.
pub fn append(state: &State, event: NewEvent) -> Result<Event> {
    // An event of its own only records what already happened; see
    // `State::relaxed` for why it need not wait for the disk.
    state.relaxed(|| append_in(state, event))
}

fn append_in(state: &State, event: NewEvent) -> Result<Event> {
    let conn = state.connection();
    let own = conn.is_autocommit();
    if own {
        conn.execute_batch("BEGIN IMMEDIATE").map_err(state.err())?;
    }
    let result = (|| {
        let last: Option<(i64, String)> = conn
            .query_row(
                "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(state.err())?;
        let (seq, prev) = last.map_or((1, GENESIS.to_owned()), |(s, h)| (s + 1, h));
        let time = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as i64)
            .unwrap_or(0);
        let mut e = Event {
            seq,
            time,
            actor: event.actor,
            action: event.action,
            target: event.target,
            result: event.result,
            details: event.details,
            prev: prev.clone(),
            hash: String::new(),
        };
        e.hash = chain_hash(&prev, &e);
        crate::fault::point("audit.append");
        conn.execute(
            "INSERT INTO audit (seq, time, actor, action, target, result, details, prev, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                e.seq,
                e.time,
                e.actor,
                e.action,
                e.target,
                e.result,
                e.details.to_string(),
                e.prev,
                e.hash
            ],
        )
        .map_err(state.err())?;
        Ok(e)
    })();
    if own {
        match &result {
            Ok(_) => conn.execute_batch("COMMIT").map_err(state.err())?,
            Err(_) => {
                let _ = conn.execute_batch("ROLLBACK");
            }
        }
    }
    result
}

/// Filters of `vpsc audit query`.
#[derive(Debug, Default, Clone)]
pub struct Query {
    /// Events at or after this Unix time (seconds).
    pub since: Option<i64>,
    /// Events before this Unix time (seconds).
    pub until: Option<i64>,
    /// Exact actor.
    pub actor: Option<String>,
    /// Exact action, or a prefix ending in `.` (e.g. `effect.`).
    pub action: Option<String>,
}

/// Events matching `q`, in chain order.
pub fn query(state: &State, q: &Query) -> Result<Vec<Event>> {
    let mut stmt = state
        .connection()
        .prepare(
            "SELECT seq, time, actor, action, target, result, details, prev, hash FROM audit
             WHERE (?1 IS NULL OR time >= ?1 * 1000000)
               AND (?2 IS NULL OR time < ?2 * 1000000)
               AND (?3 IS NULL OR actor = ?3)
               AND (?4 IS NULL OR action = ?4 OR (substr(?4, -1) = '.' AND substr(action, 1, length(?4)) = ?4))
             ORDER BY seq",
        )
        .map_err(state.err())?;
    let rows = stmt
        .query_map(params![q.since, q.until, q.actor, q.action], row)
        .map_err(state.err())?;
    rows.collect::<rusqlite::Result<Vec<_>>>()
        .map_err(state.err())
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Event> {
    let details: String = r.get(6)?;
    Ok(Event {
        seq: r.get(0)?,
        time: r.get(1)?,
        actor: r.get(2)?,
        action: r.get(3)?,
        target: r.get(4)?,
        result: r.get(5)?,
        // Unparsable details are kept as text so verify can still hash
        // what is stored... and will then report the event as edited.
        details: serde_json::from_str(&details).unwrap_or(serde_json::Value::String(details)),
        prev: r.get(7)?,
        hash: r.get(8)?,
    })
}

/// Outcome of `vpsc audit verify`.
#[derive(Debug, Serialize)]
pub struct Verdict {
    /// Events checked.
    pub events: i64,
    /// Hash of the last event (compare with the last one in the system log).
    pub head: String,
}

/// Walks the whole chain; the error names the first event that does not
/// fit and why.
pub fn verify(state: &State) -> Result<Verdict> {
    let mut stmt = state
        .connection()
        .prepare("SELECT seq, time, actor, action, target, result, details, prev, hash FROM audit ORDER BY rowid")
        .map_err(state.err())?;
    let mut rows = stmt.query([]).map_err(state.err())?;
    let mut expected_seq = 1;
    let mut prev = GENESIS.to_owned();
    while let Some(r) = rows.next().map_err(state.err())? {
        let e = row(r).map_err(state.err())?;
        let bad = |why: String| Error::AuditBroken { seq: e.seq, why };
        if e.seq != expected_seq {
            return Err(bad(format!(
                "it follows event {} (an event was deleted, inserted or moved)",
                expected_seq - 1
            )));
        }
        if e.prev != prev {
            return Err(bad("its link to the previous event does not match (an event before it was replaced, removed or reordered)".into()));
        }
        if chain_hash(&prev, &e) != e.hash {
            return Err(bad(
                "its content does not match its hash (the event was edited)".into(),
            ));
        }
        prev = e.hash;
        expected_seq += 1;
    }
    Ok(Verdict {
        events: expected_seq - 1,
        head: prev,
    })
}

/// Sends one line to the system log (`/dev/log`, which journald also
/// serves), facility authpriv: audit records belong with the other
/// security messages. Best effort: the database is the record.
pub fn forward(root: &Root, e: &Event) {
    if !root.is_live() {
        return;
    }
    let Ok(socket) = std::os::unix::net::UnixDatagram::unbound() else {
        return;
    };
    // <PRI> = facility authpriv (10) * 8 + severity notice (5).
    let mut line = Vec::new();
    let _ = write!(
        line,
        "<85>vpsc[{}]: audit seq={} actor={} action={} target={} result={} hash={}",
        std::process::id(),
        e.seq,
        e.actor,
        e.action,
        e.target,
        e.result,
        e.hash
    );
    let _ = socket.send_to(&line, "/dev/log");
}
