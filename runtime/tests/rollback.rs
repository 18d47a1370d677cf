//! `vpsc rollback` on `--root` fixture trees, up to the point where apt
//! would run: the plan from a rotated history, and bad input (a name that
//! is not a profile's, an unknown profile, a damaged history line, sudo
//! to purge while root has no password) that is refused with what, why
//! and how, changing nothing; and what of /etc a dry run would guard.
//! The restore is tested on trees in `rollback/collateral/tests.rs`, the
//! purge in a Debian chroot (tests/tests/rollback.rs).

mod common;

use std::io::Write;
use std::path::Path;

use common::{vpsc, vpsc_env};

const STATUS: &str = "\
Package: dpkg
Status: install ok installed
Architecture: amd64
Essential: yes

Package: git
Status: install ok installed
Architecture: amd64
Depends: perl

Package: perl
Status: install ok installed
Architecture: amd64

Package: vpsc-profile-demo
Status: install ok installed
Architecture: all
Depends: vpsc-mod-a

Package: vpsc-mod-a
Status: install ok installed
Architecture: all
Depends: vpsc-runtime, foo

Package: vpsc-runtime
Status: install ok installed
Architecture: amd64

Package: foo
Status: install ok installed
Architecture: amd64
Depends: bar | perl

Package: bar
Status: install ok installed
Architecture: amd64

Package: tool
Status: install ok installed
Architecture: amd64
Depends: bar
";

const EXTENDED: &str = "\
Package: perl\nArchitecture: amd64\nAuto-Installed: 1\n\n\
Package: vpsc-mod-a\nArchitecture: amd64\nAuto-Installed: 1\n\n\
Package: vpsc-runtime\nArchitecture: amd64\nAuto-Installed: 1\n\n\
Package: foo\nArchitecture: amd64\nAuto-Installed: 1\n\n\
Package: bar\nArchitecture: amd64\nAuto-Installed: 1\n";

/// The host's git, long ago (rotated and compressed).
const OLD: &str = "
Start-Date: 2026-01-01  10:00:00
Commandline: apt install git
Install: git:amd64 (1:2.47), perl:amd64 (5.40, automatic)
End-Date: 2026-01-01  10:00:01
";

/// The profile, then the administrator's tool.
const NEW: &str = "
Start-Date: 2026-12-01  10:00:00
Commandline: apt install vpsc-profile-demo
Install: vpsc-profile-demo:amd64 (1.0), vpsc-mod-a:amd64 (1.0, automatic), vpsc-runtime:amd64 (0.6.0-1, automatic), foo:amd64 (1, automatic), bar:amd64 (1, automatic)
End-Date: 2026-12-01  10:00:05

Start-Date: 2026-12-02  10:00:00
Commandline: apt install tool
Install: tool:amd64 (1)
End-Date: 2026-12-02  10:00:01
";

fn write(root: &Path, rel: &str, content: &[u8]) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, content).expect("write");
}

fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    write(root, "var/lib/dpkg/status", STATUS.as_bytes());
    write(root, "var/lib/apt/extended_states", EXTENDED.as_bytes());
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(OLD.as_bytes()).expect("gzip");
    write(
        root,
        "var/log/apt/history.log.1.gz",
        &gz.finish().expect("gzip"),
    );
    write(root, "var/log/apt/history.log", NEW.as_bytes());
    write(
        root,
        "var/lib/dpkg/info/foo.postinst",
        b"#!/bin/sh\nset -e\nadduser --system --group --home /var/lib/foo _foo\n",
    );
    write(
        root,
        "etc/passwd",
        b"root:x:0:0:root:/root:/bin/sh\n_foo:x:101:101::/var/lib/foo:/usr/sbin/nologin\n",
    );
    write(root, "etc/group", b"root:x:0:\n_foo:x:101:\n");
    dir
}

