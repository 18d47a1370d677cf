//! Facts from the running system: reboot required, failed units, time
//! synchronisation. Outside a running system (a `--root` tree, a chroot)
//! the last two are unknown, never guessed.

use serde::Serialize;
use vpsc_engine::root::Root;

/// Whether a package asked for a reboot (`/run/reboot-required`, written
/// by Debian's kernel and libc packages' postinst through
/// update-notifier-common's convention).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Reboot {
    /// No request.
    NotRequired,
    /// Requested, by these packages (`/run/reboot-required.pkgs`).
    Required {
        /// The packages that asked.
        packages: Vec<String>,
    },
}

/// Reads the reboot request.
pub fn reboot(root: &Root) -> Reboot {
    if !root.exists("/run/reboot-required") {
        return Reboot::NotRequired;
    }
    let mut packages: Vec<String> = root
        .read_to_string("/run/reboot-required.pkgs")
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    packages.sort();
    packages.dedup();
    Reboot::Required { packages }
}

/// The failed units, as `systemctl --failed` lists them; `None` when
/// systemd is not running this root.
pub fn failed_units(root: &Root) -> Option<Vec<String>> {
    if !root.is_live() {
        return None;
    }
    let out = root
        .run(&[
            "systemctl",
            "list-units",
            "--state=failed",
            "--plain",
            "--no-legend",
            "--no-pager",
            "--full",
        ])
        .map_err(|e| tracing::warn!(error = %e, "cannot list failed units"))
        .ok()?;
    Some(
        out.lines()
            .filter_map(|l| l.split_whitespace().next())
            .map(str::to_owned)
            .collect(),
    )
}

/// Whether the system clock is synchronised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Timesync {
    /// The kernel's clock is synchronised to a time source.
    Synchronised,
    /// It is not.
    NotSynchronised,
    /// No running system to ask.
    Unknown,
}

/// Asks systemd-timedated (the kernel's `adjtimex` status, whichever NTP
/// client runs); systemd-timesyncd's flag file answers without a D-Bus
/// round trip.
pub fn timesync(root: &Root) -> Timesync {
    if !root.is_live() {
        return Timesync::Unknown;
    }
    if root.exists("/run/systemd/timesync/synchronized") {
        return Timesync::Synchronised;
    }
    match root.run(&[
        "timedatectl",
        "show",
        "--property=NTPSynchronized",
        "--value",
    ]) {
        Ok(v) if v.trim() == "yes" => Timesync::Synchronised,
        Ok(_) => Timesync::NotSynchronised,
        Err(e) => {
            tracing::warn!(error = %e, "cannot ask timedatectl");
            Timesync::Unknown
        }
    }
}
