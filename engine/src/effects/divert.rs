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

pub(super) fn apply(
    ctx: &Ctx<'_>,
    path: &str,
    content: &[u8],
    mode: u32,
    validate: Option<&[String]>,
    prior: &Prior,
) -> Result<()> {
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
    if !super::file::matches_content(ctx.root, path, content, mode) {
        ctx.root.write_file(path, content, mode, 0, 0)?;
    }
    if let Some(Err(e)) = validate.map(|argv| super::file::run_validator(ctx, argv, path)) {
        let existed = matches!(prior, Prior::Divert { existed: true });
        undo(ctx, path, existed)?;
        return Err(e);
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
    ctx.root.remove_file(path)?;
    let package = ctx.package();
    let mut argv = dpkg_divert(ctx);
    argv.extend(["--package", &package, "--rename", "--remove", path].map(String::from));
    run_host(&argv)?;
    Ok(())
}

/// dpkg-divert aimed at the root with its own `--root` (it handles the
/// admin directory and the rename inside the tree itself).
fn dpkg_divert(ctx: &Ctx<'_>) -> Vec<String> {
    let mut argv = ctx.root.dpkg_tool("dpkg-divert");
    argv.push("--quiet".into());
    argv
}

fn run_host(argv: &[String]) -> Result<String> {
    crate::root::Root::new("/").run(argv)
}

/// The diversion of `path` as (divert-to, package), asked of dpkg-divert
/// (`LOCAL` is the package of a local diversion).
fn diversion_of(ctx: &Ctx<'_>, path: &str) -> Result<Option<(String, String)>> {
    let mut argv = ctx.root.dpkg_tool("dpkg-divert");
    argv.extend(["--listpackage".into(), path.to_owned()]);
    let package = run_host(&argv)?.trim().to_owned();
    if package.is_empty() {
        return Ok(None);
    }
    let mut argv = ctx.root.dpkg_tool("dpkg-divert");
    argv.extend(["--truename".into(), path.to_owned()]);
    let to = run_host(&argv)?.trim().to_owned();
    Ok(Some((to, package)))
}
