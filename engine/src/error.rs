//! The runtime's error type: data at the bottom, what/why/how at the top.
//!
//! Every variant renders as one "what" line; `source()` carries the "why"
//! and [`Error::hint`] the "how". [`Error::exit_status`] follows the house
//! convention: 1 = checked and found wanting, 2 = bad input or failure.

use std::path::PathBuf;

/// Any failure of a runtime command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A module's plan file is missing or unreadable.
    #[error("cannot read the plan of module `{module}` at {}", path.display())]
    PlanUnreadable {
        /// Module name.
        module: String,
        /// Plan path.
        path: PathBuf,
        /// Underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A plan file exists but is not a valid plan.
    #[error("the plan of module `{module}` at {} is invalid: {reason}", path.display())]
    PlanInvalid {
        /// Module name.
        module: String,
        /// Plan path.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The state database could not be opened or written.
    #[error("state database {} cannot be used", path.display())]
    State {
        /// Database path.
        path: PathBuf,
        /// SQLite error.
        #[source]
        source: rusqlite::Error,
    },
    /// The state database holds a record the runtime cannot read.
    #[error("state database record of {what} is damaged: {reason}")]
    StateCorrupt {
        /// Which record.
        what: String,
        /// Parse error.
        reason: String,
    },
    /// A network step failed after its retries.
    #[error("{what} failed after {attempts} attempt(s): {reason} (circuit breaker `{key}`)")]
    Unreachable {
        /// What was attempted.
        what: String,
        /// The breaker that counted it.
        key: String,
        /// Tries made.
        attempts: u32,
        /// The last failure.
        reason: String,
    },
    /// A call refused without trying because its breaker is open.
    #[error(
        "{what} refused without trying: circuit breaker `{key}` is open after {failures} failure(s), last: {last_error}"
    )]
    BreakerOpen {
        /// What was attempted.
        what: String,
        /// The breaker.
        key: String,
        /// Failures that opened it.
        failures: usize,
        /// Seconds until it lets a probe through.
        retry_in: u64,
        /// The last failure.
        last_error: String,
    },
    /// A `pre-configure` hook vetoed the configure.
    #[error("hook {hook} ({event}) refused: {why}; nothing was changed")]
    HookRefused {
        /// The hook's path.
        hook: String,
        /// The event.
        event: &'static str,
        /// Its exit status.
        why: String,
    },
    /// The audit chain does not hold at an event.
    #[error("the audit log is broken at event {seq}: {why}")]
    AuditBroken {
        /// Sequence number of the first bad event.
        seq: i64,
        /// What does not fit.
        why: String,
    },
    /// A path was not used because following it could reach a file the
    /// runtime must not touch (a link a user could have planted, a hard
    /// link to another owner's file, a FIFO).
    #[error("refusing to {action} {path}: {what}")]
    Refused {
        /// What was about to be done ("write", "read", …).
        action: &'static str,
        /// The path concerned, inside the root.
        path: String,
        /// What is wrong with it, naming the link.
        what: String,
        /// How to repair it.
        hint: String,
    },
    /// A file operation failed.
    #[error("cannot {action} {}", path.display())]
    Io {
        /// What was being done ("write", "read", …).
        action: &'static str,
        /// The path concerned.
        path: PathBuf,
        /// Underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A command could not be started.
    #[error("cannot run `{argv}`")]
    Spawn {
        /// The command line, for display only.
        argv: String,
        /// Underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A command ran and failed.
    #[error("`{argv}` failed ({status}){}", if stderr.is_empty() { String::new() } else { format!(": {}", stderr.trim()) })]
    CommandFailed {
        /// The command line, for display only.
        argv: String,
        /// Exit status description.
        status: String,
        /// What the command printed on stderr.
        stderr: String,
    },
    /// A rendered file was refused by its validator and rolled back.
    #[error("the new {path} was refused by `{argv}`, so the previous state was restored: {output}")]
    Validation {
        /// File that was validated.
        path: String,
        /// Validator command line.
        argv: String,
        /// What the validator printed.
        output: String,
    },
    /// A template could not be rendered with the resolved parameters.
    #[error("cannot render {what} of module `{module}`")]
    Template {
        /// Module name.
        module: String,
        /// Which template (effect key).
        what: String,
        /// minijinja's error, naming the undefined variable and line.
        #[source]
        source: minijinja::Error,
    },
    /// A value given on the command line or in a plan is not acceptable.
    #[error("{what}")]
    Invalid {
        /// What is wrong and with which value.
        what: String,
        /// How to fix it.
        hint: String,
    },
    /// The system is not in a state the effect can be applied to.
    #[error("{what}")]
    Precondition {
        /// What is missing.
        what: String,
        /// How to fix it.
        hint: String,
    },
    /// A requirement of a module does not hold, so nothing was changed.
    #[error(
        "module `{module}` refuses to configure: {check} does not hold ({detail}); nothing was changed"
    )]
    RequirementFailed {
        /// Module name.
        module: String,
        /// The requirement, as a check label.
        check: String,
        /// What was found.
        detail: String,
        /// How to satisfy it, from the module.
        hint: String,
    },
    /// A failure injected by a test build (see `fault.rs`).
    #[cfg(feature = "fault-injection")]
    #[error("failure injected at step `{step}` (VPSC_FAIL_STEP)")]
    Injected {
        /// The step.
        step: String,
    },
    /// A multi-step change failed; the steps it had done were undone.
    #[error("{action} of `{target}` failed at step `{step}`; {undone}")]
    RolledBack {
        /// What was attempted, e.g. `user.create`.
        action: String,
        /// On what.
        target: String,
        /// The step that failed.
        step: String,
        /// What happened to the earlier steps.
        undone: String,
        /// Why the step failed.
        #[source]
        source: Box<Error>,
    },
    /// Verify checks failed.
    #[error("{failed} of {total} verify check(s) failed{}", if modules.is_empty() { String::new() } else { format!(" in {}", modules.join(", ")) })]
    VerifyFailed {
        /// Number of failing checks.
        failed: usize,
        /// Number of checks run.
        total: usize,
        /// Modules with a failing check.
        modules: Vec<String>,
    },
}

