//! `vpsc-user activity`: who logged in and did what, read from the
//! systemd journal (sshd, sudo, su, systemd-logind), per person, with the
//! anomalies of [`anomaly`].
//!
//! The journal is read from [`HISTORY`] before the window on, so each
//! person's baseline (their addresses and usual hours) comes from their
//! own earlier logins; only the window is reported and judged.
//!
//! - [`export`]: the journal export format, read and written;
//! - [`journal`]: journalctl, its matches, trusted entries;
//! - [`events`]: messages into typed events;
//! - [`since`]: the `--since` argument;
//! - [`people`]: events per person;
//! - [`roles`]: onboarded people, their roles and grant history;
//! - [`baseline`], [`anomaly`]: the rules;
//! - [`record`]: `--record`: the audit log, the state kept, metrics.

pub mod anomaly;
pub mod baseline;
pub mod events;
pub mod export;
pub mod journal;
pub mod people;
pub mod record;
pub mod roles;
pub mod since;

use std::path::PathBuf;

use serde::Serialize;
use vpsc_engine::error::Result;
use vpsc_engine::localtime::Zone;
use vpsc_engine::root::Root;

pub use anomaly::{Anomaly, Kind};
pub use events::Event;
pub use journal::Counts;
pub use people::{InvalidUser, Person};
pub use roles::Directory;

/// How far before the window the journal is read for the baselines.
pub const HISTORY: i64 = 90 * 86_400;

/// What to read.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--since` as given; default [`since::DEFAULT_WINDOW`] before now.
    pub since: Option<String>,
    /// Journal files to read instead of the system journal.
    pub files: Vec<PathBuf>,
    /// The current time (Unix seconds).
    pub now: i64,
}

/// The result of `vpsc-user activity`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Start of the window (Unix seconds).
    pub since: i64,
    /// End of the window: now.
    pub until: i64,
    /// Time zone of the hours judged.
    pub zone: String,
    /// What became of the journal entries read (window and history).
    pub entries: Counts,
    /// People active in the window, by name.
    pub people: Vec<Person>,
    /// Names sshd did not know, tried in the window.
    pub invalid_users: Vec<InvalidUser>,
    /// Anomalies in the window, oldest first.
    pub anomalies: Vec<Anomaly>,
    /// What could not be judged, and why.
    pub notes: Vec<String>,
}

impl Report {
    /// The report narrowed to one person: their entry and anomalies.
    pub fn only(mut self, user: &str) -> Report {
        self.people.retain(|p| p.user == user);
        self.invalid_users.retain(|i| i.user == user);
        self.anomalies.retain(|a| a.user.as_deref() == Some(user));
        self
    }
}

/// Reads the journal of `root` (or `opts.files`) and reports the window.
pub fn run(root: &Root, opts: &Options) -> Result<Report> {
    let zone = Zone::of_root(root).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "time zone unreadable; hours judged in UTC");
        Zone::utc()
    });
    let since = match &opts.since {
        Some(text) => since::parse(text, opts.now, &zone)?,
        None => opts.now - since::DEFAULT_WINDOW,
    };
    let (events, counts) = journal::read(
        root,
        &opts.files,
        Some((since - HISTORY) * 1_000_000),
        opts.now.saturating_mul(1_000_000),
    )?;
    let (dir, notes) = Directory::load(root)?;
    Ok(analyse(
        &events, counts, since, opts.now, &dir, &zone, notes,
    ))
}

/// The report of `events` (time order, history included) for the window
/// from `since` to `now`.
pub fn analyse(
    events: &[Event],
    entries: Counts,
    since: i64,
    now: i64,
    dir: &Directory,
    zone: &Zone,
    notes: Vec<String>,
) -> Report {
    let since_us = since.saturating_mul(1_000_000);
    let anomalies = anomaly::find(
        events,
        since_us,
        dir,
        |t| zone.offset_at(t),
        anomaly::Rules::default(),
    );
    let first = events.partition_point(|e| e.time_us < since_us);
    let (people, invalid_users) = people::group(&events[first..], dir);
    Report {
        since,
        until: now,
        zone: zone.name.clone(),
        entries,
        people,
        invalid_users,
        anomalies,
        notes,
    }
}
