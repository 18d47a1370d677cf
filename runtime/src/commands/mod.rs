//! One file per subcommand, mirroring the CLI.

/// `println!` that never panics: a reader that went away (`vpsc audit
/// export | head -1`) ends the output, never the command or its audit;
/// any other write error (a full disk under `> file`) is logged.
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        $crate::commands::stdout_result(writeln!(std::io::stdout(), $($t)*));
    }};
}

/// `print!` that never panics (see [`outln!`]).
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        $crate::commands::stdout_result(write!(std::io::stdout(), $($t)*));
    }};
}

/// What a failed write to stdout means: nothing when the reader went
/// away, a logged error otherwise.
pub(crate) fn stdout_result(result: std::io::Result<()>) {
    if let Err(e) = result {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            tracing::error!(error = %e, "cannot write standard output");
        }
    }
}

mod activity;
mod audit;
mod breaker;
mod cis;
mod configure;
mod dora;
mod health;
mod integrity;
mod metrics;
mod profile;
mod rbac;
mod report;
mod rollback;
mod status;
mod triggered;
pub mod user;
mod verify;
mod withdraw;

use std::fs::File;

use nix::fcntl::{Flock, FlockArg};
use std::os::unix::fs::OpenOptionsExt;

use crate::cli::{Cli, Command, ProfileAction};
use crate::error::{Error, Result};
use crate::root::Root;
use crate::state::State;

/// Runs the parsed command line; returns the process exit status.
pub fn run(cli: Cli) -> Result<i32> {
    let root = Root::from_arg(cli.root);
    if !root.dir().is_dir() {
        return Err(Error::Invalid {
            what: format!("root {} is not a directory", root.dir().display()),
            hint: "pass an existing directory to --root (or unset DPKG_ROOT)".into(),
        });
    }
    match cli.command {
        Command::Configure { module, from } => {
            let (state, _lock) = open_locked(&root)?;
            let result = configure::configure(&root, &state, &module, from.as_deref(), cli.json);
            activate_system_verify(&result);
            audited(&root, &state, "module.configure", &module, result)
        }
        Command::Unconfigure { module } => {
            let (state, _lock) = open_locked(&root)?;
            let result = configure::unconfigure(&root, &state, &module, cli.json);
            activate_system_verify(&result);
            audited(&root, &state, "module.unconfigure", &module, result)
        }
        Command::Forget { module, force } => {
            let (state, _lock) = open_locked(&root)?;
            let result = configure::forget(&state, &module, force, cli.json);
            audited(&root, &state, "module.forget", &module, result)
        }
        Command::Verify { modules } => {
            let state = State::open(&root)?;
            verify::verify(&root, &state, &modules, cli.json)
        }
        Command::Status => {
            let state = State::open(&root)?;
            status::status(&root, &state, cli.json)
        }
        Command::Profile { action } => {
            let (state, _lock) = open_locked(&root)?;
            match action {
                ProfileAction::Apply { name } => {
                    let result = profile::apply(&root, &state, &name, cli.json);
                    audited(&root, &state, "profile.apply", &name, result)
                }
                ProfileAction::Release { name } => {
                    let result = profile::release(&root, &state, &name, cli.json);
                    audited(&root, &state, "profile.release", &name, result)
                }
            }
        }
        Command::Triggered { triggers } => {
            let (state, _lock) = open_locked(&root)?;
            triggered::triggered(&root, &state, &triggers, cli.json)
        }
        Command::Cis { action } => cis::run(&root, action, cli.json),
        Command::Withdraw => {
            let (state, _lock) = open_locked(&root)?;
            let result = withdraw::withdraw(&root, &state, cli.json);
            audited(&root, &state, "runtime.withdraw", "vpsc-runtime", result)
        }
        Command::Breaker { action } => {
            let (state, _lock) = open_locked(&root)?;
            breaker::run(&root, &state, action, cli.json)
        }
        Command::Rbac { action } => {
            let state = State::open(&root)?;
            rbac::run(&root, &state, action, cli.json)
        }
        Command::Audit { action } => {
            let state = State::open(&root)?;
            audit::run(&root, &state, action, cli.json)
        }
        Command::Health => health::run(&root, cli.json),
        Command::Metrics { action } => metrics::run(&root, action, cli.json),
        Command::Integrity { action } => integrity::run(&root, action, cli.json),
        Command::Dora { since } => dora::run(&root, since.as_deref(), cli.json),
        Command::Report { html } => report::run(&root, html.as_deref(), cli.json),
        // Audits itself: apt's run removes the journal it would write to.
        Command::Rollback { profile, dry_run } => {
            rollback::rollback(&root, &profile, dry_run, cli.json)
        }
    }
}

