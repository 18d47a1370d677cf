//! [`Dir`]: an open directory and what root does in it. Names below it are
//! resolved by its [`Guard`]; every refusal names the link that caused it.

use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::{FileStat, Mode, SFlag};
use nix::unistd::{Gid, Uid, UnlinkatFlags};

use super::open::{Policy, find_link, kind, open_at};
use crate::error::{Error, Result};

/// Who controls a directory, and so how names below it are resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// Root's own (`/etc`, `/var/lib/vpsc`): resolved in the root, where
    /// only root can plant a link.
    System,
    /// A person's (a home, a team folder): no link below it is followed,
    /// and a file of another owner with a second name is not read.
    User {
        /// The person's UID.
        uid: u32,
        /// What the place is, for messages ("home directory").
        place: &'static str,
    },
}

impl Guard {
    fn policy(self) -> Policy {
        match self {
            Guard::System => Policy::InRoot,
            Guard::User { .. } => Policy::NoLinks,
        }
    }
}

/// An open directory (a descriptor, not a name), shown as `shown`.
#[derive(Debug)]
pub struct Dir {
    fd: OwnedFd,
    shown: String,
    guard: Guard,
}

/// Largest file read from a place a user controls (a key file, a TOTP
/// secret); more is refused rather than read into memory.
pub const READ_LIMIT: u64 = 4 * 1024 * 1024;

impl Dir {
    /// Wraps a directory descriptor opened for reading.
    pub(super) fn from_fd(fd: OwnedFd, shown: String, guard: Guard) -> Dir {
        Dir { fd, shown, guard }
    }

    /// The directory's descriptor.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// The directory's path inside the root, as messages show it.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// The path of `rel` below this directory, as messages show it.
    pub fn shown_of(&self, rel: &str) -> String {
        format!("{}/{}", self.shown.trim_end_matches('/'), rel)
    }

    /// The host path of this directory as the kernel resolved it, for the
    /// few callers that must pass a name on (SQLite); refused unless it lies
    /// inside `root`.
    pub fn host_path(&self, root: &crate::root::Root) -> Result<std::path::PathBuf> {
        use std::os::fd::AsRawFd;
        let resolved = std::fs::read_link(format!("/proc/self/fd/{}", self.fd.as_raw_fd()))
            .unwrap_or_else(|_| root.path(&self.shown));
        let top = std::fs::canonicalize(root.dir()).unwrap_or_else(|_| root.dir().to_path_buf());
        if !resolved.starts_with(&top) {
            return Err(Error::Refused {
                action: "use",
                path: self.shown.clone(),
                what: format!(
                    "it resolves to {} outside the root {}",
                    resolved.display(),
                    top.display()
                ),
                hint: "a link in the tree leads out of it; repair the tree".into(),
            });
        }
        Ok(resolved)
    }

    /// The guard names below this directory are resolved with.
    pub fn guard(&self) -> Guard {
        self.guard
    }

    /// Opens `rel` with `flags`, or says which link refused it.
    fn open(&self, action: &'static str, rel: &str, flags: OFlag, mode: u32) -> Result<OwnedFd> {
        open_at(&self.fd, rel, flags, mode, self.guard.policy())
            .map_err(|e| self.refusal(action, rel, e))
    }

    /// A failed resolution of `rel` as an error: a named link when a link
    /// stopped it, else the system error.
    pub fn refusal(&self, action: &'static str, rel: &str, errno: Errno) -> Error {
        let path = self.shown_of(rel);
        let link = matches!(errno, Errno::ELOOP | Errno::EXDEV | Errno::ENOTDIR)
            .then(|| find_link(&self.fd, rel))
            .flatten();
        if let Some((prefix, target)) = link {
            let repair = match self.guard {
                Guard::User { place, .. } => format!("; repair the {place} first"),
                Guard::System => String::new(),
            };
            return Error::Refused {
                action,
                path,
                what: format!(
                    "{} is a symbolic link (to {target}){repair}",
                    self.shown_of(&prefix)
                ),
                hint: format!(
                    "vpsc never follows a link a user could have planted; look at it (`ls -la {}`), remove or replace it as root, and run the command again",
                    parent_of(&self.shown_of(&prefix))
                ),
            };
        }
        Error::io(action, path)(std::io::Error::from(errno))
    }

