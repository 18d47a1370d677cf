//! systemd units enabled or disabled, with the prior state recorded.
//!
//! Offline (chroot, image build, `--root`) units are enabled with
//! `systemctl --root`, which only manages symlinks; on a live system the
//! unit is also started or stopped unless `policy-rc.d` forbids it, as
//! deb-systemd-invoke does (PACKAGING.md §2, DESIGN.md principle 4).

use std::path::Path;

use super::{Ctx, Prior};
use crate::error::Result;
use crate::root::Root;

pub(super) fn capture(ctx: &Ctx<'_>, name: &str) -> Result<(Prior, Option<Vec<u8>>)> {
    Ok((
        Prior::Unit {
            enabled: is_enabled(ctx.root, name),
        },
        None,
    ))
}

pub(super) fn apply(ctx: &Ctx<'_>, name: &str, enabled: bool) -> Result<()> {
    set(ctx.root, name, enabled)
}

pub(super) fn undo(ctx: &Ctx<'_>, name: &str, desired: bool, before: bool) -> Result<()> {
    if desired == before {
        return Ok(());
    }
    set(ctx.root, name, before)
}

fn set(root: &Root, name: &str, enabled: bool) -> Result<()> {
    if is_enabled(root, name) != enabled {
        let verb = if enabled { "enable" } else { "disable" };
        if root.is_live() {
            root.run(&["systemctl", "--quiet", verb, name])?;
        } else {
            let root_arg = format!("--root={}", root.dir().display());
            Root::new("/").run(&["systemctl", "--quiet", &root_arg, verb, name])?;
        }
    }
    if root.may_start_services() {
        let action = if enabled { "start" } else { "stop" };
        root.run(&["deb-systemd-invoke", action, name])?;
    }
    Ok(())
}

/// Whether `name` is enabled: some `*.wants`/`*.requires`/`*.upholds`
/// directory under `/etc/systemd/system` links to it, and it is not masked.
/// Read from the symlinks so verify needs no systemd and no subprocess.
pub fn is_enabled(root: &Root, name: &str) -> bool {
    let base = root.path("/etc/systemd/system");
    if is_masked(&base.join(name)) {
        return false;
    }
    let Ok(entries) = std::fs::read_dir(&base) else {
        return false;
    };
    entries.flatten().any(|e| {
        let dir = e.file_name();
        let dir = dir.to_string_lossy();
        (dir.ends_with(".wants") || dir.ends_with(".requires") || dir.ends_with(".upholds"))
            && std::fs::symlink_metadata(e.path().join(name)).is_ok()
    })
}

fn is_masked(path: &Path) -> bool {
    std::fs::read_link(path).is_ok_and(|t| t == Path::new("/dev/null"))
}
