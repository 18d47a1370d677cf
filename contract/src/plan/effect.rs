//! The changes a module makes: every kind of effect, its key (its identity
//! across versions) and its validation.

use serde::{Deserialize, Serialize};

use super::values::{
    PathRule, PlanProblem, check_argv, check_mode, check_owned_path, check_path, endpoint, problem,
};
use crate::names;

/// One change a module makes to the system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Effect {
    /// A file shipped in the package under a vendor directory; dpkg installs
    /// and removes it, the runtime only checks it is present.
    VendorFile {
        /// Absolute path under `/usr/lib`.
        path: String,
    },
    /// A file under `/etc` written by the runtime from a template, journalled
    /// and restored to its prior state on unconfigure.
    ManagedFile {
        /// Absolute path under `/etc`.
        path: String,
        /// minijinja template of the content.
        template: String,
        /// Octal permission bits.
        mode: u32,
        /// Command (argv, `{path}` is replaced) that must accept the new file
        /// before it is kept, e.g. `sshd -t`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        validate: Option<Vec<String>>,
    },
    /// A file owned by another package, moved aside with
    /// `dpkg-divert --rename` and replaced by rendered content.
    Divert {
        /// Absolute path of the foreign file.
        path: String,
        /// minijinja template of the replacement content.
        template: String,
        /// Octal permission bits of the replacement.
        mode: u32,
        /// Command (argv, `{path}` is replaced) that must accept the
        /// replacement before it is kept.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        validate: Option<Vec<String>>,
    },
    /// A file under `/etc` downloaded from `url` (with apt's own
    /// downloader, so its proxy and auth settings apply) and kept only if
    /// its SHA-256 is the pinned `sha256`; restored like a managed file.
    /// The download goes through the endpoint's circuit breaker.
    Fetch {
        /// Absolute path under `/etc`.
        path: String,
        /// `https://` or `http://` URL (the pinned hash makes plain http safe).
        url: String,
        /// Lower-case hex SHA-256 the content must have.
        sha256: String,
        /// Octal permission bits.
        mode: u32,
    },
    /// A symbolic link under `/etc` (e.g. `/etc/localtime`); whatever was
    /// at the path before (a link, a file, nothing) comes back on undo.
    Symlink {
        /// Absolute path of the link, under `/etc`.
        path: String,
        /// Absolute path it points to.
        target: String,
    },
    /// Owner and mode of a file another package ships, registered with
    /// `dpkg-statoverride` so package upgrades keep them.
    StatOverride {
        /// Absolute path.
        path: String,
        /// Owner (user name).
        owner: String,
        /// Group name.
        group: String,
        /// Octal permission bits.
        mode: u32,
    },
    /// A systemd unit enabled or disabled; the prior state is recorded.
    Unit {
        /// Unit name, e.g. `fail2ban.service`.
        name: String,
        /// Desired state.
        enabled: bool,
    },
    /// A kernel parameter, persisted by a shipped `/usr/lib/sysctl.d` file
    /// and applied to the running kernel on a live system.
    Sysctl {
        /// Dotted key, e.g. `net.ipv4.tcp_syncookies`.
        key: String,
        /// Value as written to `/proc/sys`.
        value: String,
    },
    /// Group membership; the group is created (as a system group) if absent.
    Group {
        /// Group name.
        name: String,
        /// Users to add (templates allowed, e.g. `{{ admin_user }}`).
        members: Vec<String>,
    },
    /// A command with an explicit undo command.
    Command {
        /// Stable identifier of this command within the module.
        id: String,
        /// argv run on apply (templates allowed in each element).
        run: Vec<String>,
        /// argv run on undo.
        undo: Vec<String>,
        /// If this path exists before apply, the command is skipped and
        /// therefore never undone.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        creates: Option<String>,
    },
    /// The CIS remediations of a level and profile (`cis::remedy`),
    /// expanded at configure time, for the benchmark of the system, into
    /// managed files, kernel parameters and stat overrides; rules waived
    /// by the administrator or by an installed module are left alone.
    CisRemediation {
        /// Highest level, 1 or 2.
        level: u8,
        /// Server or workstation.
        profile: crate::cis::Profile,
        /// Only these rule IDs (empty: every rule with a remediation).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        only: Vec<String>,
    },
}

impl Effect {
    /// Whether the effect stands for steps only the host can name, which a
    /// capability above the journal expands at configure time
    /// (`cis_remediation`).
    pub fn needs_expansion(&self) -> bool {
        matches!(self, Effect::CisRemediation { .. })
    }

