//! openat2(2) with the two resolution policies, and the diagnosis that turns
//! a refused resolution into a message naming the link that stopped it.

use std::os::fd::{AsFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::{OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{Mode, SFlag};

/// How the components of a relative path may be resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// As if the directory were `/`: links are followed, but never out of it.
    InRoot,
    /// Below a directory a user controls: no link at all, never above it.
    NoLinks,
}

impl Policy {
    fn resolve(self) -> ResolveFlag {
        match self {
            Policy::InRoot => ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS,
            Policy::NoLinks => ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_SYMLINKS,
        }
    }
}

/// `rel` below `dir`, with `flags` (O_CLOEXEC always added); a relative
/// path of "" or "." opens `dir` itself again.
pub fn open_at(
    dir: impl AsFd,
    rel: &str,
    flags: OFlag,
    mode: u32,
    policy: Policy,
) -> nix::Result<OwnedFd> {
    let rel = rel.trim_start_matches('/');
    let rel = if rel.is_empty() { "." } else { rel };
    let mut how = OpenHow::new()
        .flags(flags | OFlag::O_CLOEXEC)
        .resolve(policy.resolve());
    if flags.contains(OFlag::O_CREAT) {
        how = how.mode(Mode::from_bits_truncate(mode));
    }
    loop {
        match nix::fcntl::openat2(dir.as_fd(), rel, how) {
            // The kernel asks for a retry when a rename raced the lookup.
            Err(Errno::EAGAIN) | Err(Errno::EINTR) => continue,
            other => return other,
        }
    }
}

/// Opens the directory `host` (a path on the host, chosen by root) as the
/// anchor of later resolutions.
pub fn open_anchor(host: &std::path::Path) -> nix::Result<OwnedFd> {
    nix::fcntl::open(
        host,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}

/// Which component of `rel` below `dir` is a symbolic link, and where it
/// points: the first one met, as `(prefix of rel, link target)`.
pub fn find_link(dir: impl AsFd, rel: &str) -> Option<(String, String)> {
    let mut cur: Option<OwnedFd> = None;
    let mut prefix = String::new();
    for comp in rel.split('/').filter(|c| !c.is_empty() && *c != ".") {
        let parent = cur.as_ref().map(|f| f.as_fd()).unwrap_or(dir.as_fd());
        if !prefix.is_empty() {
            prefix.push('/');
        }
        prefix.push_str(comp);
        let st =
            nix::sys::stat::fstatat(parent, comp, nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW).ok()?;
        if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFLNK {
            let target = nix::fcntl::readlinkat(parent, comp)
                .map(|t| t.to_string_lossy().into_owned())
                .unwrap_or_else(|_| "?".into());
            return Some((prefix, target));
        }
        let next = nix::fcntl::openat(
            parent,
            comp,
            OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .ok()?;
        cur = Some(next);
    }
    None
}

/// The file type bits of an open descriptor's stat.
pub fn kind(st: &nix::sys::stat::FileStat) -> SFlag {
    SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT
}
