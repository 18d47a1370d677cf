//! The compiled plan of one module: the contract between `vpsc-gen`, which
//! writes it to `/usr/share/vpsc/modules/<name>.json`, and the runtime, which
//! executes it from the maintainer scripts.
//!
//! Invariant: a `Plan` that passed [`Plan::validate`] names only paths,
//! units, groups and users that are safe to hand to the system as argv
//! elements (docs/architecture.md principle 6). Both sides validate: the generator so a
//! bad profile never becomes a package, the runtime so a damaged plan file
//! never reaches the system.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::names;

/// Version of the plan file format; bumped on incompatible changes.
pub const PLAN_FORMAT: u32 = 1;

/// Oldest `vpsc-runtime` that reads profile descriptions (profile
/// packages depend on it).
pub const PROFILE_RUNTIME: &str = "0.2.0";

/// Directory (relative to the root) where module plans are shipped.
pub const PLAN_DIR: &str = "usr/share/vpsc/modules";

/// Directory (relative to the root) where profile descriptions are shipped.
pub const PROFILE_DIR: &str = "usr/share/vpsc/profiles";

/// One module's compiled plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Plan file format, see [`PLAN_FORMAT`].
    pub format: u32,
    /// Module name (without the `vpsc-mod-` prefix).
    pub module: String,
    /// Module version, equal to the package version.
    pub version: String,
    /// Parameter defaults; templates see these merged with overrides.
    pub parameters: BTreeMap<String, serde_json::Value>,
    /// Allowed values of the parameters that have a fixed set; a site file
    /// setting another value is refused, never silently ignored.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub choices: BTreeMap<String, Vec<serde_json::Value>>,
    /// The declared type of every string, list or map parameter without
    /// `choices`: what a site or profile value must look like.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub types: BTreeMap<String, crate::param_types::ParamType>,
    /// What must hold before anything is changed; a failing requirement
    /// stops the configure with nothing touched (e.g. "an administrator has
    /// an SSH key" before password login is turned off).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub require: Vec<Requirement>,
    /// What configuring the module changes, in order.
    pub effects: Vec<When<Effect>>,
    /// What must hold once the module is configured.
    pub verify: Vec<When<Check>>,
    /// Commands (argv) that make running services pick up a change, run
    /// once after effects were applied or undone, and only on a live
    /// system (e.g. `deb-systemd-invoke reload ssh.service`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reload: Vec<Vec<String>>,
    /// CIS rules the module needs to fail.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cis_waivers: Vec<CisWaiver>,
}

/// A profile as shipped in `/usr/share/vpsc/profiles/<name>.json`: the
/// parameter overrides it applies to its modules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileDoc {
    /// Plan file format, see [`PLAN_FORMAT`].
    pub format: u32,
    /// Profile name (without the `vpsc-profile-` prefix).
    pub profile: String,
    /// Profile version.
    pub version: String,
    /// Overrides per module; every module of the profile has an entry.
    pub modules: BTreeMap<String, BTreeMap<String, serde_json::Value>>,
}

/// An effect or check with the condition under which it applies.
///
/// `when` is a minijinja expression over the module's parameters and
/// `installed_modules` (the names of the modules whose plans are
/// installed), evaluated at configure and verify time, so a host's site
/// file or another module's presence can switch it. An effect whose
/// condition turns false is undone like one the plan dropped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct When<T> {
    /// Condition; absent means always.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    /// The effect or check itself, flattened into the same map.
    #[serde(flatten)]
    pub item: T,
}

/// A check that must hold before a module changes anything.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Requirement {
    /// Condition under which it is required; absent means always.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    /// How the administrator satisfies it (templates allowed).
    pub hint: String,
    /// The check.
    #[serde(flatten)]
    pub check: Check,
}

impl<T> When<T> {
    /// An unconditional item.
    pub fn always(item: T) -> Self {
        When { when: None, item }
    }
}

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

/// A CIS rule a module needs to fail, and why (docker needs IP
/// forwarding): scans show it waived, and remediations leave it alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CisWaiver {
    /// The rule's ID in each benchmark that has it.
    pub id: BTreeMap<crate::cis::Benchmark, String>,
    /// Why the module needs it.
    pub reason: String,
}

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

