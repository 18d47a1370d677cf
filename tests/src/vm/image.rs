//! [`Image`]: a bootable Debian 13 disk for one set of Debian packages,
//! built natively from the chroot base and cached under
//! `target/e2e-cache/vm/<hash>/` by a hash of everything that goes into it.
//!
//! What is installed where, and why: TCG runs package work about 24 times
//! slower than the host, so everything a profile needs from Debian that no
//! scenario looks at (libraries, python3, perl modules) is installed here,
//! natively, as the host's own (manually installed) packages. The
//! packages a profile names directly — fail2ban, nftables, … — are only
//! downloaded into apt's cache in the image: the VM installs them with the
//! profile, offline, so `apt install` inside the VM is a real transaction
//! that brings them in and a rollback must take them away again.
//!
//! Invariant: a cache directory holds a complete image (its `ready` stamp
//! is written last, after a rename into place); builders are serialised by
//! an flock on `<hash>.lock`, which the kernel drops if a builder dies.

use crate::Chroot;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// What the guest needs to boot and be reached: a kernel, systemd as init,
/// DHCP on the user-mode network, an SSH server; and, as on any Debian
/// server installed with systemd's Recommends, logind sessions for logins
/// (pam_systemd).
const BOOT_PACKAGES: &[&str] = &[
    "linux-image-amd64",
    "systemd-sysv",
    "udev",
    "libpam-systemd",
    "openssh-server",
    "ifupdown",
    "isc-dhcp-client",
];

/// Recommended by openssh-server: on the image, automatically installed
/// packages that only that Recommends keeps.
pub const HOST_AUTO: &[&str] = &["xauth", "ncurses-term"];

/// The guest's view of its disks; the repository disk, always the second
/// drive, is optional (`nofail`). By name, not by label: under TCG udev may
/// take longer to probe a label than a timeout allows.
const FSTAB: &str = "# vpsc-e2e VM: the root disk and the vpsc repository disk\n\
    /dev/vda / ext4 defaults 0 1\n\
    /dev/vdb /srv/vpsc-repo ext4 ro,nofail,x-systemd.device-timeout=90s 0 0\n";

/// `net.ifnames=0` on the kernel command line keeps the name `eth0`.
const INTERFACES: &str = "auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet dhcp\n";

/// The repository disk as an apt source, trusted as the chroot tests' is:
/// the signed-repository path has its own test.
const SOURCES: &str = "Types: deb\n\
    URIs: file:/srv/vpsc-repo\n\
    Suites: trixie\n\
    Components: main\n\
    Trusted: yes\n";

/// The root disk's size (sparse): room for the advanced profile's desktop
/// and toolchains, installed inside the guest.
const DISK_SIZE: &str = "16G";

/// Where the packages installed while building are downloaded.
const BUILD_DEBS: &str = "/var/cache/vpsc-image-build-debs";

/// Where the packages left to the VM are downloaded during the build.
const IMAGE_DEBS: &str = "/var/cache/vpsc-image-debs";

/// Bumped whenever the image recipe below changes in a way the hash of
/// its inputs cannot see (the steps themselves).
const RECIPE_VERSION: u32 = 1;

/// A cached, bootable disk image with its kernel, initrd and root's SSH key.
#[derive(Debug, Clone)]
pub struct Image {
    dir: PathBuf,
}

impl Image {
    /// The image for the Debian packages of `profile` (shipped profiles).
    pub fn for_profile(profile: &str) -> Image {
        let profiles = crate::workspace_root().join("profiles");
        Image::for_packages(&crate::debian_dependencies(&profiles, profile))
    }

