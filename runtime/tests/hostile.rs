//! Module file effects, the state directory, CIS scanning and event hooks
//! against a `--root` tree in which names were planted as links: an
//! absolute link in the tree resolves inside it (`RESOLVE_IN_ROOT`), a link
//! at a managed file's name is refused, a temporary name planted as a link
//! is never written through, and nothing outside the tree is read, written
//! or run. The victims outside are compared byte for byte.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{plan_tree, vpsc};

/// A directory outside the tree with a secret in it.
fn outside() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("secret"), "PASS_MAX_DAYS 12345\n").expect("secret");
    dir
}

/// Names and contents of everything in `dir`, to compare before and after.
fn listing(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .expect("list")
        .map(|e| {
            let e = e.expect("entry");
            let content = std::fs::read(e.path()).unwrap_or_default();
            (e.file_name().to_string_lossy().into_owned(), content)
        })
        .collect();
    out.sort();
    out
}

fn demo_tree() -> tempfile::TempDir {
    plan_tree(
        "demo",
        r#"{"format":1,"module":"demo","version":"1.0","parameters":{},
            "effects":[{"kind":"managed_file","path":"/etc/demo/a.conf","template":"a\n","mode":420}],
            "verify":[]}"#,
        &["etc/demo"],
    )
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_link_at_a_managed_files_name_is_refused() {
    let out_dir = outside();
    let before = listing(out_dir.path());
    let dir = demo_tree();
    let secret = out_dir.path().join("secret");
    std::os::unix::fs::symlink(&secret, dir.path().join("etc/demo/a.conf")).expect("plant");
    let out = vpsc(dir.path(), &["configure", "demo"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .contains("cannot manage /etc/demo/a.conf: it exists and is not a regular file"),
        "{}",
        stderr(&out)
    );
    assert_eq!(listing(out_dir.path()), before);
}

#[test]
fn a_planted_temporary_name_is_never_written_through() {
    let out_dir = outside();
    let before = listing(out_dir.path());
    let dir = demo_tree();
    let secret = out_dir.path().join("secret");
    // The fixed name the runtime once used, and one of the random shape.
    for name in [".a.conf.vpsc-new", ".a.conf.vpsc-00000000deadbeef"] {
        std::os::unix::fs::symlink(&secret, dir.path().join("etc/demo").join(name)).expect("plant");
    }
    let out = vpsc(dir.path(), &["configure", "demo"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let written = std::fs::symlink_metadata(dir.path().join("etc/demo/a.conf")).expect("a.conf");
    assert!(written.is_file());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("etc/demo/a.conf")).expect("read"),
        "a\n"
    );
    assert_eq!(listing(out_dir.path()), before);
}

#[test]
fn an_absolute_link_in_the_tree_resolves_inside_it() {
    let out_dir = outside();
    let before = listing(out_dir.path());
    let dir = demo_tree();
    let root = dir.path();
    // /etc/demo is an absolute link to the outside directory's path: inside
    // the tree that path is another directory of the tree.
    std::fs::remove_dir(root.join("etc/demo")).expect("rmdir");
    std::os::unix::fs::symlink(out_dir.path(), root.join("etc/demo")).expect("plant");
    let inside = root.join(out_dir.path().strip_prefix("/").expect("absolute"));
    std::fs::create_dir_all(&inside).expect("mkdir inside");
    let out = vpsc(root, &["configure", "demo"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(inside.join("a.conf")).expect("written inside"),
        "a\n"
    );
    assert_eq!(listing(out_dir.path()), before, "nothing written outside");

    // Removal follows the same way.
    let out = vpsc(root, &["unconfigure", "demo"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!inside.join("a.conf").exists());
    assert_eq!(listing(out_dir.path()), before);
}

#[test]
fn the_state_directory_behind_an_absolute_link_stays_in_the_tree() {
    let out_dir = outside();
    let before = listing(out_dir.path());
    let dir = demo_tree();
    let root = dir.path();
    std::fs::create_dir_all(root.join("var/lib")).expect("mkdir");
    std::os::unix::fs::symlink(out_dir.path(), root.join("var/lib/vpsc")).expect("plant");
    let inside = root.join(out_dir.path().strip_prefix("/").expect("absolute"));
    std::fs::create_dir_all(&inside).expect("mkdir inside");
    let out = vpsc(root, &["configure", "demo"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(inside.join("state.db").exists(), "the state is in the tree");
    assert_eq!(
        listing(out_dir.path()),
        before,
        "no state.db or lock outside"
    );
}

#[test]
fn a_cis_scan_reads_nothing_outside_the_tree() {
    let out_dir = outside();
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    std::fs::create_dir_all(root.join("etc")).expect("mkdir");
    std::fs::write(root.join("etc/debian_version"), "13.2\n").expect("version");
    // /etc/login.defs is an absolute link to the secret's host path; inside
    // the tree that path holds another value.
    std::os::unix::fs::symlink(out_dir.path().join("secret"), root.join("etc/login.defs"))
        .expect("plant");
    let inside = root.join(out_dir.path().strip_prefix("/").expect("absolute"));
    std::fs::create_dir_all(&inside).expect("mkdir");
    std::fs::write(inside.join("secret"), "PASS_MAX_DAYS 67890\n").expect("inside");
    let out = vpsc(root, &["--json", "cis", "scan", "--benchmark", "debian13"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.is_empty(), "{}", stderr(&out));
    assert!(
        stdout.contains("67890"),
        "the link was read inside the tree: {stdout}"
    );
    assert!(!stdout.contains("12345"), "the host's file was read");
}

#[test]
fn a_hook_behind_a_link_out_of_the_tree_is_not_run() {
    let out_dir = outside();
    let dir = demo_tree();
    let root = dir.path();
    let script = out_dir.path().join("10-evil");
    let marker = out_dir.path().join("ran");
    std::fs::write(&script, format!("#!/bin/sh\ntouch {}\n", marker.display())).expect("hook");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::create_dir_all(root.join("etc/vpsc/hooks.d")).expect("mkdir");
    std::os::unix::fs::symlink(out_dir.path(), root.join("etc/vpsc/hooks.d/post-module"))
        .expect("plant");
    // The same path inside the tree holds a hook that is fine to run, but
    // it is reached through a link, so it is not run either.
    let inside = root.join(out_dir.path().strip_prefix("/").expect("absolute"));
    std::fs::create_dir_all(&inside).expect("mkdir");
    std::fs::write(inside.join("10-evil"), "#!/bin/sh\nexit 0\n").expect("hook");
    std::fs::set_permissions(
        inside.join("10-evil"),
        std::fs::Permissions::from_mode(0o755),
    )
    .expect("chmod");
    let out = vpsc(root, &["configure", "demo"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!marker.exists(), "the host's script ran");
    assert!(
        stderr(&out).contains("not run: a symbolic link leads to it"),
        "{}",
        stderr(&out)
    );
}
