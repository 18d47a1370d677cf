//! Support library for vpsc's end-to-end tests: a throw-away Debian 13
//! (trixie) chroot built from a cached mmdebstrap tarball ([`Chroot`]), a
//! local apt repository inside it ([`LocalRepo`]), and filesystem snapshots
//! whose difference proves that `apt remove`/`purge` is an exact rollback
//! ([`Snapshot`]); booted QEMU guests for what only a running system
//! shows ([`vm`]). These tests run as root on a Debian host and are never
//! skipped silently: [`require_root`] fails loudly instead.

mod accounts;
mod allow;
mod archive;
mod base;
mod change;
mod chroot;
mod dist;
mod http;
mod mounts;
mod repo;
mod snapshot;
pub mod vm;

pub use accounts::Accounts;
pub use allow::AllowRule;
pub use archive::{ArchiveKey, repo_config};
pub use change::{Change, LineDiff};
pub use chroot::Chroot;
pub use dist::{
    build_dist, catalogue, debian_dependencies, inputs, modules_debian_dependencies,
    profile_modules, runtime_deb,
};
pub use http::HttpServer;
pub use repo::{LocalRepo, copy_tree};
pub use snapshot::{Content, Entry, Kind, Snapshot};

use std::path::{Path, PathBuf};

/// The workspace root: the parent of this crate's manifest directory.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ always lives inside the workspace")
        .to_path_buf()
}

/// A binary of the runtime built for the tests, with fault injection
/// (`VPSC_FAULT_AT`, `VPSC_FAIL_STEP`), which the packaged binaries lack:
/// `target/debug/NAME` as `make test` builds it. Panics with the command
/// that builds it when it is missing or built without the feature.
pub fn test_build(name: &str) -> PathBuf {
    let path = workspace_root().join("target/debug").join(name);
    let version = std::process::Command::new(&path)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    assert!(
        version.contains("fault injection"),
        "{} is missing or has no fault injection ({version:?}): run the tests with `make test` \
         (cargo test --workspace --features vpsc/fault-injection)",
        path.display()
    );
    path
}

/// Where per-machine caches live (base tarball, apt archives); `cargo clean` deletes them.
pub fn cache_dir() -> PathBuf {
    workspace_root().join("target").join("e2e-cache")
}

/// Takes an exclusive flock on `path` (made if missing), blocking while
/// another test binary holds it; released when the result is dropped.
pub fn lock_file(path: &Path) -> nix::fcntl::Flock<std::fs::File> {
    let file = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .unwrap_or_else(|e| panic!("open the lock file {}: {e}", path.display()));
    nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
        .unwrap_or_else(|(_, e)| panic!("flock {}: {e}", path.display()))
}

/// Panics with a clear message unless the effective uid is 0.
///
/// mmdebstrap `--mode=root`, `chroot(8)` and `mount(8)` all need root. A
/// test that quietly passes without running would hide regressions, so a
/// non-root run fails instead of skipping; CI runs these tests as root.
pub fn require_root() {
    // Read from /proc instead of calling geteuid(2): the workspace forbids
    // unsafe code and this crate may not depend on libc or nix.
    let status = std::fs::read_to_string("/proc/self/status")
        .expect("/proc/self/status is readable on every Linux host");
    let euid = status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .expect("/proc/self/status has a `Uid:` line with real and effective uid");
    assert!(
        euid == "0",
        "vpsc-e2e tests must run as root (effective uid is {euid}): they build \
         Debian chroots with mmdebstrap --mode=root, chroot(8) and mount(8). \
         Run them with `sudo -E cargo test -p vpsc-e2e`, or in CI as root."
    );
}
