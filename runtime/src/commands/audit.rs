//! `vpsc audit query|verify|export`.

use std::io::Write;

use super::print_json;
use crate::audit::{self, Query};
use crate::cli::AuditAction;
use crate::dates::{parse_time, utc};
use crate::error::{Error, Result};
use crate::root::Root;
use crate::state::State;

/// Runs one audit action; `verify` exits 1 when the chain is broken.
pub fn run(root: &Root, state: &State, action: AuditAction, json: bool) -> Result<i32> {
    match action {
        AuditAction::Query {
            since,
            until,
            actor,
            action,
        } => {
            let q = Query {
                since: since
                    .as_deref()
                    .map(|t| parse_time("--since", t))
                    .transpose()?,
                until: until
                    .as_deref()
                    .map(|t| parse_time("--until", t))
                    .transpose()?,
                actor,
                action,
            };
            let events = audit::query(state, &q)?;
            if json {
                print_json(&events);
            } else {
                for e in &events {
                    outln!(
                        "{:>6} {} {:<24} {:<20} {} — {}",
                        e.seq,
                        utc(e.time / 1_000_000),
                        e.actor,
                        e.action,
                        e.target,
                        e.result
                    );
                }
            }
            Ok(0)
        }
        AuditAction::Verify => {
            let verdict = audit::verify_anchored(root, state)?;
            if json {
                print_json(&verdict);
            } else {
                outln!(
                    "audit log intact: {} events, head {}{}",
                    verdict.events,
                    verdict.head,
                    match verdict.anchored {
                        Some(seq) => format!(", anchored up to event {seq} in {}", audit::ANCHOR),
                        None =>
                            format!(" (no {}: a deleted tail could not be told)", audit::ANCHOR),
                    }
                );
            }
            Ok(0)
        }
        AuditAction::Export => {
            let mut out = std::io::stdout().lock();
            for e in audit::query(state, &Query::default())? {
                let line = serde_json::to_string(&e).expect("events serialise");
                match writeln!(out, "{line}") {
                    Ok(()) => {}
                    // The reader has what it wanted (`| head -1`): stop quietly.
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(0),
                    Err(e) => return Err(Error::io("write", "standard output")(e)),
                }
            }
            Ok(0)
        }
    }
}