/// Where a path may point, per kind of effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathRule {
    /// Vendor directories dpkg removes with the package.
    Vendor,
    /// Runtime-managed configuration under `/etc`.
    Etc,
    /// Any absolute path (diversions, check targets, `creates`).
    Anywhere,
}

/// A problem found in a plan.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}")]
pub struct PlanProblem {
    /// What is wrong, naming the offending value.
    pub what: String,
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

impl Plan {
    /// A plan the runtime makes for itself (`vpsc cis remediate`,
    /// `vpsc-user 2fa enforce`): `effects` journalled under `journal`,
    /// then ssh reloaded, since each may change sshd's configuration.
    /// `version` is the runtime's.
    pub fn own(journal: &str, version: &str, effects: Vec<Effect>) -> Plan {
        Plan {
            format: PLAN_FORMAT,
            module: journal.to_owned(),
            version: version.to_owned(),
            parameters: Default::default(),
            choices: Default::default(),
            types: Default::default(),
            require: Vec::new(),
            effects: effects.into_iter().map(When::always).collect(),
            verify: Vec::new(),
            reload: vec![vec![
                "systemctl".into(),
                "try-reload-or-restart".into(),
                "ssh.service".into(),
            ]],
            cis_waivers: Vec::new(),
        }
    }

    /// Validates every name, path and argv in the plan.
    pub fn validate(&self) -> Result<(), PlanProblem> {
        if self.format != PLAN_FORMAT {
            return Err(problem(format!(
                "plan format {} is not supported (this runtime reads format {PLAN_FORMAT}); upgrade vpsc-runtime",
                self.format
            )));
        }
        names::module(&self.module).map_err(problem)?;
        let mut keys = std::collections::BTreeSet::new();
        for step in &self.effects {
            let effect = &step.item;
            effect.validate()?;
            check_condition(step.when.as_deref())?;
            if !keys.insert(effect.key()) {
                return Err(problem(format!(
                    "effect `{}` appears twice in module `{}`",
                    effect.key(),
                    self.module
                )));
            }
        }
        for check in &self.verify {
            check.item.validate()?;
            check_condition(check.when.as_deref())?;
        }
        for req in &self.require {
            req.check.validate()?;
            check_condition(req.when.as_deref())?;
            if req.hint.trim().is_empty() {
                return Err(problem(format!(
                    "requirement `{}` needs a `hint` telling the administrator how to satisfy it",
                    req.check.label()
                )));
            }
        }
        for argv in &self.reload {
            check_argv(argv)?;
        }
        for name in self.parameters.keys() {
            names::identifier(name).map_err(problem)?;
        }
        for (name, allowed) in &self.choices {
            let Some(default) = self.parameters.get(name) else {
                return Err(problem(format!(
                    "`choices` names `{name}`, which is not a parameter of module `{}`",
                    self.module
                )));
            };
            if allowed.is_empty() {
                return Err(problem(format!("`choices` of `{name}` is empty")));
            }
            self.check_value(name, default).map_err(|why| {
                problem(format!(
                    "the default of `{name}` ({}) is not allowed: {why}",
                    serde_json::to_string(default).unwrap_or_default()
                ))
            })?;
        }
        for name in self.types.keys() {
            let Some(default) = self.parameters.get(name) else {
                return Err(problem(format!(
                    "`types` names `{name}`, which is not a parameter of module `{}`",
                    self.module
                )));
            };
            self.check_value(name, default).map_err(|why| {
                problem(format!(
                    "the default of `{name}` ({}) is not allowed: {why}",
                    serde_json::to_string(default).unwrap_or_default()
                ))
            })?;
        }
        Ok(())
    }

