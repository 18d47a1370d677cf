//! [`Chroot`]: a fresh Debian 13 tree for one test, unpacked from the cached
//! base tarball, with `/proc` and a shared apt cache bind-mounted into it.
//!
//! Invariants: no service ever starts on the host (`policy-rc.d` answers 101,
//! invoke-rc.d(8)); and dropping a `Chroot` — also while a test panics —
//! unmounts everything below it before deleting it, and deletes nothing if a
//! mount survives (see `mounts.rs`). The tree is kept, and its path printed,
//! when the test panicked or `VPSC_E2E_KEEP=1` is set (as cargo-deb's
//! `.keep()`).

use crate::{base, mounts};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Instant;

/// The PATH Debian gives root (base-files' /etc/profile).
const ROOT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Options every `apt-get` call gets: never prompt, and on a conffile
/// question keep the default or the installed file (dpkg(1) `--force-conf*`).
const APT_GET: &[&str] = &[
    "apt-get",
    "-y",
    "-q",
    "-o",
    "Dpkg::Options::=--force-confdef",
    "-o",
    "Dpkg::Options::=--force-confold",
];

/// `exit 101` means "action forbidden" to invoke-rc.d and deb-systemd-invoke.
const POLICY_RC_D: &str = "#!/bin/sh\n\
    # vpsc-e2e: a test chroot shares the host kernel; never start services.\n\
    exit 101\n";

/// A throw-away Debian 13 chroot; see the module docs for what `Drop` guarantees.
#[derive(Debug)]
pub struct Chroot {
    /// Canonical path of the tree; mountinfo compares against resolved paths.
    dir: PathBuf,
}

