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

/// Every file under `dir` (at any depth), by its path relative to `dir`.
pub fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("list") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).expect("inside").to_path_buf();
                out.insert(rel, std::fs::read(&p).expect("read"));
            }
        }
    }
    out
}

/// Every `.deb` under `dir` (at any depth), by file name.
pub fn debs(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    files(dir)
        .into_iter()
        .filter(|(p, _)| p.extension().is_some_and(|e| e == "deb"))
        .map(|(p, bytes)| {
            let name = p.file_name().expect("name").to_string_lossy().into_owned();
            (name, bytes)
        })
        .collect()
}
