//! `vpsc-docs DIR`: writes the manual pages and shell completions of
//! `vpsc`, `vpsc-user` and `vpsc-gen` into DIR (a package build step, run
//! by `make runtime-deb`), dated by `SOURCE_DATE_EPOCH` so builds repeat.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: vpsc-docs DIR");
        return ExitCode::from(2);
    };
    let epoch = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.parse::<i64>().ok());
    let date = match epoch {
        Some(secs) => vpsc::dates::utc(secs)[..10].to_owned(),
        None => vpsc::dates::today(),
    };
    match vpsc_docs::write_all(&dir, &date) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vpsc-docs: cannot write {}: {e}", dir.display());
            ExitCode::from(2)
        }
    }
}
