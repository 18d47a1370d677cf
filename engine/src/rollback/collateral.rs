//! The purge's collateral damage under `/etc`, undone: Debian maintainer
//! scripts delete and create files they do not own (`locales`' postrm
//! removes `/etc/default/locale`, which the base system had; `git-lfs`'s
//! postinst creates `/etc/gitconfig` and its purge leaves it). dpkg's file
//! lists say what the purge may remove; everything else of `/etc` that was
//! there before vpsc came is the host's.
//!
//! 1. **Record**, before apt runs: every entry of `/etc` that no package
//!    of the purge owns and that was born before the Start-Date of the
//!    first transaction the rollback undoes, or that a package staying
//!    declares, as it is, in its tmpfiles.d ([`judge`]): type, mode,
//!    owner, link target, and the content of regular files up to
//!    [`CONTENT_LIMIT`] (larger ones are recorded, not restorable).
//! 2. **Restore**, after apt ran: each recorded entry that is now missing
//!    and not merely moved (its inode elsewhere in `/etc`, as
//!    `dpkg-divert --rename` moves a diverted file back) is made again as
//!    it was, parents first, through descriptors opened with no link
//!    followed: a link planted where a recorded directory was is refused
//!    and reported, never written through.
//! 3. **Report what is left**: entries born since that Start-Date that no
//!    installed package manages ([`Claims::manage`]), outside `/etc/vpsc`
//!    (the administrator's site files); never deleted, they may hold the
//!    administrator's own changes.
//!
//! "Owned by the purge" is what dpkg itself removes: listed by a purged
//! package and by no package that stays. A file shared with a package
//! that stays is not dpkg's to remove, so it is watched like the host's.
//! The birth time is statx's `btime`; where the file system keeps none,
//! the ctime stands in, which is never earlier, so an entry is then at
//! worst not watched, never wrongly restored. Why the birth time is not
//! all: see [`super::claims`].

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::os::unix::fs::MetadataExt;

use serde::Serialize;

use super::claims::{Claims, Declared};
use crate::confined::{Found, scan};
use crate::error::{Error, Result};
use crate::root::Root;

pub use super::claims::WATCHED;
/// Largest regular file whose content is recorded, and so restorable.
pub const CONTENT_LIMIT: u64 = 1024 * 1024;
/// The administrator's site files, never reported as left.
pub const SITE_DIR: &str = "/etc/vpsc";
/// Why an entry was restored.
pub const RESTORED_WHY: &str =
    "removed by the purge though it predates vpsc's install and no purged package owns it";
/// Why an entry is reported as left.
pub const LEFT_WHY: &str =
    "created by a purged package's maintainer script; remove it by hand if unwanted";

/// What an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink,
    /// A FIFO, socket or device node: recorded, not made again.
    Other,
}

impl Kind {
    /// The kind of an entry's own status.
    pub fn of(meta: &std::fs::Metadata) -> Kind {
        let t = meta.file_type();
        if t.is_symlink() {
            Kind::Symlink
        } else if t.is_dir() {
            Kind::Dir
        } else if t.is_file() {
            Kind::File
        } else {
            Kind::Other
        }
    }

    /// What it is, in words.
    pub fn name(self) -> &'static str {
        match self {
            Kind::File => "file",
            Kind::Dir => "directory",
            Kind::Symlink => "symbolic link",
            Kind::Other => "special file",
        }
    }
}

/// What the record makes of one entry of `/etc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Judgement {
    /// The purge's own (dpkg removes it): not watched.
    Owned,
    /// Born at or after the start, and no package staying declares it:
    /// not the host's from before.
    Newer,
    /// Watched, restorable.
    Watched,
    /// Watched but larger than [`CONTENT_LIMIT`]: reported if it goes.
    TooLarge,
}

/// The record's rule for an entry of `kind` and `size`, born at `born`
/// (Unix seconds), `owned` by the purge, `declared` as it is by a package
/// staying, against the first transaction's `start`. Times are whole
/// seconds, as apt's Start-Date is: an entry of the very second the
/// transaction started counts as newer.
pub fn judge(
    kind: Kind,
    size: u64,
    born: i64,
    owned: bool,
    declared: bool,
    start: i64,
) -> Judgement {
    if owned {
        Judgement::Owned
    } else if born >= start && !declared {
        Judgement::Newer
    } else if kind == Kind::File && size > CONTENT_LIMIT {
        Judgement::TooLarge
    } else {
        Judgement::Watched
    }
}

