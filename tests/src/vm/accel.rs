//! Which accelerator QEMU can use here: KVM where it really boots a
//! kernel, TCG otherwise.
//!
//! `/dev/kvm` existing proves little: under nested virtualisation QEMU may
//! die at once ("failed to set MSR"), stop with "KVM internal error", or
//! crawl. So the probe boots the image's kernel and initrd with an init
//! that exits at once and calls KVM usable only when the kernel gets as far
//! as its panic within [`PROBE_TIMEOUT`]. The answer is kept per machine in the
//! cache (keyed by QEMU's version and the kernel), so a run pays for the
//! probe once. `VPSC_VM_ACCEL=tcg|kvm` overrides it.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long a working KVM may take to reach the panic of the probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(20);

/// A QEMU accelerator and the CPU model that goes with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accel {
    /// Hardware virtualisation, `-accel kvm -cpu host`.
    Kvm,
    /// Software emulation, `-accel tcg,thread=multi -cpu max`.
    Tcg,
}

impl Accel {
    /// QEMU arguments selecting this accelerator.
    pub fn args(self) -> [&'static str; 4] {
        match self {
            Accel::Kvm => ["-accel", "kvm", "-cpu", "host"],
            Accel::Tcg => ["-accel", "tcg,thread=multi", "-cpu", "max"],
        }
    }
}

/// The accelerator to boot `kernel` with; panics when QEMU is missing, as
/// then neither works.
pub fn choose(kernel: &Path, initrd: &Path) -> Accel {
    let version = Command::new(crate::vm::QEMU)
        .arg("--version")
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {}: {e}; neither KVM nor TCG is available without QEMU \
                 (apt-get install qemu-system-x86 qemu-utils; `make test` does)",
                crate::vm::QEMU
            )
        });
    match std::env::var("VPSC_VM_ACCEL").as_deref() {
        Ok("kvm") => return Accel::Kvm,
        Ok("tcg") => return Accel::Tcg,
        Ok(other) => panic!("VPSC_VM_ACCEL={other}: use kvm or tcg"),
        Err(_) => {}
    }
    let key = format!(
        "{} {}",
        String::from_utf8_lossy(&version.stdout)
            .lines()
            .next()
            .unwrap_or_default(),
        fs::metadata(kernel).map(|m| m.len()).unwrap_or_default()
    );
    let memo = crate::cache_dir().join("vm").join("accel");
    if let Some(known) = fs::read_to_string(&memo)
        .ok()
        .and_then(|s| s.strip_prefix(&format!("{key}\n")).map(str::to_owned))
    {
        return if known.trim() == "kvm" {
            Accel::Kvm
        } else {
            Accel::Tcg
        };
    }
    let (accel, why) = probe_kvm(kernel, initrd);
    eprintln!("vpsc-e2e: QEMU accelerator {accel:?} ({why})");
    let name = if accel == Accel::Kvm { "kvm" } else { "tcg" };
    let _ = fs::write(&memo, format!("{key}\n{name}\n"));
    accel
}

/// Boots the kernel under KVM with an init that exits; KVM works when the
/// kernel gets as far as its panic about that.
fn probe_kvm(kernel: &Path, initrd: &Path) -> (Accel, String) {
    if fs::File::options()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_err()
    {
        return (Accel::Tcg, "/dev/kvm cannot be opened".into());
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let serial = dir.path().join("serial.log");
    let child = Command::new(crate::vm::QEMU)
        .args(Accel::Kvm.args())
        .args([
            "-m",
            "512",
            "-no-reboot",
            "-display",
            "none",
            "-monitor",
            "none",
        ])
        .arg("-kernel")
        .arg(kernel)
        .arg("-initrd")
        .arg(initrd)
        .args([
            "-append",
            "console=ttyS0 panic=-1 rdinit=/bin/true",
            "-serial",
        ])
        .arg(format!("file:{}", serial.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        return (Accel::Tcg, "QEMU did not start with -accel kvm".into());
    };
    let started = Instant::now();
    loop {
        let log = fs::read_to_string(&serial).unwrap_or_default();
        if log.contains("Kernel panic") {
            let _ = child.kill();
            let _ = child.wait();
            return (
                Accel::Kvm,
                format!("a kernel booted under KVM in {:.1?}", started.elapsed()),
            );
        }
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut err);
            }
            return (
                Accel::Tcg,
                format!(
                    "KVM failed ({status}): {}",
                    err.lines().next().unwrap_or("no message")
                ),
            );
        }
        if started.elapsed() > PROBE_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            return (
                Accel::Tcg,
                format!("a kernel did not boot under KVM within {PROBE_TIMEOUT:?}"),
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
