//! [`LocalRepo`]: a built apt repository (`dists/` and `pool/`, as written by
//! `vpsc-gen`) copied into a chroot and made known to apt.
//!
//! Scope for snapshots: the sources file lives under `/etc` and so is seen by
//! [`crate::Snapshot`]; the copied tree under `/srv` and apt's lists under
//! `/var/lib/apt` are not. Take the "before" snapshot after `install_into`
//! and the "after" one before `remove_from` (or both outside that pair) and
//! no allow rule is needed for the repository itself.

use crate::Chroot;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

/// A local apt repository inside a chroot, at [`LocalRepo::DIR`].
#[derive(Debug, Clone, Copy)]
pub struct LocalRepo;

impl LocalRepo {
    /// Where the repository is copied inside the chroot.
    pub const DIR: &'static str = "/srv/vpsc-repo";
    /// The deb822 sources file naming it (sources.list(5)).
    pub const SOURCES: &'static str = "/etc/apt/sources.list.d/vpsc.sources";
    /// Its contents; `Trusted: yes` because test repositories are unsigned
    /// or signed by a throw-away key the chroot does not know.
    const SOURCES_TEXT: &'static str = "Types: deb\n\
        URIs: file:/srv/vpsc-repo\n\
        Suites: trixie\n\
        Components: main\n\
        Trusted: yes\n";

    /// Copies `dist_dir` into the chroot, adds the sources file and updates its lists.
    ///
    /// Only this repository's lists are refreshed: the Debian lists come
    /// with the base tarball, and updating them too would make every test
    /// depend on the network.
    pub fn install_into(chroot: &Chroot, dist_dir: &Path) {
        for needed in ["dists", "pool"] {
            assert!(
                dist_dir.join(needed).is_dir(),
                "{} is not an apt repository: it has no {needed}/",
                dist_dir.display()
            );
        }
        let target = chroot.path(Self::DIR);
        let _ = fs::remove_dir_all(&target);
        copy_tree(dist_dir, &target);
        fs::write(chroot.path(Self::SOURCES), Self::SOURCES_TEXT).expect("write vpsc.sources");
        chroot.apt_get_ok(&[
            "-o",
            "Dir::Etc::SourceList=sources.list.d/vpsc.sources",
            "-o",
            "Dir::Etc::SourceParts=-",
            // Without this apt would delete the Debian lists it was not told about.
            "-o",
            "APT::Get::List-Cleanup=0",
            "update",
        ]);
    }

    /// Deletes the sources file, the copied tree and apt's lists of the repository.
    pub fn remove_from(chroot: &Chroot) {
        let _ = fs::remove_file(chroot.path(Self::SOURCES));
        let _ = fs::remove_dir_all(chroot.path(Self::DIR));
        // apt names lists after the URI: file:/srv/vpsc-repo → _srv_vpsc-repo_…
        let lists = chroot.path("/var/lib/apt/lists");
        if let Ok(entries) = fs::read_dir(&lists) {
            for entry in entries.flatten() {
                if entry
                    .file_name()
                    .to_string_lossy()
                    .starts_with("_srv_vpsc-repo_")
                {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
    }
}

/// Copies a directory tree, symbolic links as links (never followed);
/// panics on any error.
pub fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap_or_else(|e| panic!("create {}: {e}", to.display()));
    let entries = fs::read_dir(from).unwrap_or_else(|e| panic!("read {}: {e}", from.display()));
    for entry in entries {
        let entry = entry.unwrap_or_else(|e| panic!("read {}: {e}", from.display()));
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry
            .file_type()
            .unwrap_or_else(|e| panic!("stat {}: {e}", src.display()));
        if kind.is_dir() {
            copy_tree(&src, &dst);
        } else if kind.is_symlink() {
            let target =
                fs::read_link(&src).unwrap_or_else(|e| panic!("readlink {}: {e}", src.display()));
            symlink(&target, &dst).unwrap_or_else(|e| panic!("symlink {}: {e}", dst.display()));
        } else {
            fs::copy(&src, &dst).unwrap_or_else(|e| panic!("copy {}: {e}", src.display()));
        }
    }
}
