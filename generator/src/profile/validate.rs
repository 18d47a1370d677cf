//! Raw YAML → validated model. Everything a build needs is checked here,
//! before a single byte of output is written: names, versions, Debian
//! relations, paths, parameters, templates, profile references and
//! inheritance. One module file is checked in `module.rs`, its templates
//! in `templates.rs`, profiles in `inherit.rs`, the dependency graph in
//! `graph.rs`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use vpsc_contract::plan::{self, PathRule};

use super::fields::{check_description, check_file_name, check_relation, check_version};
use super::inherit::{check_profile, resolve_profile};
use super::locate;
use super::model::{Catalogue, Module, ShippedFile, Source};
use super::module::validate_module;
use super::raw::{RawConfig, RawProfile, RawSource};
use crate::error::{Error, Location, Result};

/// Loads and validates every module in `<dir>/modules/` and every profile
/// in `<dir>/*.yaml`, with the package identity from `config`.
pub fn load_catalogue(dir: &Path, config: &Path) -> Result<Catalogue> {
    let config = load_config(config)?;
    let mut modules = BTreeMap::new();
    for path in yaml_files(&dir.join("modules"))? {
        let source = read(&path)?;
        let module = validate_module(&path, &source, parse(&path, &source)?)?;
        modules.insert(module.name.clone(), module);
    }
    let mut raw_profiles = BTreeMap::new();
    for path in yaml_files(dir)? {
        let source = read(&path)?;
        let raw: RawProfile = parse(&path, &source)?;
        check_file_name(&path, &source, &raw.name)?;
        raw_profiles.insert(raw.name.clone(), (path, source, raw));
    }
    let mut sources = BTreeMap::new();
    let sources_dir = dir.join("sources");
    if sources_dir.is_dir() {
        for path in yaml_files(&sources_dir)? {
            let text = read(&path)?;
            let source = validate_source(&path, &text, parse(&path, &text)?)?;
            sources.insert(source.name.clone(), source);
        }
    }
    for m in modules.values() {
        if let Some(vendor) = &m.vendor {
            if !sources.contains_key(vendor) {
                let text = read(&m.source)?;
                return Err(Error::invalid(
                    locate::find(&m.source, &text, vendor, 1),
                    format!(
                        "module `{}` names source `{vendor}`, which does not exist",
                        m.name
                    ),
                    Some(format!(
                        "add profiles/sources/{vendor}.yaml or fix the name"
                    )),
                ));
            }
        }
    }
    super::graph::check_modules(&modules)?;
    let mut profiles = BTreeMap::new();
    for name in raw_profiles.keys() {
        let profile = resolve_profile(name, &raw_profiles, &modules, &mut Vec::new())?;
        profiles.insert(name.clone(), profile);
    }
    for profile in profiles.values() {
        check_profile(profile, &raw_profiles[&profile.name].1, &modules)?;
    }
    check_path_conflicts(&modules)?;
    for profile in profiles.values() {
        for pm in profile.modules.iter().filter(|pm| pm.core) {
            if let Some(vendor) = &modules[&pm.name].vendor {
                let text = &raw_profiles[&profile.name].1;
                return Err(Error::invalid(
                    locate::find(&profile.source, text, &pm.name, 1),
                    format!(
                        "module `{}` comes from the vendor source `{vendor}` and cannot be a core module of profile `{}`",
                        pm.name, profile.name
                    ),
                    Some("vendor modules are only recommended: drop `core: true`".into()),
                ));
            }
        }
    }
    Ok(Catalogue {
        modules,
        profiles,
        sources,
        config,
    })
}

