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
/// sysctl.d(5), with glob keys applied as systemd-sysctl applies them (see
/// [`persisted_at`]).
pub fn persisted(root: &crate::root::Root, key: &str) -> Option<String> {
    persisted_at(root, key).map(|(value, _, _)| value)
}

/// As [`persisted`], with the file (as seen from the root) and line that
/// set the winning value.
///
/// As systemd-sysctl (src/sysctl/sysctl.c) and sysctl.d(5) have it: a key
/// is normalized (if its first separator is a dot, dots and slashes are
/// interchanged, so `net.ipv4.conf.eth0/100.x` is `net/ipv4/conf/eth0.100/x`);
/// a later assignment of the same key (or the same glob) replaces an
/// earlier one; `-key = value` is an assignment whose failure is ignored;
/// a glob key (`net.ipv4.conf.*.send_redirects`) sets every key it matches
/// (`*` and `?` within one component, as glob(7) on /proc/sys), `all` and
/// `default` among them, unless the key has an explicit assignment anywhere,
/// whatever the order; `-key` with no `=` excludes the key from every
/// glob and sets nothing. Of two globs matching a key, the one assigned
/// last is applied last and wins.
pub fn persisted_at(root: &crate::root::Root, key: &str) -> Option<(String, String, usize)> {
    let mut files: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
    for dir in [
        "/usr/lib/sysctl.d",
        "/lib/sysctl.d",
        "/usr/local/lib/sysctl.d",
        "/run/sysctl.d",
        "/etc/sysctl.d",
    ] {
        for name in root.read_dir_names(dir).unwrap_or_default() {
            if name.ends_with(".conf") {
                // Later directories in this loop have higher priority.
                files.insert(name.clone(), format!("{dir}/{name}"));
            }
        }
    }
    let mut paths: Vec<String> = files.into_values().collect();
    paths.push("/etc/sysctl.conf".into());
    let wanted = normalize(key);
    // The explicit assignment of `key` (`None` as value: excluded from
    // globs), and the globs in the order systemd-sysctl applies them.
    let mut explicit: Option<(Option<String>, String, usize)> = None;
    let mut globs: Vec<(String, String, String, usize)> = Vec::new();
    for shown in paths {
        let Ok(text) = root.read_to_string(&shown) else {
            continue;
        };
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            let (k, value) = match line.split_once('=') {
                Some((k, v)) => (k.strip_prefix('-').unwrap_or(k), Some(v.trim())),
                // Only `-key` may come without a value: it keeps globs
                // off the key. Anything else is not an assignment.
                None => match line.strip_prefix('-') {
                    Some(k) => (k, None),
                    None => continue,
                },
            };
            let k = normalize(k.trim());
            if k.contains(['*', '?', '[']) {
                let Some(v) = value else { continue };
                // Assigning a glob again moves it to the end of the
                // order, as systemd-sysctl's ordered hashmap does.
                globs.retain(|(pattern, ..)| *pattern != k);
                globs.push((k, v.to_owned(), shown.clone(), i + 1));
            } else if k == wanted {
                explicit = Some((value.map(str::to_owned), shown.clone(), i + 1));
            }
        }
    }
    match explicit {
        Some((value, file, line)) => value.map(|v| (v, file, line)),
        None => globs
            .into_iter()
            .rev()
            .find(|(pattern, ..)| glob_matches(pattern, &wanted))
            .map(|(_, v, file, line)| (v, file, line)),
    }
}

/// A key in the `/`-separated form of its path under /proc/sys: if the
/// first separator is a dot, dots and slashes are interchanged
/// (sysctl.d(5)).
fn normalize(key: &str) -> String {
    match key.find(['.', '/']) {
        Some(at) if key.as_bytes()[at] == b'.' => key
            .chars()
            .map(|c| match c {
                '.' => '/',
                '/' => '.',
                c => c,
            })
            .collect(),
        _ => key.to_owned(),
    }
}

/// Whether a normalized glob key matches a normalized key, component by
/// component, as glob(3) matches paths.
fn glob_matches(pattern: &str, key: &str) -> bool {
    let (p, k): (Vec<&str>, Vec<&str>) = (pattern.split('/').collect(), key.split('/').collect());
    p.len() == k.len()
        && p.iter()
            .zip(&k)
            .all(|(p, k)| component_matches(p.as_bytes(), k.as_bytes()))
}

