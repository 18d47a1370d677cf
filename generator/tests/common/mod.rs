//! What the generator's integration tests share: the workspace, and
//! `vpsc-gen` run from it.

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::collections::BTreeMap;
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

/// Every `.deb` under `dir` (at any depth), by file name.
pub fn debs(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("list") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "deb") {
                let name = p.file_name().expect("name").to_string_lossy().into_owned();
                out.insert(name, std::fs::read(&p).expect("read"));
            }
        }
    }
    out
}
