//! A change made of steps, each with its undo: when a step fails, the
//! steps before it are undone newest first, so a failed `vpsc-user create`
//! leaves no trace on the system. Every step done or undone is an audit
//! event (`user.create.account`, `user.create.account.undo`).
//!
//! The undo stack lives in memory. A process killed mid-way cannot use it;
//! for `create`, a durable mark written before the first step lets the
//! next `vpsc-user` command take the half-made account back (see
//! [`super::recover`]).

use vpsc_engine::audit::{self, NewEvent};
use vpsc_engine::error::{Error, Result};
use vpsc_engine::root::Root;
use vpsc_engine::state::State;

type Undo<'a> = Box<dyn FnOnce() -> Result<()> + 'a>;

/// Steps done so far, with their undos.
pub struct Tx<'a> {
    root: &'a Root,
    state: &'a State,
    action: String,
    target: String,
    done: Vec<(String, Undo<'a>)>,
    /// Names of the steps done, in order.
    pub steps: Vec<String>,
}

impl<'a> Tx<'a> {
    /// Starts `action` (e.g. `user.create`) on `target`.
    pub fn new(root: &'a Root, state: &'a State, action: &str, target: &str) -> Tx<'a> {
        Tx {
            root,
            state,
            action: action.to_owned(),
            target: target.to_owned(),
            done: Vec::new(),
            steps: Vec::new(),
        }
    }

    /// Runs step `name`: `apply` returns the step's audit details and its
    /// undo. On failure every earlier step is undone and the error says so.
    pub fn step(
        &mut self,
        name: &str,
        apply: impl FnOnce() -> Result<(serde_json::Value, Undo<'a>)>,
    ) -> Result<()> {
        let full = format!("{}.{name}", self.action);
        vpsc_engine::fault::point("user.step.before");
        let outcome = vpsc_engine::fault::fail(&full).and_then(|()| apply());
        vpsc_engine::fault::point("user.step.after");
        match outcome {
            Ok((details, undo)) => {
                self.record(&full, "ok", details)?;
                self.done.push((name.to_owned(), undo));
                self.steps.push(name.to_owned());
                Ok(())
            }
            Err(e) => {
                let _ = self.record(&full, &format!("error: {e}"), serde_json::json!({}));
                Err(self.roll_back(name, e))
            }
        }
    }

    /// Keeps every step: the change is complete.
    pub fn commit(self) -> Vec<String> {
        self.steps
    }

    fn roll_back(&mut self, failed: &str, cause: Error) -> Error {
        let mut errors = Vec::new();
        let count = self.done.len();
        while let Some((name, undo)) = self.done.pop() {
            let full = format!("{}.{name}.undo", self.action);
            match undo() {
                Ok(()) => {
                    let _ = self.record(&full, "ok", serde_json::json!({}));
                }
                Err(e) => {
                    let _ = self.record(&full, &format!("error: {e}"), serde_json::json!({}));
                    errors.push(format!("{name}: {e}"));
                }
            }
        }
        let undone = if errors.is_empty() {
            format!("the {count} step(s) before it were undone, nothing was left")
        } else {
            format!(
                "undoing the earlier steps failed for {}; fix that by hand",
                errors.join("; ")
            )
        };
        Error::RolledBack {
            action: self.action.clone(),
            target: self.target.clone(),
            step: failed.to_owned(),
            undone,
            source: Box::new(cause),
        }
    }

    fn record(&self, action: &str, result: &str, details: serde_json::Value) -> Result<()> {
        let event = self.state.relaxed(|| {
            audit::append(
                self.state,
                NewEvent {
                    actor: audit::actor(self.root),
                    action: action.to_owned(),
                    target: self.target.clone(),
                    result: result.to_owned(),
                    details,
                },
            )
        })?;
        audit::forward(self.root, &event);
        Ok(())
    }
}