/// `*`, `?` and `[...]` (with `!` or `^` to negate) in one component.
fn component_matches(pattern: &[u8], name: &[u8]) -> bool {
    match pattern.first() {
        None => name.is_empty(),
        Some(b'*') => {
            component_matches(&pattern[1..], name)
                || (!name.is_empty() && component_matches(pattern, &name[1..]))
        }
        Some(b'?') => !name.is_empty() && component_matches(&pattern[1..], &name[1..]),
        Some(b'[') => {
            let Some(end) = pattern
                .iter()
                .skip(2)
                .position(|&b| b == b']')
                .map(|e| e + 2)
            else {
                return name.first() == Some(&b'[') && component_matches(&pattern[1..], &name[1..]);
            };
            let Some(&c) = name.first() else { return false };
            let set = &pattern[1..end];
            let (negated, set) = match set.first() {
                Some(b'!' | b'^') => (true, &set[1..]),
                _ => (false, set),
            };
            let mut hit = false;
            let mut i = 0;
            while i < set.len() {
                if i + 2 < set.len() && set[i + 1] == b'-' {
                    hit |= (set[i]..=set[i + 2]).contains(&c);
                    i += 3;
                } else {
                    hit |= set[i] == c;
                    i += 1;
                }
            }
            hit != negated && component_matches(&pattern[end + 1..], &name[1..])
        }
        Some(&b) => name.first() == Some(&b) && component_matches(&pattern[1..], &name[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::root::Root;

    use crate::testing::tree;

    #[test]
    fn globs_apply_to_all_and_default_unless_a_key_is_explicit() {
        let dir = tree(&[
            (
                "/usr/lib/sysctl.d/50-default.conf",
                "net.ipv4.conf.all.accept_redirects = 1\n-net.ipv4.conf.default.rp_filter\n",
            ),
            (
                "/etc/sysctl.d/60-cis.conf",
                "net.ipv4.conf.*.send_redirects = 0\n-net.ipv4.conf.*.accept_redirects=0\n\
                 net/ipv4/conf/*/rp_filter = 1\nnet.ipv4.conf.d?fault.secure_redirects = 0\n",
            ),
            (
                "/etc/sysctl.d/70-later.conf",
                "net.ipv4.conf.[ad]*.send_redirects = 1\nnet.ipv4.conf.*.send_redirects = 0\n",
            ),
        ]);
        let root = Root::new(dir.path());
        let at = |k: &str| persisted_at(&root, k);
        // The glob assigned last (line 2 of 70-later) is applied last.
        assert_eq!(
            at("net.ipv4.conf.all.send_redirects"),
            Some(("0".into(), "/etc/sysctl.d/70-later.conf".into(), 2))
        );
        assert_eq!(
            persisted(&root, "net.ipv4.conf.default.send_redirects").as_deref(),
            Some("0")
        );
        // An explicit key wins over a glob, even one read after it.
        assert_eq!(
            persisted(&root, "net.ipv4.conf.all.accept_redirects").as_deref(),
            Some("1")
        );
        assert_eq!(
            persisted(&root, "net.ipv4.conf.default.accept_redirects").as_deref(),
            Some("0")
        );
        // `-key` keeps every glob off the key.
        assert_eq!(at("net.ipv4.conf.default.rp_filter"), None);
        assert_eq!(
            persisted(&root, "net.ipv4.conf.all.rp_filter").as_deref(),
            Some("1")
        );
        assert_eq!(
            persisted(&root, "net.ipv4.conf.default.secure_redirects").as_deref(),
            Some("0")
        );
        assert_eq!(persisted(&root, "net.ipv4.conf.all.secure_redirects"), None);
        assert_eq!(persisted(&root, "net.ipv6.conf.all.send_redirects"), None);
    }

    #[test]
    fn keys_are_normalized_as_systemd_sysctl_does() {
        assert_eq!(
            normalize("net.ipv4.conf.eth0/100.rp_filter"),
            "net/ipv4/conf/eth0.100/rp_filter"
        );
        assert_eq!(
            normalize("net/ipv4/conf/eth0.100/rp_filter"),
            "net/ipv4/conf/eth0.100/rp_filter"
        );
        assert!(glob_matches(
            "net/ipv4/conf/*/rp_filter",
            "net/ipv4/conf/all/rp_filter"
        ));
        assert!(!glob_matches("net/ipv4/*", "net/ipv4/conf/all/rp_filter"));
        assert!(glob_matches(
            "net/ipv[46]/conf/[!x]ll/rp_filter",
            "net/ipv6/conf/all/rp_filter"
        ));
    }
}
