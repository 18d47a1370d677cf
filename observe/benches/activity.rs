//! Figures of `vpsc-user activity` for `make bench` (no assertions): a
//! journal of 100,000 entries of sshd, sudo, su and systemd-logind (a busy
//! host's quarter: logins of 50 people, scanners trying names, sudo,
//! sessions), written in export format, made a `.journal` file by
//! systemd-journal-remote, and read back the way activity reads a host:
//! journalctl with matches and `--output-fields`, parsed, grouped per
//! person, judged by every rule, rendered as JSON. Target: under 1 s.
//! For comparison, journalctl alone writing export and writing JSON.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use vpsc_engine::root::Root;
use vpsc_engine::state::State;
use vpsc_observe::activity::{self, Options, export, journal};
use vpsc_users::store::{self, Status, UserRecord};

const ENTRIES: usize = 100_000;
/// 2026-01-01 00:00 UTC.
const START: i64 = 1_767_225_600;

fn journal_file(dir: &std::path::Path) -> std::path::PathBuf {
    let sshd: (&str, &str) = ("sshd-session", "/usr/lib/openssh/sshd-session");
    let sudo = ("sudo", "/usr/bin/sudo");
    let su = ("su", "/usr/bin/su");
    let logind = ("systemd-logind", "/usr/lib/systemd/systemd-logind");
    let fp = "SHA256:5lJ7rmOuqVcVBaEr0ABdGY0QtE9M4Hb3mkXIIb8fTAo";
    let mut buf = Vec::with_capacity(ENTRIES * 400);
    // One entry every 77 s: 100,000 of them span about 89 days.
    for i in 0..ENTRIES {
        let t = START + i as i64 * 77;
        let person = format!("u{}", i % 50);
        let pid = (10_000 + i % 30_000).to_string();
        let (prog, msg, session) = match i % 10 {
            0 | 1 => (
                sshd,
                format!(
                    "Accepted publickey for {person} from 10.0.{}.{} port {} ssh2: ED25519 {fp}",
                    i % 3,
                    i % 50,
                    1024 + i % 60_000
                ),
                None,
            ),
            2 => (
                sshd,
                format!(
                    "Failed password for invalid user x{} from 203.0.113.{} port {} ssh2",
                    i % 997,
                    i % 250,
                    1024 + i % 60_000
                ),
                None,
            ),
            3 => (
                sshd,
                format!(
                    "Received disconnect from 10.0.0.{} port {}:11: disconnected by user",
                    i % 50,
                    1024 + i % 60_000
                ),
                None,
            ),
            4 | 5 => (
                sudo,
                format!(
                    "    {person} : TTY=pts/0 ; PWD=/home/{person} ; USER=root ; COMMAND=/usr/bin/systemctl status nginx"
                ),
                None,
            ),
            6 => (su, format!("(to root) {person} on pts/{}", i % 4), None),
            7 => (
                logind,
                format!("New session '{i}' of user '{person}' with class 'user' and type 'tty'."),
                Some((i.to_string(), person.clone(), "user")),
            ),
            8 => (
                logind,
                format!("Removed session {}.", i - 1),
                Some(((i - 1).to_string(), person.clone(), "")),
            ),
            _ => (
                sshd,
                format!(
                    "Connection closed by authenticating user {person} 10.0.0.{} port {} [preauth]",
                    i % 50,
                    1024 + i % 60_000
                ),
                None,
            ),
        };
        let realtime = (t * 1_000_000).to_string();
        let monotonic = (i as i64 * 77 * 1_000_000 + 1).to_string();
        let mut fields: Vec<(&str, &[u8])> = vec![
            ("__REALTIME_TIMESTAMP", realtime.as_bytes()),
            ("__MONOTONIC_TIMESTAMP", monotonic.as_bytes()),
            ("_BOOT_ID", b"6f0c3a5e9b2d4e71a8c4d2f1e0b9a7c3"),
            ("_HOSTNAME", b"vps1"),
            ("PRIORITY", b"6"),
            ("SYSLOG_IDENTIFIER", prog.0.as_bytes()),
            ("_UID", b"0"),
            ("_GID", b"0"),
            ("_EXE", prog.1.as_bytes()),
            ("_PID", pid.as_bytes()),
            ("_TRANSPORT", b"syslog"),
        ];
        let s;
        if let Some((id, user, class)) = &session {
            s = (id.clone(), user.clone(), class.to_string());
            fields.push(("_SYSTEMD_UNIT", b"systemd-logind.service"));
            fields.push(("SESSION_ID", s.0.as_bytes()));
            fields.push(("USER_ID", s.1.as_bytes()));
            if !s.2.is_empty() {
                fields.push(("CLASS", s.2.as_bytes()));
            }
        }
        fields.push(("MESSAGE", msg.as_bytes()));
        export::write_entry(&mut buf, &fields);
    }
    let export_path = dir.join("bench.export");
    std::fs::write(&export_path, &buf).expect("write the export");
    let journal_path = dir.join("bench.journal");
    let started = Instant::now();
    export::to_journal(&export_path, &journal_path).expect("systemd-journal-remote");
    println!(
        "built a journal of {ENTRIES} entries ({:.1} MB export) in {:.1} s",
        buf.len() as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    journal_path
}

fn journalctl_alone(root: &Root, file: &std::path::Path, output: &str) -> Duration {
    let mut argv = journal::argv(root, &[file.to_path_buf()], None, None);
    argv.retain(|a| !a.starts_with("--output="));
    argv.push(format!("--output={output}"));
    let started = Instant::now();
    let status = Command::new(&argv[0])
        .args(&argv[1..])
        .stdout(Stdio::null())
        .status()
        .expect("journalctl");
    assert!(status.success(), "journalctl {output}");
    started.elapsed()
}

fn best_of<T>(n: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..n {
        let started = Instant::now();
        let v = f();
        best = best.min(started.elapsed());
        last = Some(v);
    }
    (best, last.expect("n > 0"))
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = Root::new(dir.path());
    {
        let state = State::open(&root).expect("state");
        for i in 0..50 {
            store::save_user(
                &state,
                &UserRecord {
                    name: format!("u{i}"),
                    uid: 2000 + i,
                    full_name: String::new(),
                    email: String::new(),
                    roles: vec![if i % 5 == 0 { "viewer" } else { "admin" }.into()],
                    grants: vec![],
                    teams: vec![],
                    created: START,
                    expires: None,
                    status: Status::Active,
                    keys: vec![],
                    totp: false,
                    archive: None,
                },
            )
            .expect("save");
        }
    }
    std::fs::create_dir_all(dir.path().join("etc/vpsc/rbac")).expect("mkdir");
    std::fs::write(
        dir.path().join("etc/vpsc/rbac/roles.yaml"),
        "format: 1\nroles:\n  viewer: {}\n  admin:\n    sudo: [ALL]\n    root_equivalent: true\n",
    )
    .expect("roles");
    let file = journal_file(dir.path());

    let (export_time, ()) = best_of(3, || {
        journalctl_alone(&root, &file, "export");
    });
    let (json_time, ()) = best_of(3, || {
        journalctl_alone(&root, &file, "json");
    });
    println!(
        "journalctl alone, same matches and fields: -o export {:.0} ms, -o json {:.0} ms",
        export_time.as_secs_f64() * 1000.0,
        json_time.as_secs_f64() * 1000.0
    );

    let opts = Options {
        since: Some((START + 82 * 86_400).to_string()),
        files: vec![file.clone()],
        now: START + 90 * 86_400,
    };
    let (total, (report, bytes)) = best_of(5, || {
        let report = activity::run(&root, &opts).expect("activity");
        let json = serde_json::to_vec(&report).expect("json");
        (report, json.len())
    });
    let people = report.people.len();
    let anomalies = report.anomalies.len();
    println!(
        "activity over {} journal entries ({} events; last 8 days reported: {people} people, {anomalies} anomalies, {:.1} MB of JSON): {:.0} ms (target: under 1000 ms)",
        report.entries.read,
        report.entries.events,
        bytes as f64 / 1e6,
        total.as_secs_f64() * 1000.0
    );
}
