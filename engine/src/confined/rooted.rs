//! The root's file access: every absolute path of the managed system is
//! resolved inside [`Root::dir`] ([`Root::open_dir`]) by the kernel (`RESOLVE_IN_ROOT`), so an
//! absolute link in a `--root` tree points inside the tree, and nothing
//! outside it is read, written or chowned.

use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::PathBuf;

use nix::errno::Errno;
use nix::fcntl::OFlag;

use super::dir::{Dir, Guard};
use super::open::{Policy, find_link, open_anchor, open_at};
use crate::error::{Error, Result};
use crate::root::Root;

impl Root {
    /// Opens the absolute path `abs` of the managed system with `flags`.
    pub fn open_in(&self, abs: &str, flags: OFlag) -> std::io::Result<OwnedFd> {
        let anchor = open_anchor(self.dir())?;
        Ok(open_at(&anchor, abs, flags, 0, Policy::InRoot)?)
    }

    /// The content of `abs`.
    pub fn read(&self, abs: &str) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        std::fs::File::from(self.open_in(abs, OFlag::O_RDONLY | OFlag::O_NOCTTY)?)
            .read_to_end(&mut out)?;
        Ok(out)
    }

    /// The content of `abs` as UTF-8 text.
    pub fn read_to_string(&self, abs: &str) -> std::io::Result<String> {
        String::from_utf8(self.read(abs)?)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    }

    /// The status of `abs`, a link followed (inside the root).
    pub fn metadata(&self, abs: &str) -> std::io::Result<std::fs::Metadata> {
        std::fs::File::from(self.open_in(abs, OFlag::O_PATH)?).metadata()
    }

    /// The status of `abs` itself, a link reported as a link.
    pub fn symlink_metadata(&self, abs: &str) -> std::io::Result<std::fs::Metadata> {
        std::fs::File::from(self.open_in(abs, OFlag::O_PATH | OFlag::O_NOFOLLOW)?).metadata()
    }

    /// Where the link `abs` points, as written in it.
    pub fn read_link(&self, abs: &str) -> std::io::Result<PathBuf> {
        let fd = self.open_in(abs, OFlag::O_PATH | OFlag::O_NOFOLLOW)?;
        Ok(PathBuf::from(nix::fcntl::readlinkat(&fd, "")?))
    }

    /// The names in directory `abs`, sorted bytewise (`.` and `..` left out).
    pub fn read_dir_names(&self, abs: &str) -> std::io::Result<Vec<String>> {
        let fd = self.open_in(abs, OFlag::O_RDONLY | OFlag::O_DIRECTORY)?;
        Ok(super::walk::names(&fd)?)
    }

    /// Whether something is at `abs` (a link counts if its target exists).
    pub fn exists(&self, abs: &str) -> bool {
        self.metadata(abs).is_ok()
    }

    /// Whether `abs` is (or links to) a regular file.
    pub fn is_file(&self, abs: &str) -> bool {
        self.metadata(abs).is_ok_and(|m| m.is_file())
    }

    /// Whether `abs` is (or links to) a directory.
    pub fn is_dir(&self, abs: &str) -> bool {
        self.metadata(abs).is_ok_and(|m| m.is_dir())
    }

    /// The system directory `abs`, open for changes inside it.
    pub fn open_dir(&self, abs: &str) -> Result<Dir> {
        let shown = if abs.is_empty() {
            "/".to_owned()
        } else {
            abs.to_owned()
        };
        let fd = self
            .open_in(abs, OFlag::O_RDONLY | OFlag::O_DIRECTORY)
            .map_err(Error::io("open", &shown))?;
        Ok(Dir::from_fd(fd, shown, Guard::System))
    }

    /// The system directory `abs`, made root's with `mode` (and its missing
    /// parents 0755) when it does not exist; an existing one is kept as is.
    pub fn ensure_dir(&self, abs: &str, mode: u32) -> Result<Dir> {
        match self.open_dir(abs) {
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                let (parent, name) = split(abs)?;
                let parent = self.ensure_dir(parent, 0o755)?;
                Ok(parent.ensure_subdir(name, mode, 0, 0)?.0)
            }
            other => other,
        }
    }

    /// The directory `abs` that the person `uid` controls (their home, a
    /// team folder): its parent is resolved in the root, it must not be a
    /// link itself, and nothing below it is followed if it is a link.
    pub fn user_dir(&self, abs: &str, uid: u32, place: &'static str) -> Result<Dir> {
        let guard = Guard::User { uid, place };
        let (parent, name) = self.parent_dir(abs)?;
        match nix::fcntl::openat(
            parent.fd(),
            name,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        ) {
            Ok(fd) => Ok(Dir::from_fd(fd, abs.to_owned(), guard)),
            Err(e @ (Errno::ELOOP | Errno::ENOTDIR)) => match find_link(parent.fd(), name) {
                Some((_, target)) => Err(Error::Refused {
                    action: "use",
                    path: abs.to_owned(),
                    what: format!(
                        "{abs} is a symbolic link (to {target}); repair the {place} first"
                    ),
                    hint: format!(
                        "a {place} must be a real directory; look at it (`ls -la {}`), replace the link as root, and run the command again",
                        parent.shown()
                    ),
                }),
                None => Err(Error::io("open", abs)(e.into())),
            },
            Err(e) => Err(Error::io("open", abs)(e.into())),
        }
    }

    /// The system directory holding `abs`, open, and the last name of `abs`.
    pub fn parent_dir<'a>(&self, abs: &'a str) -> Result<(Dir, &'a str)> {
        let (parent, name) = split(abs)?;
        Ok((self.open_dir(parent)?, name))
    }

    /// Writes the system file `abs` atomically (see [`Dir::write`]).
    pub fn write_file(
        &self,
        abs: &str,
        content: &[u8],
        mode: u32,
        uid: u32,
        gid: u32,
    ) -> Result<()> {
        let (dir, name) = self.parent_dir(abs)?;
        dir.write(name, content, mode, uid, gid)
    }

    /// Removes the system file or link `abs`; one already gone is fine.
    pub fn remove_file(&self, abs: &str) -> Result<()> {
        match self.parent_dir(abs) {
            Ok((dir, name)) => dir.remove(name),
            // No directory, no file: undo is idempotent.
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}

/// `abs` as its parent directory and last name.
pub(super) fn split(abs: &str) -> Result<(&str, &str)> {
    let trimmed = abs.trim_end_matches('/');
    match trimmed.rsplit_once('/') {
        Some((parent, name)) if !name.is_empty() && name != "." && name != ".." => {
            Ok((if parent.is_empty() { "/" } else { parent }, name))
        }
        _ => Err(Error::Invalid {
            what: format!("`{abs}` is not an absolute path of a file"),
            hint: "this is a bug in vpsc; please report it".into(),
        }),
    }
}
