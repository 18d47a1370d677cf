//! Fault injection: `vpsc configure`, an upgrade and `vpsc unconfigure`
//! killed with SIGKILL at every crash point they pass (`VPSC_FAULT_AT`, see
//! `fault.rs`), then run again as `dpkg --configure -a` or a re-run of
//! prerm would. Each time the tree must converge to exactly the state a
//! run without a crash gives, the state database must pass
//! `PRAGMA integrity_check`, and the audit chain must verify.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Output;

mod common;

use common::vpsc_env;

fn vpsc(root: &Path, args: &[&str], fault_at: Option<usize>) -> Output {
    match fault_at {
        Some(n) => vpsc_env(
            root,
            args,
            &[("VPSC_LOG", "error"), ("VPSC_FAULT_AT", &n.to_string())],
        ),
        None => vpsc_env(root, args, &[("VPSC_LOG", "error")]),
    }
}

fn plan(version: &str, effects: &str) -> String {
    format!(
        r#"{{"format":1,"module":"crash","version":"{version}","parameters":{{"port":2222}},"effects":[{effects}],"verify":[]}}"#
    )
}

/// Four files (one replacing an administrator's file) and a symlink
/// replacing another.
fn v1() -> String {
    plan(
        "1.0",
        r#"{"kind":"managed_file","path":"/etc/crash/a.conf","template":"Port {{ port }}\n","mode":420},
           {"kind":"managed_file","path":"/etc/crash/existing.conf","template":"replaced\n","mode":384},
           {"kind":"managed_file","path":"/etc/crash/b.conf","template":"b\n","mode":420},
           {"kind":"managed_file","path":"/etc/crash/c.conf","template":"c\n","mode":420},
           {"kind":"symlink","path":"/etc/crash/link","target":"/usr/share/crash/new"}"#,
    )
}

/// The upgrade: a.conf changes, b.conf goes, d.conf comes.
fn v2() -> String {
    plan(
        "2.0",
        r#"{"kind":"managed_file","path":"/etc/crash/a.conf","template":"Port {{ port }}\nMaxAuthTries 3\n","mode":420},
           {"kind":"managed_file","path":"/etc/crash/existing.conf","template":"replaced\n","mode":384},
           {"kind":"managed_file","path":"/etc/crash/c.conf","template":"c\n","mode":420},
           {"kind":"managed_file","path":"/etc/crash/d.conf","template":"d\n","mode":416},
           {"kind":"symlink","path":"/etc/crash/link","target":"/usr/share/crash/new"}"#,
    )
}

fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    for d in ["usr/share/vpsc/modules", "etc/crash", "usr/share/crash"] {
        std::fs::create_dir_all(root.join(d)).expect("mkdir");
    }
    std::fs::write(root.join("usr/share/vpsc/modules/crash.json"), v1()).expect("plan");
    std::fs::write(root.join("usr/share/crash/new"), "new\n").expect("target");
    std::fs::write(root.join("usr/share/crash/old"), "old\n").expect("target");
    std::fs::write(root.join("etc/crash/existing.conf"), "original\n").expect("write");
    std::fs::set_permissions(
        root.join("etc/crash/existing.conf"),
        std::fs::Permissions::from_mode(0o640),
    )
    .expect("chmod");
    std::os::unix::fs::symlink("/usr/share/crash/old", root.join("etc/crash/link"))
        .expect("symlink");
    dir
}

/// What /etc/crash holds: name → (mode, content or link target). Stray
/// temporary files would show here too.
fn contents(root: &Path) -> BTreeMap<String, (u32, String)> {
    std::fs::read_dir(root.join("etc/crash"))
        .expect("read_dir")
        .map(|e| {
            let e = e.expect("entry");
            let meta = std::fs::symlink_metadata(e.path()).expect("stat");
            let what = if meta.file_type().is_symlink() {
                format!(
                    "-> {}",
                    std::fs::read_link(e.path()).expect("readlink").display()
                )
            } else {
                std::fs::read_to_string(e.path()).expect("read")
            };
            (
                e.file_name().to_string_lossy().into_owned(),
                (meta.permissions().mode() & 0o7777, what),
            )
        })
        .collect()
}

fn state_is_sound(root: &Path, what: &str) {
    let conn =
        rusqlite::Connection::open(root.join("var/lib/vpsc/state.db")).expect("open state.db");
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    assert_eq!(check, "ok", "{what}");
    drop(conn);
    let out = vpsc(root, &["audit", "verify"], None);
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One scenario: `prepare` sets a fresh tree up, `args` is the command
/// killed at each point and then re-run. Returns the number of points.
fn crash_everywhere(name: &str, prepare: impl Fn(&Path), args: &[&str]) -> usize {
    // The outcome without a crash is the reference.
    let reference = tree();
    prepare(reference.path());
    let out = vpsc(reference.path(), args, None);
    assert!(
        out.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = contents(reference.path());

    let mut points = 0;
    for n in 1.. {
        let dir = tree();
        let root = dir.path();
        prepare(root);
        let out = vpsc(root, args, Some(n));
        if out.status.success() {
            break;
        }
        assert_eq!(
            out.status.signal(),
            Some(9),
            "{name} at point {n} did not die by SIGKILL: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        points += 1;
        let rerun = vpsc(root, args, None);
        assert!(
            rerun.status.success(),
            "{name}: re-run after a kill at point {n} ({}) failed: {}",
            String::from_utf8_lossy(&out.stderr).trim(),
            String::from_utf8_lossy(&rerun.stderr)
        );
        assert_eq!(
            contents(root),
            expected,
            "{name}: after a kill at {} and a re-run",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        state_is_sound(root, &format!("{name}, point {n}"));
    }
    points
}

#[test]
fn sigkill_at_every_crash_point_converges() {
    let configure = crash_everywhere("configure", |_| {}, &["configure", "crash"]);
    let upgrade = crash_everywhere(
        "upgrade",
        |root| {
            let out = vpsc(root, &["configure", "crash"], None);
            assert!(out.status.success());
            std::fs::write(root.join("usr/share/vpsc/modules/crash.json"), v2()).expect("v2");
        },
        &["configure", "crash"],
    );
    let unconfigure = crash_everywhere(
        "unconfigure",
        |root| {
            let out = vpsc(root, &["configure", "crash"], None);
            assert!(out.status.success());
        },
        &["unconfigure", "crash"],
    );
    eprintln!("crash points: configure {configure}, upgrade {upgrade}, unconfigure {unconfigure}");
    assert!(
        configure + upgrade + unconfigure >= 50,
        "only {} distinct crash points",
        configure + upgrade + unconfigure
    );
}

/// The reference outcomes themselves: what a crash-free run leaves.
#[test]
fn unconfigure_restores_the_administrators_files() {
    let dir = tree();
    let root = dir.path();
    let before = contents(root);
    assert!(vpsc(root, &["configure", "crash"], None).status.success());
    assert_eq!(contents(root)["link"].1, "-> /usr/share/crash/new");
    assert!(vpsc(root, &["unconfigure", "crash"], None).status.success());
    assert_eq!(contents(root), before);
}
