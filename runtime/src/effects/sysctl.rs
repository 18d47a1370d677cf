//! Kernel parameters. The persisted value is a vendor file in
//! `/usr/lib/sysctl.d` that dpkg installs and removes; the runtime applies
//! and restores the *running* value, and only on a live system — inside a
//! chroot `/proc/sys` belongs to the host kernel and is never touched.

use std::path::PathBuf;

use super::{Ctx, Prior};
use crate::error::{Error, Result};

fn proc_path(key: &str) -> PathBuf {
    PathBuf::from("/proc/sys").join(key.replace('.', "/"))
}

pub(super) fn capture(ctx: &Ctx<'_>, key: &str) -> Result<(Prior, Option<Vec<u8>>)> {
    let running = if ctx.root.is_live() {
        let p = proc_path(key);
        Some(
            std::fs::read_to_string(&p)
                .map_err(Error::io("read", &p))?
                .trim()
                .to_owned(),
        )
    } else {
        None
    };
    Ok((Prior::Sysctl { running }, None))
}

pub(super) fn apply(ctx: &Ctx<'_>, key: &str, value: &str) -> Result<()> {
    if ctx.root.is_live() {
        // The running kernel gets what the next boot would set: when two
        // modules disagree (cis-hardening turns forwarding off, wireguard
        // needs it on) the sysctl.d order decides, whatever order the
        // modules were configured in.
        let effective = persisted(ctx.root, key).unwrap_or_else(|| value.to_owned());
        let p = proc_path(key);
        std::fs::write(&p, effective).map_err(Error::io("write", &p))?;
    }
    Ok(())
}

pub(super) fn undo(ctx: &Ctx<'_>, key: &str, running: Option<&str>) -> Result<()> {
    if let (true, Some(value)) = (ctx.root.is_live(), running) {
        let p = proc_path(key);
        std::fs::write(&p, value).map_err(Error::io("write", &p))?;
    }
    Ok(())
}

/// The value of `key` as the next boot would set it: the last assignment
/// in the files of `/etc/sysctl.d`, `/run/sysctl.d`, `/usr/local/lib/sysctl.d`,
/// `/usr/lib/sysctl.d`
/// (same-named files in earlier directories win, all files are read in
/// lexical order of their names) and finally `/etc/sysctl.conf`, per
/// sysctl.d(5).
pub fn persisted(root: &crate::root::Root, key: &str) -> Option<String> {
    persisted_at(root, key).map(|(value, _, _)| value)
}

/// As [`persisted`], with the file (as seen from the root) and line that
/// set the winning value.
pub fn persisted_at(root: &crate::root::Root, key: &str) -> Option<(String, String, usize)> {
    let mut files: std::collections::BTreeMap<String, (String, PathBuf)> =
        std::collections::BTreeMap::new();
    for dir in [
        "/usr/lib/sysctl.d",
        "/lib/sysctl.d",
        "/usr/local/lib/sysctl.d",
        "/run/sysctl.d",
        "/etc/sysctl.d",
    ] {
        if let Ok(entries) = std::fs::read_dir(root.path(dir)) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.ends_with(".conf") {
                    // Later directories in this loop have higher priority.
                    files.insert(name.clone(), (format!("{dir}/{name}"), e.path()));
                }
            }
        }
    }
    let mut paths: Vec<(String, PathBuf)> = files.into_values().collect();
    paths.push(("/etc/sysctl.conf".into(), root.path("/etc/sysctl.conf")));
    let mut found = None;
    for (shown, p) in paths {
        let Ok(text) = std::fs::read_to_string(&p) else {
            continue;
        };
        for (i, line) in text.lines().enumerate() {
            let line = line.trim().trim_start_matches('-');
            if line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            if let Some((k, v)) = line.split_once('=')
                && k.trim().replace('/', ".") == key
            {
                found = Some((v.trim().to_owned(), shown.clone(), i + 1));
            }
        }
    }
    found
}
