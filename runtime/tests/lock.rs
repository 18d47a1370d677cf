//! One lock for every changing command: `vpsc cis remediate` and `vpsc
//! cis revert` wait for a `vpsc configure` that holds the runtime lock,
//! like configure itself, are audited, and fire the on-error hooks.

mod common;

use std::path::Path;
use std::process::Command;

use common::{hook, plan_tree, vpsc};

/// A tree with module `demo` and what CIS rule 1.1.1.1 (cramfs) needs to
/// be remediated: a Debian 13 version file and modprobe.d.
fn tree() -> tempfile::TempDir {
    let dir = plan_tree(
        "demo",
        r#"{"format":1,"module":"demo","version":"1.0","parameters":{},
            "effects":[{"kind":"managed_file","path":"/etc/demo/a.conf","template":"a\n","mode":420}],
            "verify":[]}"#,
        &["etc/demo", "etc/modprobe.d"],
    );
    std::fs::write(dir.path().join("etc/debian_version"), "13.2\n").expect("version");
    dir
}

fn actions(root: &Path, prefix: &str) -> Vec<(String, String)> {
    let out = vpsc(root, &["--json", "audit", "query", "--action", prefix]);
    let events: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("events");
    events
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or_default().to_owned(),
                e["result"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// Starts `vpsc configure demo` and returns once its slow pre-configure
/// hook has begun, i.e. while it holds the runtime lock.
fn configure_holding_the_lock(root: &Path, log: &Path) -> std::process::Child {
    let child = Command::new(env!("CARGO_BIN_EXE_vpsc"))
        .arg("--root")
        .arg(root)
        .args(["configure", "demo"])
        .env("VPSC_LOG", "warn")
        .spawn()
        .expect("start configure");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !std::fs::read_to_string(log)
        .unwrap_or_default()
        .contains("demo start")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "configure never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child
}

#[test]
fn cis_remediate_and_revert_wait_for_a_running_configure() {
    let dir = tree();
    let root = dir.path();
    // Every configure (the module's and remediation's) logs its start and
    // end around a pause, while it holds the lock.
    hook(
        root,
        "pre-configure",
        "10-slow",
        r#"echo "$VPSC_MODULE start" >> "$VPSC_ROOT/order.log"; sleep 2; echo "$VPSC_MODULE end" >> "$VPSC_ROOT/order.log""#,
    );
    let log = root.join("order.log");
    let mut configure = configure_holding_the_lock(root, &log);
    let remediate = vpsc(root, &["cis", "remediate", "--only", "1.1.1.1"]);
    assert!(configure.wait().expect("configure").success());
    assert!(
        remediate.status.success(),
        "{}",
        String::from_utf8_lossy(&remediate.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&log).expect("log"),
        "demo start\ndemo end\ncis start\ncis end\n",
        "remediate began only after configure had finished"
    );
    assert!(
        std::fs::read_to_string(root.join("etc/modprobe.d/vpsc-cis.conf"))
            .expect("remediated")
            .contains("install cramfs /bin/false")
    );

    // Revert waits the same way.
    std::fs::write(&log, "").expect("reset");
    let mut again = configure_holding_the_lock(root, &log);
    let revert = vpsc(root, &["cis", "revert"]);
    let after_revert = std::fs::read_to_string(&log).expect("log");
    assert!(again.wait().expect("configure").success());
    assert!(
        revert.status.success(),
        "{}",
        String::from_utf8_lossy(&revert.stderr)
    );
    assert_eq!(
        after_revert, "demo start\ndemo end\n",
        "revert waited for the lock"
    );
    assert!(!root.join("etc/modprobe.d/vpsc-cis.conf").exists());

    // Both are audited as commands, like configure.
    assert_eq!(
        actions(root, "cis."),
        vec![
            ("cis.remediate".to_owned(), "ok".to_owned()),
            ("cis.revert".to_owned(), "ok".to_owned())
        ]
    );
}

#[test]
fn a_failed_remediation_fires_the_on_error_hooks() {
    let dir = tree();
    let root = dir.path();
    hook(
        root,
        "on-error",
        "10-page",
        r#"echo "$VPSC_ACTION $VPSC_TARGET" >> "$VPSC_ROOT/errors.log""#,
    );
    // A pre-configure veto makes the remediation fail.
    hook(root, "pre-configure", "10-veto", "exit 3");
    let out = vpsc(root, &["cis", "remediate", "--only", "1.1.1.1"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        std::fs::read_to_string(root.join("errors.log")).expect("on-error ran"),
        "cis.remediate cis\n"
    );
    let events = actions(root, "cis.remediate");
    assert_eq!(events.len(), 1);
    assert!(events[0].1.starts_with("error: "), "{events:?}");
}