/// Every path under `root`, to show that nothing was created or removed.
fn listing(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).expect("read_dir").flatten() {
            let path = entry.path();
            out.push(
                path.strip_prefix(root)
                    .expect("inside")
                    .display()
                    .to_string(),
            );
            if path.is_dir() {
                todo.push(path);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn dry_run_plans_from_the_rotated_history_and_changes_nothing() {
    let dir = tree();
    let root = dir.path();
    let before = listing(root);
    let out = vpsc(root, &["--json", "rollback", "demo", "--dry-run"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(plan["dry_run"], true);
    assert_eq!(
        plan["purge"],
        serde_json::json!(["foo", "vpsc-mod-a", "vpsc-profile-demo", "vpsc-runtime"]),
        "bar stays for the later tool; git and perl were the host's"
    );
    assert_eq!(plan["kept"][0]["package"], "bar");
    assert_eq!(
        plan["kept"][0]["reason"],
        "`tool`, which stays, depends on it"
    );
    assert_eq!(plan["transactions"][0]["file"], "/var/log/apt/history.log");
    assert_eq!(plan["transactions"][0]["line"], 2);
    assert_eq!(
        plan["leftovers"],
        serde_json::json!([
            {"kind": "user", "name": "_foo", "package": "foo", "source": "postinst"},
            {"kind": "group", "name": "_foo", "package": "foo", "source": "postinst"}
        ])
    );
    assert!(
        plan["leftover_reason"]
            .as_str()
            .expect("reason")
            .contains("purged")
    );
    assert_eq!(listing(root), before, "a dry run creates nothing");

    let human = vpsc(root, &["rollback", "demo", "--dry-run"]);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(text.contains("would purge 4 package(s):"), "{text}");
    assert!(text.contains("bar: `tool`, which stays"), "{text}");
    assert!(text.contains("user  _foo"), "{text}");
}

#[test]
fn dry_run_counts_what_of_etc_it_would_watch() {
    let dir = tree();
    let root = dir.path();
    // Start-Dates after every file of the tree: all of /etc predates
    // them, as the base system does a profile's install.
    let later = NEW
        .replace("2026-12-01  10:00:00", "2099-01-01  10:00:00")
        .replace("2026-12-02  10:00:00", "2099-01-02  10:00:00");
    write(root, "var/log/apt/history.log", later.as_bytes());
    // foo, purged, owns its conffile; the host's locale link is no
    // package's.
    write(
        root,
        "var/lib/dpkg/info/foo.list",
        b"/.\n/etc\n/etc/foo.conf\n",
    );
    write(root, "etc/foo.conf", b"foo's\n");
    std::fs::create_dir_all(root.join("etc/default")).expect("mkdir");
    std::os::unix::fs::symlink("../locale.conf", root.join("etc/default/locale")).expect("link");
    let before = listing(root);
    let out = vpsc(root, &["--json", "rollback", "demo", "--dry-run"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let watch = &plan["watch"];
    assert_eq!(
        watch["count"], 4,
        "etc/default, its locale link, passwd, group; not foo's conffile: {watch}"
    );
    assert_eq!(watch["since"], "2099-01-01  10:00:00");
    assert_eq!(watch["zone"], "UTC", "no /etc/localtime: UTC, as glibc");
    assert_eq!(watch["since_utc"], "2099-01-01 10:00:00 UTC");
    assert_eq!(watch["too_large"], serde_json::json!([]));
    assert_eq!(plan["restored"], serde_json::json!([]));
    assert_eq!(plan["left"], serde_json::json!([]));
    assert_eq!(listing(root), before, "a dry run changes nothing");

    let human = vpsc(root, &["rollback", "demo", "--dry-run"]);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.contains(
            "would watch 4 entries of /etc that predate the first transaction (2099-01-01  10:00:00) or"
        ),
        "{text}"
    );

    // A Start-Date that is not apt's is named, and nothing changes.
    write(
        root,
        "var/log/apt/history.log",
        later
            .replace("2099-01-01  10:00:00", "Jan 1 2099")
            .as_bytes(),
    );
    let stderr = refused(root, &["rollback", "demo", "--dry-run"], &[]);
    assert!(
        stderr.contains("/var/log/apt/history.log:2: `Start-Date: Jan 1 2099` is not apt's"),
        "{stderr}"
    );
}

/// Refused with exit 2, the message on stderr, and the tree as it was.
fn refused(root: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let before = listing(root);
    let out = vpsc_env(root, args, env);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(out.stdout.is_empty(), "{args:?}");
    assert!(stderr.contains("hint: "), "{stderr}");
    assert_eq!(listing(root), before, "{args:?} changed the tree");
    stderr
}

#[test]
fn names_that_are_not_a_profile_are_refused() {
    let dir = tree();
    for name in ["../demo", "demo/..", "../../etc/passwd", "Demo", "", "-x"] {
        let stderr = refused(dir.path(), &["rollback", "--", name], &[]);
        assert!(
            stderr.contains("is not a valid profile name"),
            "{name}: {stderr}"
        );
    }
    let stderr = refused(dir.path(), &["rollback", "nosuch"], &[]);
    assert!(
        stderr.contains(
            "profile `nosuch` is not installed (vpsc-profile-nosuch); nothing was changed"
        ),
        "{stderr}"
    );
}

#[test]
fn a_damaged_history_line_is_named() {
    let dir = tree();
    let broken = NEW.replacen(
        "vpsc-mod-a:amd64 (1.0, automatic)",
        "vpsc-mod-a:amd64 1.0, automatic",
        1,
    );
    write(dir.path(), "var/log/apt/history.log", broken.as_bytes());
    let stderr = refused(dir.path(), &["rollback", "demo", "--dry-run"], &[]);
    assert!(
        stderr.contains("/var/log/apt/history.log:4: `Install:` entry"),
        "{stderr}"
    );
    let stderr = refused(dir.path(), &["rollback", "demo"], &[]);
    assert!(stderr.contains("nothing was changed"), "{stderr}");
}

#[test]
fn not_from_a_maintainer_script() {
    let dir = tree();
    let stderr = refused(
        dir.path(),
        &["rollback", "demo"],
        &[("DPKG_MAINTSCRIPT_PACKAGE", "vpsc-mod-a")],
    );
    assert!(stderr.contains("maintainer script"), "{stderr}");
}

#[test]
fn purging_sudo_without_a_root_password_is_refused_before_apt_runs() {
    let dir = tree();
    let root = dir.path();
    let status =
        format!("{STATUS}\nPackage: sudo\nStatus: install ok installed\nArchitecture: amd64\n");
    write(root, "var/lib/dpkg/status", status.as_bytes());
    let extended = format!("{EXTENDED}\nPackage: sudo\nArchitecture: amd64\nAuto-Installed: 1\n");
    write(root, "var/lib/apt/extended_states", extended.as_bytes());
    let history = NEW.replacen(
        "bar:amd64 (1, automatic)",
        "bar:amd64 (1, automatic), sudo:amd64 (1.9, automatic)",
        1,
    );
    write(root, "var/log/apt/history.log", history.as_bytes());
    write(root, "etc/shadow", b"root:*:20000:0:99999:7:::\n");

    let stderr = refused(root, &["rollback", "demo"], &[("SUDO_FORCE_REMOVE", "no")]);
    assert!(
        stderr.contains("sudo's prerm refuses while root has no password"),
        "{stderr}"
    );
    assert!(
        stderr.contains("`SUDO_FORCE_REMOVE=yes vpsc rollback demo`"),
        "{stderr}"
    );
    // Allowed through, it reaches apt's simulation, which this tree has
    // no apt-get for: still refused, still nothing changed.
    let stderr = refused(root, &["rollback", "demo"], &[("SUDO_FORCE_REMOVE", "yes")]);
    assert!(
        stderr.contains("apt refuses the purge in its simulation"),
        "{stderr}"
    );
}