    /// The image whose apt can install `packages` offline, built if missing.
    pub fn for_packages(packages: &[String]) -> Image {
        crate::require_root();
        let mut packages = packages.to_vec();
        packages.sort();
        packages.dedup();
        let recipe = format!(
            "recipe {RECIPE_VERSION}\nsize {DISK_SIZE}\nhost {}\nboot {}\npackages {}\nfstab {FSTAB}\ninterfaces {INTERFACES}\nsources {SOURCES}\n",
            HOST_AUTO.join(" "),
            BOOT_PACKAGES.join(" "),
            packages.join(" "),
        );
        let hash = hex(&Sha256::digest(recipe.as_bytes()))[..16].to_owned();
        let cache = crate::cache_dir().join("vm");
        fs::create_dir_all(&cache).expect("create target/e2e-cache/vm");
        let dir = cache.join(&hash);
        let _lock = crate::lock_file(&cache.join(format!("{hash}.lock")));
        if dir.join("ready").exists() {
            // Marks the image used, for `prune`.
            fs::write(dir.join("ready"), "").expect("stamp the image used");
        } else {
            prune(&cache);
            let _ = fs::remove_dir_all(&dir);
            let partial = cache.join(format!("{hash}.partial"));
            let _ = fs::remove_dir_all(&partial);
            fs::create_dir_all(&partial).expect("create the partial image directory");
            build(&partial, &packages);
            fs::write(partial.join("recipe"), &recipe).expect("record the recipe");
            fs::rename(&partial, &dir).expect("move the image into place");
            fs::write(dir.join("ready"), "").expect("stamp the image ready");
        }
        Image { dir }
    }

    /// The raw root disk; VMs boot copy-on-write overlays of it, never it.
    pub fn disk(&self) -> PathBuf {
        self.dir.join("disk.img")
    }

    /// The kernel booted directly (`-kernel`).
    pub fn kernel(&self) -> PathBuf {
        self.dir.join("vmlinuz")
    }

    /// The initrd matching [`Image::kernel`].
    pub fn initrd(&self) -> PathBuf {
        self.dir.join("initrd.img")
    }

    /// The private half of the key root logs in with.
    pub fn key(&self) -> PathBuf {
        self.dir.join("id_ed25519")
    }
}

/// Images unused for this long are deleted when another is built: each
/// holds one to several GB.
const UNUSED: std::time::Duration = std::time::Duration::from_secs(3 * 24 * 60 * 60);

/// Deletes the cached images not used within [`UNUSED`].
fn prune(cache: &Path) {
    let Ok(entries) = fs::read_dir(cache) else {
        return;
    };
    for entry in entries.flatten() {
        let stale = fs::metadata(entry.path().join("ready"))
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > UNUSED);
        if stale {
            eprintln!(
                "vpsc-e2e: deleting the unused VM image {}",
                entry.path().display()
            );
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// Builds the image's files into `out`.
fn build(out: &Path, packages: &[String]) {
    let started = Instant::now();
    eprintln!(
        "vpsc-e2e: building a VM image for {} Debian packages in {}",
        packages.len(),
        out.display()
    );
    let chroot = Chroot::new();
    // Downloads go to a directory of this tree, never to the apt cache the
    // chroots share: chroot tests running beside this build (`make test`)
    // count the files of their tree, the shared cache included.
    for dir in [BUILD_DEBS, IMAGE_DEBS] {
        fs::create_dir_all(chroot.path(dir).join("partial")).expect("mkdir a download directory");
    }
    let own_cache = format!("Dir::Cache::Archives={BUILD_DEBS}");
    let install = |extra: &[&str]| {
        chroot.apt_get_ok(
            &[
                &[
                    "-o",
                    own_cache.as_str(),
                    "install",
                    "--no-install-recommends",
                ],
                extra,
            ]
            .concat(),
        )
    };
    install(BOOT_PACKAGES);

    // A host with a history of its own: packages kept only by another's
    // Recommends, marked automatic, as apt's default install leaves them.
    // A rollback must keep them, and their marks.
    install(HOST_AUTO);
    chroot.run_ok(&[&["apt-mark", "auto"], HOST_AUTO].concat());

    // What `apt install PACKAGES` would bring in, recommends included as
    // apt's default does: the named packages are left to the VM, the rest
    // installed here.
    let names: Vec<&str> = packages.iter().map(String::as_str).collect();
    let simulated = chroot.apt_get_ok(&[&["install", "-s"], names.as_slice()].concat());
    let indirect: Vec<&str> = simulated
        .lines()
        .filter_map(|l| l.strip_prefix("Inst "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|p| !names.contains(p))
        .collect();
    if !indirect.is_empty() {
        install(&indirect);
    }
    chroot.apt_get_ok(
        &[
            &[
                "install",
                "--download-only",
                "-o",
                &format!("Dir::Cache::Archives={IMAGE_DEBS}"),
            ],
            names.as_slice(),
        ]
        .concat(),
    );

    let key = out.join("id_ed25519");
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "vpsc-e2e"])
        .arg("-f")
        .arg(&key));

    // Nothing of the host's mounts may reach the disk.
    chroot.release();
    let archives = chroot.path("/var/cache/apt/archives");
    for entry in fs::read_dir(chroot.path(IMAGE_DEBS)).expect("read the image's debs") {
        let path = entry.expect("read the image's debs").path();
        if path.extension().is_some_and(|e| e == "deb") {
            fs::rename(&path, archives.join(path.file_name().expect("a file name")))
                .expect("move a .deb into apt's cache");
        }
    }
    fs::remove_dir_all(chroot.path(IMAGE_DEBS)).expect("remove the download directory");
    fs::remove_dir_all(chroot.path(BUILD_DEBS)).expect("remove the download directory");
    configure(&chroot, &key.with_extension("pub"));
    copy_boot_files(&chroot, out);
    let disk = out.join("disk.img");
    run(Command::new("mkfs.ext4")
        .args(["-q", "-F", "-L", "vpsc-root", "-d"])
        .arg(chroot.root())
        .arg(&disk)
        .arg(DISK_SIZE));
    eprintln!("vpsc-e2e: built the VM image in {:.1?}", started.elapsed());
}

