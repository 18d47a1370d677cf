//! Scanning a system tree through directory descriptors: every entry's own
//! status (a link is reported, never followed; std's `Metadata` from
//! statx(2), so the birth time is there where the file system keeps it),
//! the target of each link, and the content of the regular files the
//! caller asks for. Nothing on another file system is entered or read: a
//! mount is not part of the tree the packages changed.

use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::MetadataExt;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

use super::dir::Dir;
use crate::error::{Error, Result};

/// One entry of a scanned tree.
#[derive(Debug)]
pub struct Found {
    /// Its path below the scanned directory (`default/locale`).
    pub rel: String,
    /// Its own status, a link not followed.
    pub meta: std::fs::Metadata,
    /// Where it points, for a symbolic link.
    pub target: Option<String>,
    /// Its content, for a regular file the caller asked for.
    pub content: Option<Vec<u8>>,
}

/// Every entry below `dir` (not `dir` itself), parents before children,
/// names sorted. `read(rel, meta)` says whether to read a regular file's
/// content; a file that changed while it was read is left unread (its
/// `content` stays `None`). Entries that vanish during the scan are left out.
pub fn scan(dir: &Dir, read: &dyn Fn(&str, &std::fs::Metadata) -> bool) -> Result<Vec<Found>> {
    let top = dir
        .fd()
        .try_clone_to_owned()
        .map_err(Error::io("open", dir.shown().to_owned()))?;
    let dev = std::fs::File::from(
        top.try_clone()
            .map_err(Error::io("open", dir.shown().to_owned()))?,
    )
    .metadata()
    .map_err(Error::io("inspect", dir.shown().to_owned()))?
    .dev();
    let mut out = Vec::new();
    let mut todo: Vec<(OwnedFd, String)> = vec![(top, String::new())];
    while let Some((fd, at)) = todo.pop() {
        let shown = |rel: &str| dir.shown_of(rel);
        let names = super::walk::names(&fd).map_err(|e| Error::io("list", shown(&at))(e.into()))?;
        let mut subdirs = Vec::new();
        for name in names {
            let rel = if at.is_empty() {
                name.clone()
            } else {
                format!("{at}/{name}")
            };
            let io = |action: &'static str| Error::io(action, shown(&rel));
            let path_fd = match open_nofollow(&fd, &name, OFlag::O_PATH) {
                Ok(f) => f,
                Err(Errno::ENOENT) => continue,
                Err(e) => return Err(io("inspect")(e.into())),
            };
            let meta = std::fs::File::from(path_fd.try_clone().map_err(io("inspect"))?)
                .metadata()
                .map_err(io("inspect"))?;
            if meta.dev() != dev {
                tracing::debug!(path = %shown(&rel), "on another file system; not scanned");
                continue;
            }
            let kind = meta.file_type();
            let mut found = Found {
                rel: rel.clone(),
                meta,
                target: None,
                content: None,
            };
            if kind.is_symlink() {
                let target = nix::fcntl::readlinkat(&path_fd, "")
                    .map_err(|e| io("read the link")(e.into()))?;
                found.target = Some(target.to_string_lossy().into_owned());
            } else if kind.is_file() && read(&rel, &found.meta) {
                found.content = read_same(&fd, &name, &found.meta).map_err(io("read"))?;
            } else if kind.is_dir() {
                match open_nofollow(&fd, &name, OFlag::O_RDONLY | OFlag::O_DIRECTORY) {
                    Ok(sub) if same(&sub, &found.meta) => subdirs.push((sub, rel.clone())),
                    // Replaced or removed since its status was taken.
                    Ok(_) | Err(Errno::ENOENT | Errno::ENOTDIR | Errno::ELOOP) => continue,
                    Err(e) => return Err(io("open")(e.into())),
                }
            }
            out.push(found);
        }
        todo.extend(subdirs);
    }
    out.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(out)
}

/// `name` below `dir` with `flags`, the name itself never followed.
fn open_nofollow(dir: impl AsFd, name: &str, flags: OFlag) -> nix::Result<OwnedFd> {
    nix::fcntl::openat(
        dir,
        name,
        flags | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}

/// Whether the open `fd` is the file `meta` describes.
fn same(fd: &OwnedFd, meta: &std::fs::Metadata) -> bool {
    nix::sys::stat::fstat(fd).is_ok_and(|st| st.st_ino == meta.ino() && st.st_dev == meta.dev())
}

/// The content of the regular file `name` below `dir`, if it is still the
/// file `meta` describes and its size has not changed.
fn read_same(
    dir: &OwnedFd,
    name: &str,
    meta: &std::fs::Metadata,
) -> std::io::Result<Option<Vec<u8>>> {
    // Non-blocking: a FIFO planted at the name must not hang the scan.
    let flags = OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_NOCTTY;
    let fd = match open_nofollow(dir, name, flags) {
        Ok(fd) => fd,
        Err(Errno::ENOENT | Errno::ELOOP) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    if !same(&fd, meta) {
        return Ok(None);
    }
    let mut content = Vec::new();
    std::fs::File::from(fd)
        .take(meta.size() + 1)
        .read_to_end(&mut content)?;
    Ok((content.len() as u64 == meta.size()).then_some(content))
}
