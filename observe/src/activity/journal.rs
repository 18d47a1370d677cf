//! Reading the systemd journal: `journalctl` with matches on the programs
//! activity knows (so journald's indexes skip everything else), only the
//! fields it reads (`--output-fields`), in export format, streamed and
//! parsed as it arrives.
//!
//! Export, not JSON: on 100,000 entries journalctl takes about 0.5 s to
//! write `-o export` and over 1 s to write `-o json` with the same fields
//! (its JSON escaping costs more than everything activity does after it),
//! and export is binary-safe for the hostile messages JSON would make
//! into arrays of numbers.
//!
//! `SYSLOG_IDENTIFIER` is the sender's own claim: any local user can log
//! "Accepted publickey for root" as `sshd` with logger(1). An entry counts
//! only when journald's trusted fields vouch for it: sent by root
//! (`_UID=0`), by a program of the claimed name installed in a system
//! directory (`_EXE`), or from logind's own unit (`_SYSTEMD_UNIT`).

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Serialize;
use vpsc_engine::error::{Error, Result};
use vpsc_engine::root::{ROOT_PATH, Root};

use super::events::{self, Event, LoginResult, Parsed, What};
use super::export::{Entry, FIELD_NAMES, Field, Reader};

/// journalctl matches: entries of any of these programs. Terms of one
/// field are ORed by journalctl; `+` ORs the groups.
pub const MATCHES: &[&str] = &[
    "SYSLOG_IDENTIFIER=sshd",
    // OpenSSH 10 (Debian 13) logs from its per-connection binaries.
    "SYSLOG_IDENTIFIER=sshd-session",
    "SYSLOG_IDENTIFIER=sshd-auth",
    "SYSLOG_IDENTIFIER=sudo",
    "SYSLOG_IDENTIFIER=su",
    "+",
    "_SYSTEMD_UNIT=systemd-logind.service",
];

/// What became of the entries read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Entries journalctl gave.
    pub read: u64,
    /// Entries that became events.
    pub events: u64,
    /// Lines of the watched programs that activity does not report.
    pub other: u64,
    /// Lines that should have parsed and did not (logged at debug).
    pub malformed: u64,
    /// Entries that claim a watched program's name without journald's
    /// trusted fields to back the claim.
    pub untrusted: u64,
    /// Entries with a field over the size activity reads.
    pub oversized: u64,
}

/// The journalctl command line: the system journal of `root`, or the
/// `files`, from `since_us` and before `until_us` (microseconds).
pub fn argv(
    root: &Root,
    files: &[PathBuf],
    since_us: Option<i64>,
    until_us: Option<i64>,
) -> Vec<String> {
    let mut argv: Vec<String> = vec![
        "journalctl".into(),
        "--no-pager".into(),
        "--quiet".into(),
        "--output=export".into(),
        format!("--output-fields={}", FIELD_NAMES[1..].join(",")),
    ];
    // Before the epoch is no bound (and journalctl refuses it).
    if let Some(since) = since_us.filter(|&s| s > 0) {
        argv.push(format!("--since=@{}", seconds(since)));
    }
    // journalctl's --until is inclusive: stop a microsecond short.
    if let Some(until) = until_us {
        argv.push(format!("--until=@{}", seconds(until - 1)));
    }
    if !files.is_empty() {
        // journalctl takes one source only: files named on the command
        // line are host paths, as with `journalctl --file`.
        for f in files {
            argv.push(format!("--file={}", f.display()));
        }
    } else if !root.is_host() {
        // journalctl's own --root reads ROOT/var/log/journal and
        // ROOT/run/log/journal and resolves links inside ROOT, as a tree
        // needs; --directory would miss the volatile journal.
        argv.push(format!("--root={}", root.dir().display()));
    }
    argv.extend(MATCHES.iter().map(|m| (*m).to_owned()));
    argv
}

