//! Crash points for the fault-injection tests, compiled in only with the
//! `fault-injection` feature (`make test` builds the test binaries with it;
//! the packaged binaries have none of it: the environment variables below
//! mean nothing to them).
//!
//! With `VPSC_FAULT_AT=N` in the environment the process kills itself with
//! SIGKILL at the N-th point it passes (journal writes, effect boundaries,
//! the middle of an atomic file write). That is no more than `kill -9` can
//! do at any moment; the points only make the moments reproducible, so a
//! test can prove that the journal converges from each of them.

/// The version `--version` prints: a test build says it is one.
#[cfg(feature = "fault-injection")]
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (test build: fault injection)");
/// The version `--version` prints: a test build says it is one.
#[cfg(not(feature = "fault-injection"))]
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[cfg(feature = "fault-injection")]
mod injection {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// The environment variable naming the point to die at.
    const FAULT_ENV: &str = "VPSC_FAULT_AT";
    /// The environment variable naming a step to fail at (`user.create.sudoers`).
    const FAIL_ENV: &str = "VPSC_FAIL_STEP";

    static PASSED: AtomicU64 = AtomicU64::new(0);
    static TARGET: OnceLock<Option<u64>> = OnceLock::new();

    pub fn point(name: &str) {
        let target = *TARGET.get_or_init(|| {
            std::env::var(FAULT_ENV)
                .ok()
                .and_then(|v| v.trim().parse().ok())
        });
        let Some(target) = target else {
            return;
        };
        if PASSED.fetch_add(1, Ordering::SeqCst) + 1 == target {
            eprintln!("vpsc: fault injection: SIGKILL at point {target} ({name})");
            let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
        }
    }

    pub fn fail(step: &str) -> crate::Result<()> {
        if std::env::var(FAIL_ENV).is_ok_and(|v| v == step) {
            return Err(crate::Error::Injected {
                step: step.to_owned(),
            });
        }
        Ok(())
    }
}

/// Passes crash point `name`; in a test build, dies here if it is the
/// chosen one.
#[inline]
pub fn point(name: &str) {
    #[cfg(feature = "fault-injection")]
    injection::point(name);
    #[cfg(not(feature = "fault-injection"))]
    let _ = name;
}

/// In a test build, fails with `Error::Injected` when
/// `VPSC_FAIL_STEP` names this step: as if the step's own command had
/// failed, so a test can prove that every earlier step is undone.
#[inline]
pub fn fail(step: &str) -> crate::Result<()> {
    #[cfg(feature = "fault-injection")]
    return injection::fail(step);
    #[cfg(not(feature = "fault-injection"))]
    {
        let _ = step;
        Ok(())
    }
}