/// Whether an entry still there after the purge is reported as left:
/// born at or after `start`, `managed` by no installed package, and not
/// a site file.
pub fn is_left(path: &str, born: i64, managed: bool, start: i64) -> bool {
    let site = path == SITE_DIR || path.starts_with(&format!("{SITE_DIR}/"));
    born >= start && !managed && !site
}

/// What stays the same when a file is renamed and changes when its inode
/// number is reused: device, inode, modification and birth times.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identity {
    dev: u64,
    ino: u64,
    mtime: (i64, i64),
    born: Option<std::time::SystemTime>,
}

impl Identity {
    /// The identity of an entry's own status.
    pub fn of(meta: &std::fs::Metadata) -> Identity {
        Identity {
            dev: meta.dev(),
            ino: meta.ino(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            born: meta.created().ok(),
        }
    }
}

/// Whether a package staying declares `path` in tmpfiles.d as `kind`
/// (with `target`, for a link), which the entry then is.
pub fn declared_as(
    declared: &BTreeMap<String, Declared>,
    path: &str,
    kind: Kind,
    target: Option<&str>,
) -> bool {
    declared
        .get(path)
        .is_some_and(|d| d.kind == kind && (kind != Kind::Symlink || d.target.as_deref() == target))
}

/// The birth time of an entry (Unix seconds, rounded down), and whether
/// it is statx's btime (`false`: the ctime, the file system keeps none).
pub fn birth(meta: &std::fs::Metadata) -> (i64, bool) {
    match meta.created() {
        Ok(t) => match t.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => (i64::try_from(d.as_secs()).unwrap_or(i64::MAX), true),
            Err(e) => (
                -i64::try_from(e.duration().as_secs()).unwrap_or(0) - 1,
                true,
            ),
        },
        Err(_) => (meta.ctime(), false),
    }
}

/// One recorded entry.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// Absolute path in the root.
    pub path: String,
    /// What it is.
    pub kind: Kind,
    /// Permission bits, set-id and sticky included.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Link target, for a link.
    pub target: Option<String>,
    /// Content, for a regular file up to [`CONTENT_LIMIT`].
    pub content: Option<Vec<u8>>,
    /// The inode it was, to tell a move from a removal.
    pub identity: Identity,
}

/// What the rollback watches during the purge.
#[derive(Debug, Clone, Serialize)]
pub struct Watch {
    /// The first transaction's Start-Date, as apt wrote it (local time).
    pub since: String,
    /// The zone it was read in (the root's `/etc/localtime`).
    pub zone: String,
    /// The same moment in UTC.
    pub since_utc: String,
    /// Unix seconds of that moment.
    pub since_unix: i64,
    /// How many entries are watched.
    pub count: usize,
    /// How many of them were judged by ctime (no birth time kept).
    pub by_ctime: usize,
    /// Watched regular files larger than [`CONTENT_LIMIT`]: not restored.
    pub too_large: Vec<String>,
    /// The entries.
    #[serde(skip)]
    pub entries: Vec<Recorded>,
}

/// An entry the rollback made again.
#[derive(Debug, Clone, Serialize)]
pub struct Restored {
    /// Absolute path in the root.
    pub path: String,
    /// What it is.
    pub kind: Kind,
    /// Why it was restored.
    pub why: &'static str,
}

/// A watched entry the purge removed or replaced that was not made again.
#[derive(Debug, Clone, Serialize)]
pub struct NotRestored {
    /// Absolute path in the root.
    pub path: String,
    /// What it was.
    pub kind: Kind,
    /// Why not.
    pub why: String,
}

/// An entry a purged package left.
#[derive(Debug, Clone, Serialize)]
pub struct Left {
    /// Absolute path in the root.
    pub path: String,
    /// What it is.
    pub kind: Kind,
    /// For a directory, how many entries below it are left with it.
    pub entries: usize,
    /// Why it is reported.
    pub why: &'static str,
}

/// What the restore did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Restoration {
    /// Made again.
    pub restored: Vec<Restored>,
    /// Removed or replaced and not made again.
    pub not_restored: Vec<NotRestored>,
}

