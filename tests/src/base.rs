//! The trixie base tarball, built once per machine with mmdebstrap and cached
//! at `target/e2e-cache/trixie-base.tar`.
//!
//! Invariant: the cache path only ever holds a complete tarball made with the
//! current [`MMDEBSTRAP_ARGS`]. A build writes to a temporary name and is
//! renamed into place (rename(2) is atomic), so a killed build leaves at most
//! a stray temporary file. Builders in different test binaries are serialised
//! by an advisory lock on `trixie-base.tar.lock` (`std::fs::File::lock`,
//! flock(2)); the kernel drops that lock when a process dies, so no stale lock
//! can block later runs.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

/// Mirror the base is built from; apt inside the chroot keeps using it.
const MIRROR: &str = "http://deb.debian.org/debian";

/// mmdebstrap options, also recorded next to the tarball so that changing
/// them here invalidates the cache.
///
/// `--variant=important` (Essential, required and important priority, as
/// debootstrap gives a server) rather than `apt`: apt never autoremoves a
/// required or important package, so on a thinner base the first package
/// pulling in, say, `passwd` would leave it behind for good, with its
/// postinst's conversion of /etc/passwd to shadow passwords. `systemd`
/// provides `systemctl` for offline unit enablement (Design principle 4);
/// `ca-certificates` lets later tests fetch over https.
/// `--skip=cleanup/apt/lists` keeps the package lists in the tarball, so a
/// fresh chroot can install Debian packages without an `apt-get update`
/// (about 60 MB of lists, +5 s of build time, saved on every chroot).
const MMDEBSTRAP_ARGS: &[&str] = &[
    "--variant=important",
    "--mode=root",
    "--format=tar",
    "--include=systemd,ca-certificates",
    "--skip=cleanup/apt/lists",
    "trixie",
];

/// A tarball older than this is rebuilt: once a point release replaces a
/// package, the cached lists name a `.deb` the mirror no longer has.
const MAX_AGE: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// Path of the cached base tarball, building it first if it is missing or stale.
pub(crate) fn tarball() -> PathBuf {
    // All tests of one binary share the process: check the cache once.
    static BASE: OnceLock<PathBuf> = OnceLock::new();
    BASE.get_or_init(build_or_reuse).clone()
}

fn build_or_reuse() -> PathBuf {
    let cache = crate::cache_dir();
    fs::create_dir_all(&cache).expect("create target/e2e-cache");
    let tarball = cache.join("trixie-base.tar");
    let stamp = cache.join("trixie-base.tar.args");
    let recipe = format!("{} {MIRROR}\n", MMDEBSTRAP_ARGS.join(" "));

    // Blocks while another test binary builds the tarball.
    let _lock = crate::lock_file(&cache.join("trixie-base.tar.lock"));

    if is_fresh(&tarball, &stamp, &recipe) {
        return tarball;
    }
    remove_stray_temporaries(&cache);

    // The extension must stay `.tar`: mmdebstrap also derives the format from it.
    let partial = cache.join(format!("trixie-base.{}.partial.tar", std::process::id()));
    eprintln!("vpsc-e2e: building {} with mmdebstrap", tarball.display());
    let started = Instant::now();
    let output = Command::new("mmdebstrap")
        .args(MMDEBSTRAP_ARGS)
        .arg(&partial)
        .arg(MIRROR)
        .output()
        .expect("run mmdebstrap (apt-get install mmdebstrap)");
    if !output.status.success() {
        let _ = fs::remove_file(&partial);
        panic!(
            "mmdebstrap {} {} {MIRROR} failed with {}\nstdout:\n{}\nstderr:\n{}",
            MMDEBSTRAP_ARGS.join(" "),
            partial.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
        );
    }
    fs::rename(&partial, &tarball).expect("move the new base tarball into place");
    // Written after the rename: a crash in between leaves a stamp that does
    // not match, which only costs a rebuild.
    fs::write(&stamp, &recipe).expect("record the mmdebstrap arguments");
    eprintln!("vpsc-e2e: built base tarball in {:.1?}", started.elapsed());
    tarball
    // `lock` is dropped here, releasing the flock.
}

/// True when the tarball exists, was made with `recipe` and is younger than [`MAX_AGE`].
fn is_fresh(tarball: &Path, stamp: &Path, recipe: &str) -> bool {
    let Ok(meta) = fs::metadata(tarball) else {
        return false;
    };
    let age = meta
        .modified()
        .ok()
        .and_then(|mtime| SystemTime::now().duration_since(mtime).ok())
        .unwrap_or(Duration::MAX);
    let same_recipe = fs::read_to_string(stamp).is_ok_and(|s| s == recipe);
    same_recipe && age < MAX_AGE
}

/// Deletes partial tarballs of killed builds; safe because we hold the lock.
fn remove_stray_temporaries(cache: &Path) {
    let Ok(entries) = fs::read_dir(cache) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("trixie-base.") && name.ends_with(".partial.tar") {
            let _ = fs::remove_file(entry.path());
        }
    }
}
