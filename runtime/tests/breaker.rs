//! Circuit breaking of network steps through the real `vpsc` binary: a
//! `reachable` check pointed at a closed loopback port fails (after its
//! retries) until the breaker opens, then is refused at once with the
//! breaker named, across processes, until it is reset. The half-open probe
//! after the cooldown is shown with an injected clock in `breaker.rs`.

mod common;

use std::path::Path;
use std::process::Output;

use common::vpsc_env;

fn vpsc(root: &Path, args: &[&str]) -> Output {
    vpsc_env(root, args, &[("VPSC_LOG", "error")])
}

/// A loopback port nothing listens on: bound, then released.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

fn tree(port: u16) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    std::fs::create_dir_all(root.join("usr/share/vpsc/modules")).expect("mkdir");
    std::fs::create_dir_all(root.join("etc/vpsc")).expect("mkdir");
    std::fs::write(
        root.join("usr/share/vpsc/modules/mirror.json"),
        format!(
            r#"{{"format":1,"module":"mirror","version":"1.0","parameters":{{"port":{port}}},"effects":[],
               "verify":[{{"reachable":{{"host":"127.0.0.1","port":"{{{{ port }}}}"}}}}]}}"#
        ),
    )
    .expect("plan");
    std::fs::write(
        root.join("etc/vpsc/vpsc.yaml"),
        "breaker:\n  failure_threshold: 2\n  cooldown: 3600\nretry:\n  attempts: 3\n  initial_delay_ms: 50\n",
    )
    .expect("config");
    dir
}

fn breakers(root: &Path) -> Vec<serde_json::Value> {
    let out = vpsc(root, &["--json", "breaker", "status"]);
    serde_json::from_slice(&out.stdout).expect("status --json")
}

#[test]
fn a_dead_endpoint_opens_the_breaker_and_later_calls_fail_at_once() {
    let port = closed_port();
    let dir = tree(port);
    let root = dir.path();
    let key = format!("net:127.0.0.1:{port}");

    for failures in 1..=2 {
        let out = vpsc(root, &["verify", "mirror"]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{stdout}");
        assert!(
            stdout.contains(&format!(
                "connecting to 127.0.0.1:{port} failed after 3 attempt(s)"
            )) && stdout.contains("Connection refused"),
            "{stdout}"
        );
        assert_eq!(
            breakers(root)[0]["failures"]
                .as_array()
                .expect("list")
                .len(),
            failures
        );
    }
    assert_eq!(breakers(root)[0]["state"], "open");

    // Open: a new process is refused without trying, and says which
    // breaker and how to go on; the refusal is not another failure.
    let out = vpsc(root, &["verify", "mirror"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout.contains(&format!(
            "connecting to 127.0.0.1:{port} refused without trying: circuit breaker `{key}` is open after 2 failure(s)"
        )),
        "{stdout}"
    );
    assert_eq!(
        breakers(root)[0]["failures"]
            .as_array()
            .expect("list")
            .len(),
        2
    );

    // The endpoint comes back; the breaker still refuses until it is reset
    // (or its cooldown passes).
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).expect("rebind");
    assert_eq!(vpsc(root, &["verify", "mirror"]).status.code(), Some(1));
    let out = vpsc(root, &["breaker", "reset", &key]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = vpsc(root, &["verify", "mirror"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    drop(listener);

    let events: Vec<serde_json::Value> = serde_json::from_slice(
        &vpsc(root, &["--json", "audit", "query", "--action", "breaker."]).stdout,
    )
    .expect("audit");
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["action"].as_str().expect("action"))
        .collect();
    assert_eq!(actions, ["breaker.open", "breaker.reset"]);
}

#[test]
fn a_malformed_settings_file_is_refused() {
    let dir = tree(closed_port());
    let root = dir.path();
    std::fs::write(
        root.join("etc/vpsc/vpsc.yaml"),
        "breaker:\n  failure_treshold: 2\n",
    )
    .expect("write");
    let out = vpsc(root, &["verify", "mirror"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("vpsc.yaml:2:3: breaker: unknown field `failure_treshold`"),
        "{stderr}"
    );
}
