//! The audit log through the real `vpsc` binary on `--root` trees: every
//! change is an event, purging keeps them, racing commands lose none, and
//! each kind of edit to the table is caught at the first bad event.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{plan_tree, vpsc_env};

fn vpsc(root: &Path, args: &[&str]) -> Output {
    vpsc_env(root, args, &[("DPKG_MAINTSCRIPT_PACKAGE", "vpsc-mod-demo")])
}

fn ok(root: &Path, args: &[&str]) -> String {
    let out = vpsc(root, args);
    assert!(
        out.status.success(),
        "vpsc {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const PLAN: &str = r#"{"format":1,"module":"demo","version":"1.0","parameters":{},
 "effects":[
   {"kind":"managed_file","path":"/etc/demo/a.conf","template":"a\n","mode":420},
   {"kind":"managed_file","path":"/etc/demo/b.conf","template":"b\n","mode":420}],
 "verify":[]}"#;

fn tree() -> tempfile::TempDir {
    plan_tree("demo", PLAN, &["etc/demo"])
}

fn events(root: &Path) -> Vec<serde_json::Value> {
    serde_json::from_str(&ok(root, &["--json", "audit", "query"])).expect("query --json")
}

/// A tree with seven events: configure (2 effects + 1), unconfigure
/// (2 undos + 1), forget (1).
fn seven_events() -> tempfile::TempDir {
    let dir = tree();
    let root = dir.path();
    ok(root, &["configure", "demo"]);
    ok(root, &["unconfigure", "demo"]);
    ok(root, &["forget", "demo", "--force"]);
    dir
}

#[test]
fn every_change_is_an_event_and_purging_keeps_them() {
    let dir = seven_events();
    let root = dir.path();
    let all = events(root);
    let actions: Vec<&str> = all
        .iter()
        .map(|e| e["action"].as_str().expect("action"))
        .collect();
    assert_eq!(
        actions,
        [
            "effect.apply",
            "effect.apply",
            "module.configure",
            "effect.undo",
            "effect.undo",
            "module.unconfigure",
            "module.forget"
        ]
    );
    assert!(all.iter().all(|e| e["actor"] == "package:vpsc-mod-demo"));
    assert_eq!(all[0]["target"], "demo:file:/etc/demo/a.conf");
    assert_eq!(all[0]["result"], "ok");
    assert_eq!(all[0]["details"]["effect"]["template"], "a\n");
    // The undo records what it restored: nothing was there before.
    assert_eq!(all[3]["target"], "demo:file:/etc/demo/b.conf");

    let verdict: serde_json::Value =
        serde_json::from_str(&ok(root, &["--json", "audit", "verify"])).expect("verify --json");
    assert_eq!(verdict["events"], 7);
    assert_eq!(verdict["head"], all[6]["hash"]);

    let export = ok(root, &["audit", "export"]);
    let lines: Vec<serde_json::Value> = export
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines, all);

    let applied: Vec<serde_json::Value> = serde_json::from_str(&ok(
        root,
        &["--json", "audit", "query", "--action", "effect."],
    ))
    .expect("json");
    assert_eq!(applied.len(), 4);
    let none: Vec<serde_json::Value> = serde_json::from_str(&ok(
        root,
        &["--json", "audit", "query", "--actor", "user:mallory"],
    ))
    .expect("json");
    assert!(none.is_empty());
    let future: Vec<serde_json::Value> = serde_json::from_str(&ok(
        root,
        &["--json", "audit", "query", "--since", "2100-01-01"],
    ))
    .expect("json");
    assert!(future.is_empty());
}

#[test]
fn a_failed_change_is_recorded_with_its_error() {
    let dir = tree();
    let root = dir.path();
    // A directory where the file should go makes the write fail.
    std::fs::create_dir_all(root.join("etc/demo/b.conf/x")).expect("mkdir");
    let out = vpsc(root, &["configure", "demo"]);
    assert_eq!(out.status.code(), Some(2));
    let all = events(root);
    let last = all.last().expect("an event");
    assert_eq!(last["action"], "module.configure");
    assert!(
        last["result"]
            .as_str()
            .expect("result")
            .starts_with("error: "),
        "{last}"
    );
    ok(root, &["audit", "verify"]);
}

#[test]
fn racing_commands_lose_no_event() {
    let dir = tree();
    let root = dir.path();
    ok(root, &["configure", "demo"]);
    let racers: Vec<std::process::Child> = (0..8)
        .map(|i| {
            let args: &[&str] = if i % 2 == 0 {
                &["configure", "demo"]
            } else {
                &["audit", "verify"]
            };
            Command::new(env!("CARGO_BIN_EXE_vpsc"))
                .arg("--root")
                .arg(root)
                .args(args)
                .env("VPSC_LOG", "warn")
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for mut r in racers {
        assert!(r.wait().expect("wait").success());
    }
    let all = events(root);
    // 3 from the first configure, 1 from each of the 4 racing no-op configures.
    assert_eq!(all.len(), 7);
    ok(root, &["audit", "verify"]);
}

/// Each kind of edit, made with SQL as an intruder would, and the event
/// `vpsc audit verify` must name.
#[test]
fn each_kind_of_tampering_is_caught_at_the_first_bad_event() {
    let cases: [(&str, &str, &str); 5] = [
        (
            "edited result",
            "UPDATE audit SET result = 'ok, honest' WHERE seq = 3",
            "broken at event 3: its content does not match its hash",
        ),
        (
            "edited details",
            "UPDATE audit SET details = '{}' WHERE seq = 1",
            "broken at event 1: its content does not match its hash",
        ),
        (
            "deleted event",
            "DELETE FROM audit WHERE seq = 4",
            "broken at event 5: it follows event 3",
        ),
        (
            "inserted event",
            "UPDATE audit SET seq = seq + 100 WHERE seq >= 5; \
             INSERT INTO audit SELECT 5, time, 'user:mallory', action, target, result, details, hash, 'forged' FROM audit WHERE seq = 4; \
             UPDATE audit SET seq = seq - 99 WHERE seq >= 105",
            "broken at event 5: its content does not match its hash",
        ),
        (
            "reordered events",
            "UPDATE audit SET seq = 100 WHERE seq = 2; UPDATE audit SET seq = 2 WHERE seq = 3; UPDATE audit SET seq = 3 WHERE seq = 100",
            "broken at event 2",
        ),
    ];
    for (what, sql, expected) in cases {
        let dir = seven_events();
        let root = dir.path();
        let conn = rusqlite::Connection::open(root.join("var/lib/vpsc/state.db")).expect("open");
        conn.execute_batch(sql)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        drop(conn);
        let out = vpsc(root, &["audit", "verify"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{what}: {stderr}");
        assert!(stderr.contains(expected), "{what}: {stderr}");
        assert!(stderr.contains("hint: the audit table"), "{what}: {stderr}");
    }
}

/// An intruder who knows the hash function and recomputes the edited
/// event's hash only moves the break to the next event.
#[test]
fn a_rehashed_edit_breaks_the_next_link() {
    use sha2::{Digest, Sha256};
    let dir = seven_events();
    let root = dir.path();
    let conn = rusqlite::Connection::open(root.join("var/lib/vpsc/state.db")).expect("open");
    let (time, action, target, result, details, prev): (
        i64,
        String,
        String,
        String,
        String,
        String,
    ) = conn
        .query_row(
            "SELECT time, action, target, result, details, prev FROM audit WHERE seq = 2",
            [],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            },
        )
        .expect("event 2");
    let details: serde_json::Value = serde_json::from_str(&details).expect("details");
    let canonical = serde_json::json!([2, time, "user:nobody", action, target, result, details]);
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(canonical.to_string().as_bytes());
    let hash: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    conn.execute(
        "UPDATE audit SET actor = 'user:nobody', hash = ?1 WHERE seq = 2",
        [hash],
    )
    .expect("rehash");
    drop(conn);
    let out = vpsc(root, &["audit", "verify"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("broken at event 3: its link to the previous event does not match"),
        "{stderr}"
    );
}

/// Deleting the newest events leaves a shorter chain that is intact in
/// itself; the anchor outside the database still tells, naming how many.
#[test]
fn deleting_the_newest_events_is_caught_by_the_anchor() {
    let dir = seven_events();
    let root = dir.path();
    let anchor = std::fs::read_to_string(root.join("var/log/vpsc/audit.anchor")).expect("anchor");
    assert_eq!(anchor.lines().count(), 7, "{anchor}");
    let intact = ok(root, &["audit", "verify"]);
    assert!(intact.contains("anchored up to event 7"), "{intact}");
    let conn = rusqlite::Connection::open(root.join("var/lib/vpsc/state.db")).expect("open");
    conn.execute_batch("DELETE FROM audit WHERE seq > 4")
        .expect("delete the tail");
    drop(conn);
    let out = vpsc(root, &["audit", "verify"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the log ends at event 4, but /var/log/vpsc/audit.anchor records event 7: the newest 3 event(s) are missing"),
        "{stderr}"
    );

    // A tail deleted and forged anew (same length, other content) is caught
    // too: the anchored hash of event 7 differs.
    let dir = seven_events();
    let root = dir.path();
    let conn = rusqlite::Connection::open(root.join("var/lib/vpsc/state.db")).expect("open");
    conn.execute_batch("DELETE FROM audit WHERE seq > 4")
        .expect("delete the tail");
    drop(conn);
    // Three new honest-looking events chain on from event 4.
    std::fs::rename(
        root.join("var/log/vpsc/audit.anchor"),
        root.join("var/log/vpsc/audit.anchor.kept"),
    )
    .expect("hide the anchor");
    ok(root, &["configure", "demo"]);
    std::fs::rename(
        root.join("var/log/vpsc/audit.anchor.kept"),
        root.join("var/log/vpsc/audit.anchor"),
    )
    .expect("put it back");
    let out = vpsc(root, &["audit", "verify"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("broken at event 7"), "{stderr}");
}
