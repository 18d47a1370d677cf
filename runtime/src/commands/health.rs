//! `vpsc health`.

use super::print_json;
use crate::error::Result;
use crate::observe::health::{self, Status};
use crate::root::Root;
use crate::state::State;

/// Prints the host's health; 0 healthy, 1 degraded (naming why), 2 when
/// it cannot be judged (an unreadable state database: the error).
pub fn run(root: &Root, json: bool) -> Result<i32> {
    let state = State::open(root)?;
    let facts = health::gather(root, &state, crate::dates::now())?;
    let findings = health::judge(&facts);
    let overall = health::overall(&findings);
    if json {
        print_json(&serde_json::json!({
            "status": overall,
            "findings": findings,
            "facts": facts,
        }));
    } else {
        for f in &findings {
            outln!("{:<8} {:<10} {}", f.status.word(), f.name, f.summary);
        }
        match overall {
            Status::Degraded => {
                let why: Vec<&str> = findings
                    .iter()
                    .filter(|f| f.status == Status::Degraded)
                    .map(|f| f.name.as_str())
                    .collect();
                outln!("degraded: {}", why.join(", "));
            }
            _ => outln!("healthy"),
        }
    }
    Ok(i32::from(overall == Status::Degraded))
}
