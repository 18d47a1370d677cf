//! What `vpsc verify` checks after a configure, and what a module requires
//! before one: every kind of check and its validation.

use serde::{Deserialize, Serialize};

use super::values::{
    PathRule, PlanProblem, check_owned_path, check_path, parse_mode, parse_port, problem,
};
use crate::names;

/// One verify check. Externally tagged (`{"unit_enabled": {"name": …}}`)
/// so module YAML and the plan JSON share this one type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Check {
    /// An executable of this name is on the standard root PATH.
    CommandPresent {
        /// Command name.
        name: String,
    },
    /// A file contains a line-independent substring (templates allowed).
    FileContains {
        /// Absolute path.
        path: String,
        /// Text that must occur.
        text: String,
    },
    /// A systemd unit is enabled.
    UnitEnabled {
        /// Unit name.
        name: String,
    },
    /// A kernel parameter has this value (running on a live system,
    /// persisted otherwise).
    Sysctl {
        /// Dotted key.
        key: String,
        /// Expected value.
        value: String,
    },
    /// A Debian package is installed.
    PackageInstalled {
        /// Package name.
        name: String,
    },
    /// A user is a member of a group (templates allowed in `user`).
    GroupMember {
        /// Group name.
        group: String,
        /// User name.
        user: String,
    },
    /// A path is a symbolic link to `target` (templates allowed in
    /// `target`); the link is read, never followed, so it answers the
    /// same under `--root`.
    Symlink {
        /// Absolute path of the link.
        path: String,
        /// Expected target.
        target: String,
    },
    /// A Debian package is not installed (or only its configuration is
    /// left).
    PackageAbsent {
        /// Package name.
        name: String,
    },
    /// A group exists.
    GroupExists {
        /// Group name.
        name: String,
    },
    /// A file has this owner, group and mode.
    FileMode {
        /// Absolute path.
        path: String,
        /// Owner (user name).
        owner: String,
        /// Group name.
        group: String,
        /// Octal mode as a string, e.g. "0600".
        mode: String,
    },
    /// A user has at least one SSH public key in `~/.ssh/authorized_keys`
    /// (templates allowed in `user`).
    AuthorizedKey {
        /// User name.
        user: String,
    },
    /// A host accepts TCP connections on a port, through a circuit breaker
    /// and with retries (templates allowed in `host` and `port`): a mirror,
    /// a license server, an upstream the module needs.
    Reachable {
        /// Host name or address.
        host: String,
        /// Port number or template.
        port: String,
    },
    /// Something listens on a port (templates allowed in `port`). Only a
    /// running system can answer, so on a chroot or `--root` tree the
    /// check is reported as not evaluated.
    PortListening {
        /// Port number, or a template such as `"{{ port }}"`.
        port: String,
        /// Transport protocol.
        #[serde(default)]
        protocol: Protocol,
        /// Every listener on the port must be on a loopback address
        /// (a service meant for this host only).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        loopback_only: bool,
    },
}

/// Transport protocol of a port check.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP: a socket in the LISTEN state.
    #[default]
    Tcp,
    /// UDP: a bound socket.
    Udp,
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        })
    }
}

impl Check {
    /// Checks names and paths of the check.
    pub fn validate(&self) -> Result<(), PlanProblem> {
        match self {
            Check::CommandPresent { name } => names::command(name).map_err(problem),
            Check::FileContains { path, text } => {
                check_path(path, PathRule::Anywhere)?;
                if text.is_empty() {
                    return Err(problem("file_contains needs a non-empty `text`"));
                }
                Ok(())
            }
            Check::UnitEnabled { name } => names::unit(name).map_err(problem),
            Check::Sysctl { key, value } => {
                names::sysctl_key(key).map_err(problem)?;
                names::sysctl_value(value).map_err(problem)
            }
            Check::PackageInstalled { name } => names::package(name).map_err(problem),
            Check::GroupMember { group, user } => {
                names::group(group).map_err(problem)?;
                if !user.contains("{{") {
                    names::user(user).map_err(problem)?;
                }
                Ok(())
            }
            Check::Symlink { path, target } => {
                check_path(path, PathRule::Anywhere)?;
                if !target.contains("{{") {
                    check_path(target, PathRule::Anywhere)?;
                }
                Ok(())
            }
            Check::PackageAbsent { name } => names::package(name).map_err(problem),
            Check::GroupExists { name } => names::group(name).map_err(problem),
            Check::FileMode {
                path,
                owner,
                group,
                mode,
            } => {
                check_owned_path(path, owner, group)?;
                parse_mode(mode).map(|_| ())
            }
            Check::AuthorizedKey { user } => {
                if !user.contains("{{") {
                    names::user(user).map_err(problem)?;
                }
                Ok(())
            }
            Check::PortListening { port, .. } => {
                if !port.contains("{{") {
                    parse_port(port)?;
                }
                Ok(())
            }
            Check::Reachable { host, port } => {
                if !host.contains("{{") {
                    names::host(host).map_err(problem)?;
                }
                if !port.contains("{{") {
                    parse_port(port)?;
                }
                Ok(())
            }
        }
    }

    /// Short human label, e.g. `unit_enabled fail2ban.service`.
    pub fn label(&self) -> String {
        match self {
            Check::CommandPresent { name } => format!("command_present {name}"),
            Check::FileContains { path, text } => format!("file_contains {path} {text:?}"),
            Check::UnitEnabled { name } => format!("unit_enabled {name}"),
            Check::Sysctl { key, value } => format!("sysctl {key} = {value}"),
            Check::PackageInstalled { name } => format!("package_installed {name}"),
            Check::GroupMember { group, user } => format!("group_member {group} {user}"),
            Check::Symlink { path, target } => format!("symlink {path} -> {target}"),
            Check::PackageAbsent { name } => format!("package_absent {name}"),
            Check::GroupExists { name } => format!("group_exists {name}"),
            Check::FileMode {
                path,
                owner,
                group,
                mode,
            } => format!("file_mode {path} {owner}:{group} {mode}"),
            Check::AuthorizedKey { user } => format!("authorized_key {user}"),
            Check::Reachable { host, port } => format!("reachable {host}:{port}"),
            Check::PortListening {
                port,
                protocol,
                loopback_only,
            } => format!(
                "port_listening {protocol}/{port}{}",
                if *loopback_only { " on loopback" } else { "" }
            ),
        }
    }
}
