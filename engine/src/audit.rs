//! The tamper-evident audit log: every change the runtime makes is an event
//! in the `audit` table of the state database, chained by SHA-256 so that an
//! edited, deleted, inserted or reordered event breaks the chain at that
//! event.
//!
//! Event `n` stores `hash = SHA-256(hash(n-1) ‖ canonical JSON of event n)`,
//! the first event chaining from 64 zeros. The chain head (sequence number
//! and hash) is also anchored outside the database after each append: a
//! line in [`ANCHOR`] (append-only on a running system, `chattr +a`, so
//! ordinary tools cannot rewrite it) and the system log. `verify` compares
//! the chain's end with the anchor, so deleting the newest events, which
//! leaves a shorter but intact chain, is caught. Purging a module never
//! deletes audit events.

use std::io::Write;

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::root::Root;
use crate::state::{State, Tables};

/// Hash the first event chains from.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Table of the audit events, made on first use.
pub const TABLES: Tables = Tables {
    owner: "audit",
    sql: "
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
",
};

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
    let set = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if let Some(package) = set("DPKG_MAINTSCRIPT_PACKAGE") {
        return format!("package:{package}");
    }
    if let Some(user) = set("SUDO_USER") {
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
    crate::accounts::table(root, crate::accounts::Db::Passwd)
        .ok()?
        .into_iter()
        .find(|r| r.id(2) == Some(uid))
        .map(|r| r.field(0).to_owned())
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
    let conn = state.tables(&TABLES)?;
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
        .tables(&TABLES)?
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
    /// The newest event anchored outside the database, if the anchor exists.
    pub anchored: Option<i64>,
}

/// Walks the whole chain; the error names the first event that does not
/// fit and why.
pub fn verify(state: &State) -> Result<Verdict> {
    let mut stmt = state
        .tables(&TABLES)?
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
        anchored: None,
    })
}

/// Where each event's sequence number and hash are appended, outside the
/// database.
pub const ANCHOR: &str = "/var/log/vpsc/audit.anchor";

/// Anchors `e` outside the database, once its transaction has committed:
/// a line `SEQ HASH` appended to [`ANCHOR`], and a line in the system log.
/// Best effort: the database is the record; a missing anchor line only
/// weakens the check of its end.
pub fn forward(root: &Root, e: &Event) {
    if let Err(err) = anchor(root, e) {
        tracing::warn!(error = %err, "cannot anchor audit event {} in {ANCHOR}", e.seq);
    }
    syslog(root, e);
}

fn anchor(root: &Root, e: &Event) -> Result<()> {
    let dir = root.ensure_dir("/var/log/vpsc", 0o750)?;
    let (mut file, made) = dir.open_append("audit.anchor", 0o600)?;
    if made && root.is_live() {
        // Append-only: root's ordinary tools (an editor, sqlite3, sed -i)
        // cannot rewrite it; only a deliberate `chattr -a` can.
        if let Err(err) = root.run(&["chattr", "+a", ANCHOR]) {
            tracing::info!(error = %err, "{ANCHOR} is not append-only (file system without the attribute?)");
        }
    }
    writeln!(file, "{} {}", e.seq, e.hash).map_err(Error::io("append to", ANCHOR))
}

/// The newest `SEQ HASH` line near the end of the anchor, if there is one.
pub fn anchored(root: &Root) -> Result<Option<(i64, String)>> {
    use std::io::{Read, Seek, SeekFrom};
    let fd = match root.open_in(
        ANCHOR,
        nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_NOFOLLOW,
    ) {
        Ok(fd) => fd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("read", ANCHOR)(e)),
    };
    let mut file = std::fs::File::from(fd);
    let len = file.metadata().map_err(Error::io("inspect", ANCHOR))?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(4096)))
        .map_err(Error::io("read", ANCHOR))?;
    let mut tail = String::new();
    file.read_to_string(&mut tail)
        .map_err(Error::io("read", ANCHOR))?;
    let parse = |l: &str| {
        l.split_once(' ')
            .and_then(|(s, h)| Some((s.parse::<i64>().ok()?, h.trim().to_owned())))
            .filter(|(_, h)| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
    };
    let lines: Vec<&str> = tail.lines().filter(|l| !l.trim().is_empty()).collect();
    let Some(last) = lines.last() else {
        return Ok(None);
    };
    if parse(last).is_none() {
        return Err(Error::AuditBroken {
            seq: 0,
            why: format!("the last line of {ANCHOR} is not `SEQ HASH`: {last:?}"),
        });
    }
    // Racing commands append their lines in the order they get there, not
    // always in chain order: the newest is the highest of the last ones.
    Ok(lines
        .iter()
        .filter_map(|l| parse(l))
        .max_by_key(|(seq, _)| *seq))
}

/// [`verify`], then the chain's end against the anchor: an anchored event
/// the database lacks means its newest events were deleted (or lost in a
/// crash before they reached the disk).
pub fn verify_anchored(root: &Root, state: &State) -> Result<Verdict> {
    // The anchor first: a line is appended only after its event has
    // committed, so the log read after it holds at least that event even
    // while another vpsc appends (read the other way round, a racing
    // append looked like missing events).
    let anchor = anchored(root)?;
    let mut verdict = verify(state)?;
    let Some((seq, hash)) = anchor else {
        return Ok(verdict);
    };
    verdict.anchored = Some(seq);
    if seq > verdict.events {
        let missing = seq - verdict.events;
        return Err(Error::AuditBroken {
            seq: verdict.events + 1,
            why: format!(
                "the log ends at event {}, but {ANCHOR} records event {seq}: the newest {missing} event(s) are missing",
                verdict.events
            ),
        });
    }
    let stored: Option<String> = state
        .tables(&TABLES)?
        .query_row("SELECT hash FROM audit WHERE seq = ?1", [seq], |r| r.get(0))
        .optional()
        .map_err(state.err())?;
    if stored.as_deref() != Some(hash.as_str()) {
        return Err(Error::AuditBroken {
            seq,
            why: format!(
                "its hash differs from the one {ANCHOR} recorded (the chain from here was rewritten)"
            ),
        });
    }
    Ok(verdict)
}

/// Sends one line to the system log (`/dev/log`, which journald also
/// serves), facility authpriv: audit records belong with the other
/// security messages.
fn syslog(root: &Root, e: &Event) {
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
