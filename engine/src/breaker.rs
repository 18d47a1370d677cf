//! Circuit breakers kept in `state.db`, so they outlive the process: each
//! maintainer script is a new `vpsc`, and the second module that needs a
//! dead mirror must fail at once instead of waiting out its timeouts again.
//!
//! Per key (`net:deb.debian.org:443`): closed → open after
//! `failure_threshold` failures within `window` → half-open after
//! `cooldown`, when one call may probe → closed after `success_threshold`
//! successful probes, or open again on a failed one.

use std::time::Duration;

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use crate::audit::{self, NewEvent};
use crate::config::{BreakerConfig, RetryConfig};
use crate::error::{Error, Result};
use crate::root::Root;
use crate::state::{State, Tables};

/// Table of the breakers, made on first use.
pub const TABLES: Tables = Tables {
    owner: "breakers",
    sql: "
CREATE TABLE IF NOT EXISTS breakers (
    key        TEXT PRIMARY KEY,
    state      TEXT NOT NULL CHECK (state IN ('closed', 'open', 'half_open')),
    failures   TEXT NOT NULL,
    successes  INTEGER NOT NULL,
    opened_at  INTEGER,
    last_error TEXT NOT NULL
);
",
};

/// The time, injectable so tests need not sleep through a cooldown.
pub trait Clock {
    /// Unix time in seconds.
    fn now(&self) -> u64;
    /// Waits (retry back-off).
    fn sleep(&self, d: Duration);
}

/// The real clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }
    fn sleep(&self, d: Duration) {
        std::thread::sleep(d);
    }
}

/// State of one breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Calls go through.
    Closed,
    /// Calls are refused until the cooldown is over.
    Open,
    /// Probing: calls go through; success closes, failure reopens.
    HalfOpen,
}

impl Phase {
    fn as_str(self) -> &'static str {
        match self {
            Phase::Closed => "closed",
            Phase::Open => "open",
            Phase::HalfOpen => "half_open",
        }
    }
}

/// One breaker as `vpsc breaker status` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// What it guards.
    pub key: String,
    /// Its state.
    pub state: Phase,
    /// Times (Unix seconds) of the failures still inside the window.
    pub failures: Vec<u64>,
    /// Successful probes since it went half-open.
    pub successes: u32,
    /// When it last opened.
    pub opened_at: Option<u64>,
    /// The last failure's message.
    pub last_error: String,
}

/// A transient failure (worth retrying) or a permanent one.
#[derive(Debug, Clone)]
pub enum Failure {
    /// May pass on another try: refused or timed-out connections, 5xx.
    Transient(String),
    /// Will not: a checksum mismatch, a 404, bad input.
    Permanent(String),
}

impl Failure {
    fn message(&self) -> &str {
        match self {
            Failure::Transient(m) | Failure::Permanent(m) => m,
        }
    }
}

/// Breakers over one state database.
pub struct Breakers<'a> {
    state: &'a State,
    root: &'a Root,
    breaker: BreakerConfig,
    retry: RetryConfig,
    clock: &'a dyn Clock,
}

impl<'a> Breakers<'a> {
    /// Breakers with these settings and this clock.
    pub fn new(
        state: &'a State,
        root: &'a Root,
        breaker: BreakerConfig,
        retry: RetryConfig,
        clock: &'a dyn Clock,
    ) -> Self {
        Breakers {
            state,
            root,
            breaker,
            retry,
            clock,
        }
    }

    /// Runs `op` under the breaker `key`, retrying transient failures with
    /// exponential back-off and jitter within the retry bounds. Refused at
    /// once, naming the breaker, while it is open. What `op` finally
    /// returns counts once towards the breaker.
    pub fn call<T>(
        &self,
        key: &str,
        what: &str,
        mut op: impl FnMut() -> std::result::Result<T, Failure>,
    ) -> Result<T> {
        self.admit(key, what)?;
        let started = std::time::Instant::now();
        let mut delay = Duration::from_millis(self.retry.initial_delay_ms);
        let mut attempt = 1;
        let outcome = loop {
            match op() {
                Ok(v) => break Ok(v),
                Err(Failure::Transient(m))
                    if attempt < self.retry.attempts
                        && started.elapsed() + delay <= self.retry.max_total() =>
                {
                    tracing::warn!(key, attempt, error = %m, "transient failure, retrying");
                    self.clock.sleep(jitter(delay));
                    delay = (delay * 2).min(Duration::from_millis(self.retry.max_delay_ms));
                    attempt += 1;
                }
                Err(f) => break Err(f),
            }
        };
        match outcome {
            Ok(v) => {
                self.record(key, None)?;
                Ok(v)
            }
            Err(f) => {
                self.record(key, Some(f.message()))?;
                Err(Error::Unreachable {
                    what: what.to_owned(),
                    key: key.to_owned(),
                    attempts: attempt,
                    reason: f.message().to_owned(),
                })
            }
        }
    }

