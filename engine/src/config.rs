//! `/etc/vpsc/vpsc.yaml`: the runtime's own settings, all optional.
//!
//! ```yaml
//! breaker:
//!   failure_threshold: 3   # failures within `window` that open a breaker
//!   window: 300            # seconds
//!   cooldown: 60           # seconds a breaker stays open before one probe
//!   success_threshold: 1   # successful probes that close it again
//! retry:
//!   attempts: 3            # tries of one transient operation
//!   initial_delay_ms: 200  # first back-off, doubled each time, with jitter
//!   max_delay_ms: 2000
//!   max_total_ms: 10000    # never retry past this much time in all
//! ```

use std::time::Duration;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::root::Root;

/// Path of the settings file relative to the root.
pub const CONFIG: &str = "/etc/vpsc/vpsc.yaml";

/// All settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Circuit breakers.
    pub breaker: BreakerConfig,
    /// Retries of transient failures.
    pub retry: RetryConfig,
}

/// When a breaker opens and closes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BreakerConfig {
    /// Failures within `window` that open the breaker.
    pub failure_threshold: u32,
    /// Seconds over which failures are counted.
    pub window: u64,
    /// Seconds an open breaker refuses calls before it lets one probe by.
    pub cooldown: u64,
    /// Successful probes that close a half-open breaker.
    pub success_threshold: u32,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            failure_threshold: 3,
            window: 300,
            cooldown: 60,
            success_threshold: 1,
        }
    }
}

/// How transient failures are retried.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    /// Tries in all (1 = no retry).
    pub attempts: u32,
    /// First back-off in milliseconds.
    pub initial_delay_ms: u64,
    /// Largest single back-off.
    pub max_delay_ms: u64,
    /// Bound on the time spent retrying one operation.
    pub max_total_ms: u64,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            attempts: 3,
            initial_delay_ms: 200,
            max_delay_ms: 2000,
            max_total_ms: 10_000,
        }
    }
}

impl RetryConfig {
    /// The bound on all retrying of one operation.
    pub fn max_total(&self) -> Duration {
        Duration::from_millis(self.max_total_ms)
    }
}

impl Config {
    /// Reads the settings under `root`; a missing file means the defaults.
    pub fn load(root: &Root) -> Result<Config> {
        let path = std::path::PathBuf::from(CONFIG);
        let text = match root.read_to_string(CONFIG) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(e) => return Err(Error::io("read", &path)(e)),
        };
        if text.trim().is_empty() {
            return Ok(Config::default());
        }
        let config: Config = serde_norway::from_str(&text).map_err(|e| {
            Error::yaml(
                &path,
                &e,
                "see vpsc(1) for the settings and their defaults, or delete the file",
            )
        })?;
        if config.breaker.failure_threshold == 0
            || config.breaker.success_threshold == 0
            || config.retry.attempts == 0
        {
            return Err(Error::Invalid {
                what: format!(
                    "{}: failure_threshold, success_threshold and attempts must be at least 1",
                    path.display()
                ),
                hint: "use 1 to turn retries off; a breaker cannot be turned off".into(),
            });
        }
        Ok(config)
    }
}
