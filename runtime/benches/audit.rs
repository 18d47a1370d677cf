//! Audit log figures for `make bench` (no assertions): appending 10,000
//! events, each its own transaction as the runtime commits them
//! (`synchronous=NORMAL`, see `State::relaxed`); for comparison, each
//! forced to disk (`synchronous=FULL`, one fsync each) and all in one
//! transaction; and verifying a chain of 100,000. Targets: under 1 s each.

use std::time::Instant;

use vpsc::audit::{self, NewEvent};
use vpsc::root::Root;
use vpsc::state::State;

fn event(i: usize) -> NewEvent {
    NewEvent {
        actor: "package:vpsc-mod-bench".into(),
        action: "effect.apply".into(),
        target: format!("bench:file:/etc/bench/{i}.conf"),
        result: "ok".into(),
        details: serde_json::json!({ "module": "bench", "effect": { "kind": "managed_file", "path": format!("/etc/bench/{i}.conf"), "mode": 420 } }),
    }
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = Root::new(dir.path());
    let state = State::open(&root).expect("state");

    let start = Instant::now();
    for i in 0..10_000 {
        audit::append(&state, event(i)).expect("append");
    }
    let appended = start.elapsed();
    println!(
        "append 10,000 events (one transaction each, as the runtime commits them): {:.0} ms, {:.1} µs per event",
        appended.as_secs_f64() * 1000.0,
        appended.as_secs_f64() * 1e6 / 10_000.0
    );

    // The same appends, each waiting for the disk: what a journal intent
    // costs, and what the audit log would cost if it never relaxed.
    let start = Instant::now();
    for i in 100_000..110_000 {
        state
            .atomically(|| audit::append(&state, event(i)))
            .expect("append");
    }
    let forced = start.elapsed();
    println!(
        "append 10,000 events, each fsynced (synchronous=FULL, for comparison): {:.0} ms, {:.1} µs per event",
        forced.as_secs_f64() * 1000.0,
        forced.as_secs_f64() * 1e6 / 10_000.0
    );

    let start = Instant::now();
    state
        .atomically(|| {
            for i in 10_000..20_000 {
                audit::append(&state, event(i))?;
            }
            Ok(())
        })
        .expect("batch");
    let batched = start.elapsed();
    println!(
        "append 10,000 events in one transaction: {:.0} ms, {:.1} µs per event",
        batched.as_secs_f64() * 1000.0,
        batched.as_secs_f64() * 1e6 / 10_000.0
    );

    // Grow the chain to 100,000: only verify is timed.
    state
        .atomically(|| {
            for i in 30_000..100_000 {
                audit::append(&state, event(i))?;
            }
            Ok(())
        })
        .expect("grow");
    let start = Instant::now();
    let verdict = audit::verify(&state).expect("intact");
    let verified = start.elapsed();
    println!(
        "verify a chain of {} events: {:.0} ms",
        verdict.events,
        verified.as_secs_f64() * 1000.0
    );
}
