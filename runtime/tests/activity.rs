//! `vpsc-user activity` through the real binary, on journal files made at
//! test time from export-format fixtures by systemd-journal-remote (Debian
//! package systemd-journal-remote, `make deps`), read by journalctl as on
//! a host, with a `--root` tree holding the people and their roles.
//!
//! `fixtures/journal/sessions.export` is a week of one small host with a
//! known answer for every rule; `vm-logins.export`, when present, is the
//! journal of the VM scenario `activity_from_real_logins` (tests/tests/vm.rs).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use vpsc::audit::{self, NewEvent};
use vpsc::observe::activity::export;
use vpsc::root::Root;
use vpsc::state::State;
use vpsc::users::store::{self, Grant, Status, UserRecord};

const ROLES: &str = "format: 1
roles:
  viewer:
    sudo: []
  admin:
    sudo: [ALL]
    root_equivalent: true
";

/// 2026-03-01 00:00 UTC: the start of the fixture's window.
const SINCE: &str = "2026-03-01";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/journal")
        .join(name)
}

/// The fixture `name` as a `.journal` file in `dir`.
fn journal(dir: &Path, export_file: &Path) -> PathBuf {
    let out = dir.join(format!(
        "{}.journal",
        export_file.file_stem().expect("a name").to_string_lossy()
    ));
    export::to_journal(export_file, &out).expect("systemd-journal-remote (make deps)");
    out
}

fn person(name: &str, uid: u32, roles: &[&str]) -> UserRecord {
    UserRecord {
        name: name.into(),
        uid,
        full_name: format!("Test {name}"),
        email: format!("{name}@example.org"),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        grants: vec![],
        teams: vec![],
        created: 1_767_225_600,
        expires: None,
        status: Status::Active,
        keys: vec![],
        totp: false,
        archive: None,
    }
}

/// A tree with ada (admin), vi (viewer) and cy (viewer, whose temporary
/// admin grant ran from 2026-03-01 00:00 to 12:00 and was swept), and a
/// metrics directory.
fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    std::fs::create_dir_all(root.join("etc/vpsc/rbac")).expect("mkdir");
    std::fs::write(root.join("etc/vpsc/rbac/roles.yaml"), ROLES).expect("roles");
    std::fs::create_dir_all(root.join(vpsc::METRICS_DIR.trim_start_matches('/'))).expect("mkdir");
    let state = State::open(&Root::new(root)).expect("state");
    for p in [
        person("ada", 1001, &["admin"]),
        person("vi", 1002, &["viewer"]),
        person("cy", 1003, &["viewer"]),
    ] {
        store::save_user(&state, &p).expect("save");
    }
    let grant = Grant {
        role: "admin".into(),
        granted: 1_772_323_200,
        until: 1_772_323_200 + 12 * 3600,
    };
    // Stamped now, not in March: a grant's span comes from its own
    // `granted` and `until`, and a change after `until` ends it at `until`.
    for (action, grants) in [
        ("user.temp_access.grant.access", vec![grant]),
        ("user.temp_access.sweep.access", vec![]),
    ] {
        audit::append(
            &state,
            NewEvent {
                actor: "user:root".into(),
                action: action.into(),
                target: "cy".into(),
                result: "ok".into(),
                details: serde_json::json!({"roles": ["viewer"], "grants": grants, "groups": []}),
            },
        )
        .expect("audit");
    }
    dir
}

