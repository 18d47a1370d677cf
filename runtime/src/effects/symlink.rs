//! Symbolic links under `/etc`, such as `/etc/localtime`. Whatever was at
//! the path (another link, a regular file, nothing) is journalled and comes
//! back on undo; the link is replaced atomically (a new link renamed over
//! the old path), so a reader never finds the path missing.

use std::path::Path;

use super::{Ctx, Prior};
use crate::error::{Error, Result};

pub(super) fn capture(ctx: &Ctx<'_>, path: &str) -> Result<(Prior, Option<Vec<u8>>)> {
    let host = ctx.root.path(path);
    match std::fs::symlink_metadata(&host) {
        Ok(meta) if meta.file_type().is_symlink() => {
            let target = std::fs::read_link(&host).map_err(Error::io("read link", &host))?;
            Ok((
                Prior::Symlink {
                    link: Some(target.to_string_lossy().into_owned()),
                    file: None,
                },
                None,
            ))
        }
        Ok(meta) if meta.is_file() => {
            let (file, content) = super::file::read_regular(&host, &meta)?;
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
        Err(e) => Err(Error::io("inspect", host)(e)),
    }
}

pub(super) fn apply(ctx: &Ctx<'_>, path: &str, target: &str) -> Result<()> {
    // A dangling link would be worse than none (a time zone that does not
    // exist makes glibc fall back to UTC silently).
    if !ctx.root.path(target).exists() {
        return Err(Error::Precondition {
            what: format!("cannot point {path} at {target}: it does not exist"),
            hint: format!(
                "check the parameter value behind `{target}` (for a time zone, see `ls /usr/share/zoneinfo`)"
            ),
        });
    }
    let host = ctx.root.path(path);
    if std::fs::read_link(&host).is_ok_and(|t| t == Path::new(target)) {
        return Ok(());
    }
    replace_with_link(&host, target)
}

pub(super) fn undo(
    ctx: &Ctx<'_>,
    path: &str,
    link: Option<&str>,
    file: Option<[u32; 3]>,
    backup: Option<&[u8]>,
) -> Result<()> {
    let host = ctx.root.path(path);
    match (link, file) {
        (Some(old), _) => {
            if std::fs::read_link(&host).is_ok_and(|t| t == Path::new(old)) {
                return Ok(());
            }
            replace_with_link(&host, old)
        }
        (None, Some([mode, uid, gid])) => {
            let content = backup.ok_or_else(|| Error::StateCorrupt {
                what: format!("backup of {path}"),
                reason: "the prior content is missing from the journal".into(),
            })?;
            super::file::write_atomic(&host, content, mode, uid, gid)
        }
        (None, None) => super::file::remove_if_present(&host),
    }
}

fn replace_with_link(host: &Path, target: &str) -> Result<()> {
    let dir = host.parent().expect("absolute path has a parent");
    let name = host
        .file_name()
        .expect("path has a file name")
        .to_string_lossy();
    let tmp = dir.join(format!(".{name}.vpsc-new"));
    let _ = std::fs::remove_file(&tmp);
    let swap = || -> std::io::Result<()> {
        std::os::unix::fs::symlink(target, &tmp)?;
        std::fs::rename(&tmp, host)?;
        std::fs::File::open(dir)?.sync_all()
    };
    swap().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io("link", host)(e)
    })
}