/// Inside a maintainer script, after a module changed: activates
/// vpsc-runtime's `vpsc-verify` trigger, so dpkg runs one system-wide
/// verify at the end of its run (`vpsc triggered`). dpkg-trigger finds the
/// right database through the DPKG_ADMINDIR dpkg exports to the script.
/// The file trigger alone would miss the first installation: dpkg ignores
/// activations for a package that is not configured yet.
fn activate_system_verify(result: &Result<i32>) {
    if result.is_err() || std::env::var_os("DPKG_MAINTSCRIPT_PACKAGE").is_none() {
        return;
    }
    match std::process::Command::new("dpkg-trigger")
        .args(["--no-await", "vpsc-verify"])
        .status()
    {
        Ok(s) if s.success() => {}
        Ok(s) => tracing::warn!(status = %s, "dpkg-trigger vpsc-verify failed"),
        Err(e) => tracing::warn!(error = %e, "cannot run dpkg-trigger"),
    }
}

/// Records the outcome of a changing command in the audit log (each
/// effect it applied or undid has its own event already), then passes
/// the outcome on. A failure to record fails the command: an unaudited
/// change is not acceptable.
pub(crate) fn audited(
    root: &Root,
    state: &State,
    action: &str,
    target: &str,
    result: Result<i32>,
) -> Result<i32> {
    let outcome = match &result {
        Ok(0) => "ok".to_owned(),
        Ok(code) => format!("exit {code}"),
        Err(e) => format!("error: {e}"),
    };
    record_outcome(root, state, action, target, outcome, result.as_ref().err())?;
    result
}

/// Appends a command's outcome to the audit log and, on an error, runs
/// the on-error hooks.
pub(crate) fn record_outcome(
    root: &Root,
    state: &State,
    action: &str,
    target: &str,
    outcome: String,
    error: Option<&Error>,
) -> Result<()> {
    let details = serde_json::json!({});
    record_event(root, state, action, target, outcome, details, error)
}

/// As [`record_outcome`], with `details`.
pub(crate) fn record_event(
    root: &Root,
    state: &State,
    action: &str,
    target: &str,
    outcome: String,
    details: serde_json::Value,
    error: Option<&Error>,
) -> Result<()> {
    let event = crate::audit::append(
        state,
        crate::audit::NewEvent {
            actor: crate::audit::actor(root),
            action: action.into(),
            target: target.into(),
            result: outcome,
            details,
        },
    )?;
    crate::audit::forward(root, &event);
    if let Some(e) = error {
        let context = [
            ("ACTION", action.to_owned()),
            ("TARGET", target.to_owned()),
            ("ERROR", e.to_string()),
        ];
        // The command's own error is what the administrator must see.
        if let Err(hook_error) =
            crate::hooks::run(root, state, crate::hooks::Event::OnError, &context)
        {
            tracing::error!(error = %hook_error, "on-error hooks could not run");
        }
    }
    Ok(())
}

/// Opens the state and takes the runtime's exclusive lock, so two changing
/// commands never interleave their effects; readers need no lock.
pub(crate) fn open_locked(root: &Root) -> Result<(State, Flock<File>)> {
    let state = State::open(root)?;
    let path = crate::state::state_dir(root)?.1.join("lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .mode(0o600)
        .open(&path)
        .map_err(Error::io("open", &path))?;
    let lock = Flock::lock(lock, FlockArg::LockExclusive)
        .map_err(|(_, errno)| Error::io("lock", &path)(std::io::Error::from(errno)))?;
    Ok((state, lock))
}

/// Prints `value` as one JSON document on stdout.
pub(crate) fn print_json<T: serde::Serialize>(value: &T) {
    outln!(
        "{}",
        serde_json::to_string_pretty(value).expect("output types serialise")
    );
}

/// Whether to colour what goes to `stream`: a terminal, and `NO_COLOR`
/// unset or empty (<https://no-color.org>).
pub fn colour(stream: &impl std::io::IsTerminal) -> bool {
    stream.is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Logs go to stderr; `VPSC_LOG` takes an env-filter (default `info`).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("VPSC_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour(&std::io::stderr()))
        .without_time()
        .with_target(false)
        .init();
}

/// Prints `err` as `PROGRAM: error: …`, each cause, then the hint.
pub fn report(program: &str, err: &Error) {
    eprintln!("{program}: error: {err}");
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        eprintln!("  caused by: {cause}");
        source = cause.source();
    }
    if let Some(hint) = err.hint() {
        eprintln!("  hint: {hint}");
    }
}
