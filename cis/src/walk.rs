//! One walk of the root's local filesystems, shared by every rule that
//! needs to look at all files (world-writable, unowned): directories of
//! pseudo and network filesystems are not entered, and the walk stays on
//! the devices of the root tree. It also lists the setuid and setgid files
//! the privileged-command audit rules are about.

use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;

use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{SFlag, fstatat};

use crate::check::Check;
use crate::facts::{Fact, Facts};
use crate::verdict::{CisStatus, Evidence, Verdict, verdict};
use vpsc_engine::accounts::{self, Db};
use vpsc_engine::root::Root;

/// Pseudo filesystems and volatile trees the rules do not cover.
const SKIPPED: [&str; 4] = ["/proc", "/sys", "/dev", "/run"];

/// What the walk found (paths as seen from the root).
#[derive(Debug, Default)]
pub struct Walk {
    /// Regular files anyone may write.
    pub world_writable_files: Vec<String>,
    /// Directories anyone may write that lack the sticky bit.
    pub world_writable_dirs: Vec<String>,
    /// Files whose owner is in no passwd entry.
    pub unowned: Vec<String>,
    /// Files whose group is in no group entry.
    pub ungrouped: Vec<String>,
    /// Regular files with the setuid or setgid bit (the privileged
    /// commands the audit rules must watch).
    pub setid: Vec<String>,
    /// Files looked at.
    pub files: usize,
}

impl Walk {
    /// Walks `root`.
    pub fn run(root: &Root) -> Walk {
        let ids = |db: Db| -> BTreeSet<u32> {
            accounts::table_or_empty(root, db)
                .iter()
                .filter_map(|r| r.id(2))
                .collect()
        };
        let (uids, gids) = (ids(Db::Passwd), ids(Db::Group));
        let mut walk = Walk::default();
        let Ok(meta) = root.symlink_metadata("/") else {
            return walk;
        };
        let mut devices = BTreeSet::from([meta.dev()]);
        // Separate local partitions of a running system (/home, /var) are
        // walked too; what /proc/self/mounts calls nfs, tmpfs … is not.
        if root.is_live() {
            for line in std::fs::read_to_string("/proc/self/mounts")
                .unwrap_or_default()
                .lines()
            {
                let f: Vec<&str> = line.split_whitespace().collect();
                if f.len() > 2 && f[0].starts_with("/dev/") {
                    if let Ok(m) = std::fs::metadata(f[1]) {
                        devices.insert(m.dev());
                    }
                }
            }
        }
        // Directories are opened inside the root and never through a link
        // at their own name, and entries are looked at beside them
        // (fstatat), so the walk cannot be led out of the tree.
        let mut stack = vec![String::new()];
        while let Some(dir) = stack.pop() {
            let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW;
            let Ok(fd) = root.open_in(if dir.is_empty() { "/" } else { &dir }, flags) else {
                continue;
            };
            let Ok(listing) = fd.try_clone().map(nix::dir::Dir::from_fd) else {
                continue;
            };
            let Ok(listing) = listing else {
                continue;
            };
            for e in listing.into_iter().flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name == "." || name == ".." {
                    continue;
                }
                let shown = format!("{dir}/{name}");
                if SKIPPED.contains(&shown.as_str()) {
                    continue;
                }
                let Ok(m) = fstatat(&fd, name.as_str(), AtFlags::AT_SYMLINK_NOFOLLOW) else {
                    continue;
                };
                if !devices.contains(&m.st_dev) {
                    continue;
                }
                walk.files += 1;
                let mode = m.st_mode;
                if !uids.contains(&m.st_uid) {
                    walk.unowned.push(shown.clone());
                }
                if !gids.contains(&m.st_gid) {
                    walk.ungrouped.push(shown.clone());
                }
                let kind = vpsc_engine::confined::file_kind(&m);
                if kind == SFlag::S_IFDIR {
                    if mode & 0o002 != 0 && mode & 0o1000 == 0 {
                        walk.world_writable_dirs.push(shown.clone());
                    }
                    stack.push(shown);
                } else if kind == SFlag::S_IFREG {
                    if mode & 0o6000 != 0 {
                        walk.setid.push(shown.clone());
                    }
                    if mode & 0o002 != 0 {
                        walk.world_writable_files.push(shown);
                    }
                }
            }
        }
        for list in [
            &mut walk.world_writable_files,
            &mut walk.world_writable_dirs,
            &mut walk.unowned,
            &mut walk.ungrouped,
            &mut walk.setid,
        ] {
            list.sort();
        }
        walk
    }
}

impl Fact for Walk {
    fn read(root: &Root, _live: bool) -> Walk {
        Walk::run(root)
    }
}

/// No regular file anyone may write, and no directory anyone may write
/// without the sticky bit, on the local filesystems.
#[derive(Debug, Clone, Copy)]
pub struct WorldWritable;

impl Check for WorldWritable {
    fn judge(&self, f: &Facts<'_>) -> Verdict {
        let w = f.get::<Walk>();
        let listed = w
            .world_writable_files
            .iter()
            .map(|p| format!("{p}: file writable by anyone"))
            .chain(
                w.world_writable_dirs
                    .iter()
                    .map(|p| format!("{p}: directory writable by anyone, no sticky bit")),
            );
        from_walk(&w, listed.collect())
    }
}

/// Every file on the local filesystems has a known owner and group.
#[derive(Debug, Clone, Copy)]
pub struct Owned;

impl Check for Owned {
    fn judge(&self, f: &Facts<'_>) -> Verdict {
        let w = f.get::<Walk>();
        let listed = w
            .unowned
            .iter()
            .map(|p| format!("{p}: owner is no account"))
            .chain(
                w.ungrouped
                    .iter()
                    .map(|p| format!("{p}: group is no group")),
            );
        from_walk(&w, listed.collect())
    }
}

/// A verdict from a walk: what was found is the evidence of a failure.
fn from_walk(w: &Walk, found: Vec<String>) -> Verdict {
    if found.is_empty() {
        verdict(
            CisStatus::Pass,
            vec![Evidence::said(format!("{} files looked at", w.files))],
        )
    } else {
        verdict(
            CisStatus::Fail,
            found.into_iter().map(Evidence::said).collect(),
        )
    }
}
