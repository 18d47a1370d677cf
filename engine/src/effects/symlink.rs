//! Symbolic links under `/etc`, such as `/etc/localtime`. Whatever was at
//! the path (another link, a regular file, nothing) is journalled and comes
//! back on undo; the link is replaced atomically (a new link renamed over
//! the old path), so a reader never finds the path missing.

use std::path::Path;

use super::{Ctx, Prior};
use crate::error::{Error, Result};

pub(super) fn capture(ctx: &Ctx<'_>, path: &str) -> Result<(Prior, Option<Vec<u8>>)> {
    match ctx.root.symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            let target = ctx
                .root
                .read_link(path)
                .map_err(Error::io("read link", path))?;
            Ok((
                Prior::Symlink {
                    link: Some(target.to_string_lossy().into_owned()),
                    file: None,
                },
                None,
            ))
        }
        Ok(meta) if meta.is_file() => {
            let (file, content) = super::file::read_regular(ctx.root, path, &meta)?;
            Ok((
                Prior::Symlink {
                    link: None,
                    file: Some(file),
                },
                Some(content),
            ))
        }
        Ok(_) => Err(Error::Precondition {
            what: format!("cannot link {path}: it exists and is a directory or a device"),
            hint: "move it away by hand, then run `dpkg --configure -a`".into(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok((
            Prior::Symlink {
                link: None,
                file: None,
            },
            None,
        )),
        Err(e) => Err(Error::io("inspect", path)(e)),
    }
}

pub(super) fn apply(ctx: &Ctx<'_>, path: &str, target: &str) -> Result<()> {
    // A dangling link would be worse than none (a time zone that does not
    // exist makes glibc fall back to UTC silently).
    if !ctx.root.exists(target) {
        return Err(Error::Precondition {
            what: format!("cannot point {path} at {target}: it does not exist"),
            hint: format!(
                "check the parameter value behind `{target}` (for a time zone, see `ls /usr/share/zoneinfo`)"
            ),
        });
    }
    if ctx
        .root
        .read_link(path)
        .is_ok_and(|t| t == Path::new(target))
    {
        return Ok(());
    }
    replace_with_link(ctx, path, target)
}

pub(super) fn undo(
    ctx: &Ctx<'_>,
    path: &str,
    link: Option<&str>,
    file: Option<[u32; 3]>,
    backup: Option<&[u8]>,
) -> Result<()> {
    match (link, file) {
        (Some(old), _) => {
            if ctx.root.read_link(path).is_ok_and(|t| t == Path::new(old)) {
                return Ok(());
            }
            replace_with_link(ctx, path, old)
        }
        (None, Some([mode, uid, gid])) => {
            let content = backup.ok_or_else(|| Error::StateCorrupt {
                what: format!("backup of {path}"),
                reason: "the prior content is missing from the journal".into(),
            })?;
            ctx.root.write_file(path, content, mode, uid, gid)
        }
        (None, None) => ctx.root.remove_file(path),
    }
}

fn replace_with_link(ctx: &Ctx<'_>, path: &str, target: &str) -> Result<()> {
    let (dir, name) = ctx.root.parent_dir(path)?;
    dir.symlink(name, target)
}
