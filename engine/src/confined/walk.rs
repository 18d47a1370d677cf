//! Walking a tree a user controls through directory descriptors, never
//! names: removing it, and packing it into an archive. A link inside is
//! removed or stored as a link, never followed; nothing on another file
//! system and no other owner's file with a second name is packed.

use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{FileStat, Mode, SFlag};
use nix::unistd::UnlinkatFlags;

use super::dir::Dir;
use super::open::kind;
use crate::error::{Error, Result};

/// Opens the directory `name` below `parent` without following a link.
fn open_dir(parent: impl AsFd, name: &str) -> nix::Result<OwnedFd> {
    nix::fcntl::openat(
        parent,
        name,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}

/// The names in the open directory `dir` (a duplicate descriptor is read,
/// so `dir` stays usable), `.` and `..` left out, sorted.
pub(super) fn names(dir: &OwnedFd) -> nix::Result<Vec<String>> {
    let dup = dir.try_clone().map_err(|_| Errno::EMFILE)?;
    let listing = nix::dir::Dir::from_fd(dup)?;
    let mut out: Vec<String> = listing
        .into_iter()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "." && n != "..")
        .collect();
    out.sort();
    Ok(out)
}

fn lstat(dir: impl AsFd, name: &str) -> nix::Result<FileStat> {
    nix::sys::stat::fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW)
}

/// Removes `name` below `parent` and everything in it.
pub(super) fn remove_tree(parent: &OwnedFd, name: &str) -> nix::Result<()> {
    let fd = match open_dir(parent, name) {
        Ok(fd) => fd,
        // A file or a link where a directory was: remove just that.
        Err(Errno::ENOTDIR | Errno::ELOOP) => {
            return match nix::unistd::unlinkat(parent, name, UnlinkatFlags::NoRemoveDir) {
                Ok(()) | Err(Errno::ENOENT) => Ok(()),
                Err(e) => Err(e),
            };
        }
        Err(Errno::ENOENT) => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in names(&fd)? {
        match lstat(&fd, &entry) {
            Ok(st) if kind(&st) == SFlag::S_IFDIR => remove_tree(&fd, &entry)?,
            Ok(_) => nix::unistd::unlinkat(&fd, entry.as_str(), UnlinkatFlags::NoRemoveDir)?,
            Err(Errno::ENOENT) => {}
            Err(e) => return Err(e),
        }
    }
    match nix::unistd::unlinkat(parent, name, UnlinkatFlags::RemoveDir) {
        Ok(()) | Err(Errno::ENOENT) => Ok(()),
        Err(e) => Err(e),
    }
}

/// What packing a tree stored and what it left out, and why.
#[derive(Debug, Default, serde::Serialize)]
pub struct ArchiveReport {
    /// Entries stored (directories, files, links).
    pub stored: usize,
    /// Paths left out, each with the reason.
    pub skipped: Vec<String>,
}

/// Packs the directory `dir` (owned by `owner`) into `out` under the top
/// name `top`, owners, modes and times kept, links stored as links.
pub fn archive_dir<W: Write>(
    dir: &Dir,
    top: &str,
    owner: u32,
    out: W,
) -> Result<(W, ArchiveReport)> {
    let mut tar = tar::Builder::new(out);
    tar.follow_symlinks(false);
    let mut report = ArchiveReport::default();
    let fd = dir
        .fd()
        .try_clone_to_owned()
        .map_err(Error::io("open", dir.shown().to_owned()))?;
    let st = nix::sys::stat::fstat(&fd)
        .map_err(|e| Error::io("inspect", dir.shown().to_owned())(e.into()))?;
    let mut walk = Walk {
        tar: &mut tar,
        report: &mut report,
        owner,
        dev: st.st_dev,
        shown: dir.shown(),
    };
    walk.header(top, &st, tar::EntryType::Directory, 0)
        .and_then(|h| walk.tar.append_data(&mut h.clone(), top, std::io::empty()))
        .map_err(Error::io("write the archive of", dir.shown().to_owned()))?;
    walk.report.stored += 1;
    walk.dir(&fd, top)?;
    let w = tar
        .into_inner()
        .map_err(Error::io("write the archive of", dir.shown().to_owned()))?;
    Ok((w, report))
}

struct Walk<'a, W: Write> {
    tar: &'a mut tar::Builder<W>,
    report: &'a mut ArchiveReport,
    owner: u32,
    dev: u64,
    shown: &'a str,
}

