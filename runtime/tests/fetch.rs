//! The `fetch` effect through the real `vpsc` binary and apt's own
//! downloader: a file served over HTTP on loopback is installed only with
//! its pinned SHA-256, restored on unconfigure, refused (and nothing
//! written) when the content differs, and a dead server opens the breaker.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Output;

use common::{plan_tree, vpsc_env};
use sha2::{Digest, Sha256};

const BODY: &str = "-----BEGIN PGP PUBLIC KEY BLOCK-----\nnot really a key\n";

fn vpsc(root: &Path, args: &[&str]) -> Output {
    vpsc_env(root, args, &[("VPSC_LOG", "error")])
}

/// Serves `body` for any GET on an ephemeral loopback port.
fn serve(body: &'static str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 2 {
                line.clear();
            }
            let mut stream = stream;
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

fn sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn tree(port: u16, pinned: &str) -> tempfile::TempDir {
    let dir = plan_tree(
        "vendor",
        &format!(
            r#"{{"format":1,"module":"vendor","version":"1.0","parameters":{{}},
                "effects":[{{"kind":"fetch","path":"/etc/vendor/key.asc","url":"http://127.0.0.1:{port}/key.asc","sha256":"{pinned}","mode":420}}],
                "verify":[]}}"#
        ),
        &["etc/vendor", "etc/vpsc"],
    );
    std::fs::write(
        dir.path().join("etc/vpsc/vpsc.yaml"),
        "breaker:\n  failure_threshold: 2\nretry:\n  attempts: 2\n  initial_delay_ms: 20\n",
    )
    .expect("settings");
    dir
}

#[test]
fn a_fetched_file_is_kept_only_with_its_pinned_hash_and_restored_on_removal() {
    let port = serve(BODY);
    let dir = tree(port, &sha256(BODY));
    let root = dir.path();
    let out = vpsc(root, &["configure", "vendor"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(root.join("etc/vendor/key.asc")).expect("fetched"),
        BODY
    );
    let status = String::from_utf8_lossy(&vpsc(root, &["--json", "status"]).stdout).into_owned();
    assert!(status.contains("\"drift\": []"), "{status}");
    std::fs::write(root.join("etc/vendor/key.asc"), "edited\n").expect("edit");
    let status = String::from_utf8_lossy(&vpsc(root, &["--json", "status"]).stdout).into_owned();
    assert!(
        status.contains("/etc/vendor/key.asc"),
        "drift not reported: {status}"
    );
    let out = vpsc(root, &["unconfigure", "vendor"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!root.join("etc/vendor/key.asc").exists());
}

#[test]
fn other_content_is_refused_without_retrying_and_nothing_is_written() {
    let port = serve(BODY);
    let dir = tree(port, &sha256("the key the module expects\n"));
    let root = dir.path();
    let out = vpsc(root, &["configure", "vendor"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "fetching http://127.0.0.1:{port}/key.asc failed after 1 attempt(s)"
        )) && stderr.contains("Hash Sum mismatch"),
        "{stderr}"
    );
    assert!(!root.join("etc/vendor/key.asc").exists());
}

#[test]
fn a_dead_server_opens_the_breaker() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let dir = tree(port, &sha256(BODY));
    let root = dir.path();
    for _ in 0..2 {
        let out = vpsc(root, &["configure", "vendor"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("failed after 2 attempt(s)"), "{stderr}");
    }
    let out = vpsc(root, &["configure", "vendor"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "refused without trying: circuit breaker `net:127.0.0.1:{port}` is open"
        )),
        "{stderr}"
    );
    assert!(!root.join("etc/vendor/key.asc").exists());
}
