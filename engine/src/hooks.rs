//! Event hooks: executables in `/etc/vpsc/hooks.d/<event>/`, run in name
//! order under run-parts(8) rules (names of letters, digits, `_` and `-`
//! only, so `x.dpkg-old` and `README` are skipped; regular executable
//! files), with the context in `VPSC_*` environment variables.
//!
//! What a failing hook (non-zero exit, or killed) does depends on the event:
//! a `pre-configure` hook vetoes the configure before anything changes;
//! `post-module`, `post-install` and `on-error` hooks are reported and
//! audited but change nothing, since what they follow has happened.

use std::os::fd::AsFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::audit::{self, NewEvent};
use crate::error::{Error, Result};
use crate::root::Root;
use crate::state::State;

/// Directory of the hook directories, relative to the root.
pub const HOOKS_DIR: &str = "/etc/vpsc/hooks.d";

/// When hooks run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Before a module's configure changes anything; may veto it.
    PreConfigure,
    /// After a module was configured and verified.
    PostModule,
    /// Once per apt run, after the system-wide verify (dpkg trigger).
    PostInstall,
    /// After a changing command failed.
    OnError,
}

impl Event {
    /// The directory name under `hooks.d`.
    pub fn name(self) -> &'static str {
        match self {
            Event::PreConfigure => "pre-configure",
            Event::PostModule => "post-module",
            Event::PostInstall => "post-install",
            Event::OnError => "on-error",
        }
    }
}

/// The hooks of `event` that run-parts would run, in order.
fn hooks(root: &Root, event: Event) -> Result<Vec<PathBuf>> {
    let dir = format!("{HOOKS_DIR}/{}", event.name());
    let entries = match root.read_dir_names(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("list", &dir)(e)),
    };
    // A tree's hook is run by its host path: only one that resolves there
    // to the very file found inside the tree (no link on the way) is run.
    let top = std::fs::canonicalize(root.dir()).unwrap_or_else(|_| root.dir().to_path_buf());
    let mut found = Vec::new();
    for name in entries {
        let runnable = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        let inside = format!("{dir}/{name}");
        if !runnable
            || !root
                .metadata(&inside)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        {
            continue;
        }
        let host = root.path(&inside);
        if !root.is_host()
            && std::fs::canonicalize(&host).ok() != Some(top.join(inside.trim_start_matches('/')))
        {
            tracing::warn!(hook = %inside, "not run: a symbolic link leads to it");
            continue;
        }
        found.push(host);
    }
    found.sort();
    Ok(found)
}

/// Runs the hooks of `event` with `context` (names without the `VPSC_`
/// prefix). Each run is an audit event. Returns an error only for a
/// failing `pre-configure` hook.
pub fn run(root: &Root, state: &State, event: Event, context: &[(&str, String)]) -> Result<()> {
    for hook in hooks(root, event)? {
        let mut cmd = Command::new(&hook);
        if !root.is_host() {
            // A tree's hook learns nothing of the caller's environment.
            cmd.env_clear()
                .env("PATH", crate::root::ROOT_PATH)
                .env("LC_ALL", "C.UTF-8");
        }
        cmd.env("VPSC_EVENT", event.name())
            .env("VPSC_ROOT", root.dir())
            .env("VPSC_ACTOR", audit::actor(root))
            .stdin(Stdio::null())
            // Our stdout may be --json for a script: hooks talk on stderr.
            .stdout(Stdio::from(
                std::io::stderr()
                    .as_fd()
                    .try_clone_to_owned()
                    .map_err(Error::io("duplicate", "standard error"))?,
            ));
        for (name, value) in context {
            cmd.env(format!("VPSC_{name}"), value);
        }
        let status = crate::root::waiting(|| cmd.status());
        let outcome = match &status {
            Ok(s) if s.success() => None,
            Ok(s) => Some(match (s.code(), s.signal()) {
                (Some(code), _) => format!("exit {code}"),
                (_, Some(sig)) => format!("killed by signal {sig}"),
                _ => "failed".to_owned(),
            }),
            Err(e) => Some(format!("cannot run: {e}")),
        };
        let recorded = audit::append(
            state,
            NewEvent {
                actor: audit::actor(root),
                action: format!("hook.{}", event.name()),
                target: hook.display().to_string(),
                result: outcome
                    .as_deref()
                    .map_or("ok".to_owned(), |o| format!("error: {o}")),
                details: serde_json::json!(
                    context
                        .iter()
                        .map(|(k, v)| (format!("VPSC_{k}"), v.clone()))
                        .collect::<std::collections::BTreeMap<_, _>>()
                ),
            },
        )?;
        audit::forward(root, &recorded);
        if let Some(why) = outcome {
            if event == Event::PreConfigure {
                return Err(Error::HookRefused {
                    hook: hook.display().to_string(),
                    event: event.name(),
                    why,
                });
            }
            tracing::warn!(hook = %hook.display(), event = event.name(), %why, "hook failed; carrying on");
        }
    }
    Ok(())
}