/// `@`-time of journalctl: seconds with microseconds.
fn seconds(us: i64) -> String {
    format!(
        "{}.{:06}",
        us.div_euclid(1_000_000),
        us.rem_euclid(1_000_000)
    )
}

/// Runs journalctl and reads its events. A range longer than a day is
/// read as two halves by two journalctl processes at once: journalctl
/// walking the entries is most of activity's time (about 1 s for 100,000
/// entries of 25 fields), and a server has a second core.
pub fn read(
    root: &Root,
    files: &[PathBuf],
    since_us: Option<i64>,
    now_us: i64,
) -> Result<(Vec<Event>, Counts)> {
    for f in files {
        if !f.is_file() {
            return Err(Error::Invalid {
                what: format!("--file {}: no such journal file", f.display()),
                hint: "name a .journal file, e.g. one under /var/log/journal/".into(),
            });
        }
    }
    let ranges = match since_us {
        Some(since) if now_us - since > 86_400_000_000 => {
            let mid = since + (now_us - since) / 2;
            vec![(Some(since), Some(mid)), (Some(mid), None)]
        }
        _ => vec![(since_us, None)],
    };
    // Counted as time spent in commands, as every command vpsc runs is.
    let parts: Vec<Result<(Vec<Raw>, Counts)>> = vpsc_engine::root::waiting(|| {
        std::thread::scope(|scope| {
            let handles: Vec<_> = ranges
                .iter()
                .map(|&(since, until)| {
                    let argv = argv(root, files, since, until);
                    scope.spawn(move || run_one(&argv))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a journal reader does not panic"))
                .collect()
        })
    });
    let mut raw = Vec::new();
    let mut counts = Counts::default();
    for part in parts {
        let (r, c) = part?;
        raw.extend(r);
        counts.add(&c);
    }
    let events = settle(raw, &mut counts);
    Ok((events, counts))
}

/// Runs one journalctl and parses its output as it comes.
fn run_one(argv: &[String]) -> Result<(Vec<Raw>, Counts)> {
    let shown = vpsc_engine::root::display_argv(argv);
    tracing::debug!(command = %shown, "reading the journal");
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .env_clear()
        .env("PATH", ROOT_PATH)
        .env("LC_ALL", "C.UTF-8")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::Precondition {
            what: format!("cannot run journalctl: {e}"),
            hint: "activity reads the systemd journal with journalctl (Debian package systemd); install it".into(),
        })?;
    // Read apart, so a chatty journalctl never blocks on a full pipe.
    let mut stderr = child.stderr.take().expect("stderr was piped");
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let stdout = child.stdout.take().expect("stdout was piped");
    let parsed = parse_raw(BufReader::with_capacity(1 << 16, stdout));
    let status = child.wait();
    let stderr = errors.join().unwrap_or_default();
    let failed = |why: String| {
        Error::Precondition {
        what: format!("`{shown}` failed: {why}"),
        hint: "reading the system journal needs root or the systemd-journal group; a --file must be a journal file".into(),
    }
    };
    let parsed = parsed.map_err(|e| failed(format!("reading its output: {e}")))?;
    match status {
        Ok(s) if s.success() => Ok(parsed),
        Ok(s) => Err(failed(format!("{s}: {}", stderr.trim()))),
        Err(e) => Err(failed(e.to_string())),
    }
}

/// An event with the boot and process it came from.
type Raw = (u128, Option<u32>, Event);

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.read += o.read;
        self.events += o.events;
        self.other += o.other;
        self.malformed += o.malformed;
        self.untrusted += o.untrusted;
        self.oversized += o.oversized;
    }
}

/// Which program an entry comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Program {
    Sshd,
    Sudo,
    Su,
    Logind,
}

fn program(e: &Entry) -> Option<Program> {
    if e.bytes(Field::Unit) == Some(b"systemd-logind.service") {
        return Some(Program::Logind);
    }
    match e.bytes(Field::Identifier)? {
        b"sshd" | b"sshd-session" | b"sshd-auth" => Some(Program::Sshd),
        b"sudo" => Some(Program::Sudo),
        b"su" => Some(Program::Su),
        b"systemd-logind" => Some(Program::Logind),
        _ => None,
    }
}