    /// Refuses a call while the breaker is open; lets one probe through
    /// once the cooldown is over.
    fn admit(&self, key: &str, what: &str) -> Result<()> {
        let Some(row) = self.row(key)? else {
            return Ok(());
        };
        if row.state != Phase::Open {
            return Ok(());
        }
        let opened = row.opened_at.unwrap_or(0);
        let retry_at = opened + self.breaker.cooldown;
        if self.clock.now() < retry_at {
            return Err(Error::BreakerOpen {
                what: what.to_owned(),
                key: key.to_owned(),
                failures: row.failures.len(),
                retry_in: retry_at - self.clock.now(),
                last_error: row.last_error,
            });
        }
        self.write(&Row {
            state: Phase::HalfOpen,
            successes: 0,
            ..row
        })?;
        self.transition(key, Phase::HalfOpen, "cooldown over: one probe")
    }

    /// Records a call's outcome (`None` = success) and moves the breaker.
    fn record(&self, key: &str, error: Option<&str>) -> Result<()> {
        let now = self.clock.now();
        let mut row = self.row(key)?.unwrap_or(Row {
            key: key.to_owned(),
            state: Phase::Closed,
            failures: Vec::new(),
            successes: 0,
            opened_at: None,
            last_error: String::new(),
        });
        let before = row.state;
        match (row.state, error) {
            (Phase::HalfOpen, None) => {
                row.successes += 1;
                if row.successes >= self.breaker.success_threshold {
                    row = Row {
                        state: Phase::Closed,
                        failures: Vec::new(),
                        successes: 0,
                        ..row
                    };
                }
            }
            (_, None) => row.failures.clear(),
            (Phase::HalfOpen, Some(e)) => {
                row.state = Phase::Open;
                row.opened_at = Some(now);
                row.last_error = e.to_owned();
            }
            (_, Some(e)) => {
                row.failures.retain(|&t| t + self.breaker.window > now);
                row.failures.push(now);
                row.last_error = e.to_owned();
                if row.failures.len() >= self.breaker.failure_threshold as usize {
                    row.state = Phase::Open;
                    row.opened_at = Some(now);
                }
            }
        }
        self.write(&row)?;
        if row.state != before {
            self.transition(key, row.state, &row.last_error)?;
        }
        Ok(())
    }

    fn transition(&self, key: &str, to: Phase, why: &str) -> Result<()> {
        tracing::warn!(key, state = to.as_str(), why, "circuit breaker");
        let event = audit::append(
            self.state,
            NewEvent {
                actor: audit::actor(self.root),
                action: format!("breaker.{}", to.as_str()),
                target: key.to_owned(),
                result: "ok".into(),
                details: serde_json::json!({ "why": why }),
            },
        )?;
        audit::forward(self.root, &event);
        Ok(())
    }

    fn row(&self, key: &str) -> Result<Option<Row>> {
        read_row(self.state, key)
    }

    fn write(&self, row: &Row) -> Result<()> {
        self.state
            .tables(&TABLES)?
            .execute(
                "INSERT INTO breakers (key, state, failures, successes, opened_at, last_error)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (key) DO UPDATE SET state = ?2, failures = ?3, successes = ?4,
                     opened_at = ?5, last_error = ?6",
                params![
                    row.key,
                    row.state.as_str(),
                    serde_json::to_string(&row.failures).expect("numbers serialise"),
                    row.successes,
                    row.opened_at,
                    row.last_error
                ],
            )
            .map_err(self.state.err())?;
        Ok(())
    }
}

/// A random factor in [0.5, 1.5) on the delay, so hosts that failed
/// together do not retry together. Randomness from the hasher's keys:
/// good enough for jitter, and no extra crate.
fn jitter(d: Duration) -> Duration {
    use std::hash::{BuildHasher, RandomState};
    let r = RandomState::new().hash_one(std::time::Instant::now()) % 1000;
    d.mul_f64(0.5 + r as f64 / 1000.0)
}

fn read_row(state: &State, key: &str) -> Result<Option<Row>> {
    state
        .tables(&TABLES)?
        .query_row(
            "SELECT key, state, failures, successes, opened_at, last_error FROM breakers WHERE key = ?1",
            [key],
            row_of,
        )
        .optional()
        .map_err(state.err())
}

fn row_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    let phase: String = r.get(1)?;
    let failures: String = r.get(2)?;
    Ok(Row {
        key: r.get(0)?,
        state: match phase.as_str() {
            "open" => Phase::Open,
            "half_open" => Phase::HalfOpen,
            _ => Phase::Closed,
        },
        failures: serde_json::from_str(&failures).unwrap_or_default(),
        successes: r.get(3)?,
        opened_at: r.get(4)?,
        last_error: r.get(5)?,
    })
}

/// Every breaker, by key.
pub fn status(state: &State) -> Result<Vec<Row>> {
    let mut stmt = state
        .tables(&TABLES)?
        .prepare("SELECT key, state, failures, successes, opened_at, last_error FROM breakers ORDER BY key")
        .map_err(state.err())?;
    let rows = stmt.query_map([], row_of).map_err(state.err())?;
    rows.collect::<rusqlite::Result<Vec<_>>>()
        .map_err(state.err())
}

