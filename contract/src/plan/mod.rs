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

mod check;
mod effect;
mod values;

pub use check::{Check, Protocol};
pub use effect::Effect;
pub use values::{PathRule, PlanProblem, check_argv, check_path, endpoint, parse_mode, parse_port};
use values::{check_condition, problem};

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
        if let Some(allowed) = self.choices.get(name).filter(|a| !a.contains(value)) {
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