/// Whether journald's own fields back the entry's claim to come from `p`.
fn trusted(e: &Entry, p: Program) -> bool {
    if e.number(Field::Uid) == Some(0) {
        return true;
    }
    if p == Program::Logind && e.bytes(Field::Unit) == Some(b"systemd-logind.service") {
        return true;
    }
    let Some(exe) = e.text(Field::Exe) else {
        return false;
    };
    let (dir, name) = exe.rsplit_once('/').unwrap_or(("", exe));
    let system_dir = matches!(
        dir,
        "/usr/bin"
            | "/bin"
            | "/usr/sbin"
            | "/sbin"
            | "/usr/lib/openssh"
            | "/usr/libexec/openssh"
            | "/usr/lib/systemd"
            | "/lib/systemd"
    );
    let named = match p {
        Program::Sshd => matches!(name, "sshd" | "sshd-session" | "sshd-auth"),
        Program::Sudo => name == "sudo",
        Program::Su => name == "su",
        Program::Logind => name == "systemd-logind",
    };
    system_dir && named
}

/// Reads export-format entries from `input` into events, in time order,
/// with sessions' ends given their user and connections that only gave
/// up counted once (see [`events::Login::gave_up`]).
pub fn parse_stream(input: impl BufRead) -> std::io::Result<(Vec<Event>, Counts)> {
    let (raw, mut counts) = parse_raw(input)?;
    let events = settle(raw, &mut counts);
    Ok((events, counts))
}

/// Entries into events, in the order read.
fn parse_raw(input: impl BufRead) -> std::io::Result<(Vec<Raw>, Counts)> {
    let mut reader = Reader::new(input);
    let mut counts = Counts::default();
    let mut out: Vec<Raw> = Vec::new();
    while let Some(e) = reader.next_entry()? {
        counts.read += 1;
        if e.oversized {
            counts.oversized += 1;
            tracing::debug!("journal entry with a field over the size activity reads; skipped");
            continue;
        }
        let Some(p) = program(e) else {
            counts.other += 1;
            continue;
        };
        if !trusted(e, p) {
            counts.untrusted += 1;
            tracing::debug!(
                identifier = ?e.text(Field::Identifier),
                uid = ?e.text(Field::Uid),
                exe = ?e.text(Field::Exe),
                "journal entry not from the program it names; skipped"
            );
            continue;
        }
        let (Some(time_us), Some(msg)) = (e.number(Field::Realtime), e.bytes(Field::Message))
        else {
            counts.malformed += 1;
            tracing::debug!("journal entry without a time or message; skipped");
            continue;
        };
        let msg = String::from_utf8_lossy(msg);
        // A boot ID is 128 bits in hex; anything else is one unknown boot.
        let boot = e
            .text(Field::BootId)
            .and_then(|id| u128::from_str_radix(id, 16).ok())
            .unwrap_or(0);
        let pid = e.number(Field::Pid).and_then(|p| u32::try_from(p).ok());
        let parsed = match p {
            Program::Sshd => lift(events::sshd(&msg), |(u, mut l)| {
                l.pid = pid;
                (u, What::Login(l))
            }),
            Program::Sudo => lift(events::sudo(&msg), |(u, s)| (u, What::Sudo(s))),
            Program::Su => lift(events::su(&msg), |(u, s)| (u, What::Su(s))),
            Program::Logind => lift(
                events::logind(
                    &msg,
                    e.text(Field::SessionId),
                    e.text(Field::UserId),
                    e.text(Field::Class),
                ),
                |(u, s)| (u.unwrap_or_default(), What::Session(s)),
            ),
        };
        match parsed {
            Parsed::Event((user, what)) => {
                counts.events += 1;
                out.push((
                    boot,
                    pid,
                    Event {
                        time_us,
                        time: time_us.div_euclid(1_000_000),
                        user,
                        what,
                    },
                ));
            }
            Parsed::Other => counts.other += 1,
            Parsed::Malformed => {
                counts.malformed += 1;
                tracing::debug!(message = %msg.escape_debug(), "journal message not understood; skipped");
            }
        }
    }
    Ok((out, counts))
}