impl Chroot {
    /// Unpacks the base tarball into a new directory and prepares it for tests.
    #[allow(
        clippy::new_without_default,
        reason = "building a chroot takes seconds and mounts; it should read as an explicit call"
    )]
    pub fn new() -> Chroot {
        crate::require_root();
        let tarball = base::tarball();
        let started = Instant::now();

        // Under target/ rather than /tmp: Debian 13 mounts /tmp as tmpfs
        // with `nodev`, where the chroot's /dev/null would not work, and
        // limits it to half the RAM.
        let parent = crate::workspace_root().join("target").join("e2e-tmp");
        fs::create_dir_all(&parent).expect("create target/e2e-tmp");
        let dir = tempfile::Builder::new()
            .prefix("chroot-")
            .tempdir_in(&parent)
            .expect("create the chroot directory")
            .keep();
        let dir = fs::canonicalize(&dir).expect("canonicalize the chroot directory");
        // From here on `Drop` cleans up, whatever panics below.
        let chroot = Chroot { dir };

        chroot.unpack(&tarball);
        chroot.forbid_services();
        mounts::bind(Path::new("/proc"), &chroot.path("/proc"));
        chroot.mount_apt_cache();
        chroot.ensure_resolv_conf();
        eprintln!(
            "vpsc-e2e: chroot {} ready in {:.1?}",
            chroot.dir.display(),
            started.elapsed()
        );
        chroot
    }

    /// The chroot's root directory on the host.
    pub fn root(&self) -> &Path {
        &self.dir
    }

    /// Host path of `rel` inside the chroot (`"/etc/passwd"` or `"etc/passwd"`).
    ///
    /// Symlinks inside the chroot are not resolved against its root: do not
    /// write through a path whose parents may be absolute symlinks.
    pub fn path(&self, rel: impl AsRef<Path>) -> PathBuf {
        let rel = rel.as_ref();
        self.dir.join(rel.strip_prefix("/").unwrap_or(rel))
    }

    /// A `chroot DIR argv…` command with a clean, fixed environment and no stdin.
    ///
    /// The host environment is cleared so that nothing of cargo's or the
    /// caller's leaks into maintainer scripts; add variables on the result.
    pub fn command(&self, argv: &[&str]) -> Command {
        let mut cmd = Command::new("/usr/sbin/chroot");
        cmd.arg(&self.dir)
            .args(argv)
            .env_clear()
            .env("PATH", ROOT_PATH)
            .env("HOME", "/root")
            .env("LC_ALL", "C.UTF-8")
            .env("DEBIAN_FRONTEND", "noninteractive")
            // sudo's prerm refuses to remove sudo while root has no
            // password, as in every test chroot; rollbacks must remove it.
            .env("SUDO_FORCE_REMOVE", "yes")
            .stdin(Stdio::null());
        cmd
    }

    /// A fresh chroot whose apt knows every package of the shipped
    /// profiles and vpsc-runtime: built into a repository, installed as a
    /// local source.
    pub fn with_shipped_repo() -> Chroot {
        let chroot = Chroot::new();
        let dist = tempfile::tempdir().expect("tempdir");
        crate::build_dist(&crate::workspace_root().join("profiles"), dist.path());
        crate::LocalRepo::install_into(&chroot, dist.path());
        chroot
    }

    /// A new ed25519 key pair in the chroot: `path` (ending in `.pub`) and
    /// the private half beside it, made by the chroot's ssh-keygen.
    pub fn ssh_key(&self, path: &str, comment: &str) {
        let private = path.strip_suffix(".pub").expect("a .pub path");
        let _ = fs::remove_file(self.path(path));
        let _ = fs::remove_file(self.path(private));
        self.run_ok(&[
            "ssh-keygen",
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            comment,
            "-f",
            private,
        ]);
    }

    /// Copies the test build of `name` (see [`crate::test_build`]) into the
    /// chroot as `/usr/local/sbin/NAME-faults` and returns that path.
    pub fn install_test_build(&self, name: &str) -> String {
        let inside = format!("/usr/local/sbin/{name}-faults");
        fs::copy(crate::test_build(name), self.path(&inside)).expect("copy the test build");
        inside
    }

    /// Runs `argv` inside the chroot and returns its output, whatever the status.
    pub fn run(&self, argv: &[&str]) -> Output {
        self.command(argv)
            .output()
            .unwrap_or_else(|e| panic!("cannot run chroot(8) for {argv:?}: {e}"))
    }

    /// Runs `argv` inside the chroot, panics unless it succeeds, returns stdout.
    pub fn run_ok(&self, argv: &[&str]) -> String {
        expect_success(argv, self.run(argv))
    }

    /// Runs `apt-get -y -q` with conffile defaults, plus `args`, inside the chroot.
    ///
    /// Holds a host-wide lock for the call: every chroot shares one
    /// `/var/cache/apt/archives`, and apt-get fails rather than waits when
    /// another apt holds that directory's lock.
    pub fn apt_get(&self, args: &[&str]) -> Output {
        let _lock = crate::lock_file(&crate::cache_dir().join("apt-archives.lock"));
        let argv: Vec<&str> = APT_GET.iter().chain(args).copied().collect();
        self.run(&argv)
        // `_lock` is dropped after apt-get exits.
    }

    /// As [`Chroot::apt_get`], but panics unless apt-get succeeds; returns stdout.
    pub fn apt_get_ok(&self, args: &[&str]) -> String {
        let argv: Vec<&str> = APT_GET.iter().chain(args).copied().collect();
        expect_success(&argv, self.apt_get(args))
    }

    /// Unmounts `/proc` and the shared apt cache and lets services start
    /// again: the tree is then a plain root file system, ready to become a
    /// VM's disk (`mkfs.ext4 -d`). Panics if a mount survives.
    pub(crate) fn release(&self) {
        for point in mounts::under(&self.dir).expect("read mountinfo") {
            assert!(
                mounts::unmount(&point),
                "cannot unmount {}",
                point.display()
            );
        }
        let left = mounts::under(&self.dir).expect("read mountinfo");
        assert!(left.is_empty(), "still mounted: {left:?}");
        fs::remove_file(self.path("/usr/sbin/policy-rc.d")).expect("remove policy-rc.d");
    }

    fn unpack(&self, tarball: &Path) {
        // --numeric-owner: uids must come from the tarball, not from the
        // host's /etc/passwd; --xattrs keeps file capabilities (ping).
        let output = Command::new("tar")
            .args(["--numeric-owner", "--xattrs", "--xattrs-include=*", "-xpf"])
            .arg(tarball)
            .arg("-C")
            .arg(&self.dir)
            .output()
            .expect("run tar(1)");
        assert!(
            output.status.success(),
            "unpacking {} failed with {}: {}",
            tarball.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn forbid_services(&self) {
        let policy = self.path("/usr/sbin/policy-rc.d");
        fs::write(&policy, POLICY_RC_D).expect("write policy-rc.d");
        fs::set_permissions(&policy, fs::Permissions::from_mode(0o755))
            .expect("make policy-rc.d executable");
    }

    /// Shares one download cache among all chroots so reruns stay offline.
    fn mount_apt_cache(&self) {
        let host = crate::cache_dir().join("apt-archives");
        // apt wants `partial/`; it fixes its owner (_apt) itself.
        fs::create_dir_all(host.join("partial")).expect("create the host apt cache");
        mounts::bind(&host, &self.path("/var/cache/apt/archives"));
    }

    /// Gives the chroot the host's resolver unless it has a usable one.
    fn ensure_resolv_conf(&self) {
        let inside = self.path("/etc/resolv.conf");
        let usable = fs::symlink_metadata(&inside).is_ok_and(|m| m.is_file())
            && fs::read_to_string(&inside)
                .is_ok_and(|s| s.lines().any(|l| l.trim_start().starts_with("nameserver")));
        if usable {
            return;
        }
        let Ok(host) = fs::read("/etc/resolv.conf") else {
            return;
        };
        // A symlink (say to ../run/systemd/resolve/stub-resolv.conf) would
        // be followed on the host side: replace it, never write through it.
        let _ = fs::remove_file(&inside);
        fs::write(&inside, host).expect("copy /etc/resolv.conf into the chroot");
    }
}

impl Drop for Chroot {
    fn drop(&mut self) {
        let mounted = match mounts::under(&self.dir) {
            Ok(points) => points,
            Err(e) => {
                eprintln!(
                    "vpsc-e2e: NOT removing {}: cannot read mountinfo: {e}",
                    self.dir.display()
                );
                return;
            }
        };
        for point in mounted {
            if !mounts::unmount(&point) {
                eprintln!("vpsc-e2e: cannot unmount {}", point.display());
            }
        }
        // Check again rather than trusting umount's exit status.
        match mounts::under(&self.dir) {
            Ok(left) if left.is_empty() => {}
            Ok(left) => {
                eprintln!(
                    "vpsc-e2e: NOT removing {}: still mounted: {left:?}",
                    self.dir.display()
                );
                return;
            }
            Err(e) => {
                eprintln!(
                    "vpsc-e2e: NOT removing {}: cannot read mountinfo: {e}",
                    self.dir.display()
                );
                return;
            }
        }
        if std::thread::panicking() || std::env::var_os("VPSC_E2E_KEEP").is_some_and(|v| v == "1") {
            eprintln!("vpsc-e2e: kept chroot at {}", self.dir.display());
            return;
        }
        if let Err(e) = fs::remove_dir_all(&self.dir) {
            eprintln!("vpsc-e2e: cannot remove {}: {e}", self.dir.display());
        }
    }
}

/// Returns stdout of a successful command; otherwise panics with all there is to know.
fn expect_success(argv: &[&str], output: Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "command in chroot failed: {argv:?}\nstatus: {}\nstdout:\n{stdout}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}
