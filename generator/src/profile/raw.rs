//! Raw input: the YAML files exactly as written, parsed strictly (unknown
//! keys are errors). Kept apart from the validated model in `model.rs`.

use std::collections::BTreeMap;

use serde::Deserialize;
use vpsc_contract::plan::When;

/// `profiles/modules/<name>.yaml`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawModule {
    /// Module name; must equal the file name.
    pub name: String,
    /// Debian version of the module package.
    pub version: String,
    /// One-line synopsis.
    pub description: String,
    /// Extended description (paragraphs).
    pub long_description: String,
    /// Debian section (default `admin`).
    #[serde(default)]
    pub section: Option<String>,
    /// Other modules this one needs.
    #[serde(default)]
    pub depends: Vec<String>,
    /// Debian package relations, one `Depends:` entry each (`a | b (>= 1)`).
    #[serde(default)]
    pub packages: Vec<String>,
    /// Debian packages the module can make use of (`Suggests:`).
    #[serde(default)]
    pub suggests: Vec<String>,
    /// Vendor source (`profiles/sources/<name>.yaml`) its packages come
    /// from; such a module is never a core module of a profile.
    #[serde(default)]
    pub source: Option<String>,
    /// Two-digit prefix of the module's `/usr/lib/sysctl.d` file (default
    /// 60): the later file wins where two modules set one key.
    #[serde(default)]
    pub sysctl_priority: Option<u8>,
    /// Parameters with their defaults.
    #[serde(default)]
    pub parameters: BTreeMap<String, serde_json::Value>,
    /// Allowed values of parameters with a fixed set, e.g.
    /// `server: ["", postgresql, mariadb]`.
    #[serde(default)]
    pub choices: BTreeMap<String, Vec<serde_json::Value>>,
    /// The type of each string, list or map parameter without `choices`
    /// (`line`, `word`, `duration`, …; see vpsc's `param_types`).
    #[serde(default)]
    pub types: BTreeMap<String, vpsc_contract::param_types::ParamType>,
    /// What must hold before anything is changed.
    #[schemars(with = "Vec<vpsc_contract::plan::Requirement>")]
    #[serde(default, with = "serde_norway::with::singleton_map_recursive")]
    pub require: Vec<vpsc_contract::plan::Requirement>,
    /// What configuring changes, each optionally under a `when` condition.
    #[schemars(with = "Vec<When<RawEffect>>")]
    #[serde(default, with = "serde_norway::with::singleton_map_recursive")]
    pub effects: Vec<When<RawEffect>>,
    /// What must hold afterwards.
    #[schemars(with = "Vec<When<vpsc_contract::plan::Check>>")]
    #[serde(default, with = "serde_norway::with::singleton_map_recursive")]
    pub verify: Vec<When<vpsc_contract::plan::Check>>,
    /// Commands that make running services pick up changes (live systems only).
    #[serde(default)]
    pub reload: Vec<Vec<String>>,
    /// CIS rules the module needs to fail, with why: scans show them
    /// waived and remediations leave them alone while it is installed.
    #[serde(default)]
    pub cis_waivers: Vec<vpsc_contract::plan::CisWaiver>,
}

/// One effect as written.
#[derive(Debug, Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum RawEffect {
    /// A file shipped in the package under `/usr/lib` (rendered at build
    /// time with the module defaults).
    VendorFile {
        /// Target path.
        path: String,
        /// Template of the content.
        content: String,
        /// Octal mode as a string, default "0644".
        #[serde(default)]
        mode: Option<String>,
    },
    /// A file under `/etc` downloaded with a pinned SHA-256.
    Fetch {
        /// Target path.
        path: String,
        /// http(s) URL.
        url: String,
        /// Lower-case hex SHA-256 of the content.
        sha256: String,
        /// Octal mode as a string, default "0644".
        #[serde(default)]
        mode: Option<String>,
    },
    /// A runtime-managed file under `/etc`.
    ManagedFile {
        /// Target path.
        path: String,
        /// Template of the content.
        template: String,
        /// Octal mode as a string, default "0644".
        #[serde(default)]
        mode: Option<String>,
        /// Validator argv; `{path}` stands for the file.
        #[serde(default)]
        validate: Option<Vec<String>>,
    },
    /// A foreign file replaced through a diversion.
    Divert {
        /// Target path.
        path: String,
        /// Template of the replacement.
        template: String,
        /// Octal mode, default "0644".
        #[serde(default)]
        mode: Option<String>,
        /// Validator argv; `{path}` stands for the file.
        #[serde(default)]
        validate: Option<Vec<String>>,
    },
    /// A symbolic link under `/etc`.
    Symlink {
        /// Link path.
        path: String,
        /// Target (templates allowed).
        target: String,
    },
    /// Owner and mode of a packaged file, through dpkg-statoverride.
    StatOverride {
        /// Path.
        path: String,
        /// Owner.
        owner: String,
        /// Group.
        group: String,
        /// Octal mode as a string, e.g. "0600".
        mode: String,
    },
    /// A unit to enable or disable.
    Unit {
        /// Unit name.
        name: String,
        /// Desired state (default true).
        #[serde(default)]
        enabled: Option<bool>,
    },
    /// A kernel parameter.
    Sysctl {
        /// Dotted key.
        key: String,
        /// Value.
        value: String,
    },
    /// Group membership.
    Group {
        /// Group name.
        name: String,
        /// Members (templates allowed).
        #[serde(default)]
        members: Vec<String>,
    },
    /// A command with its undo.
    Command {
        /// Identifier.
        id: String,
        /// argv to run.
        run: Vec<String>,
        /// argv that undoes it.
        undo: Vec<String>,
        /// Skip (and never undo) when this path exists.
        #[serde(default)]
        creates: Option<String>,
    },
    /// The CIS remediations of a level and profile, expanded on the host
    /// at configure time (see the runtime's CIS layer).
    CisRemediation {
        /// Highest level, 1 or 2.
        level: u8,
        /// server or workstation.
        profile: vpsc_contract::cis::Profile,
    },
}

