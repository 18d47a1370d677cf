//! Mounting into a chroot and, above all, getting out again.
//!
//! Invariant kept for [`crate::Chroot`]: a directory is deleted only after
//! `/proc/self/mountinfo` shows no mount point at or below it. Removing a
//! tree through a bind mount of `/proc` or of the shared apt cache would
//! delete host files, so every doubt (unreadable mountinfo, an unmount that
//! fails even lazily) ends in keeping the directory, never in deleting it.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Bind-mounts `source` onto `target` (mount(8) `--bind`, not recursive).
pub(crate) fn bind(source: &Path, target: &Path) {
    let output = Command::new("mount")
        .arg("--bind")
        .arg(source)
        .arg(target)
        .output()
        .expect("run mount(8)");
    assert!(
        output.status.success(),
        "mount --bind {} {} failed with {}: {}",
        source.display(),
        target.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Mount points at or below `dir`, deepest first (the order to unmount them).
///
/// `dir` must be canonical: mountinfo lists resolved paths.
pub(crate) fn under(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mountinfo = fs::read_to_string("/proc/self/mountinfo")?;
    let mut found = Vec::new();
    for line in mountinfo.lines() {
        // proc(5): "36 35 98:0 /mnt1 /mnt2 rw,noatime ..." — field 5 is the
        // mount point, with space, tab, newline and backslash octal-escaped.
        let point = line.split(' ').nth(4).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("bad mountinfo line: {line}"),
            )
        })?;
        let point = PathBuf::from(unescape(point));
        if point.starts_with(dir) {
            found.push(point);
        }
    }
    // mountinfo lists parents before children; reversing keeps that order
    // right for stacked mounts, and the stable sort by depth puts children
    // before parents for everything else.
    found.reverse();
    found.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    Ok(found)
}

/// Unmounts `point`, falling back to a lazy unmount (umount(8) `-l`) when busy.
///
/// A lazy unmount detaches the mount from the tree at once, so the path no
/// longer leads into the mounted filesystem even while something still uses it.
pub(crate) fn unmount(point: &Path) -> bool {
    let run = |lazy: bool| {
        let mut cmd = Command::new("umount");
        if lazy {
            cmd.arg("-l");
        }
        cmd.arg(point)
            .output()
            .is_ok_and(|output| output.status.success())
    };
    run(false) || run(true)
}

/// Undoes mountinfo's octal escapes (`\040` is a space).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).and_then(|digits| {
            let digits = std::str::from_utf8(digits).ok()?;
            u8::from_str_radix(digits, 8).ok()
        });
        match (bytes[i], octal) {
            (b'\\', Some(byte)) => {
                out.push(byte);
                i += 4;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescape_decodes_spaces_and_backslashes() {
        assert_eq!(unescape(r"/tmp/a\040b\134c"), r"/tmp/a b\c");
        assert_eq!(unescape("/plain"), "/plain");
    }

    #[test]
    fn under_finds_proc_but_not_siblings() {
        let proc_mounts = under(Path::new("/proc")).expect("read mountinfo");
        assert!(proc_mounts.iter().any(|p| p == Path::new("/proc")));
        assert!(under(Path::new("/proc-not-here")).expect("read").is_empty());
    }
}