/// Records what the purge may not take: see the module docs. `owned` is
/// what the purge owns, `declared` what the packages staying declare in
/// tmpfiles.d; `since` is the first transaction's Start-Date as apt wrote
/// it, `start` the same moment in Unix seconds; `content` false reads no
/// file (a dry run only counts).
pub fn record(
    root: &Root,
    owned: &BTreeSet<String>,
    declared: &BTreeMap<String, Declared>,
    since: &str,
    zone: &crate::localtime::Zone,
    start: i64,
    content: bool,
) -> Result<Watch> {
    let mut watch = Watch {
        since: since.to_owned(),
        zone: zone.name.clone(),
        since_utc: format!("{} UTC", crate::dates::utc(start)),
        since_unix: start,
        count: 0,
        by_ctime: 0,
        too_large: Vec::new(),
        entries: Vec::new(),
    };
    let Some(found) = scan_watched(root, &|path: &str, meta: &std::fs::Metadata| {
        let kind = Kind::of(meta);
        let declared = declared_as(declared, path, kind, None);
        content
            && judge(
                kind,
                meta.size(),
                birth(meta).0,
                owned.contains(path),
                declared,
                start,
            ) == Judgement::Watched
    })?
    else {
        return Ok(watch);
    };
    for f in found {
        let path = format!("{WATCHED}/{}", f.rel);
        let kind = Kind::of(&f.meta);
        let (born, btime) = birth(&f.meta);
        let is_declared = declared_as(declared, &path, kind, f.target.as_deref());
        let judged = judge(
            kind,
            f.meta.size(),
            born,
            owned.contains(&path),
            is_declared,
            start,
        );
        if !matches!(judged, Judgement::Watched | Judgement::TooLarge) {
            continue;
        }
        if judged == Judgement::TooLarge {
            watch.too_large.push(path.clone());
        } else if content && kind == Kind::File && f.content.is_none() {
            // Changed while it was read: whatever it is now is not what
            // predates vpsc, so it is not the host's to restore.
            tracing::debug!(path, "changed while recorded; not watched");
            continue;
        }
        watch.by_ctime += usize::from(!btime);
        watch.entries.push(Recorded {
            path,
            kind,
            mode: f.meta.mode() & 0o7777,
            uid: f.meta.uid(),
            gid: f.meta.gid(),
            target: f.target,
            content: f.content,
            identity: Identity::of(&f.meta),
        });
    }
    watch.count = watch.entries.len();
    Ok(watch)
}

/// The entries of [`WATCHED`] now, none read.
pub fn survey(root: &Root) -> Result<Vec<Found>> {
    Ok(scan_watched(root, &|_: &str, _: &std::fs::Metadata| false)?.unwrap_or_default())
}