    /// Opens the existing directory `rel` below this one, under the same guard.
    pub fn subdir(&self, rel: &str) -> Result<Dir> {
        let fd = self.open(
            "open",
            rel,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW,
            0,
        )?;
        Ok(Dir::from_fd(fd, self.shown_of(rel), self.guard))
    }

    /// Opens the existing directory `rel` below this one (`""` for this
    /// one again) with no symbolic link followed anywhere on the way, the
    /// last name included, whatever the guard: for writing into a tree
    /// whose entries may have been replaced since they were looked at.
    pub fn subdir_no_links(&self, rel: &str) -> Result<Dir> {
        let fd = open_at(
            &self.fd,
            rel,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW,
            0,
            Policy::NoLinks,
        )
        .map_err(|e| self.refusal("open", rel, e))?;
        let shown = if rel.is_empty() || rel == "." {
            self.shown.clone()
        } else {
            self.shown_of(rel)
        };
        Ok(Dir::from_fd(fd, shown, self.guard))
    }

    /// The directory that holds the file `rel` (a path below this one),
    /// opened to `action` that file: a refusal names the file and the link
    /// on the way to it.
    pub fn parent_of_file(&self, action: &'static str, rel: &str) -> Result<Dir> {
        let parent = rel.rsplit_once('/').map(|(p, _)| p).unwrap_or(".");
        let fd = open_at(
            &self.fd,
            parent,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW,
            0,
            self.guard.policy(),
        )
        .map_err(|e| self.refusal(action, rel, e))?;
        let shown = if parent == "." {
            self.shown.clone()
        } else {
            self.shown_of(parent)
        };
        Ok(Dir::from_fd(fd, shown, self.guard))
    }

    /// The directory `name` below this one, made (`mode`, owned by
    /// `uid:gid`) when missing; also says whether it was made now. An
    /// existing one keeps its owner and mode.
    pub fn ensure_subdir(&self, name: &str, mode: u32, uid: u32, gid: u32) -> Result<(Dir, bool)> {
        check_name(name, &self.shown)?;
        let made = match nix::sys::stat::mkdirat(&self.fd, name, Mode::from_bits_truncate(0o700)) {
            Ok(()) => true,
            Err(Errno::EEXIST) => false,
            Err(e) => return Err(Error::io("create", self.shown_of(name))(e.into())),
        };
        let dir = self.subdir(name)?;
        if made {
            // Owner first: chown clears set-id bits the mode may carry.
            nix::unistd::fchown(&dir.fd, Some(Uid::from_raw(uid)), Some(Gid::from_raw(gid)))
                .map_err(|e| Error::io("change the owner of", dir.shown.clone())(e.into()))?;
            dir.chmod(mode)?;
        }
        Ok((dir, made))
    }

    /// Sets this directory's own mode (on the descriptor, not a name).
    pub fn chmod(&self, mode: u32) -> Result<()> {
        nix::sys::stat::fchmod(&self.fd, Mode::from_bits_truncate(mode))
            .map_err(|e| Error::io("set permissions of", self.shown.clone())(e.into()))
    }

    /// Sets this directory's own owner (on the descriptor, not a name).
    pub fn chown(&self, uid: u32, gid: u32) -> Result<()> {
        nix::unistd::fchown(&self.fd, Some(Uid::from_raw(uid)), Some(Gid::from_raw(gid)))
            .map_err(|e| Error::io("change the owner of", self.shown.clone())(e.into()))
    }

    /// The status of `rel` itself (a link is reported, not followed), or
    /// `None` when nothing is there.
    pub fn stat(&self, rel: &str) -> Result<Option<FileStat>> {
        match open_at(
            &self.fd,
            rel,
            OFlag::O_PATH | OFlag::O_NOFOLLOW,
            0,
            self.guard.policy(),
        ) {
            Ok(fd) => nix::sys::stat::fstat(&fd)
                .map(Some)
                .map_err(|e| Error::io("inspect", self.shown_of(rel))(e.into())),
            Err(Errno::ENOENT) => Ok(None),
            Err(e) => Err(self.refusal("inspect", rel, e)),
        }
    }

