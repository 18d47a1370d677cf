//! The sudoers drop-in of a user, `/etc/sudoers.d/vpsc-<name>`, rendered
//! from the user's roles: checked with `visudo -c -f` under a name sudo
//! ignores (it skips files with a `.` in `sudoers.d`), then renamed into
//! place, so sudo never reads a broken or half-written file.

use std::path::Path;

use crate::rbac::ResolvedRole;
use vpsc_engine::error::{Error, Result};
use vpsc_engine::root::Root;

/// The drop-in of `user`.
pub fn path(user: &str) -> String {
    format!("/etc/sudoers.d/vpsc-{user}")
}

/// A role's rules as sudoers lines, with the time sudo stops honouring
/// them for a temporary grant.
pub struct Entry<'a> {
    /// The resolved role.
    pub role: &'a ResolvedRole,
    /// End of a temporary grant (Unix seconds).
    pub until: Option<i64>,
}

/// The drop-in for `user` holding `entries`, or `None` when no role gives
/// a sudo rule (then the user has no file at all).
pub fn render(user: &str, entries: &[Entry<'_>]) -> Option<String> {
    let mut lines = Vec::new();
    for e in entries {
        if e.role.sudo.is_empty() {
            continue;
        }
        // sudo itself refuses a rule after NOTAFTER (sudoers(5), "Date
        // and time options"), even if the sweeping timer never runs.
        let after = e
            .until
            .map(|t| format!("NOTAFTER={} ", sudo_time(t)))
            .unwrap_or_default();
        let (all, cmds): (Vec<&String>, Vec<&String>) =
            e.role.sudo.iter().partition(|r| r.as_str() == "ALL");
        let why = match e.until {
            Some(t) => format!(
                "# role {} until {}",
                e.role.name,
                vpsc_engine::dates::utc(t)
            ),
            None => format!("# role {}", e.role.name),
        };
        lines.push(why);
        if !all.is_empty() {
            lines.push(format!("{user} ALL=(ALL:ALL) {after}ALL"));
        }
        if !cmds.is_empty() {
            let list: Vec<&str> = cmds.iter().map(|c| c.as_str()).collect();
            lines.push(format!("{user} ALL=(root) {after}{}", list.join(", ")));
        }
    }
    if lines.is_empty() {
        return None;
    }
    Some(format!(
        "# Written by vpsc-user for {user}; `vpsc-user role assign|revoke` and\n# `vpsc-user temp-access` rewrite it from the roles file: do not edit.\n{}\n",
        lines.join("\n")
    ))
}

/// `YYYYMMDDHHMMSSZ`, the generalized time sudoers reads.
fn sudo_time(secs: i64) -> String {
    vpsc_engine::dates::utc(secs)
        .chars()
        .filter(char::is_ascii_digit)
        .collect::<String>()
        + "Z"
}

/// Installs `content` as the drop-in of `user` after visudo accepted it,
/// or removes the drop-in when `content` is `None`.
pub fn install(root: &Root, user: &str, content: Option<&str>) -> Result<()> {
    let Some(content) = content else {
        return root.remove_file(&path(user));
    };
    if !root.is_dir(DIR) {
        return Err(Error::Precondition {
            what: "/etc/sudoers.d does not exist: sudo is not installed".into(),
            hint: "install sudo (vpsc-mod-rbac depends on it): `apt install vpsc-mod-rbac`".into(),
        });
    }
    let dir = root.open_dir(DIR)?;
    // The staged name is the temporary already (sudo skips it): written in
    // place, new (O_EXCL, no link followed), so a kill leaves one known name.
    let staged = staged_name(user);
    dir.remove(&staged)?;
    let written = dir.create_new(&staged, 0o440).and_then(|mut f| {
        use std::io::Write;
        f.write_all(content.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(Error::io("write", format!("{DIR}/{staged}")))
    });
    if let Err(e) = written {
        let _ = dir.remove(&staged);
        return Err(e);
    }
    if let Err(e) = check(root, &dir, &staged) {
        let _ = dir.remove(&staged);
        return Err(e);
    }
    vpsc_engine::fault::point("sudoers.before_rename");
    dir.rename(&staged, &format!("vpsc-{user}"))
}

/// The directory sudo reads drop-ins from.
const DIR: &str = "/etc/sudoers.d";

/// The name the drop-in of `user` is checked under before it is renamed
/// into place: sudo skips names with a `.` in sudoers.d.
fn staged_name(user: &str) -> String {
    format!(".vpsc-{user}.new")
}

/// Removes a staged drop-in a killed process left behind.
pub fn discard_staged(root: &Root, user: &str) -> Result<()> {
    root.remove_file(&format!("{DIR}/{}", staged_name(user)))
}

/// `visudo -c -q -f FILE`: the root's own visudo when it has one, else the
/// host's, reading the staged file through the directory root holds open.
fn check(root: &Root, dir: &vpsc_engine::confined::Dir, staged: &str) -> Result<()> {
    use std::os::fd::AsRawFd;
    let inside = format!("{DIR}/{staged}");
    let argv: Vec<String>;
    let cmd = if root.exists("/usr/sbin/visudo") {
        argv = ["visudo", "-c", "-q", "-f", &inside]
            .map(String::from)
            .to_vec();
        root.command(&argv)
    } else if Path::new("/usr/sbin/visudo").exists() {
        // Not the tree's path by name: a link in the tree could lead it out.
        let held = format!(
            "/proc/{}/fd/{}/{staged}",
            std::process::id(),
            dir.fd().as_raw_fd()
        );
        argv = ["visudo", "-c", "-q", "-f", &held]
            .map(String::from)
            .to_vec();
        Root::new("/").command(&argv)
    } else {
        return Err(Error::Precondition {
            what: "visudo is not installed, so the sudoers drop-in cannot be checked".into(),
            hint: "install sudo: `apt install sudo`".into(),
        });
    };
    vpsc_engine::root::run_command(cmd, &argv)
        .map(drop)
        .map_err(|e| Error::Precondition {
            what: format!("visudo refused the sudoers drop-in {inside}: {e}"),
            hint: "a rule of the roles file is not valid sudoers; fix /etc/vpsc/rbac/roles.yaml (nothing was installed)".into(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(name: &str, sudo: &[&str]) -> ResolvedRole {
        ResolvedRole {
            name: name.into(),
            description: String::new(),
            inherits: vec![],
            groups: vec![],
            permissions: vec![],
            sudo: sudo.iter().map(|s| (*s).to_owned()).collect(),
            root_equivalent: false,
        }
    }

    #[test]
    fn rules_render_one_line_per_role_with_expiry_for_grants() {
        let dev = role(
            "developer",
            &[
                "/usr/bin/systemctl restart app-*.service",
                "/usr/bin/id \"\"",
            ],
        );
        let admin = role("admin", &["ALL"]);
        let text = render(
            "alice",
            &[
                Entry {
                    role: &dev,
                    until: None,
                },
                Entry {
                    role: &admin,
                    until: Some(1_800_000_000),
                },
            ],
        )
        .expect("rules");
        assert!(
            text.contains(
                "alice ALL=(root) /usr/bin/systemctl restart app-*.service, /usr/bin/id \"\"\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("alice ALL=(ALL:ALL) NOTAFTER=20270115080000Z ALL"),
            "{text}"
        );
    }

    #[test]
    fn no_rules_means_no_file() {
        let viewer = role("viewer", &[]);
        assert_eq!(
            render(
                "bob",
                &[Entry {
                    role: &viewer,
                    until: None
                }]
            ),
            None
        );
    }
}