fn lift<T, U>(p: Parsed<T>, f: impl FnOnce(T) -> U) -> Parsed<U> {
    match p {
        Parsed::Event(t) => Parsed::Event(f(t)),
        Parsed::Other => Parsed::Other,
        Parsed::Malformed => Parsed::Malformed,
    }
}

/// Gives sessions' ends the user of their start, drops the ends of
/// sessions not seen starting, and counts a connection that only gave up
/// as a failure unless it logged an authentication of its own.
fn settle(raw: Vec<Raw>, counts: &mut Counts) -> Vec<Event> {
    let mut owners: HashMap<(u128, String), String> = HashMap::new();
    let mut authed: HashSet<(u128, u32)> = HashSet::new();
    for (boot, pid, e) in &raw {
        match &e.what {
            What::Session(s) if s.opened => {
                owners.insert((*boot, s.id.clone()), e.user.clone());
            }
            What::Login(l) if !l.gave_up => {
                if let Some(pid) = pid {
                    authed.insert((*boot, *pid));
                }
            }
            _ => {}
        }
    }
    let mut closed: HashSet<(u128, String)> = HashSet::new();
    let mut out = Vec::with_capacity(raw.len());
    for (boot, pid, mut e) in raw {
        let keep = match &e.what {
            What::Session(s) if !s.opened => {
                let key = (boot, s.id.clone());
                match owners.get(&key) {
                    // "logged out" and then "Removed": the first ends it.
                    Some(owner) if closed.insert(key) => {
                        e.user = owner.clone();
                        true
                    }
                    _ => false,
                }
            }
            What::Login(l) if l.gave_up => {
                l.result == LoginResult::Failed && pid.is_none_or(|p| !authed.contains(&(boot, p)))
            }
            _ => true,
        };
        if keep {
            out.push(e);
        } else {
            counts.events -= 1;
            counts.other += 1;
        }
    }
    out.sort_by_key(|e| e.time_us);
    out
}

