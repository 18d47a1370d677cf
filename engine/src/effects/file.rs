//! Managed files under `/etc` and vendor files under `/usr/lib`.
//!
//! Managed files are written atomically inside the root (a random
//! temporary name, fsync, rename; see [`crate::confined`]) as root:root, optionally validated before they are kept, and restored
//! byte-for-byte with their old metadata on undo.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use super::{Ctx, Prior};
use crate::error::{Error, Result};
use crate::root::{Root, display_argv};

pub(super) fn capture(ctx: &Ctx<'_>, path: &str) -> Result<(Prior, Option<Vec<u8>>)> {
    let parent = Path::new(path)
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    if !ctx.root.is_dir(&parent) {
        return Err(Error::Precondition {
            what: format!("cannot manage {path}: its directory {parent} does not exist"),
            hint: format!(
                "add the package that owns that directory to the `packages:` of module `{}`",
                ctx.module
            ),
        });
    }
    if let Some(owner) = conffile_owner(ctx, path)? {
        return Err(Error::Precondition {
            what: format!("cannot manage {path}: it is a conffile of package {owner}"),
            hint: "use a `divert` effect for files other packages ship (docs/packaging.md)".into(),
        });
    }
    match ctx.root.symlink_metadata(path) {
        Ok(meta) if meta.is_file() => {
            let ([mode, uid, gid], content) = read_regular(ctx.root, path, &meta)?;
            Ok((
                Prior::File {
                    existed: true,
                    mode,
                    uid,
                    gid,
                },
                Some(content),
            ))
        }
        Ok(_) => Err(Error::Precondition {
            what: format!("cannot manage {path}: it exists and is not a regular file"),
            hint: "remove or rename it by hand, then run `dpkg --configure -a`".into(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok((
            Prior::File {
                existed: false,
                mode: 0,
                uid: 0,
                gid: 0,
            },
            None,
        )),
        Err(e) => Err(Error::io("inspect", path)(e)),
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn apply(
    ctx: &Ctx<'_>,
    path: &str,
    content: &[u8],
    mode: u32,
    validate: Option<&[String]>,
    prior: &Prior,
    backup: Option<&[u8]>,
) -> Result<()> {
    if !matches_content(ctx.root, path, content, mode) {
        ctx.root.write_file(path, content, mode, 0, 0)?;
    }
    if let Some(Err(e)) = validate.map(|argv| run_validator(ctx, argv, path)) {
        restore(ctx, path, prior, backup)?;
        return Err(e);
    }
    Ok(())
}

/// Runs a validator (`{path}` replaced by the file's path) on the root;
/// its refusal becomes an [`Error::Validation`] carrying what it printed.
pub(super) fn run_validator(ctx: &Ctx<'_>, argv: &[String], path: &str) -> Result<()> {
    let argv: Vec<String> = argv.iter().map(|a| a.replace("{path}", path)).collect();
    let out = crate::root::waiting(|| ctx.root.command(&argv).output()).map_err(|source| {
        Error::Spawn {
            argv: display_argv(&argv),
            source,
        }
    })?;
    if out.status.success() {
        return Ok(());
    }
    let mut output = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    if output.is_empty() {
        output = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    }
    Err(Error::Validation {
        path: path.to_owned(),
        argv: display_argv(&argv),
        output,
    })
}

pub(super) fn restore(
    ctx: &Ctx<'_>,
    path: &str,
    prior: &Prior,
    backup: Option<&[u8]>,
) -> Result<()> {
    match prior {
        Prior::File {
            existed: true,
            mode,
            uid,
            gid,
        } => {
            let content = backup.ok_or_else(|| Error::StateCorrupt {
                what: format!("backup of {path}"),
                reason: "the prior content is missing from the journal".into(),
            })?;
            ctx.root.write_file(path, content, *mode, *uid, *gid)
        }
        Prior::File { existed: false, .. } => ctx.root.remove_file(path),
        other => Err(Error::StateCorrupt {
            what: format!("step `file:{path}`"),
            reason: format!("prior state {other:?} is not a file state"),
        }),
    }
}

/// Content, mode, uid and gid of a regular file about to be replaced.
pub(super) fn read_regular(
    root: &Root,
    path: &str,
    meta: &std::fs::Metadata,
) -> Result<([u32; 3], Vec<u8>)> {
    let content = root.read(path).map_err(Error::io("read", path))?;
    Ok((
        [meta.permissions().mode() & 0o7777, meta.uid(), meta.gid()],
        content,
    ))
}

pub(super) fn check_vendor(ctx: &Ctx<'_>, path: &str) -> Result<()> {
    if ctx.root.is_file(path) {
        Ok(())
    } else {
        Err(Error::Precondition {
            what: format!("vendor file {path} of module `{}` is missing", ctx.module),
            hint: format!(
                "reinstall the package: `apt install --reinstall {}`",
                ctx.package()
            ),
        })
    }
}

/// Whether `path` is a regular file with this SHA-256 (hex) and mode.
pub fn matches_sha256(root: &Root, path: &str, sha256: &str, mode: u32) -> bool {
    use sha2::{Digest, Sha256};
    match (root.symlink_metadata(path), root.read(path)) {
        (Ok(meta), Ok(current)) => {
            meta.is_file()
                && meta.permissions().mode() & 0o7777 == mode
                && Sha256::digest(&current)
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
                    == sha256
        }
        _ => false,
    }
}

/// Whether `path` is a regular file with this content and mode.
pub fn matches_content(root: &Root, path: &str, content: &[u8], mode: u32) -> bool {
    match (root.symlink_metadata(path), root.read(path)) {
        (Ok(meta), Ok(current)) => {
            meta.is_file() && meta.permissions().mode() & 0o7777 == mode && current == content
        }
        _ => false,
    }
}

/// The package that ships `path` as a conffile, if any, asked of
/// dpkg-query (which exits 1 when no package owns the path).
fn conffile_owner(ctx: &Ctx<'_>, path: &str) -> Result<Option<String>> {
    let host = crate::root::Root::new("/");
    let mut argv = ctx.root.dpkg_tool("dpkg-query");
    argv.extend(["--search".into(), "--".into(), path.to_owned()]);
    let Ok(owners) = host.run(&argv) else {
        return Ok(None);
    };
    for line in owners.lines() {
        // "pkg1, pkg2: /path"; diversion lines start with "diversion by".
        let Some((pkgs, p)) = line.split_once(": ") else {
            continue;
        };
        if p != path || pkgs.starts_with("diversion ") {
            continue;
        }
        for pkg in pkgs.split(", ") {
            let mut argv = ctx.root.dpkg_tool("dpkg-query");
            argv.extend([
                "--show".into(),
                "--showformat=${Conffiles}".into(),
                "--".into(),
                pkg.to_owned(),
            ]);
            let conffiles = host.run(&argv)?;
            if conffiles
                .lines()
                .any(|l| l.split_whitespace().next() == Some(path))
            {
                return Ok(Some(pkg.split(':').next().unwrap_or(pkg).to_owned()));
            }
        }
    }
    Ok(None)
}
