//! [`Vm`]: one booted QEMU guest of an [`Image`], on its own copy-on-write
//! overlay, reached by SSH on forwarded loopback ports only.
//!
//! Invariants: the guest's network is QEMU's user mode with `restrict=on`
//! (it reaches nothing; the host reaches it on 127.0.0.1 only); the cached
//! image is never written (the overlay takes every write); dropping a `Vm`
//! — also while a test panics — kills QEMU, and a panicking test leaves
//! the serial console log in `target/e2e-artefacts/` (or
//! `$VPSC_E2E_ARTEFACTS`), its path printed.

use super::accel::{self, Accel};
use super::image::{Image, run};
use std::collections::BTreeMap;
use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// How long a boot may take until SSH answers; TCG under load needs ~90 s.
const BOOT_TIMEOUT: Duration = Duration::from_secs(420);

/// Guest ports forwarded from the loopback address by default.
const DEFAULT_PORTS: &[u16] = &[22, 2222];

/// Options for [`Vm::boot`].
#[derive(Debug, Clone, Default)]
pub struct VmOptions {
    /// A built apt repository (`dists/`, `pool/`) attached as the guest's
    /// `/srv/vpsc-repo`.
    pub repo: Option<PathBuf>,
    /// Guest TCP ports to forward besides 22 and 2222.
    pub ports: Vec<u16>,
    /// A name for the logs and artefacts, e.g. the test's.
    pub name: String,
}

/// A running guest; see the module docs for what `Drop` guarantees.
#[derive(Debug)]
pub struct Vm {
    dir: PathBuf,
    name: String,
    key: PathBuf,
    child: Option<Child>,
    /// Guest port → host port on 127.0.0.1.
    ports: BTreeMap<u16, u16>,
    /// The guest port sshd answers on now.
    ssh_port: u16,
    accel: Accel,
}

impl Vm {
    /// Boots a new overlay of `image` and waits until root can log in by SSH.
    pub fn boot(image: &Image, options: VmOptions) -> Vm {
        crate::require_root();
        let parent = crate::workspace_root().join("target").join("e2e-tmp");
        fs::create_dir_all(&parent).expect("create target/e2e-tmp");
        let dir = tempfile::Builder::new()
            .prefix("vm-")
            .tempdir_in(&parent)
            .expect("create the VM directory")
            .keep();
        let overlay = dir.join("overlay.qcow2");
        run(Command::new("qemu-img")
            .args(["create", "-q", "-f", "qcow2", "-F", "raw", "-b"])
            .arg(image.disk())
            .arg(&overlay));
        // ssh refuses a private key that others may read.
        let key = dir.join("id_ed25519");
        fs::copy(image.key(), &key).expect("copy the login key");
        let repo_disk = options.repo.as_deref().map(|repo| repo_disk(repo, &dir));

        let mut ports = BTreeMap::new();
        for guest in DEFAULT_PORTS.iter().chain(&options.ports) {
            ports.insert(*guest, free_port());
        }
        let name = if options.name.is_empty() {
            "vm".to_owned()
        } else {
            options.name
        };
        let accel = accel::choose(&image.kernel(), &image.initrd());
        let mut vm = Vm {
            dir,
            name,
            key,
            child: None,
            ports,
            ssh_port: 22,
            accel,
        };
        vm.start(image, &overlay, repo_disk.as_deref());
        vm
    }

