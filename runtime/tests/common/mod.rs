//! Helpers shared by the runtime's CLI tests: the real `vpsc` binary run on
//! a `--root` tree, and such a tree with one module plan installed.

// Each test file uses some of these; the rest would be dead code there.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// Runs `vpsc --root ROOT ARGS…` with `env` added, outside any dpkg or
/// fault-injection context unless `env` says otherwise.
pub fn vpsc_env(root: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vpsc"));
    cmd.arg("--root")
        .arg(root)
        .args(args)
        .env("VPSC_LOG", "warn")
        .env_remove("VPSC_FAULT_AT")
        .env_remove("DPKG_MAINTSCRIPT_PACKAGE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("vpsc runs")
}

/// Runs `vpsc --root ROOT ARGS…`.
pub fn vpsc(root: &Path, args: &[&str]) -> Output {
    vpsc_env(root, args, &[])
}

/// A tree with `plan` installed as module `module`, and `dirs` created.
pub fn plan_tree(module: &str, plan: &str, dirs: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    std::fs::create_dir_all(root.join("usr/share/vpsc/modules")).expect("mkdir");
    for d in dirs {
        std::fs::create_dir_all(root.join(d)).expect("mkdir");
    }
    std::fs::write(
        root.join(format!("usr/share/vpsc/modules/{module}.json")),
        plan,
    )
    .expect("plan");
    dir
}

/// An event hook `event/name` in the tree: a shell script running `body`.
pub fn hook(root: &Path, event: &str, name: &str, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    let dir = root.join("etc/vpsc/hooks.d").join(event);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("hook");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}
