//! What the generator's integration tests share: the workspace, and
//! `vpsc-gen` run from it.

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// `vpsc-gen ARGS…` from the workspace root.
pub fn vpsc_gen(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vpsc-gen"))
        .args(args)
        .current_dir(workspace())
        .output()
        .expect("run vpsc-gen")
}

/// A path as an argument.
pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}