/// Reads an export-format file (as `journalctl -o export` wrote it)
/// without journalctl: for tests of the rules on fixtures.
pub fn parse_file(path: &Path) -> std::io::Result<(Vec<Event>, Counts)> {
    parse_stream(BufReader::new(std::fs::File::open(path)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activity::export::write_entry;

    fn entry(out: &mut Vec<u8>, t: i64, ident: &str, uid: &str, exe: &str, pid: &str, msg: &str) {
        let t = (t * 1_000_000).to_string();
        write_entry(
            out,
            &[
                ("__REALTIME_TIMESTAMP", t.as_bytes()),
                ("_BOOT_ID", b"b1"),
                ("SYSLOG_IDENTIFIER", ident.as_bytes()),
                ("_UID", uid.as_bytes()),
                ("_EXE", exe.as_bytes()),
                ("_PID", pid.as_bytes()),
                ("MESSAGE", msg.as_bytes()),
            ],
        );
    }

    const SSHD: &str = "/usr/lib/openssh/sshd-session";

    #[test]
    fn forged_entries_are_not_trusted() {
        let mut buf = Vec::new();
        entry(
            &mut buf,
            10,
            "sshd",
            "1000",
            "/usr/bin/logger",
            "5",
            "Accepted publickey for root from 10.0.0.1 port 1 ssh2: ED25519 SHA256:x",
        );
        entry(
            &mut buf,
            11,
            "sudo",
            "1000",
            "/home/eve/sudo",
            "6",
            "eve : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/true",
        );
        entry(
            &mut buf,
            12,
            "sudo",
            "1000",
            "/usr/bin/sudo",
            "7",
            "ada : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/true",
        );
        let (events, counts) = parse_stream(&buf[..]).expect("parse");
        assert_eq!(counts.untrusted, 2);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].user, "ada");
    }

    #[test]
    fn a_connection_that_gave_up_after_failing_counts_once() {
        let mut buf = Vec::new();
        entry(
            &mut buf,
            10,
            "sshd-session",
            "0",
            SSHD,
            "40",
            "Failed password for ada from 10.0.0.1 port 1 ssh2",
        );
        entry(
            &mut buf,
            11,
            "sshd-session",
            "0",
            SSHD,
            "40",
            "Connection closed by authenticating user ada 10.0.0.1 port 1 [preauth]",
        );
        entry(
            &mut buf,
            12,
            "sshd-session",
            "0",
            SSHD,
            "41",
            "Connection closed by authenticating user ada 10.0.0.1 port 2 [preauth]",
        );
        let (events, counts) = parse_stream(&buf[..]).expect("parse");
        assert_eq!(events.len(), 2, "{events:?}");
        assert_eq!(counts.events, 2);
        let What::Login(l) = &events[1].what else {
            panic!()
        };
        assert_eq!((l.method.as_str(), l.port), ("none", 2));
    }

    #[test]
    fn session_ends_take_the_user_of_their_start() {
        let mut buf = Vec::new();
        let logind = "/usr/lib/systemd/systemd-logind";
        entry(
            &mut buf,
            10,
            "systemd-logind",
            "0",
            logind,
            "1",
            "New session 3 of user ada.",
        );
        entry(
            &mut buf,
            20,
            "systemd-logind",
            "0",
            logind,
            "1",
            "Session 3 logged out. Waiting for processes to exit.",
        );
        entry(
            &mut buf,
            21,
            "systemd-logind",
            "0",
            logind,
            "1",
            "Removed session 3.",
        );
        entry(
            &mut buf,
            22,
            "systemd-logind",
            "0",
            logind,
            "1",
            "Removed session 99.",
        );
        let (events, _) = parse_stream(&buf[..]).expect("parse");
        assert_eq!(events.len(), 2);
        assert!(events.iter().all(|e| e.user == "ada"));
    }

    #[test]
    fn hostile_content_is_skipped_or_kept_as_text_never_a_crash() {
        let mut buf = Vec::new();
        entry(
            &mut buf,
            10,
            "sshd-session",
            "0",
            SSHD,
            "1",
            "Failed password for invalid user \u{1b}[31mevil\u{7}\n from 203.0.113.1 port 9 ssh2",
        );
        entry(
            &mut buf,
            11,
            "sshd-session",
            "0",
            SSHD,
            "2",
            &"x".repeat(1_000_000),
        );
        let mut bad_utf8 = Vec::new();
        write_entry(
            &mut bad_utf8,
            &[
                ("__REALTIME_TIMESTAMP", b"12000000"),
                ("SYSLOG_IDENTIFIER", b"sudo"),
                ("_UID", b"0"),
                (
                    "MESSAGE",
                    b"\xff\xfe : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/true",
                ),
            ],
        );
        buf.extend_from_slice(&bad_utf8);
        entry(
            &mut buf,
            13,
            "sshd-session",
            "0",
            SSHD,
            "3",
            "Accepted publickey for ada from",
        );
        entry(&mut buf, 14, "sudo", "0", "/usr/bin/sudo", "4", "");
        let (events, counts) = parse_stream(&buf[..]).expect("parse");
        assert_eq!(counts.read, 5);
        assert_eq!(counts.oversized, 1);
        assert_eq!(counts.malformed, 1);
        assert_eq!(events.len(), 2);
        assert!(events[0].user.contains('\u{1b}'));
        assert!(events[1].user.contains('\u{fffd}'));
    }
}