/// Validates a vendor source: the key file must decode and be the pinned
/// key, the paths must be where apt and Debian keep keyrings and sources.
pub(super) fn validate_source(path: &Path, text: &str, raw: RawSource) -> Result<Source> {
    check_file_name(path, text, &raw.name)?;
    check_version(path, text, &raw.version)?;
    check_description(path, text, &raw.description, &raw.long_description)?;
    let at = |needle: &str| locate::find(path, text, needle, 1);
    let key_path = path.parent().unwrap_or(Path::new(".")).join(&raw.key_file);
    let armoured = read(&key_path)?;
    let key = crate::keyring::parse(&armoured).map_err(|why| {
        Error::invalid(
            at(&raw.key_file),
            format!("{}: {why}", key_path.display()),
            Some("save the vendor's key exactly as published (ASCII armour)".into()),
        )
    })?;
    let pinned: String = raw
        .fingerprint
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase();
    if key.fingerprint != pinned {
        return Err(Error::invalid(
            at(&raw.fingerprint),
            format!(
                "{} has fingerprint {}, not the pinned {pinned}",
                key_path.display(),
                key.fingerprint
            ),
            Some(
                "check the key with the vendor through a second channel before changing the pin"
                    .into(),
            ),
        ));
    }
    if !raw.keyring.starts_with("/usr/share/keyrings/") || !raw.keyring.ends_with(".gpg") {
        return Err(Error::invalid(
            at(&raw.keyring),
            format!(
                "keyring `{}` is not a /usr/share/keyrings/*.gpg path",
                raw.keyring
            ),
            Some(
                "apt reads binary keys from *.gpg files; Debian keeps them in /usr/share/keyrings"
                    .into(),
            ),
        ));
    }
    if !raw.sources_file.starts_with("/etc/apt/sources.list.d/")
        || !raw.sources_file.ends_with(".sources")
    {
        return Err(Error::invalid(
            at(&raw.sources_file),
            format!(
                "`{}` is not a deb822 file in /etc/apt/sources.list.d",
                raw.sources_file
            ),
            Some("name it /etc/apt/sources.list.d/<name>.sources".into()),
        ));
    }
    for p in [&raw.keyring, &raw.sources_file] {
        plan::check_path(p, PathRule::Anywhere).map_err(|e| Error::invalid(at(p), e.what, None))?;
    }
    for (field, value) in [("uris", &raw.uris), ("suites", &raw.suites)] {
        if value.trim().is_empty() || value.contains('\n') {
            return Err(Error::invalid(
                at(field),
                format!("`{field}` must be one non-empty line"),
                None,
            ));
        }
    }
    for c in &raw.conflicts {
        check_relation(c).map_err(|e| Error::invalid(at(c), e.what, None))?;
    }
    let mut deb822 = format!(
        "# Shipped by vpsc-source-{}: {}.\n# Removed with the package; apt verifies with the key in {}.\nTypes: deb\nURIs: {}\nSuites: {}\n",
        raw.name, raw.description, raw.keyring, raw.uris, raw.suites
    );
    if let Some(c) = &raw.components {
        deb822.push_str(&format!("Components: {c}\n"));
    }
    if let Some(a) = &raw.architectures {
        deb822.push_str(&format!("Architectures: {a}\n"));
    }
    deb822.push_str(&format!("Signed-By: {}\n", raw.keyring));
    Ok(Source {
        package: format!("vpsc-source-{}", raw.name),
        name: raw.name,
        version: raw.version,
        description: raw.description,
        long_description: raw.long_description,
        keyring: ShippedFile {
            path: raw.keyring,
            content: key.binary,
            mode: 0o644,
        },
        sources_file: ShippedFile {
            path: raw.sources_file,
            content: deb822.into_bytes(),
            mode: 0o644,
        },
        conflicts: raw.conflicts,
        source: path.to_path_buf(),
    })
}

/// Reads `repo.yaml`.
pub fn load_config(path: &Path) -> Result<RawConfig> {
    let source = read(path)?;
    let config: RawConfig = parse(path, &source)?;
    if !config.maintainer.contains('<') || !config.maintainer.ends_with('>') {
        return Err(Error::invalid(
            locate::find(path, &source, "maintainer", 1),
            format!(
                "maintainer `{}` is not `Full Name <address>`",
                config.maintainer
            ),
            Some(
                "write it as Policy §5.6.2 asks, e.g. `vpsc developers <vpsc@example.org>`".into(),
            ),
        ));
    }
    Ok(config)
}

pub(super) fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(Error::io("read", path))
}

