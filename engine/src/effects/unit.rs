//! systemd units enabled or disabled, with the prior state recorded.
//!
//! Offline (chroot, image build, `--root`) units are enabled with
//! `systemctl --root`, which only manages symlinks; on a live system the
//! unit is also started or stopped unless `policy-rc.d` forbids it, as
//! deb-systemd-invoke does (docs/packaging.md §2, docs/architecture.md principle 4).

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
    const BASE: &str = "/etc/systemd/system";
    if is_masked(root, &format!("{BASE}/{name}")) {
        return false;
    }
    let Ok(entries) = root.read_dir_names(BASE) else {
        return false;
    };
    entries.iter().any(|dir| {
        (dir.ends_with(".wants") || dir.ends_with(".requires") || dir.ends_with(".upholds"))
            && root
                .symlink_metadata(&format!("{BASE}/{dir}/{name}"))
                .is_ok()
    })
}

fn is_masked(root: &Root, path: &str) -> bool {
    root.read_link(path)
        .is_ok_and(|t| t == Path::new("/dev/null"))
}