/// Result alias for runtime operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// How to fix it, if there is something specific to say.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::PlanUnreadable { module, .. } => Some(format!(
                "is vpsc-mod-{module} installed? `dpkg -L vpsc-mod-{module}` lists its files; reinstall it with `apt install --reinstall vpsc-mod-{module}`"
            )),
            Error::PlanInvalid { module, .. } => Some(format!(
                "reinstall the package (`apt install --reinstall vpsc-mod-{module}`); if it persists, the package was built by an incompatible vpsc-gen"
            )),
            Error::State { .. } | Error::StateCorrupt { .. } => Some(
                "check free space and permissions of /var/lib/vpsc (mode 0700, root only); `sqlite3 /var/lib/vpsc/state.db 'PRAGMA integrity_check'` tells whether the file is damaged".into(),
            ),
            Error::CommandFailed { .. } | Error::Spawn { .. } => Some(
                "fix the cause shown above, then run `dpkg --configure -a` to resume; the journal keeps what was already done".into(),
            ),
            Error::Validation { .. } => Some(
                "adjust the parameters (site overrides or profile) so the validator accepts the file, then run `dpkg --configure -a`".into(),
            ),
            Error::Template { .. } => Some(
                "define the missing parameter in the module's `parameters:` or the profile's overrides".into(),
            ),
            Error::Invalid { hint, .. }
            | Error::Precondition { hint, .. }
            | Error::Refused { hint, .. }
            | Error::RequirementFailed { hint, .. } => Some(hint.clone()),
            Error::VerifyFailed { .. } => Some(
                "run `vpsc verify --json` for the failing checks and their evidence".into(),
            ),
            Error::Unreachable { key, .. } => Some(format!(
                "check the network path (DNS, firewall, proxy in /etc/apt/apt.conf.d) to it, then `dpkg --configure -a`; repeated failures open breaker `{key}` so later steps fail at once"
            )),
            Error::BreakerOpen { key, retry_in, .. } => Some(format!(
                "vpsc tries again in {retry_in} s by itself; once the cause is fixed, `vpsc breaker reset {key}` and `dpkg --configure -a` retry at once"
            )),
            Error::HookRefused { hook, .. } => Some(format!(
                "see the hook's own message above; fix what it checks, or remove {hook}, then `dpkg --configure -a`"
            )),
            Error::AuditBroken { seq, .. } => Some(format!(
                "the audit table of /var/lib/vpsc/state.db was changed outside vpsc; compare with the `vpsc[…]: audit seq=` lines in the system log (journalctl -t vpsc) up to event {seq}, and keep the file as evidence"
            )),
            Error::Io { .. } => None,
            #[cfg(feature = "fault-injection")]
            Error::Injected { .. } => None,
            Error::RolledBack { source, .. } => match source.as_ref() {
                // Their own hints speak of resuming a package configure.
                Error::Validation { .. } | Error::CommandFailed { .. } | Error::Spawn { .. } => Some(
                    "fix what the message above names, then run the same command again; nothing of this attempt is left".into(),
                ),
                other => other.hint(),
            },
        }
    }

    /// Process exit status for this error.
    pub fn exit_status(&self) -> i32 {
        match self {
            Error::VerifyFailed { .. } | Error::AuditBroken { .. } => 1,
            _ => 2,
        }
    }

    /// A YAML file that does not parse: its path with line and column, the
    /// parser's message, and `hint`.
    pub fn yaml(path: &std::path::Path, e: &serde_norway::Error, hint: impl Into<String>) -> Error {
        let at = e
            .location()
            .map(|l| format!(":{}:{}", l.line(), l.column()))
            .unwrap_or_default();
        Error::Invalid {
            what: format!("{}{at}: {e}", path.display()),
            hint: hint.into(),
        }
    }

    /// Builds an [`Error::Io`] for `path`.
    pub fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io {
            action,
            path,
            source,
        }
    }
}