fn activity(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vpsc-user"))
        .arg("--root")
        .arg(root)
        .args(args)
        .env("VPSC_LOG", "warn")
        .env_remove("DPKG_MAINTSCRIPT_PACKAGE")
        .output()
        .expect("vpsc-user runs")
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn a_week_of_a_host_per_person_with_every_anomaly_rule() {
    let dir = tree();
    let root = dir.path();
    let file = journal(root, &fixture("sessions.export"));
    let out = activity(
        root,
        &[
            "--json",
            "activity",
            "--since",
            SINCE,
            "--file",
            file.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "anomalies make status 1: {out:?}"
    );
    let r = json(&out);

    assert_eq!(r["since"], 1_772_323_200);
    let e = &r["entries"];
    assert_eq!(
        (e["read"].as_u64(), e["events"].as_u64()),
        (Some(38), Some(25)),
        "{e}"
    );
    assert_eq!(
        (e["untrusted"].as_u64(), e["malformed"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(r["notes"], serde_json::json!([]));

    let people: Vec<&str> = r["people"]
        .as_array()
        .expect("people")
        .iter()
        .map(|p| p["user"].as_str().expect("user"))
        .collect();
    assert_eq!(people, ["ada", "cy", "vi"]);
    let ada = &r["people"][0];
    assert_eq!(ada["onboarded"], true);
    assert_eq!(
        ada["logins"],
        serde_json::json!({"accepted": 2, "failed": 1})
    );
    assert_eq!(ada["sudo"], serde_json::json!({"allowed": 1, "refused": 0}));
    assert_eq!(ada["su"], serde_json::json!({"success": 1, "failure": 0}));
    assert_eq!(ada["sessions"], 1);
    assert_eq!(
        ada["addresses"],
        serde_json::json!(["10.0.2.2", "198.51.100.23"])
    );
    assert_eq!(
        ada["keys"],
        serde_json::json!(["SHA256:5lJ7rmOuqVcVBaEr0ABdGY0QtE9M4Hb3mkXIIb8fTAo"])
    );
    let first = &ada["events"][0];
    assert_eq!(first["kind"], "login");
    assert_eq!(first["result"], "accepted");
    assert_eq!(first["method"], "publickey");
    assert_eq!(first["key_type"], "ED25519");
    assert_eq!(
        (first["address"].as_str(), first["port"].as_u64()),
        (Some("10.0.2.2"), Some(50100))
    );
    let kinds: Vec<&str> = ada["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(
        kinds,
        [
            "login", "session", "sudo", "su", "session", "login", "login"
        ]
    );
    assert_eq!(r["invalid_users"][0]["user"], "admin");
    assert_eq!(r["invalid_users"][0]["attempts"], 6);

    let anomalies: Vec<(&str, Option<&str>, i64)> = r["anomalies"]
        .as_array()
        .expect("anomalies")
        .iter()
        .map(|a| {
            (
                a["kind"].as_str().expect("kind"),
                a["user"].as_str(),
                a["time"].as_i64().expect("time"),
            )
        })
        .collect();
    assert_eq!(
        anomalies,
        [
            ("new_source", Some("ada"), 1_772_507_400),
            ("unusual_hour", Some("ada"), 1_772_507_400),
            ("repeated_failures", None, 1_772_539_442),
            ("repeated_failures", Some("admin"), 1_772_539_442),
            ("sudo_without_role", Some("vi"), 1_772_546_400),
            ("use_after_expiry", Some("cy"), 1_772_618_400),
        ]
    );
    let cy = &r["anomalies"][5]["evidence"];
    assert_eq!(
        (cy["grant_role"].as_str(), cy["grant_ended"].as_i64()),
        (Some("admin"), Some(1_772_366_400))
    );
    assert_eq!(r["anomalies"][2]["evidence"]["failures"], 6);
    assert_eq!(
        r["anomalies"][1]["evidence"]["usual_hours"],
        serde_json::json!([9])
    );
}

#[test]
fn one_person_and_the_human_table() {
    let dir = tree();
    let root = dir.path();
    let file = journal(root, &fixture("sessions.export"));
    let f = file.to_str().expect("utf-8");
    let r = json(&activity(
        root,
        &["--json", "activity", "vi", "--since", SINCE, "--file", f],
    ));
    assert_eq!(r["people"].as_array().map(Vec::len), Some(1));
    assert_eq!(r["anomalies"][0]["kind"], "sudo_without_role");
    assert_eq!(r["anomalies"][0]["evidence"]["allowed"], false);
    assert_eq!(
        r["anomalies"][0]["evidence"]["command"],
        "/usr/bin/cat /etc/shadow"
    );

    let out = activity(root, &["activity", "ada", "--since", SINCE, "--file", f]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("login accepted publickey from 10.0.2.2 port 50100 ED25519 SHA256:5lJ7"),
        "{text}"
    );
    assert!(
        text.contains("sudo as root: /usr/bin/id (pts/0, /home/ada)"),
        "{text}"
    );
    assert!(text.contains("new_source"), "{text}");
    assert!(!text.contains("vi "), "only ada: {text}");
}

#[test]
fn record_audits_each_anomaly_once_and_writes_the_gauges() {
    let dir = tree();
    let root = dir.path();
    let file = journal(root, &fixture("sessions.export"));
    let f = file.to_str().expect("utf-8");
    for _ in 0..2 {
        let out = activity(
            root,
            &["activity", "--record", "--since", SINCE, "--file", f],
        );
        assert!(out.status.success(), "{out:?}");
    }
    let state = State::open(&Root::new(root)).expect("state");
    let recorded = audit::query(
        &state,
        &audit::Query {
            action: Some("activity.anomaly".into()),
            ..Default::default()
        },
    )
    .expect("query");
    assert_eq!(recorded.len(), 6, "{recorded:#?}");
    assert_eq!(recorded[0].target, "ada");
    assert_eq!(recorded[0].details["kind"], "new_source");
    assert_eq!(recorded[2].target, "203.0.113.50");
    audit::verify(&state).expect("the chain stays intact");

    let prom = std::fs::read_to_string(
        root.join(vpsc::METRICS_DIR.trim_start_matches('/'))
            .join("vpsc_activity.prom"),
    )
    .expect("vpsc_activity.prom");
    for line in [
        "vpsc_activity_logins{result=\"accepted\"} 2\n",
        "vpsc_activity_logins{result=\"failed\"} 7\n",
        "vpsc_activity_sudo_commands{result=\"refused\"} 1\n",
        "vpsc_activity_anomalies{kind=\"repeated_failures\"} 2\n",
        "vpsc_activity_anomalies{kind=\"use_after_expiry\"} 1\n",
        "vpsc_activity_last_anomaly_timestamp_seconds 1772618400\n",
        "# TYPE vpsc_activity_sessions gauge\n",
    ] {
        assert!(prom.contains(line), "no {line:?} in:\n{prom}");
    }
    if let Ok(out) = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(
            std::fs::File::open(
                root.join(vpsc::METRICS_DIR.trim_start_matches('/'))
                    .join("vpsc_activity.prom"),
            )
            .expect("open"),
        )
        .output()
    {
        assert!(out.status.success(), "promtool: {out:?}");
    }
}

#[test]
fn hostile_entries_are_skipped_or_shown_escaped() {
    let dir = tree();
    let root = dir.path();
    let mut buf = Vec::new();
    let t = |s: i64| ((1_772_323_200 + s) * 1_000_000).to_string();
    let sshd: &[(&str, &[u8])] = &[
        ("SYSLOG_IDENTIFIER", b"sshd-session"),
        ("_UID", b"0"),
        ("_EXE", b"/usr/lib/openssh/sshd-session"),
        ("_BOOT_ID", b"6f0c3a5e9b2d4e71a8c4d2f1e0b9a7c3"),
    ];
    let with = |time: String, msg: Vec<u8>, buf: &mut Vec<u8>| {
        let mut fields: Vec<(&str, &[u8])> = sshd.to_vec();
        fields.push(("__REALTIME_TIMESTAMP", time.as_bytes()));
        fields.push(("MESSAGE", &msg));
        export::write_entry(buf, &fields);
    };
    // A name with a terminal escape and a bell, as a scanner could send.
    with(
        t(60),
        b"Failed password for invalid user \x1b]0;pwned\x07\x1b[2J from 203.0.113.7 port 4444 ssh2"
            .to_vec(),
        &mut buf,
    );
    // A message far larger than any sshd writes.
    with(t(61), vec![b'A'; 4 << 20], &mut buf);
    // Not UTF-8.
    with(
        t(62),
        b"Accepted password for \xff\xfe from 10.0.0.9 port 22 ssh2".to_vec(),
        &mut buf,
    );
    let export_file = root.join("hostile.export");
    std::fs::write(&export_file, &buf).expect("write");
    let file = journal(root, &export_file);
    let f = file.to_str().expect("utf-8");

    let out = activity(root, &["--json", "activity", "--since", SINCE, "--file", f]);
    let r = json(&out);
    assert_eq!(r["entries"]["read"], 3, "{r}");
    assert_eq!(r["entries"]["oversized"], 1, "{r}");
    assert_eq!(
        r["invalid_users"][0]["user"], "\u{1b}]0;pwned\u{7}\u{1b}[2J",
        "kept as sent, escaped by JSON"
    );

    let out = activity(root, &["activity", "--since", SINCE, "--file", f]);
    assert!(
        out.status.success() || out.status.code() == Some(1),
        "{out:?}"
    );
    assert!(
        !out.stdout.contains(&0x1b) && !out.stdout.contains(&0x07),
        "control characters reached the terminal: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("\\u{1b}]0;pwned"));
}

#[test]
fn a_missing_journal_file_is_a_clear_error() {
    let dir = tree();
    let out = activity(
        dir.path(),
        &["activity", "--file", "/nonexistent/x.journal"],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no such journal file"), "{err}");
    let out = activity(dir.path(), &["activity", "--since", "next tuesday"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("hint:"));
}

/// The journal of real logins on a booted Debian 13 (sshd-session of
/// OpenSSH 10, sudo, su, logind 257), exported by the VM scenario.
#[test]
fn real_logins_of_the_vm_scenario() {
    let export_file = fixture("vm-logins.export");
    if !export_file.exists() {
        eprintln!(
            "no {}: run the VM scenario with VPSC_REFRESH_FIXTURES=1",
            export_file.display()
        );
        return;
    }
    let dir = tree();
    let root = dir.path();
    let file = journal(root, &export_file);
    let r = json(&activity(
        root,
        &[
            "--json",
            "activity",
            "ada",
            "--since",
            "0",
            "--file",
            file.to_str().expect("utf-8"),
        ],
    ));
    // sshd-session's unprivileged child may log its disconnect before
    // journald reads its executable: not trusted, and no login in it.
    assert!(r["entries"]["untrusted"].as_u64() <= Some(2), "{r}");
    assert_eq!(r["entries"]["malformed"], 0, "{r}");
    let ada = &r["people"][0];
    assert_eq!(ada["user"], "ada");
    assert!(ada["logins"]["accepted"].as_u64() >= Some(1), "{r}");
    assert!(ada["logins"]["failed"].as_u64() >= Some(1), "{r}");
    let events = ada["events"].as_array().expect("events");
    assert!(events.iter().any(|e| {
        e["kind"] == "login"
            && e["method"] == "publickey"
            && e["fingerprint"]
                .as_str()
                .is_some_and(|f| f.starts_with("SHA256:"))
    }));
    assert!(
        events
            .iter()
            .any(|e| e["kind"] == "sudo" && e["command"] == "/usr/bin/id")
    );
    assert!(
        ada["sessions"].as_u64() >= Some(1),
        "logind's sessions: {r}"
    );

    // Everyone: root's su to ada, vi's refused sudo (a wrong password).
    let all = json(&activity(
        root,
        &[
            "--json",
            "activity",
            "--since",
            "0",
            "--file",
            file.to_str().expect("utf-8"),
        ],
    ));
    let person = |name: &str| {
        all["people"]
            .as_array()
            .and_then(|p| p.iter().find(|p| p["user"] == name))
            .unwrap_or_else(|| panic!("no {name}: {all}"))
            .clone()
    };
    assert_eq!(person("root")["su"]["success"], 1, "{all}");
    assert_eq!(person("vi")["sudo"]["refused"], 1, "{all}");
}