    /// The content and status of the regular file `rel`, or `None` when
    /// nothing is there. A link, a FIFO, a device, a file larger than
    /// [`READ_LIMIT`] and, under a user's guard, another owner's file with a
    /// second name (a hard link to it) are refused.
    pub fn read(&self, rel: &str) -> Result<Option<(Vec<u8>, FileStat)>> {
        let fd = match open_at(
            &self.fd,
            rel,
            // Non-blocking: a FIFO planted at the name must not hang root.
            OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_NOCTTY,
            0,
            self.guard.policy(),
        ) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) => return Ok(None),
            Err(e) => return Err(self.refusal("read", rel, e)),
        };
        let st = nix::sys::stat::fstat(&fd)
            .map_err(|e| Error::io("inspect", self.shown_of(rel))(e.into()))?;
        self.judge_file("read", rel, &st)?;
        let mut content = Vec::new();
        std::fs::File::from(fd)
            .take(READ_LIMIT + 1)
            .read_to_end(&mut content)
            .map_err(Error::io("read", self.shown_of(rel)))?;
        Ok(Some((content, st)))
    }

    /// Refuses what root must not touch at `rel`: anything but a regular
    /// file, one too large, or another owner's file with a second name.
    fn judge_file(&self, action: &'static str, rel: &str, st: &FileStat) -> Result<()> {
        let refuse = |what: String| {
            Error::Refused {
            action,
            path: self.shown_of(rel),
            what,
            hint: "vpsc only reads regular files it or the person made there; remove it as root and run the command again".into(),
        }
        };
        if kind(st) != SFlag::S_IFREG {
            return Err(refuse("it is not a regular file".into()));
        }
        if st.st_size as u64 > READ_LIMIT {
            return Err(refuse(format!(
                "it is larger than {} MiB",
                READ_LIMIT / 1024 / 1024
            )));
        }
        if let Guard::User { uid, .. } = self.guard {
            if st.st_nlink > 1 && st.st_uid != uid {
                return Err(refuse(format!(
                    "it is a hard link to a file of UID {} that has {} names",
                    st.st_uid, st.st_nlink
                )));
            }
        }
        Ok(())
    }

    /// Writes `content` as `name` with the given owner and mode, atomically:
    /// a new file with a random name (`O_CREAT | O_EXCL | O_NOFOLLOW`),
    /// fsync, then renamed over `name` and the directory synced. Whatever
    /// was at `name` (a link included) is replaced, never written through.
    pub fn write(&self, name: &str, content: &[u8], mode: u32, uid: u32, gid: u32) -> Result<()> {
        check_name(name, &self.shown)?;
        self.discard_temporaries(name);
        let (tmp, fd) = self.create_temp(name)?;
        let written = (|| -> std::io::Result<()> {
            let mut f = std::fs::File::from(fd);
            f.write_all(content)?;
            nix::unistd::fchown(&f, Some(Uid::from_raw(uid)), Some(Gid::from_raw(gid)))?;
            nix::sys::stat::fchmod(&f, Mode::from_bits_truncate(mode))?;
            f.sync_all()?;
            crate::fault::point("file.before_rename");
            nix::fcntl::renameat(&self.fd, tmp.as_str(), &self.fd, name)?;
            crate::fault::point("file.after_rename");
            nix::unistd::fsync(&self.fd)?;
            Ok(())
        })();
        written.map_err(|e| {
            let _ = nix::unistd::unlinkat(&self.fd, tmp.as_str(), UnlinkatFlags::NoRemoveDir);
            Error::io("write", self.shown_of(name))(e)
        })
    }

    /// Removes what a write of `name` killed before its rename left behind
    /// (`.NAME.vpsc-` and 16 hex digits), so a re-run converges to the tree
    /// an uninterrupted run leaves; unlinking never follows a link.
    fn discard_temporaries(&self, name: &str) {
        let prefix = format!(".{name}.vpsc-");
        let Ok(names) = super::walk::names(&self.fd) else {
            return;
        };
        for n in names {
            if n.strip_prefix(&prefix)
                .is_some_and(|rest| rest.len() == 16 && rest.bytes().all(|b| b.is_ascii_hexdigit()))
            {
                let _ = nix::unistd::unlinkat(&self.fd, n.as_str(), UnlinkatFlags::NoRemoveDir);
            }
        }
    }

    /// A new, empty file 0600 with an unpredictable name beside `name`.
    fn create_temp(&self, name: &str) -> Result<(String, OwnedFd)> {
        for _ in 0..16 {
            let tmp = format!(".{name}.vpsc-{:016x}", random_u64());
            match nix::fcntl::openat(
                &self.fd,
                tmp.as_str(),
                OFlag::O_WRONLY
                    | OFlag::O_CREAT
                    | OFlag::O_EXCL
                    | OFlag::O_NOFOLLOW
                    | OFlag::O_CLOEXEC,
                Mode::from_bits_truncate(0o600),
            ) {
                Ok(fd) => return Ok((tmp, fd)),
                Err(Errno::EEXIST) => continue,
                Err(e) => return Err(Error::io("create", self.shown_of(&tmp))(e.into())),
            }
        }
        Err(Error::io("create a temporary file in", self.shown.clone())(
            std::io::Error::from(Errno::EEXIST),
        ))
    }

    /// Creates the new file `name` (0600 until `mode` is set on it), failing
    /// if anything, a link included, is at the name already.
    pub fn create_new(&self, name: &str, mode: u32) -> Result<std::fs::File> {
        check_name(name, &self.shown)?;
        let fd = nix::fcntl::openat(
            &self.fd,
            name,
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::from_bits_truncate(0o600),
        )
        .map_err(|e| Error::io("create", self.shown_of(name))(e.into()))?;
        nix::sys::stat::fchmod(&fd, Mode::from_bits_truncate(mode))
            .map_err(|e| Error::io("set permissions of", self.shown_of(name))(e.into()))?;
        Ok(std::fs::File::from(fd))
    }

    /// Sets owner and mode of `name` through a descriptor of it: a link at
    /// the name is refused, and under a user's guard so is another owner's
    /// file with a second name.
    pub fn set_owner_mode(&self, name: &str, uid: u32, gid: u32, mode: u32) -> Result<()> {
        check_name(name, &self.shown)?;
        let fd = self.open(
            "change the owner of",
            name,
            OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_NOCTTY,
            0,
        )?;
        let st = nix::sys::stat::fstat(&fd)
            .map_err(|e| Error::io("inspect", self.shown_of(name))(e.into()))?;
        if let Guard::User { uid: person, .. } = self.guard {
            if kind(&st) != SFlag::S_IFDIR && st.st_nlink > 1 && st.st_uid != person {
                return Err(Error::Refused {
                    action: "change the owner of",
                    path: self.shown_of(name),
                    what: format!("it is a hard link to a file of UID {}", st.st_uid),
                    hint: "remove the extra name as root and run the command again".into(),
                });
            }
        }
        nix::unistd::fchown(&fd, Some(Uid::from_raw(uid)), Some(Gid::from_raw(gid)))
            .map_err(|e| Error::io("change the owner of", self.shown_of(name))(e.into()))?;
        nix::sys::stat::fchmod(&fd, Mode::from_bits_truncate(mode))
            .map_err(|e| Error::io("set permissions of", self.shown_of(name))(e.into()))
    }

    /// Makes `name` a symbolic link to `target`, atomically: the link is
    /// made under a random name and renamed over whatever was there.
    pub fn symlink(&self, name: &str, target: &str) -> Result<()> {
        self.symlink_owned(name, target, None)
    }

    /// As [`Dir::symlink`], the link itself owned by `owner` (uid, gid)
    /// when given: set on the new link under its random name, before the
    /// rename, so no other file can be chowned in its place.
    pub fn symlink_owned(&self, name: &str, target: &str, owner: Option<(u32, u32)>) -> Result<()> {
        check_name(name, &self.shown)?;
        for _ in 0..16 {
            let tmp = format!(".{name}.vpsc-{:016x}", random_u64());
            match nix::unistd::symlinkat(target, &self.fd, tmp.as_str()) {
                Ok(()) => {
                    let chown = |(uid, gid): (u32, u32)| {
                        nix::unistd::fchownat(
                            &self.fd,
                            tmp.as_str(),
                            Some(Uid::from_raw(uid)),
                            Some(Gid::from_raw(gid)),
                            nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
                        )
                    };
                    return owner
                        .map_or(Ok(()), chown)
                        .and_then(|()| nix::fcntl::renameat(&self.fd, tmp.as_str(), &self.fd, name))
                        .and_then(|()| nix::unistd::fsync(&self.fd))
                        .map_err(|e| {
                            let _ = nix::unistd::unlinkat(
                                &self.fd,
                                tmp.as_str(),
                                UnlinkatFlags::NoRemoveDir,
                            );
                            Error::io("link", self.shown_of(name))(e.into())
                        });
                }
                Err(Errno::EEXIST) => continue,
                Err(e) => return Err(Error::io("link", self.shown_of(name))(e.into())),
            }
        }
        Err(Error::io("link", self.shown_of(name))(
            std::io::Error::from(Errno::EEXIST),
        ))
    }

    /// Opens `name` for appending, made (`mode`, root's) when missing; also
    /// says whether it was made now. A link at the name is refused.
    pub fn open_append(&self, name: &str, mode: u32) -> Result<(std::fs::File, bool)> {
        check_name(name, &self.shown)?;
        let flags = OFlag::O_WRONLY | OFlag::O_APPEND | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let created = nix::fcntl::openat(
            &self.fd,
            name,
            flags | OFlag::O_CREAT | OFlag::O_EXCL,
            Mode::from_bits_truncate(mode),
        );
        let (fd, made) = match created {
            Ok(fd) => (fd, true),
            Err(Errno::EEXIST) => (
                nix::fcntl::openat(&self.fd, name, flags, Mode::empty())
                    .map_err(|e| self.refusal("append to", name, e))?,
                false,
            ),
            Err(e) => return Err(Error::io("create", self.shown_of(name))(e.into())),
        };
        Ok((std::fs::File::from(fd), made))
    }

    /// Removes the file or link `name`; one already gone is fine.
    pub fn remove(&self, name: &str) -> Result<()> {
        check_name(name, &self.shown)?;
        match nix::unistd::unlinkat(&self.fd, name, UnlinkatFlags::NoRemoveDir) {
            Ok(()) | Err(Errno::ENOENT) => Ok(()),
            Err(e) => Err(Error::io("remove", self.shown_of(name))(e.into())),
        }
    }

    /// Removes the empty directory `name`; one already gone is fine.
    pub fn remove_dir(&self, name: &str) -> Result<()> {
        check_name(name, &self.shown)?;
        match nix::unistd::unlinkat(&self.fd, name, UnlinkatFlags::RemoveDir) {
            Ok(()) | Err(Errno::ENOENT) => Ok(()),
            Err(e) => Err(Error::io("remove", self.shown_of(name))(e.into())),
        }
    }

    /// Removes `name` and, if it is a directory, everything in it, through
    /// descriptors: a link inside is removed, never followed.
    pub fn remove_tree(&self, name: &str) -> Result<()> {
        check_name(name, &self.shown)?;
        super::walk::remove_tree(&self.fd, name)
            .map_err(|e| Error::io("remove", self.shown_of(name))(e.into()))
    }

    /// Renames `from` to `to` inside this directory.
    pub fn rename(&self, from: &str, to: &str) -> Result<()> {
        check_name(from, &self.shown)?;
        check_name(to, &self.shown)?;
        nix::fcntl::renameat(&self.fd, from, &self.fd, to)
            .map_err(|e| Error::io("rename", self.shown_of(from))(e.into()))?;
        nix::unistd::fsync(&self.fd).map_err(|e| Error::io("sync", self.shown.clone())(e.into()))
    }
}

/// A single name (no `/`, not `.` or `..`): the last component of a path.
fn check_name(name: &str, dir: &str) -> Result<()> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0') {
        return Err(Error::Invalid {
            what: format!("`{name}` is not a file name in {dir}"),
            hint: "this is a bug in vpsc; please report it".into(),
        });
    }
    Ok(())
}

/// The directory part of a shown path.
fn parent_of(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) => "/",
        Some(i) => &path[..i],
        None => ".",
    }
}

/// 64 unpredictable bits from the kernel, for temporary names.
pub fn random_u64() -> u64 {
    let mut buf = [0u8; 8];
    let got = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut buf));
    if got.is_err() {
        // O_EXCL keeps a guessed name harmless; only its odds suffer.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or_default();
        return t ^ u64::from(std::process::id()).rotate_left(32);
    }
    u64::from_ne_bytes(buf)
}