/// `*.yaml` files directly in `dir`, sorted.
pub(super) fn yaml_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(Error::io("list", dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    Ok(files)
}

/// Strict YAML parse with the error positioned in `path`.
pub fn parse<T: serde::de::DeserializeOwned>(path: &Path, source: &str) -> Result<T> {
    serde_norway::from_str(source).map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((0, 0));
        let message = e.to_string();
        // serde_norway embeds " at line L column C"; the location says it.
        let message = message.replacen(&format!(" at line {line} column {column}"), "", 1);
        Error::Yaml {
            loc: Location {
                file: path.to_path_buf(),
                line,
                column,
            },
            message,
        }
    })
}

/// Two modules writing the same path would undo each other.
pub(super) fn check_path_conflicts(modules: &BTreeMap<String, Module>) -> Result<()> {
    let mut owners: BTreeMap<&str, &Module> = BTreeMap::new();
    for m in modules.values() {
        for e in &m.effects {
            let Some(p) = e.item.written_path() else {
                continue;
            };
            if let Some(other) = owners.insert(p, m) {
                let source = read(&m.source)?;
                return Err(Error::invalid(
                    locate::find(&m.source, &source, p, 1),
                    format!("modules `{}` and `{}` both write {p}", other.name, m.name),
                    Some("give each module its own file (e.g. a drop-in per module)".into()),
                ));
            }
        }
    }
    Ok(())
}

/// Property tests: module and profile YAML is written by people; damaged
/// anywhere, it is validated or refused with a typed error, never a panic.
#[cfg(test)]
mod properties {
    use super::super::raw::RawModule;
    use super::*;
    use proptest::prelude::*;

    const MODULES: [(&str, &str); 4] = [
        (
            "security",
            include_str!("../../../profiles/modules/security.yaml"),
        ),
        (
            "system",
            include_str!("../../../profiles/modules/system.yaml"),
        ),
        (
            "wireguard",
            include_str!("../../../profiles/modules/wireguard.yaml"),
        ),
        ("rbac", include_str!("../../../profiles/modules/rbac.yaml")),
    ];
    const PROFILE: &str = include_str!("../../../profiles/server.yaml");

    /// A shipped file with text spliced in, replaced or cut at any point.
    fn damaged(source: &'static str) -> impl Strategy<Value = String> {
        let c = prop_oneof![
            any::<char>(),
            prop::sample::select(vec![
                '\n', ':', ' ', '-', '"', '\'', '{', '}', '[', ']', '&', '*', '!', '#', '|', '>',
                '%', '@', '\t', '\0',
            ]),
        ];
        (
            any::<prop::sample::Index>(),
            prop::collection::vec(c, 0..16),
            0usize..3,
        )
            .prop_map(move |(at, splice, how)| {
                let chars: Vec<char> = source.chars().collect();
                let i = at.index(chars.len());
                let splice: String = splice.into_iter().collect();
                let head: String = chars[..i].iter().collect();
                let tail: String = chars[i..].iter().collect();
                match how {
                    0 => format!("{head}{splice}{tail}"),
                    1 => format!("{head}{splice}"),
                    _ => format!(
                        "{head}{splice}{}",
                        tail.chars()
                            .skip(splice.chars().count())
                            .collect::<String>()
                    ),
                }
            })
    }

    fn module_source() -> impl Strategy<Value = (&'static str, String)> {
        prop::sample::select(MODULES.to_vec())
            .prop_flat_map(|(name, source)| damaged(source).prop_map(move |s| (name, s)))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1500))]

        #[test]
        fn a_damaged_module_is_validated_or_refused((name, text) in module_source()) {
            let path = PathBuf::from(format!("profiles/modules/{name}.yaml"));
            let checked = parse::<RawModule>(&path, &text).and_then(|raw| validate_module(&path, &text, raw));
            if let Err(e) = checked {
                prop_assert!(!e.to_string().is_empty());
            }
        }

        #[test]
        fn a_damaged_profile_parses_or_is_refused(text in damaged(PROFILE)) {
            let _ = parse::<RawProfile>(Path::new("profiles/server.yaml"), &text);
        }
    }
}
