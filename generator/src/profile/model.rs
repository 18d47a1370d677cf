//! The validated model: what `validate.rs` produces from the raw YAML and
//! everything downstream (graph, control files, packages) consumes.

use std::collections::BTreeMap;
use std::path::PathBuf;

use vpsc_contract::plan::{Check, Effect, PLAN_FORMAT, Plan, Requirement, When};
use vpsc_contract::render::Params;

use super::raw::RawConfig;

/// A file shipped inside a module package.
#[derive(Debug, Clone, PartialEq)]
pub struct ShippedFile {
    /// Absolute target path.
    pub path: String,
    /// Content.
    pub content: Vec<u8>,
    /// Permission bits.
    pub mode: u32,
}

/// A validated module.
#[derive(Debug, Clone)]
pub struct Module {
    /// Name (package `vpsc-mod-<name>`).
    pub name: String,
    /// Debian version.
    pub version: String,
    /// Synopsis.
    pub description: String,
    /// Extended description.
    pub long_description: String,
    /// Debian section.
    pub section: String,
    /// Module dependencies.
    pub depends: Vec<String>,
    /// Debian relations, each a valid `Depends:` entry.
    pub packages: Vec<String>,
    /// Debian relations for `Suggests:`.
    pub suggests: Vec<String>,
    /// Parameter defaults.
    pub parameters: Params,
    /// Allowed values of parameters with a fixed set.
    pub choices: BTreeMap<String, Vec<serde_json::Value>>,
    /// Declared types of parameters.
    pub types: BTreeMap<String, vpsc_contract::param_types::ParamType>,
    /// Requirements checked before any change.
    pub require: Vec<Requirement>,
    /// Effects as the runtime will see them.
    pub effects: Vec<When<Effect>>,
    /// Vendor files rendered at build time.
    pub vendor_files: Vec<ShippedFile>,
    /// Verify checks.
    pub verify: Vec<When<Check>>,
    /// Reload commands, run on live systems after a change.
    pub reload: Vec<Vec<String>>,
    /// CIS rules the module needs to fail.
    pub cis_waivers: Vec<vpsc_contract::plan::CisWaiver>,
    /// Vendor source (`vpsc-source-<vendor>`) its packages come from, if
    /// not Debian.
    pub vendor: Option<String>,
    /// The YAML it came from.
    pub source: PathBuf,
}

/// A vendor's apt repository, packaged as `vpsc-source-<name>`.
#[derive(Debug, Clone)]
pub struct Source {
    /// Vendor name.
    pub name: String,
    /// Debian package name (`vpsc-source-<name>`, or the archive keyring).
    pub package: String,
    /// Debian version.
    pub version: String,
    /// Synopsis.
    pub description: String,
    /// Extended description.
    pub long_description: String,
    /// Binary keyring and its installed path.
    pub keyring: ShippedFile,
    /// The deb822 `.sources` file (a conffile).
    pub sources_file: ShippedFile,
    /// Packages that configure the same repository differently.
    pub conflicts: Vec<String>,
    /// The YAML it came from.
    pub source: PathBuf,
}

impl Source {
    /// The Debian package name.
    pub fn package(&self) -> String {
        self.package.clone()
    }
}

/// A module entry of a profile.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileModule {
    /// Module name.
    pub name: String,
    /// Hard dependency (`Depends:`) rather than `Recommends:`.
    pub core: bool,
    /// Parameter overrides.
    pub parameters: Params,
}

/// A validated profile with inheritance resolved.
#[derive(Debug, Clone)]
pub struct Profile {
    /// Name (package `vpsc-profile-<name>`).
    pub name: String,
    /// Debian version.
    pub version: String,
    /// Synopsis.
    pub description: String,
    /// Extended description.
    pub long_description: String,
    /// Parent profile, if any.
    pub inherits: Option<String>,
    /// Modules including inherited ones, parent's first.
    pub modules: Vec<ProfileModule>,
    /// The YAML it came from.
    pub source: PathBuf,
}

/// Everything one build works from.
#[derive(Debug, Clone)]
pub struct Catalogue {
    /// Modules by name.
    pub modules: BTreeMap<String, Module>,
    /// Profiles by name.
    pub profiles: BTreeMap<String, Profile>,
    /// Vendor sources by name.
    pub sources: BTreeMap<String, Source>,
    /// Package and repository identity.
    pub config: RawConfig,
}

impl Module {
    /// The plan shipped in the package, as the runtime reads it.
    pub fn plan(&self) -> Plan {
        Plan {
            format: PLAN_FORMAT,
            module: self.name.clone(),
            version: self.version.clone(),
            parameters: self.parameters.clone(),
            choices: self.choices.clone(),
            types: self.types.clone(),
            require: self.require.clone(),
            effects: self.effects.clone(),
            verify: self.verify.clone(),
            reload: self.reload.clone(),
            cis_waivers: self.cis_waivers.clone(),
        }
    }

    /// The Debian package name.
    pub fn package(&self) -> String {
        format!("vpsc-mod-{}", self.name)
    }
}

impl Profile {
    /// The Debian package name.
    pub fn package(&self) -> String {
        format!("vpsc-profile-{}", self.name)
    }
}