impl<W: Write> Walk<'_, W> {
    fn header(
        &self,
        _path: &str,
        st: &FileStat,
        kind: tar::EntryType,
        size: u64,
    ) -> std::io::Result<tar::Header> {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(st.st_mode & 0o7777);
        h.set_uid(u64::from(st.st_uid));
        h.set_gid(u64::from(st.st_gid));
        h.set_mtime(st.st_mtime.max(0) as u64);
        h.set_size(size);
        Ok(h)
    }

    fn skip(&mut self, path: &str, why: &str) {
        let inside = path.split_once('/').map(|(_, p)| p).unwrap_or(path);
        let shown = format!("{}/{inside}", self.shown.trim_end_matches('/'));
        tracing::warn!(path = %shown, why, "not archived");
        self.report.skipped.push(format!("{shown}: {why}"));
    }

    fn dir(&mut self, fd: &OwnedFd, at: &str) -> Result<()> {
        let shown = self.shown;
        let io = move |e: Errno| Error::io("read", format!("{shown}/{at}"))(e.into());
        for name in names(fd).map_err(io)? {
            let path = format!("{at}/{name}");
            let st = match lstat(fd, &name) {
                Ok(st) => st,
                Err(Errno::ENOENT) => continue,
                Err(e) => return Err(io(e)),
            };
            if st.st_dev != self.dev {
                self.skip(&path, "on another file system");
                continue;
            }
            match kind(&st) {
                SFlag::S_IFDIR => {
                    let sub = match open_dir(fd, &name) {
                        Ok(sub) => sub,
                        Err(_) => {
                            self.skip(&path, "changed while it was archived");
                            continue;
                        }
                    };
                    let h = self.header(&path, &st, tar::EntryType::Directory, 0);
                    self.append(&path, h, std::io::empty())?;
                    self.dir(&sub, &path)?;
                }
                SFlag::S_IFLNK => {
                    let target = nix::fcntl::readlinkat(fd, name.as_str()).map_err(io)?;
                    let mut h = self
                        .header(&path, &st, tar::EntryType::Symlink, 0)
                        .map_err(Error::io("archive", path.clone()))?;
                    self.tar
                        .append_link(&mut h, &path, &target)
                        .map_err(Error::io("write the archive entry", path.clone()))?;
                    self.report.stored += 1;
                }
                SFlag::S_IFREG => {
                    if st.st_nlink > 1 && st.st_uid != self.owner {
                        self.skip(
                            &path,
                            &format!("a hard link to a file of UID {} (not theirs)", st.st_uid),
                        );
                        continue;
                    }
                    let file = match nix::fcntl::openat(
                        fd,
                        name.as_str(),
                        OFlag::O_RDONLY
                            | OFlag::O_NOFOLLOW
                            | OFlag::O_NONBLOCK
                            | OFlag::O_NOCTTY
                            | OFlag::O_CLOEXEC,
                        Mode::empty(),
                    ) {
                        Ok(f) => f,
                        Err(_) => {
                            self.skip(&path, "changed while it was archived");
                            continue;
                        }
                    };
                    let now = nix::sys::stat::fstat(&file).map_err(io)?;
                    if now.st_ino != st.st_ino || kind(&now) != SFlag::S_IFREG {
                        self.skip(&path, "changed while it was archived");
                        continue;
                    }
                    let h = self.header(&path, &now, tar::EntryType::Regular, now.st_size as u64);
                    let reader = std::io::Read::take(std::fs::File::from(file), now.st_size as u64);
                    self.append(&path, h, reader)?;
                }
                _ => self.skip(&path, "not a file, directory or link"),
            }
        }
        Ok(())
    }

    fn append(
        &mut self,
        path: &str,
        header: std::io::Result<tar::Header>,
        data: impl std::io::Read,
    ) -> Result<()> {
        let mut h = header.map_err(Error::io("archive", path.to_owned()))?;
        self.tar
            .append_data(&mut h, path, data)
            .map_err(Error::io("write the archive entry", path.to_owned()))?;
        self.report.stored += 1;
        Ok(())
    }
}