    fn start(&mut self, image: &Image, overlay: &Path, repo_disk: Option<&Path>) {
        let forwards: Vec<String> = self
            .ports
            .iter()
            .map(|(guest, host)| format!("hostfwd=tcp:127.0.0.1:{host}-:{guest}"))
            .collect();
        let mut cmd = Command::new(super::QEMU);
        cmd.args(self.accel.args())
            .args([
                "-smp", "2", "-m", "2048", "-display", "none", "-monitor", "none",
            ])
            .arg("-kernel")
            .arg(image.kernel())
            .arg("-initrd")
            .arg(image.initrd())
            .args([
                "-append",
                "root=/dev/vda rw console=ttyS0 net.ifnames=0",
                "-drive",
            ])
            // The overlay is thrown away: no need to flush it to the host's disk.
            .arg(format!(
                "file={},if=virtio,format=qcow2,cache=unsafe",
                overlay.display()
            ))
            .args(["-device", "virtio-rng-pci", "-nic"])
            .arg(format!(
                "user,model=virtio-net-pci,restrict=on,{}",
                forwards.join(",")
            ))
            .arg("-serial")
            .arg(format!("file:{}", self.serial_path().display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(self.dir.join("qemu.err")).expect("create qemu.err"));
        if let Some(disk) = repo_disk {
            cmd.arg("-drive").arg(format!(
                "file={},if=virtio,format=raw,readonly=on",
                disk.display()
            ));
        }
        let started = Instant::now();
        self.child = Some(cmd.spawn().expect("start qemu-system-x86_64"));
        self.wait_for_ssh(None);
        eprintln!(
            "vpsc-e2e: {} booted ({:?}) to SSH in {:.1?}",
            self.name,
            self.accel,
            started.elapsed()
        );
    }

    /// The host port forwarded to `guest_port` on 127.0.0.1.
    pub fn host_port(&self, guest_port: u16) -> u16 {
        *self.ports.get(&guest_port).unwrap_or_else(|| {
            panic!("guest port {guest_port} is not forwarded (VmOptions::ports)")
        })
    }

    /// Logs in on `guest_port` from now on (after sshd moved there).
    pub fn use_ssh_port(&mut self, guest_port: u16) {
        self.host_port(guest_port);
        self.ssh_port = guest_port;
    }

    /// The accelerator this guest runs under.
    pub fn accel(&self) -> Accel {
        self.accel
    }

    /// The login key (private half), for tests that log in themselves.
    pub fn key(&self) -> &Path {
        &self.key
    }

    /// The `ssh` command line a person would type to reach the guest as root.
    pub fn ssh_command_line(&self) -> String {
        format!(
            "ssh -i {} -p {} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null root@127.0.0.1",
            self.key.display(),
            self.host_port(self.ssh_port)
        )
    }

    /// An `ssh` to `user` on guest port `guest_port`, through the shared
    /// connection when `shared` (fast), on a fresh one otherwise (what a
    /// login test must use, so that the server decides anew).
    pub fn ssh_cmd(&self, user: &str, guest_port: u16, shared: bool) -> Command {
        let mut cmd = Command::new("ssh");
        cmd.args([
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "LogLevel=ERROR",
            "-o",
            "BatchMode=yes",
            "-o",
            "ConnectTimeout=10",
            "-o",
            "ServerAliveInterval=5",
            "-o",
            "ServerAliveCountMax=6",
            "-o",
            "IdentitiesOnly=yes",
            "-i",
        ])
        .arg(&self.key)
        .arg("-p")
        .arg(self.host_port(guest_port).to_string());
        if shared {
            cmd.arg("-o")
                .arg("ControlMaster=auto")
                .arg("-o")
                .arg(format!("ControlPath={}/ssh-%r-%p.sock", self.dir.display()))
                .arg("-o")
                .arg("ControlPersist=300");
        } else {
            cmd.args(["-o", "ControlMaster=no", "-o", "ControlPath=none"]);
        }
        cmd.arg(format!("{user}@127.0.0.1")).stdin(Stdio::null());
        cmd
    }

    /// Runs `script` with root's shell in the guest; its output, whatever the status.
    pub fn run(&self, script: &str) -> Output {
        self.ssh_cmd("root", self.ssh_port, true)
            .arg(script)
            .output()
            .expect("run ssh")
    }

    /// Runs `script` in the guest; panics with its output unless it succeeds.
    pub fn run_ok(&self, script: &str) -> String {
        let output = self.run(script);
        assert!(
            output.status.success(),
            "in {}: {script}\nstatus: {}\nstdout:\n{}\nstderr:\n{}",
            self.name,
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Refreshes apt's lists of the repository disk only: the guest
    /// reaches no mirror, and the Debian lists came with the image.
    pub fn update_repo_lists(&self) {
        self.run_ok(
            "apt-get -q -o Dir::Etc::SourceList=sources.list.d/vpsc.sources \
             -o Dir::Etc::SourceParts=- -o APT::Get::List-Cleanup=0 update >/dev/null",
        );
    }

    /// The guest's boot id (`/proc/sys/kernel/random/boot_id`).
    pub fn boot_id(&self) -> String {
        self.run_ok("cat /proc/sys/kernel/random/boot_id")
            .trim()
            .to_owned()
    }

    /// Reboots the guest and waits until it answers SSH from a new boot.
    pub fn reboot(&mut self) {
        let before = self.boot_id();
        let started = Instant::now();
        // The connection drops as the guest goes down; the status says nothing.
        let _ = self.run("systemctl reboot");
        self.close_shared();
        self.wait_for_ssh(Some(&before));
        eprintln!(
            "vpsc-e2e: {} rebooted in {:.1?}",
            self.name,
            started.elapsed()
        );
    }

    /// Powers the guest off and waits for QEMU to exit.
    pub fn poweroff(&mut self) {
        let _ = self.run("systemctl poweroff");
        self.close_shared();
        let Some(mut child) = self.child.take() else {
            return;
        };
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(180) {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "{} did not power off within 180 s\n{}",
            self.name,
            self.serial_tail()
        );
    }

    /// Everything the guest printed on its serial console so far.
    pub fn serial_log(&self) -> String {
        String::from_utf8_lossy(&fs::read(self.serial_path()).unwrap_or_default()).into_owned()
    }

    fn serial_path(&self) -> PathBuf {
        self.dir.join("serial.log")
    }

    fn serial_tail(&self) -> String {
        let log = self.serial_log();
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(40)..].join("\n");
        format!("last serial console lines:\n{tail}")
    }

    /// Ends the shared SSH connection (`ssh -O exit`), e.g. before a reboot.
    fn close_shared(&self) {
        for port in self.ports.keys() {
            let _ = self
                .ssh_cmd("root", *port, true)
                .args(["-O", "exit"])
                .stderr(Stdio::null())
                .output();
        }
    }

    /// Waits until root logs in, on a boot other than `not_boot` if given.
    fn wait_for_ssh(&mut self, not_boot: Option<&str>) {
        let started = Instant::now();
        loop {
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if let Some(status) = exited {
                let err = fs::read_to_string(self.dir.join("qemu.err")).unwrap_or_default();
                panic!(
                    "QEMU for {} exited with {status} before SSH answered: {}\n{}",
                    self.name,
                    err.trim(),
                    self.serial_tail()
                );
            }
            let probe = self
                .ssh_cmd("root", self.ssh_port, false)
                .arg("cat /proc/sys/kernel/random/boot_id")
                .output();
            let answered = probe
                .ok()
                .filter(|out| out.status.success())
                .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned());
            if answered.is_some_and(|id| not_boot != Some(id.as_str())) {
                return;
            }
            assert!(
                started.elapsed() < BOOT_TIMEOUT,
                "{} did not answer SSH on guest port {} within {BOOT_TIMEOUT:?} ({:?})\n{}",
                self.name,
                self.ssh_port,
                self.accel,
                self.serial_tail()
            );
            std::thread::sleep(Duration::from_secs(2));
        }
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        self.close_shared();
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            let artefacts = std::env::var_os("VPSC_E2E_ARTEFACTS")
                .map(PathBuf::from)
                .unwrap_or_else(|| crate::workspace_root().join("target/e2e-artefacts"));
            let kept = artefacts.join(format!("{}-serial.log", self.name));
            if fs::create_dir_all(&artefacts).is_ok() && fs::copy(self.serial_path(), &kept).is_ok()
            {
                eprintln!(
                    "vpsc-e2e: serial console of {} kept at {}",
                    self.name,
                    kept.display()
                );
            }
        }
        if std::env::var_os("VPSC_E2E_KEEP").is_some_and(|v| v == "1") {
            eprintln!("vpsc-e2e: kept VM directory {}", self.dir.display());
            return;
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// An ext4 image of `repo`, labelled for the guest's fstab; no journal,
/// since the guest mounts it read-only.
fn repo_disk(repo: &Path, dir: &Path) -> PathBuf {
    for needed in ["dists", "pool"] {
        assert!(
            repo.join(needed).is_dir(),
            "{} is not an apt repository: it has no {needed}/",
            repo.display()
        );
    }
    let disk = dir.join("repo.img");
    run(Command::new("mkfs.ext4")
        .args(["-q", "-F", "-O", "^has_journal", "-L", "vpsc-repo", "-d"])
        .arg(repo)
        .arg(&disk)
        .arg("512M"));
    disk
}

/// A loopback port nobody listens on now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a loopback port")
        .port()
}
