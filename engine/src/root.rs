//! The target root: every path the runtime touches is resolved against it,
//! and every command it runs is aimed at it (docs/architecture.md principle 7).
//!
//! The root defaults to `$DPKG_ROOT` (set by `dpkg --root`), else `/`.
//! "Live" means the root is the running system *and* systemd runs it; only
//! then are services started or the running kernel changed. Inside a chroot
//! or an image build nothing is started (docs/packaging.md §2).

use std::ffi::OsStr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};

/// The directory tree the runtime manages.
#[derive(Debug, Clone)]
pub struct Root {
    dir: PathBuf,
}

/// Microseconds this process has spent waiting for commands it ran.
static WAITED_US: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Runs `wait` (a `Command`'s `output()` or `status()`) and counts the wall
/// time it takes as time spent in other programs, not in vpsc.
pub fn waiting<T>(wait: impl FnOnce() -> T) -> T {
    let started = std::time::Instant::now();
    let result = wait();
    let us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    WAITED_US.fetch_add(us, std::sync::atomic::Ordering::Relaxed);
    result
}

/// Wall time this process has spent waiting for the commands it ran
/// (validators, systemctl, dpkg tools, hooks): what the bench subtracts
/// to show the runtime's own share of an install.
pub fn waited() -> std::time::Duration {
    std::time::Duration::from_micros(WAITED_US.load(std::sync::atomic::Ordering::Relaxed))
}

/// The standard PATH for root on Debian; commands never inherit a caller's.
pub const ROOT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

impl Root {
    /// A root at `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Root { dir: dir.into() }
    }

    /// The root from `--root`, else `$DPKG_ROOT`, else `/`.
    pub fn from_arg(arg: Option<PathBuf>) -> Self {
        let dir = arg
            .or_else(|| {
                std::env::var_os("DPKG_ROOT")
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
            })
            .unwrap_or_else(|| PathBuf::from("/"));
        Root::new(dir)
    }

    /// The root directory itself.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The host path of an absolute path of the managed system, joined by
    /// name: for messages and for tools that take a path (run in a chroot
    /// or with their own `--root`). Files are opened through
    /// [`Root::open_in`] and friends (`confined`), never through this.
    pub fn path(&self, abs: &str) -> PathBuf {
        self.dir.join(abs.trim_start_matches('/'))
    }

    /// Whether the root is this process's own `/`.
    pub fn is_host(&self) -> bool {
        self.dir == Path::new("/")
    }

    /// Whether changes to running services and the kernel apply: the root is
    /// `/`, we are not in a chroot, and systemd is PID 1 (sd_booted(3)).
    pub fn is_live(&self) -> bool {
        self.is_host() && Path::new("/run/systemd/system").is_dir() && !in_chroot()
    }

    /// Whether services may be started: live, and `policy-rc.d` (if any)
    /// does not answer 101 ("action forbidden", invoke-rc.d(8)).
    pub fn may_start_services(&self) -> bool {
        if !self.is_live() {
            return false;
        }
        let policy = Path::new("/usr/sbin/policy-rc.d");
        if !policy.exists() {
            return true;
        }
        let status = waiting(|| {
            Command::new(policy)
                .args(["vpsc", "start"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
        });
        !matches!(status.map(|s| s.code()), Ok(Some(101)))
    }

    /// A command that runs `argv` on this root: directly for `/`, through
    /// chroot(8) otherwise, with a clean environment and no stdin.
    pub fn command<S: AsRef<OsStr>>(&self, argv: &[S]) -> Command {
        let mut cmd = if self.is_host() {
            let mut c = Command::new(argv[0].as_ref());
            c.args(&argv[1..]);
            c
        } else {
            let mut c = Command::new("chroot");
            c.arg(&self.dir).args(argv);
            c
        };
        cmd.env_clear()
            .env("PATH", ROOT_PATH)
            .env("LC_ALL", "C.UTF-8")
            .stdin(Stdio::null());
        // dpkg-divert and friends need dpkg's variables to know they run
        // inside a maintainer script, where dpkg already holds the lock.
        for (k, v) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("DPKG_") {
                cmd.env(k, v);
            }
        }
        cmd
    }

    /// argv of a dpkg tool (`dpkg-query`, `dpkg-divert`) aimed at this root
    /// with the tool's own `--root`, run from the host side.
    pub fn dpkg_tool(&self, tool: &str) -> Vec<String> {
        let mut argv = vec![tool.to_owned()];
        if !self.is_host() {
            argv.push(format!("--root={}", self.dir.display()));
        }
        argv
    }

    /// Runs a shadow-utils tool (useradd, gpasswd, …) from the host with
    /// its own `--root`, as `useradd --root` intends: it also works on
    /// trees that have no binaries of their own.
    pub fn shadow_tool(&self, argv: &[&str]) -> Result<()> {
        let mut full: Vec<String> = vec![argv[0].to_owned()];
        if !self.is_host() {
            full.push("--root".into());
            full.push(self.dir.to_string_lossy().into_owned());
        }
        full.extend(argv[1..].iter().map(|s| (*s).to_owned()));
        Root::new("/").run(&full).map(drop)
    }

    /// Runs `argv` on this root and fails unless it exits 0; returns stdout.
    pub fn run<S: AsRef<OsStr>>(&self, argv: &[S]) -> Result<String> {
        run_command(self.command(argv), argv)
    }
}

/// Runs a prepared command; fails with its stderr unless it exits 0.
pub fn run_command<S: AsRef<OsStr>>(mut cmd: Command, argv: &[S]) -> Result<String> {
    let shown = display_argv(argv);
    tracing::debug!(command = %shown, "running");
    let out = waiting(|| cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).output()).map_err(
        |source| Error::Spawn {
            argv: shown.clone(),
            source,
        },
    )?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(Error::CommandFailed {
            argv: shown,
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }
}

/// Renders argv for messages (never for execution).
pub fn display_argv<S: AsRef<OsStr>>(argv: &[S]) -> String {
    argv.iter()
        .map(|a| a.as_ref().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// True when `/` is not the root of PID 1 (we run inside a chroot).
fn in_chroot() -> bool {
    match (std::fs::metadata("/proc/1/root"), std::fs::metadata("/")) {
        (Ok(init), Ok(ours)) => init.dev() != ours.dev() || init.ino() != ours.ino(),
        // Without /proc we cannot tell; assume the safe answer.
        _ => true,
    }
}