    /// Whether `value` may be given to parameter `name`: no string in it
    /// holds a line break or other control character, it has the JSON type
    /// of the default (unless the default is null), where the parameter
    /// has `choices` it is one of them, and where it has a declared type
    /// every string in it is of that type. The error says what is allowed.
    pub fn check_value(&self, name: &str, value: &serde_json::Value) -> Result<(), crate::Invalid> {
        let show = |v: &serde_json::Value| serde_json::to_string(v).unwrap_or_default();
        let whole_file = self.types.get(name) == Some(&crate::param_types::ParamType::Text);
        if crate::param_types::control_character(value).is_some() && !whole_file {
            return Err(
                "it holds a line break or another control character, which would end its line in the file it is written to".into(),
            );
        }
        if let Some(allowed) = self.choices.get(name)
            && !allowed.contains(value)
        {
            let list: Vec<String> = allowed.iter().map(show).collect();
            return Err(crate::Invalid::new(format!(
                "it must be one of {}",
                list.join(", ")
            )));
        }
        match self.parameters.get(name) {
            Some(default) if !default.is_null() && json_type(default) != json_type(value) => {
                Err(crate::Invalid::new(format!(
                    "it is a {} but must be a {}, like the default {}",
                    json_type(value),
                    json_type(default),
                    show(default)
                )))
            }
            _ => match self.types.get(name) {
                Some(kind) => {
                    let empty_ok = self.parameters.get(name).is_some_and(|d| d == "");
                    kind.check_value(value, empty_ok)
                }
                None => Ok(()),
            },
        }
    }

    /// Oldest `vpsc-runtime` that can run this plan. Packages depend on
    /// this, not on the runtime they were built with, so a runtime release
    /// changes only the modules that use what it added.
    pub fn runtime_needed(&self) -> &'static str {
        let uses_ports = self
            .verify
            .iter()
            .map(|c| &c.item)
            .chain(self.require.iter().map(|r| &r.check))
            .any(|c| matches!(c, Check::PortListening { .. } | Check::Reachable { .. }));
        let fetches = self
            .effects
            .iter()
            .any(|e| matches!(e.item, Effect::Fetch { .. }));
        let cis = !self.cis_waivers.is_empty()
            || self
                .effects
                .iter()
                .any(|e| matches!(e.item, Effect::CisRemediation { .. }));
        if !self.types.is_empty() {
            // Older runtimes refuse the field (deny_unknown_fields).
            "0.6.0"
        } else if cis {
            "0.4.0"
        } else if uses_ports || fetches || !self.choices.is_empty() {
            "0.3.0"
        } else {
            "0.2.0"
        }
    }
}

/// JSON type name of a value, for error messages.
fn json_type(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "list",
        serde_json::Value::Object(_) => "map",
    }
}

/// Host and port of an `http(s)://` URL, the key of its circuit breaker.
pub fn endpoint(url: &str) -> Result<(String, u16), PlanProblem> {
    let bad = || {
        problem(format!(
            "`{url}` is not an http:// or https:// URL with a host"
        ))
    };
    let (rest, default_port) = if let Some(r) = url.strip_prefix("https://") {
        (r, 443)
    } else if let Some(r) = url.strip_prefix("http://") {
        (r, 80)
    } else {
        return Err(bad());
    };
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return Err(problem(format!(
            "`{url}` carries credentials; put them in /etc/apt/auth.conf.d instead"
        )));
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, rest) = v6.split_once(']').ok_or_else(bad)?;
        match rest.strip_prefix(':') {
            Some(p) => (host, parse_port(p)?),
            None if rest.is_empty() => (host, default_port),
            None => return Err(bad()),
        }
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h, parse_port(p)?),
            None => (authority, default_port),
        }
    };
    names::host(host).map_err(|_| bad())?;
    Ok((host.to_owned(), port))
}

/// Parses a port number (1–65535).
pub fn parse_port(text: &str) -> Result<u16, PlanProblem> {
    match text.trim().parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(problem(format!(
            "port `{text}` is not a port number (1–65535)"
        ))),
    }
}

fn problem(what: impl std::fmt::Display) -> PlanProblem {
    PlanProblem {
        what: what.to_string(),
    }
}

/// A condition is an expression, not a template: `{{` would make it render
/// to a string that is always true.
fn check_condition(when: Option<&str>) -> Result<(), PlanProblem> {
    match when {
        Some(w) if w.trim().is_empty() => {
            Err(problem("`when` is empty; remove it or write a condition"))
        }
        Some(w) if w.contains("{{") || w.contains("{%") => Err(problem(format!(
            "`when: {w}` is an expression, not a template: drop the `{{{{ }}}}`"
        ))),
        _ => Ok(()),
    }
}

/// A path with the owner and group it should have.
fn check_owned_path(path: &str, owner: &str, group: &str) -> Result<(), PlanProblem> {
    check_path(path, PathRule::Anywhere)?;
    names::user(owner).map_err(problem)?;
    names::group(group).map_err(problem)
}