/// Makes the tree a machine: disks, network, name, root's key, the repository source.
fn configure(chroot: &Chroot, public_key: &Path) {
    let write = |path: &str, text: &str| {
        fs::write(chroot.path(path), text).unwrap_or_else(|e| panic!("write {path}: {e}"));
    };
    write("/etc/fstab", FSTAB);
    write("/etc/network/interfaces", INTERFACES);
    write("/etc/hostname", "vpsc-vm\n");
    write("/etc/apt/sources.list.d/vpsc.sources", SOURCES);
    fs::create_dir_all(chroot.path("/srv/vpsc-repo")).expect("mkdir /srv/vpsc-repo");
    let ssh = chroot.path("/root/.ssh");
    fs::create_dir_all(&ssh).expect("mkdir /root/.ssh");
    fs::set_permissions(&ssh, fs::Permissions::from_mode(0o700)).expect("chmod /root/.ssh");
    fs::copy(public_key, ssh.join("authorized_keys")).expect("install root's key");
    // The tarball's resolver is the host's; the guest's dhclient writes its own.
    let _ = fs::remove_file(chroot.path("/etc/resolv.conf"));
}

/// Copies the newest kernel and its initrd out of `/boot`.
fn copy_boot_files(chroot: &Chroot, out: &Path) {
    let boot = chroot.path("/boot");
    let mut kernels: Vec<String> = fs::read_dir(&boot)
        .expect("read /boot")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("vmlinuz-"))
        .collect();
    kernels.sort();
    let kernel = kernels.pop().expect("linux-image-amd64 installed a kernel");
    let version = &kernel["vmlinuz-".len()..];
    fs::copy(boot.join(&kernel), out.join("vmlinuz")).expect("copy the kernel");
    fs::copy(
        boot.join(format!("initrd.img-{version}")),
        out.join("initrd.img"),
    )
    .expect("copy the initrd");
}

/// Runs a host command, panicking with its output unless it succeeds.
pub(crate) fn run(cmd: &mut Command) -> String {
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        output.status.success(),
        "{cmd:?} failed with {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        write!(out, "{b:02x}").expect("writing to a String cannot fail");
    }
    out
}
