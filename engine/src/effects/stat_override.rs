//! Owner and mode of a file other packages ship (e.g. CIS's "sshd_config
//! is 0600"), set through `dpkg-statoverride --update` so dpkg keeps them
//! across upgrades of the owning package. Undo removes the override and
//! puts the recorded owner and mode back.

use std::os::unix::fs::{MetadataExt, PermissionsExt};

use super::{Ctx, Prior};
use crate::error::{Error, Result};
use crate::root::Root;

pub(super) fn capture(ctx: &Ctx<'_>, path: &str) -> Result<(Prior, Option<Vec<u8>>)> {
    if let Some(existing) = listed(ctx, path)? {
        return Err(Error::Precondition {
            what: format!(
                "cannot override owner and mode of {path}: dpkg already has an override ({existing})"
            ),
            hint: format!(
                "remove it with `dpkg-statoverride --remove {path}` if it is stale, or drop this effect from module `{}`",
                ctx.module
            ),
        });
    }
    let meta = ctx.root.symlink_metadata(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::Precondition {
                what: format!("cannot set owner and mode of {path}: it does not exist"),
                hint: format!(
                    "add the package that ships it to the `packages:` of module `{}`",
                    ctx.module
                ),
            }
        } else {
            Error::io("inspect", path)(e)
        }
    })?;
    if meta.file_type().is_symlink() {
        // chmod and chown follow the link: undo would give the target the
        // link's 0777.
        return Err(Error::Precondition {
            what: format!("cannot set owner and mode of {path}: it is a symbolic link"),
            hint: format!(
                "name the file it points to in module `{}` instead",
                ctx.module
            ),
        });
    }
    Ok((
        Prior::StatOverride {
            mode: meta.permissions().mode() & 0o7777,
            uid: meta.uid(),
            gid: meta.gid(),
        },
        None,
    ))
}

pub(super) fn apply(ctx: &Ctx<'_>, path: &str, owner: &str, group: &str, mode: u32) -> Result<()> {
    if let Some(line) = listed(ctx, path)? {
        let f: Vec<&str> = line.split_whitespace().collect();
        let same = f.len() >= 3
            && f[0] == owner
            && f[1] == group
            && u32::from_str_radix(f[2], 8).ok() == Some(mode);
        if same {
            return Ok(());
        }
        remove(ctx, path)?;
    }
    let mut argv = ctx.root.dpkg_tool("dpkg-statoverride");
    argv.extend(
        [
            "--update",
            "--add",
            owner,
            group,
            &format!("{mode:o}"),
            path,
        ]
        .map(String::from),
    );
    Root::new("/").run(&argv)?;
    Ok(())
}

pub(super) fn undo(ctx: &Ctx<'_>, path: &str, mode: u32, uid: u32, gid: u32) -> Result<()> {
    if listed(ctx, path)?.is_some() {
        remove(ctx, path)?;
    }
    match ctx.root.symlink_metadata(path) {
        Ok(_) => {
            let (dir, name) = ctx.root.parent_dir(path)?;
            dir.set_owner_mode(name, uid, gid, mode)
        }
        // The owning package went first: nothing left to restore.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("inspect", path)(e)),
    }
}

fn remove(ctx: &Ctx<'_>, path: &str) -> Result<()> {
    let mut argv = ctx.root.dpkg_tool("dpkg-statoverride");
    argv.extend(["--quiet", "--remove", path].map(String::from));
    Root::new("/").run(&argv)?;
    Ok(())
}

/// The override dpkg has for `path` (`owner group mode path`), if any;
/// `dpkg-statoverride --list` exits 1 when there is none.
fn listed(ctx: &Ctx<'_>, path: &str) -> Result<Option<String>> {
    let mut argv = ctx.root.dpkg_tool("dpkg-statoverride");
    argv.extend(["--list".into(), path.to_owned()]);
    let out =
        crate::root::waiting(|| Root::new("/").command(&argv).output()).map_err(|source| {
            Error::Spawn {
                argv: crate::root::display_argv(&argv),
                source,
            }
        })?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    Ok((out.status.success() && !text.is_empty()).then_some(text))
}