/// The entries of [`WATCHED`] (`None` when the root has none), reading
/// the files `read(path, meta)` asks for.
fn scan_watched(
    root: &Root,
    read: &dyn Fn(&str, &std::fs::Metadata) -> bool,
) -> Result<Option<Vec<Found>>> {
    let dir = match root.open_dir(WATCHED) {
        Ok(dir) => dir,
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    let read_abs = |rel: &str, meta: &std::fs::Metadata| read(&format!("{WATCHED}/{rel}"), meta);
    scan(&dir, &read_abs).map(Some)
}

/// Makes each recorded entry that is now missing again, parents first;
/// `now` is the [`survey`] after the purge, where an entry that was only
/// moved is found by its inode. Nothing below a link is touched: every
/// directory on the way is opened with no link followed. An entry of
/// another kind than recorded (a link where a directory was) is reported,
/// not replaced; so is what cannot be made (too large, a special file),
/// with everything below it.
pub fn restore(root: &Root, watch: &Watch, now: &[Found]) -> Result<Restoration> {
    let mut out = Restoration::default();
    if watch.entries.is_empty() {
        return Ok(out);
    }
    let present: HashSet<Identity> = now.iter().map(|f| Identity::of(&f.meta)).collect();
    let top = root.open_dir(WATCHED)?;
    let mut blocked: Vec<String> = Vec::new();
    for e in &watch.entries {
        if present.contains(&e.identity) {
            // Still in /etc, under this name or another (a rename keeps
            // the inode and its times): moved, not removed.
            continue;
        }
        if blocked.iter().any(|b| {
            e.path
                .strip_prefix(b.as_str())
                .is_some_and(|r| r.starts_with('/'))
        }) {
            continue;
        }
        let mut fail = |why: String| {
            out.not_restored.push(NotRestored {
                path: e.path.clone(),
                kind: e.kind,
                why,
            });
            if e.kind == Kind::Dir {
                blocked.push(e.path.clone());
            }
        };
        let rel = &e.path[WATCHED.len() + 1..];
        let (parent_rel, name) = rel.rsplit_once('/').unwrap_or(("", rel));
        let parent = match top.subdir_no_links(parent_rel) {
            Ok(parent) => parent,
            Err(err @ Error::Refused { .. }) => {
                fail(format!(
                    "its directory cannot be opened without following a link: {err}"
                ));
                continue;
            }
            Err(err) => {
                fail(format!("its directory is gone or cannot be opened: {err}"));
                continue;
            }
        };
        let found = match parent.stat(name) {
            Ok(found) => found,
            Err(err) => {
                fail(format!("cannot look at it: {err}"));
                continue;
            }
        };
        if let Some(st) = found {
            let now = kind_of_stat(&st);
            if now != e.kind {
                let link = if now == Kind::Symlink {
                    nix::fcntl::readlinkat(parent.fd(), name)
                        .map(|t| format!(" (to {})", t.to_string_lossy()))
                        .unwrap_or_default()
                } else {
                    String::new()
                };
                fail(format!(
                    "it was a {} and is now a {}{link}; left as it is, not followed",
                    e.kind.name(),
                    now.name()
                ));
            }
            continue;
        }
        let made = match (e.kind, &e.content, &e.target) {
            (Kind::Dir, _, _) => parent
                .ensure_subdir(name, e.mode, e.uid, e.gid)
                .map(|(_, made)| made),
            (Kind::File, Some(content), _) => parent
                .write(name, content, e.mode, e.uid, e.gid)
                .map(|()| true),
            (Kind::Symlink, _, Some(target)) => parent
                .symlink_owned(name, target, Some((e.uid, e.gid)))
                .map(|()| true),
            (Kind::File, None, _) => {
                fail(format!(
                    "larger than {} MiB: recorded, not restored; restore it from a backup",
                    CONTENT_LIMIT / 1024 / 1024
                ));
                continue;
            }
            _ => {
                fail("a special file (FIFO, socket or device): vpsc does not make those".into());
                continue;
            }
        };
        match made {
            Ok(true) => out.restored.push(Restored {
                path: e.path.clone(),
                kind: e.kind,
                why: RESTORED_WHY,
            }),
            // Made by someone else since it was found missing.
            Ok(false) => {}
            Err(err) => fail(format!("cannot make it again: {err}")),
        }
    }
    Ok(out)
}

fn kind_of_stat(st: &nix::sys::stat::FileStat) -> Kind {
    use nix::sys::stat::SFlag;
    match crate::confined::file_kind(st) {
        SFlag::S_IFLNK => Kind::Symlink,
        SFlag::S_IFDIR => Kind::Dir,
        SFlag::S_IFREG => Kind::File,
        _ => Kind::Other,
    }
}

/// The entries of `now` (the [`survey`] after the purge) born at or
/// after `start` that the installed packages' `claims` do not manage,
/// outside [`SITE_DIR`]; a directory stands for the left entries below it.
pub fn left(now: &[Found], claims: &Claims, start: i64) -> Vec<Left> {
    let mut out: Vec<Left> = Vec::new();
    for f in now {
        let path = format!("{WATCHED}/{}", f.rel);
        let (born, _) = birth(&f.meta);
        if !is_left(&path, born, claims.manage(&path), start) {
            continue;
        }
        // Sorted, parents first: the last directory reported may hold it.
        match out.last_mut() {
            Some(dir) if dir.kind == Kind::Dir && path.starts_with(&format!("{}/", dir.path)) => {
                dir.entries += 1;
            }
            _ => out.push(Left {
                path,
                kind: Kind::of(&f.meta),
                entries: 0,
                why: LEFT_WHY,
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests;