/// Closes one breaker (or all): forgets its failures. Returns how many.
pub fn reset(state: &State, root: &Root, key: Option<&str>) -> Result<usize> {
    let n = state
        .tables(&TABLES)?
        .execute(
            "DELETE FROM breakers WHERE ?1 IS NULL OR key = ?1",
            params![key],
        )
        .map_err(state.err())?;
    let event = audit::append(
        state,
        NewEvent {
            actor: audit::actor(root),
            action: "breaker.reset".into(),
            target: key.unwrap_or("*").to_owned(),
            result: "ok".into(),
            details: serde_json::json!({ "reset": n }),
        },
    )?;
    audit::forward(root, &event);
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// A clock the test moves; sleeping advances it.
    struct FakeClock(Cell<u64>);

    impl Clock for FakeClock {
        fn now(&self) -> u64 {
            self.0.get()
        }
        fn sleep(&self, d: Duration) {
            self.0.set(self.0.get() + d.as_secs());
        }
    }

    fn fail() -> std::result::Result<(), Failure> {
        Err(Failure::Transient("connection refused".into()))
    }

    #[test]
    fn opens_refuses_probes_after_cooldown_and_closes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = Root::new(dir.path());
        let state = State::open(&root).expect("state");
        let clock = FakeClock(Cell::new(1_000_000));
        let retry = RetryConfig {
            attempts: 2,
            initial_delay_ms: 1,
            ..RetryConfig::default()
        };
        let b = Breakers::new(&state, &root, BreakerConfig::default(), retry, &clock);
        let tries = Cell::new(0);
        let counting = || {
            tries.set(tries.get() + 1);
            fail()
        };

        for _ in 0..3 {
            let e = b
                .call("net:mirror:80", "mirror", counting)
                .expect_err("a dead endpoint");
            assert!(matches!(e, Error::Unreachable { attempts: 2, .. }), "{e}");
        }
        assert_eq!(tries.get(), 6, "each call retried once");
        assert_eq!(status(&state).expect("status")[0].state, Phase::Open);

        // Open: refused without trying, the breaker named.
        let e = b
            .call("net:mirror:80", "mirror", counting)
            .expect_err("a dead endpoint");
        assert_eq!(tries.get(), 6);
        assert!(e.to_string().contains("net:mirror:80"), "{e}");
        assert!(matches!(e, Error::BreakerOpen { retry_in: 60, .. }), "{e}");

        // After the cooldown one probe goes through; it fails: open again.
        clock.0.set(clock.0.get() + 61);
        b.call("net:mirror:80", "mirror", counting)
            .expect_err("the probe fails");
        assert_eq!(tries.get(), 8);
        assert!(matches!(
            b.call("net:mirror:80", "mirror", counting),
            Err(Error::BreakerOpen { .. })
        ));

        // Next probe succeeds: closed, failures forgotten.
        clock.0.set(clock.0.get() + 61);
        b.call("net:mirror:80", "mirror", || Ok(())).expect("probe");
        let row = &status(&state).expect("status")[0];
        assert_eq!((row.state, row.failures.len()), (Phase::Closed, 0));

        // Other keys are independent; reset closes by key.
        for _ in 0..3 {
            let _ = b.call("net:other:80", "other", fail);
        }
        assert_eq!(
            reset(&state, &root, Some("net:other:80")).expect("reset"),
            1
        );
        assert!(b.call("net:other:80", "other", || Ok(())).is_ok());
        let actions: Vec<String> = crate::audit::query(&state, &Default::default())
            .expect("audit")
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert!(actions.contains(&"breaker.open".to_owned()), "{actions:?}");
        assert!(actions.contains(&"breaker.reset".to_owned()), "{actions:?}");
    }

    #[test]
    fn failures_outside_the_window_do_not_count_and_permanent_ones_are_not_retried() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = Root::new(dir.path());
        let state = State::open(&root).expect("state");
        let clock = FakeClock(Cell::new(1_000_000));
        let b = Breakers::new(
            &state,
            &root,
            BreakerConfig::default(),
            RetryConfig {
                attempts: 1,
                ..RetryConfig::default()
            },
            &clock,
        );
        for _ in 0..2 {
            let _ = b.call("k", "k", fail);
        }
        clock.0.set(clock.0.get() + 301);
        let _ = b.call("k", "k", fail);
        assert_eq!(status(&state).expect("status")[0].state, Phase::Closed);

        let tries = Cell::new(0);
        let b = Breakers::new(
            &state,
            &root,
            BreakerConfig::default(),
            RetryConfig::default(),
            &clock,
        );
        let _ = b.call("p", "p", || -> std::result::Result<(), Failure> {
            tries.set(tries.get() + 1);
            Err(Failure::Permanent("checksum mismatch".into()))
        });
        assert_eq!(tries.get(), 1);
    }
}