    /// Identity of the effect within its module: two plan versions that
    /// share a key manage the same thing, so upgrades converge by key.
    pub fn key(&self) -> String {
        match self {
            Effect::VendorFile { path } => format!("vendor:{path}"),
            Effect::ManagedFile { path, .. } | Effect::Fetch { path, .. } => {
                format!("file:{path}")
            }
            Effect::Divert { path, .. } => format!("divert:{path}"),
            Effect::Symlink { path, .. } => format!("symlink:{path}"),
            Effect::StatOverride { path, .. } => format!("statoverride:{path}"),
            Effect::Unit { name, .. } => format!("unit:{name}"),
            Effect::Sysctl { key, .. } => format!("sysctl:{key}"),
            Effect::Group { name, .. } => format!("group:{name}"),
            Effect::Command { id, .. } => format!("command:{id}"),
            Effect::CisRemediation { level, profile, .. } => {
                format!("cis:level{level}:{}", profile.name())
            }
        }
    }

    /// Paths this effect writes, for the "two modules write one path" check.
    pub fn written_path(&self) -> Option<&str> {
        match self {
            Effect::VendorFile { path }
            | Effect::ManagedFile { path, .. }
            | Effect::Fetch { path, .. }
            | Effect::Divert { path, .. }
            | Effect::Symlink { path, .. } => Some(path),
            _ => None,
        }
    }

    /// Checks names and paths; templates are checked by whoever renders them.
    pub fn validate(&self) -> Result<(), PlanProblem> {
        match self {
            Effect::VendorFile { path } => check_path(path, PathRule::Vendor),
            Effect::ManagedFile {
                path,
                mode,
                validate,
                ..
            } => {
                check_path(path, PathRule::Etc)?;
                check_mode(*mode)?;
                if let Some(argv) = validate {
                    check_argv(argv)?;
                }
                Ok(())
            }
            Effect::Divert {
                path,
                mode,
                validate,
                ..
            } => {
                check_path(path, PathRule::Anywhere)?;
                if let Some(argv) = validate {
                    check_argv(argv)?;
                }
                if path.starts_with("/usr/share/vpsc/") || path.starts_with("/var/lib/vpsc") {
                    return Err(problem(format!(
                        "`{path}` belongs to vpsc itself and cannot be diverted"
                    )));
                }
                check_mode(*mode)
            }
            Effect::Fetch {
                path,
                url,
                sha256,
                mode,
            } => {
                check_path(path, PathRule::Etc)?;
                check_mode(*mode)?;
                endpoint(url)?;
                if sha256.len() != 64
                    || !sha256
                        .chars()
                        .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
                {
                    return Err(problem(format!(
                        "`sha256: {sha256}` is not a SHA-256 in lower-case hex (64 digits); `sha256sum FILE` prints it"
                    )));
                }
                Ok(())
            }
            Effect::Symlink { path, target } => {
                check_path(path, PathRule::Etc)?;
                // The target may be a template (a time zone parameter);
                // its rendered value is checked again at configure time.
                if !target.contains("{{") {
                    check_path(target, PathRule::Anywhere)?;
                }
                Ok(())
            }
            Effect::StatOverride {
                path,
                owner,
                group,
                mode,
            } => {
                check_owned_path(path, owner, group)?;
                check_mode(*mode)
            }
            Effect::Unit { name, .. } => names::unit(name).map_err(problem),
            Effect::Sysctl { key, value } => {
                names::sysctl_key(key).map_err(problem)?;
                names::sysctl_value(value).map_err(problem)
            }
            Effect::Group { name, members } => {
                names::group(name).map_err(problem)?;
                for m in members {
                    // A member may be a template resolved at configure time;
                    // its rendered value is checked again there.
                    if !m.contains("{{") {
                        names::user(m).map_err(problem)?;
                    }
                }
                Ok(())
            }
            Effect::Command {
                id,
                run,
                undo,
                creates,
            } => {
                names::identifier(id).map_err(problem)?;
                check_argv(run)?;
                check_argv(undo)?;
                if let Some(p) = creates {
                    check_path(p, PathRule::Anywhere)?;
                }
                Ok(())
            }
            Effect::CisRemediation { level, .. } => {
                if (1..=2).contains(level) {
                    Ok(())
                } else {
                    Err(problem(format!("CIS level {level} is not 1 or 2")))
                }
            }
        }
    }
}