/// Parses a four-digit octal mode written as a string ("0600").
pub fn parse_mode(text: &str) -> Result<u32, PlanProblem> {
    (text.len() == 4 && text.starts_with('0'))
        .then(|| u32::from_str_radix(text, 8).ok())
        .flatten()
        .ok_or_else(|| {
            problem(format!(
                "mode `{text}` is not a four-digit octal mode like \"0600\""
            ))
        })
}

fn check_mode(mode: u32) -> Result<(), PlanProblem> {
    if mode & !0o7777 != 0 {
        return Err(problem(format!("mode {mode:o} is not a permission mode")));
    }
    if mode & 0o002 != 0 {
        return Err(problem(format!(
            "mode {mode:04o} is world-writable; drop the o+w bit"
        )));
    }
    Ok(())
}

/// Checks a command's argv: a literal program and no NUL bytes.
pub fn check_argv(argv: &[String]) -> Result<(), PlanProblem> {
    let Some(first) = argv.first() else {
        return Err(problem(
            "a command needs at least one argument (the program)",
        ));
    };
    if first.contains("{{") {
        return Err(problem(format!(
            "the program `{first}` must not be a template"
        )));
    }
    if argv.iter().any(|a| a.contains('\0')) {
        return Err(problem("a command argument contains a NUL byte"));
    }
    Ok(())
}

/// Checks that `path` is absolute, normalised, and allowed for `rule`.
pub fn check_path(path: &str, rule: PathRule) -> Result<(), PlanProblem> {
    if !path.starts_with('/') {
        return Err(problem(format!(
            "path `{path}` must be absolute (start with `/`)"
        )));
    }
    if path.len() > 4096 || path.contains('\0') || path.contains('\n') {
        return Err(problem(format!(
            "path `{}` is too long or contains control characters",
            path.escape_debug()
        )));
    }
    for comp in path.split('/').skip(1) {
        if comp.is_empty() || comp == "." || comp == ".." {
            return Err(problem(format!(
                "path `{path}` must not contain `..`, `.` or empty components"
            )));
        }
    }
    let ok = match rule {
        PathRule::Vendor => ["/usr/lib/", "/usr/share/"]
            .iter()
            .any(|p| path.starts_with(p)),
        PathRule::Etc => path.starts_with("/etc/"),
        PathRule::Anywhere => true,
    };
    if !ok {
        let allowed = match rule {
            PathRule::Vendor => "a vendor directory under /usr/lib/ or /usr/share/",
            PathRule::Etc => "/etc/ (use a vendor_file for /usr/lib)",
            PathRule::Anywhere => "",
        };
        return Err(problem(format!(
            "path `{path}` is outside the allowed locations: expected {allowed}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_of_urls() {
        let ok = |u: &str| endpoint(u).expect(u);
        assert_eq!(
            ok("https://packages.example.org/key.asc"),
            ("packages.example.org".into(), 443)
        );
        assert_eq!(ok("http://127.0.0.1:8080/k"), ("127.0.0.1".into(), 8080));
        assert_eq!(ok("http://[::1]:81/k"), ("::1".into(), 81));
        assert_eq!(ok("https://[::1]/k"), ("::1".into(), 443));
        for bad in [
            "ftp://x/y",
            "https://",
            "https://user:pw@host/k",
            "https://a b/c",
            "https://host:0/",
        ] {
            assert!(endpoint(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dotdot_paths_are_refused() {
        assert!(check_path("/etc/../root/x", PathRule::Etc).is_err());
        assert!(check_path("/etc//x", PathRule::Etc).is_err());
        assert!(check_path("etc/x", PathRule::Etc).is_err());
        assert!(check_path("/etc/ssh/sshd_config.d/50-vpsc.conf", PathRule::Etc).is_ok());
    }

    #[test]
    fn vendor_files_stay_in_vendor_directories() {
        assert!(check_path("/usr/lib/sysctl.d/60-vpsc.conf", PathRule::Vendor).is_ok());
        assert!(check_path("/etc/sysctl.d/60-vpsc.conf", PathRule::Vendor).is_err());
        assert!(check_path("/usr/bin/evil", PathRule::Vendor).is_err());
    }

    #[test]
    fn effect_keys_identify_the_managed_thing() {
        let e = Effect::Unit {
            name: "ssh.service".into(),
            enabled: true,
        };
        assert_eq!(e.key(), "unit:ssh.service");
    }
}
