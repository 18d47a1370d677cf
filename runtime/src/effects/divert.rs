//! Foreign files replaced through `dpkg-divert --rename`, the technique of
//! config-package-dev: dpkg itself moves the original aside and back, and
//! keeps upgrading it under the diverted name.

use super::{Ctx, Prior};
use crate::error::{Error, Result};

/// Suffix of the diverted original.
pub const DIVERT_SUFFIX: &str = ".vpsc-orig";

pub(super) fn capture(ctx: &Ctx<'_>, path: &str) -> Result<(Prior, Option<Vec<u8>>)> {
    match diversion_of(ctx, path)? {
        None => Ok((Prior::Divert { existed: false }, None)),
        Some((_, pkg)) if pkg == ctx.package() => Ok((Prior::Divert { existed: true }, None)),
        Some((to, pkg)) => Err(Error::Precondition {
            what: format!("cannot divert {path}: package {pkg} already diverts it to {to}"),
            hint: format!(
                "remove {pkg} or drop the divert effect from module `{}`",
                ctx.module
            ),
        }),
    }
}

pub(super) fn apply(ctx: &Ctx<'_>, path: &str, content: &[u8], mode: u32) -> Result<()> {
    if diversion_of(ctx, path)?.is_none() {
        let divert_to = format!("{path}{DIVERT_SUFFIX}");
        let package = ctx.package();
        let mut argv = dpkg_divert(ctx);
        argv.extend(
            [
                "--package",
                &package,
                "--rename",
                "--divert",
                &divert_to,
                "--add",
                path,
            ]
            .map(String::from),
        );
        run_host(&argv)?;
    }
    let host = ctx.root.path(path);
    if !super::file::matches_content(&host, content, mode) {
        super::file::write_atomic(&host, content, mode, 0, 0)?;
    }
    Ok(())
}

pub(super) fn undo(ctx: &Ctx<'_>, path: &str, existed: bool) -> Result<()> {
    if existed {
        // The diversion predates this step; it is not ours to remove.
        return Ok(());
    }
    if diversion_of(ctx, path)?.is_none() {
        return Ok(());
    }
    let host = ctx.root.path(path);
    match std::fs::remove_file(&host) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io("remove", host)(e)),
    }
    let package = ctx.package();
    let mut argv = dpkg_divert(ctx);
    argv.extend(["--package", &package, "--rename", "--remove", path].map(String::from));
    run_host(&argv)?;
    Ok(())
}

/// dpkg-divert aimed at the root with its own `--root` (it handles the
/// admin directory and the rename inside the tree itself).
fn dpkg_divert(ctx: &Ctx<'_>) -> Vec<String> {
    let mut argv = vec!["dpkg-divert".to_owned(), "--quiet".to_owned()];
    if !ctx.root.is_host() {
        argv.push("--root".into());
        argv.push(ctx.root.dir().to_string_lossy().into_owned());
    }
    argv
}

fn run_host(argv: &[String]) -> Result<()> {
    crate::root::Root::new("/").run(argv).map(drop)
}

/// The diversion of `path` as (divert-to, package), read from dpkg's
/// database (three lines per diversion: path, divert-to, package).
fn diversion_of(ctx: &Ctx<'_>, path: &str) -> Result<Option<(String, String)>> {
    let db = ctx.root.path("/var/lib/dpkg/diversions");
    let text = match std::fs::read_to_string(&db) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("read", db)(e)),
    };
    let lines: Vec<&str> = text.lines().collect();
    Ok(lines
        .chunks(3)
        .find(|c| c.len() == 3 && c[0] == path)
        .map(|c| (c[1].to_owned(), c[2].to_owned())))
}