/// `profiles/sources/<vendor>.yaml`: a vendor's apt repository, shipped as
/// `vpsc-source-<vendor>` (keyring and deb822 `.sources` file).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSource {
    /// Vendor name; must equal the file name.
    pub name: String,
    /// Debian version of the source package.
    pub version: String,
    /// One-line synopsis.
    pub description: String,
    /// Extended description.
    pub long_description: String,
    /// ASCII-armoured public key, a file next to the YAML.
    pub key_file: String,
    /// Expected OpenPGP v4 fingerprint (40 hex digits): the build fails if
    /// the key file is not this key.
    pub fingerprint: String,
    /// Where the binary keyring is installed (under /usr/share/keyrings).
    pub keyring: String,
    /// Where the `.sources` file is installed (under /etc/apt/sources.list.d).
    pub sources_file: String,
    /// deb822 `URIs:`.
    pub uris: String,
    /// deb822 `Suites:`.
    pub suites: String,
    /// deb822 `Components:` (absent for a flat repository).
    #[serde(default)]
    pub components: Option<String>,
    /// deb822 `Architectures:`.
    #[serde(default)]
    pub architectures: Option<String>,
    /// Packages that configure the same repository differently.
    #[serde(default)]
    pub conflicts: Vec<String>,
}

/// `profiles/<name>.yaml`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawProfile {
    /// Profile name; must equal the file name.
    pub name: String,
    /// Debian version of the profile package.
    pub version: String,
    /// One-line synopsis.
    pub description: String,
    /// Extended description.
    pub long_description: String,
    /// Profile whose modules and overrides this one starts from.
    #[serde(default)]
    pub inherits: Option<String>,
    /// The modules, in the order listed.
    #[serde(default)]
    pub modules: Vec<RawProfileModule>,
}

/// A module entry of a profile.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawProfileModule {
    /// Module name.
    pub module: String,
    /// Core modules are hard `Depends:`; the rest are `Recommends:`.
    #[serde(default)]
    pub core: Option<bool>,
    /// Parameter overrides.
    #[serde(default)]
    pub parameters: BTreeMap<String, serde_json::Value>,
}

/// `repo.yaml`: identity of the packages and the repository.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// `Maintainer:` of generated packages.
    pub maintainer: String,
    /// `Homepage:` of generated packages.
    pub homepage: String,
    /// Copyright holder line.
    pub copyright: String,
    /// Release `Origin:`.
    pub origin: String,
    /// Release `Label:`.
    pub label: String,
    /// Release `Suite:`.
    pub suite: String,
    /// Release `Codename:`.
    pub codename: String,
    /// The one component.
    pub component: String,
    /// Architectures indexed.
    pub architectures: Vec<String>,
    /// Release `Description:`.
    pub description: String,
    /// Versions of each package a publish keeps (newest first), so users
    /// can pin or downgrade.
    #[serde(default = "default_keep_versions")]
    pub keep_versions: usize,
    /// Days a `by-hash/` index stays after the last Release naming it, for
    /// clients that fetched an older `InRelease`.
    #[serde(default = "default_keep_by_hash_days")]
    pub keep_by_hash_days: u64,
    /// Where the repository is served, for `vpsc-archive-keyring`.
    #[serde(default)]
    pub archive: Option<ArchiveConfig>,
}

fn default_keep_versions() -> usize {
    3
}

fn default_keep_by_hash_days() -> u64 {
    14
}

/// `archive:` of repo.yaml: how servers reach the repository.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchiveConfig {
    /// URI of the repository root, as written into `vpsc.sources`.
    pub url: String,
    /// Version of `vpsc-archive-keyring`; bump it whenever its keys change.
    pub keyring_version: String,
}
