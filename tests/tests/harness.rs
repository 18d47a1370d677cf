//! Proves the harness itself on real packages before any vpsc package
//! exists: a Debian package (`hello`) and a throw-away package served by a
//! [`LocalRepo`] are installed and purged in a trixie chroot, and the
//! snapshots before and after must agree up to [`ALLOW`]. Also pins that
//! dropping a [`Chroot`] leaves no mount and no directory behind.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Instant;
use vpsc_e2e::{AllowRule, Chroot, LocalRepo, Snapshot, require_root};

/// What installing and purging a package may change in scope: nothing.
///
/// Found by running these tests, not guessed. A purge does change files,
/// but all outside [`Snapshot::SCOPE`]: /var/log/dpkg.log and
/// /var/log/apt/*, /var/cache/apt/*.bin, /var/lib/dpkg/status-old and
/// /var/lib/apt/lists/auxfiles. /etc/ld.so.cache is rewritten by the
/// libc-bin trigger whenever a library comes or goes, but byte-identically
/// once the same set is back (checked with `jq`), so it needs no rule either.
const ALLOW: &[AllowRule] = &[];

#[test]
fn hello_install_then_purge_leaves_no_trace() {
    require_root();
    let started = Instant::now();
    let chroot = Chroot::new();
    eprintln!("chroot created in {:.1?}", started.elapsed());

    let started = Instant::now();
    let before = Snapshot::take(chroot.root());
    eprintln!(
        "snapshot of {} entries in {:.1?}",
        before.entries().len(),
        started.elapsed()
    );
    chroot.apt_get_ok(&["install", "hello"]);
    assert_eq!(chroot.run_ok(&["hello"]), "Hello, world!\n");
    // The snapshot must see an installed package, or an empty diff below proves nothing.
    let installed = before.diff(&Snapshot::take(chroot.root()), ALLOW);
    assert!(
        installed.iter().any(|c| c.path() == "usr/bin/hello"),
        "snapshot missed /usr/bin/hello: {installed:?}"
    );
    chroot.apt_get_ok(&["purge", "hello"]);
    chroot.apt_get_ok(&["autoremove", "--purge"]);
    let after = Snapshot::take(chroot.root());

    before.assert_same(&after, ALLOW);
}

#[test]
fn local_repo_package_installs_and_purges_cleanly() {
    require_root();
    let chroot = Chroot::new();
    let arch = chroot.run_ok(&["dpkg", "--print-architecture"]);
    let dist = tempfile::tempdir().expect("tempdir for the repository");
    write_probe_repo(dist.path(), arch.trim());

    LocalRepo::install_into(&chroot, dist.path());
    // Updating only the local source must not drop the Debian lists.
    chroot.run_ok(&["apt-cache", "show", "hello"]);
    let before = Snapshot::take(chroot.root());
    chroot.apt_get_ok(&["install", "vpsc-e2e-probe"]);
    assert!(chroot.path("/usr/share/vpsc-e2e-probe/marker").is_file());
    chroot.apt_get_ok(&["purge", "vpsc-e2e-probe"]);
    let after = Snapshot::take(chroot.root());
    before.assert_same(&after, ALLOW);

    LocalRepo::remove_from(&chroot);
    assert!(!chroot.path(LocalRepo::SOURCES).exists());
    assert!(!chroot.path(LocalRepo::DIR).exists());
}

#[test]
fn dropping_a_chroot_unmounts_and_removes_it() {
    require_root();
    if std::env::var_os("VPSC_E2E_KEEP").is_some() {
        return; // keeping trees is exactly what was asked for
    }
    let chroot = Chroot::new();
    let root = chroot.root().to_path_buf();
    assert!(chroot.path("/proc/self").exists(), "/proc is mounted");
    assert_eq!(
        fs::read_to_string(chroot.path("/usr/sbin/policy-rc.d")).expect("policy-rc.d"),
        "#!/bin/sh\n# vpsc-e2e: a test chroot shares the host kernel; never start services.\nexit 101\n"
    );
    drop(chroot);

    let mountinfo = fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    let root_str = root.to_string_lossy();
    assert!(
        !mountinfo.contains(&*root_str),
        "mount left under {root_str}"
    );
    assert!(!root.exists(), "{} was not removed", root.display());
    // The bind-mounted host directories survived the removal.
    assert!(Path::new("/proc/self/status").exists());
    assert!(vpsc_e2e::cache_dir().join("apt-archives/partial").is_dir());
}

/// Writes a one-package apt repository (`dists/`, `pool/`) to `dir`.
///
/// Built by hand rather than with dpkg-scanpackages or apt-ftparchive so
/// the test needs nothing beyond dpkg on the host.
fn write_probe_repo(dir: &Path, arch: &str) {
    let pkg = tempfile::tempdir().expect("tempdir for the package tree");
    fs::create_dir_all(pkg.path().join("DEBIAN")).expect("mkdir DEBIAN");
    fs::create_dir_all(pkg.path().join("usr/share/vpsc-e2e-probe")).expect("mkdir share");
    fs::write(
        pkg.path().join("DEBIAN/control"),
        "Package: vpsc-e2e-probe\nVersion: 1.0\nArchitecture: all\n\
         Maintainer: vpsc developers <vpsc@example.org>\n\
         Description: probe package of the vpsc end-to-end harness\n",
    )
    .expect("write control");
    fs::write(
        pkg.path().join("usr/share/vpsc-e2e-probe/marker"),
        "probe\n",
    )
    .expect("marker");

    let pool = dir.join("pool/main/v/vpsc-e2e-probe");
    fs::create_dir_all(&pool).expect("mkdir pool");
    let deb = pool.join("vpsc-e2e-probe_1.0_all.deb");
    let status = Command::new("dpkg-deb")
        .args(["--root-owner-group", "-Zxz", "--build"])
        .arg(pkg.path())
        .arg(&deb)
        .output()
        .expect("run dpkg-deb");
    assert!(status.status.success(), "dpkg-deb: {status:?}");

    let bytes = fs::read(&deb).expect("read .deb");
    let packages = format!(
        "Package: vpsc-e2e-probe\nVersion: 1.0\nArchitecture: all\n\
         Maintainer: vpsc developers <vpsc@example.org>\n\
         Filename: pool/main/v/vpsc-e2e-probe/vpsc-e2e-probe_1.0_all.deb\n\
         Size: {}\nSHA256: {}\n\
         Description: probe package of the vpsc end-to-end harness\n",
        bytes.len(),
        sha256_hex(&bytes)
    );
    let index = format!("main/binary-{arch}/Packages");
    let dists = dir.join("dists/trixie");
    fs::create_dir_all(dists.join(format!("main/binary-{arch}"))).expect("mkdir dists");
    fs::write(dists.join(&index), &packages).expect("write Packages");
    let release = format!(
        "Suite: trixie\nCodename: trixie\nDate: Thu, 01 Jan 2026 00:00:00 UTC\n\
         Architectures: {arch}\nComponents: main\nSHA256:\n {} {} {index}\n",
        sha256_hex(packages.as_bytes()),
        packages.len()
    );
    fs::write(dists.join("Release"), release).expect("write Release");
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
