//! `vpsc-docs DIR`: writes the manual pages and shell completions of
//! `vpsc`, `vpsc-user` and `vpsc-gen` into DIR (a package build step, run
//! by `make runtime-deb`), dated by `SOURCE_DATE_EPOCH` so builds repeat.
//! `vpsc-docs --copyright LOCKFILE`: prints `debian/copyright` with the
//! licences of the crates linked into the programs.

use std::path::PathBuf;
use std::process::ExitCode;

/// The architecture vpsc's packages are built for.
const TARGET: &str = "x86_64-unknown-linux-gnu";

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some("--copyright") {
        let lockfile = std::env::args_os()
            .nth(2)
            .map_or_else(|| PathBuf::from("Cargo.lock"), PathBuf::from);
        return match vpsc_gen::sbom::shipped_crates(&lockfile, TARGET) {
            Ok(crates) => {
                print!("{}", vpsc_docs::copyright::render(&crates));
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("vpsc-docs: {e}");
                ExitCode::from(2)
            }
        };
    }
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
