//! `vpsc breaker status|reset`.

use super::print_json;
use crate::breaker::{self, Phase};
use crate::cli::BreakerAction;
use crate::error::Result;
use crate::root::Root;
use crate::state::State;

/// Shows or resets breakers.
pub fn run(root: &Root, state: &State, action: BreakerAction, json: bool) -> Result<i32> {
    match action {
        BreakerAction::Status => {
            let rows = breaker::status(state)?;
            if json {
                print_json(&rows);
            } else if rows.is_empty() {
                outln!("no breaker has seen a failure");
            } else {
                for r in rows {
                    let state = match r.state {
                        Phase::Closed => "closed",
                        Phase::Open => "OPEN",
                        Phase::HalfOpen => "half-open",
                    };
                    outln!(
                        "{state:<9} {} — {} recent failure(s){}",
                        r.key,
                        r.failures.len(),
                        if r.last_error.is_empty() {
                            String::new()
                        } else {
                            format!(", last: {}", r.last_error)
                        }
                    );
                }
            }
            Ok(0)
        }
        BreakerAction::Reset { key } => {
            let n = breaker::reset(state, root, key.as_deref())?;
            if json {
                print_json(&serde_json::json!({ "reset": n }));
            } else {
                eprintln!("vpsc: {n} breaker(s) reset");
            }
            Ok(0)
        }
    }
}
