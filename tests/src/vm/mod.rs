//! Booted Debian 13 machines: what only a running system proves (services,
//! ports, logins, timers, reboots). [`Image`] builds and caches a disk,
//! [`Vm`] boots a throw-away overlay of it under QEMU — KVM where it really
//! works here, TCG otherwise — and drives it over SSH on loopback ports.

mod accel;
mod image;
mod machine;
mod snapshot;

pub use accel::Accel;
pub use image::{HOST_AUTO, Image};
pub use machine::{Vm, VmOptions};

/// The emulator; `qemu-system-x86` (Debian) provides it.
pub(crate) const QEMU: &str = "qemu-system-x86_64";
