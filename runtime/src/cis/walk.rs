//! One walk of the root's local filesystems, shared by every rule that
//! needs to look at all files (world-writable, unowned): directories of
//! pseudo and network filesystems are not entered, and the walk stays on
//! the devices of the root tree. It also lists the setuid and setgid files
//! the privileged-command audit rules are about.

use std::collections::BTreeSet;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

use crate::root::Root;

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
        let ids = |file: &str| -> BTreeSet<u32> {
            std::fs::read_to_string(root.path(file))
                .unwrap_or_default()
                .lines()
                .filter_map(|l| l.split(':').nth(2)?.parse().ok())
                .collect()
        };
        let (uids, gids) = (ids("/etc/passwd"), ids("/etc/group"));
        let top = root.dir().to_path_buf();
        let mut walk = Walk::default();
        let Ok(meta) = std::fs::symlink_metadata(&top) else {
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
                if f.len() > 2
                    && f[0].starts_with("/dev/")
                    && let Ok(m) = std::fs::metadata(f[1])
                {
                    devices.insert(m.dev());
                }
            }
        }
        let mut stack = vec![top.clone()];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in entries.flatten() {
                let path = e.path();
                let shown = format!("/{}", path.strip_prefix(&top).unwrap_or(&path).display());
                if SKIPPED.contains(&shown.as_str()) {
                    continue;
                }
                let Ok(m) = std::fs::symlink_metadata(&path) else {
                    continue;
                };
                if !devices.contains(&m.dev()) {
                    continue;
                }
                walk.files += 1;
                let mode = m.permissions().mode();
                if !uids.contains(&m.uid()) {
                    walk.unowned.push(shown.clone());
                }
                if !gids.contains(&m.gid()) {
                    walk.ungrouped.push(shown.clone());
                }
                if m.file_type().is_dir() {
                    if mode & 0o002 != 0 && mode & 0o1000 == 0 {
                        walk.world_writable_dirs.push(shown);
                    }
                    stack.push(path);
                } else if m.file_type().is_file() {
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
