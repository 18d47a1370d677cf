//! `vpsc-gen new module`: the skeleton is accepted by `check`, builds into
//! a package lintian passes, and never replaces a module or takes a bad name.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{s, vpsc_gen, workspace};

/// A copy of the shipped profiles, so the skeleton joins a real catalogue.
fn profiles(tmp: &Path) -> PathBuf {
    let dir = tmp.join("profiles");
    let status = Command::new("cp")
        .args(["-r", s(&workspace().join("profiles")), s(&dir)])
        .status()
        .expect("cp");
    assert!(status.success());
    dir
}

#[test]
fn a_new_module_checks_builds_and_passes_lintian() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = profiles(tmp.path());
    let out = vpsc_gen(&["new", "module", "demo-app", "--profiles", s(&dir)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(dir.join("modules/demo-app.yaml")).expect("written");
    assert!(
        text.starts_with("# yaml-language-server: $schema="),
        "{text}"
    );
    assert!(text.contains("name: demo-app\n"), "{text}");

    let out = vpsc_gen(&["check", "--profiles", s(&dir)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dist = tmp.path().join("dist");
    let out = vpsc_gen(&[
        "build",
        "--profiles",
        s(&dir),
        "--out",
        s(&dist),
        "--source-date-epoch",
        "1795615200",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let deb = dist.join("pool/main/v/vpsc-mod-demo-app/vpsc-mod-demo-app_0.1.0_all.deb");
    assert!(deb.exists(), "no {}", deb.display());
    let lintian = Command::new("lintian")
        .args(["--fail-on", "error,warning", s(&deb)])
        .output()
        .expect("run lintian (apt-get install lintian)");
    assert!(
        lintian.status.success(),
        "{}{}",
        String::from_utf8_lossy(&lintian.stdout),
        String::from_utf8_lossy(&lintian.stderr)
    );
}

#[test]
fn an_existing_module_or_a_bad_name_is_refused_and_nothing_written() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = profiles(tmp.path());
    let git = std::fs::read(dir.join("modules/git.yaml")).expect("git");
    let out = vpsc_gen(&["new", "module", "git", "--profiles", s(&dir)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists already"));
    assert_eq!(
        std::fs::read(dir.join("modules/git.yaml")).expect("git"),
        git
    );

    for bad in ["Bad_Name", "../etc", "-x", ""] {
        let out = vpsc_gen(&["new", "module", bad, "--profiles", s(&dir)]);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
    }
    let names: Vec<_> = std::fs::read_dir(dir.join("modules"))
        .expect("modules")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert!(
        !names.iter().any(|n| n.to_string_lossy().contains("Bad")),
        "{names:?}"
    );
}
