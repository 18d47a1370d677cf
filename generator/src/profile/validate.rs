//! Raw YAML → validated model. Everything a build needs is checked here,
//! before a single byte of output is written: names, versions, Debian
//! relations, paths, parameters, templates, profile references and
//! inheritance. Dependency-graph checks live in `graph.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use vpsc_contract::plan::{self, Check, Effect, PathRule, When};
use vpsc_contract::render::{self, Params};

use super::locate;
use super::model::{Catalogue, Module, Profile, ProfileModule, ShippedFile, Source};
use super::raw::{RawConfig, RawEffect, RawModule, RawProfile, RawSource};
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
        if let Some(vendor) = &m.vendor
            && !sources.contains_key(vendor)
        {
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
    crate::graph::check_modules(&modules)?;
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
fn validate_source(path: &Path, text: &str, raw: RawSource) -> Result<Source> {
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

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(Error::io("read", path))
}

/// `*.yaml` files directly in `dir`, sorted.
fn yaml_files(dir: &Path) -> Result<Vec<PathBuf>> {
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

fn check_file_name(path: &Path, source: &str, name: &str) -> Result<()> {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    vpsc_contract::names::module(name)
        .map_err(|e| Error::invalid(locate::find(path, source, name, 1), e.what, None))?;
    if name == vpsc_contract::names::CIS_JOURNAL {
        return Err(Error::invalid(
            locate::find(path, source, name, 1),
            format!(
                "module name `{name}` is reserved: `vpsc cis remediate` journals its changes under it"
            ),
            Some("choose another name, e.g. `cis-<purpose>`".into()),
        ));
    }
    if name == vpsc_contract::names::TWO_FACTOR_JOURNAL {
        return Err(Error::invalid(
            locate::find(path, source, name, 1),
            format!(
                "module name `{name}` is reserved: `vpsc-user 2fa enforce` journals its changes under it"
            ),
            Some("choose another name".into()),
        ));
    }
    if stem != name {
        return Err(Error::invalid(
            locate::find(path, source, name, 1),
            format!("name `{name}` does not match the file name `{stem}.yaml`"),
            Some(format!(
                "rename the file to `{name}.yaml` or the name to `{stem}`"
            )),
        ));
    }
    Ok(())
}

fn check_version(path: &Path, source: &str, version: &str) -> Result<()> {
    let ok = version.parse::<debversion::Version>().is_ok()
        && version.starts_with(|c: char| c.is_ascii_digit())
        && !version.contains(char::is_whitespace);
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            locate::find(path, source, version, 1),
            format!("version `{version}` is not a valid Debian version"),
            Some("use digits and dots, e.g. `1.2.0` (deb-version(7))".into()),
        ))
    }
}

fn parse_mode(path: &Path, source: &str, mode: Option<&str>) -> Result<u32> {
    let Some(text) = mode else { return Ok(0o644) };
    let parsed = (text.len() == 4 && text.starts_with('0'))
        .then(|| u32::from_str_radix(text, 8).ok())
        .flatten();
    parsed.ok_or_else(|| {
        Error::invalid(
            locate::find(path, source, text, 1),
            format!("mode `{text}` is not a four-digit octal mode"),
            Some("quote it as a string, e.g. mode: \"0644\"".into()),
        )
    })
}

/// Serde's flattening (how `when:` sits beside an effect) ignores keys it
/// does not know, so each list item is checked here: one kind plus the
/// keys every item may carry.
fn check_item_keys(path: &Path, source: &str) -> Result<()> {
    let Ok(doc) = serde_norway::from_str::<serde_norway::Value>(source) else {
        return Ok(());
    };
    for (list, extra) in [
        ("effects", &["when"][..]),
        ("verify", &["when"][..]),
        ("require", &["when", "hint"][..]),
    ] {
        let Some(items) = doc.get(list).and_then(|v| v.as_sequence()) else {
            continue;
        };
        for item in items {
            let Some(map) = item.as_mapping() else {
                continue;
            };
            let kinds: Vec<&str> = map
                .keys()
                .filter_map(|k| k.as_str())
                .filter(|k| !extra.contains(k))
                .collect();
            if kinds.len() > 1 {
                return Err(Error::invalid(
                    locate::find(path, source, kinds[1], 1),
                    format!(
                        "an entry of `{list}` has the keys `{}`; only one kind and {} may appear together",
                        kinds.join("`, `"),
                        extra
                            .iter()
                            .map(|e| format!("`{e}`"))
                            .collect::<Vec<_>>()
                            .join(" and ")
                    ),
                    Some("check the spelling; each kind goes in its own list entry".into()),
                ));
            }
        }
    }
    Ok(())
}

fn validate_module(path: &Path, source: &str, raw: RawModule) -> Result<Module> {
    check_item_keys(path, source)?;
    check_file_name(path, source, &raw.name)?;
    check_version(path, source, &raw.version)?;
    check_description(path, source, &raw.description, &raw.long_description)?;
    let at = |needle: &str| locate::find(path, source, needle, 1);
    for dep in &raw.depends {
        vpsc_contract::names::module(dep).map_err(|e| Error::invalid(at(dep), e.what, None))?;
    }
    for rel in raw.packages.iter().chain(&raw.suggests) {
        check_relation(rel).map_err(|what| {
            Error::invalid(
                at(rel.split_whitespace().next().unwrap_or(rel)),
                what.what,
                Some("write one Debian relation per entry, e.g. `openssh-server (>= 1:9.2)` or `default-mta | mail-transport-agent`".into()),
            )
        })?;
    }
    for name in raw.parameters.keys() {
        vpsc_contract::names::identifier(name)
            .map_err(|e| Error::invalid(at(name), e.what, None))?;
    }
    let section = raw.section.clone().unwrap_or_else(|| "admin".into());
    const SECTIONS: [&str; 6] = ["admin", "devel", "net", "utils", "web", "database"];
    if !SECTIONS.contains(&section.as_str()) {
        return Err(Error::invalid(
            at(&section),
            format!("section `{section}` is not one vpsc uses"),
            Some(format!("use one of {}", SECTIONS.join(", "))),
        ));
    }

    let env = render::environment();
    let mut effects = Vec::new();
    let mut vendor_files = Vec::new();
    let mut sysctl_lines = Vec::new();
    for When {
        when,
        item: raw_effect,
    } in raw.effects
    {
        let effect = match raw_effect {
            RawEffect::VendorFile {
                path: target,
                content,
                mode,
            } => {
                let mode = parse_mode(path, source, mode.as_deref())?;
                plan::check_path(&target, PathRule::Vendor)
                    .map_err(|p| Error::invalid(at(&target), p.what, None))?;
                let rendered = render_at(&env, path, source, &target, &content, &raw.parameters)?;
                vendor_files.push(ShippedFile {
                    path: target.clone(),
                    content: rendered.into_bytes(),
                    mode,
                });
                Effect::VendorFile { path: target }
            }
            RawEffect::ManagedFile {
                path: target,
                template,
                mode,
                validate,
            } => Effect::ManagedFile {
                mode: parse_mode(path, source, mode.as_deref())?,
                path: target,
                template,
                validate,
            },
            RawEffect::Divert {
                path: target,
                template,
                mode,
                validate,
            } => Effect::Divert {
                mode: parse_mode(path, source, mode.as_deref())?,
                path: target,
                template,
                validate,
            },
            RawEffect::Fetch {
                path: target,
                url,
                sha256,
                mode,
            } => Effect::Fetch {
                mode: parse_mode(path, source, mode.as_deref())?,
                path: target,
                url,
                sha256,
            },
            RawEffect::Symlink { path, target } => Effect::Symlink { path, target },
            RawEffect::StatOverride {
                path: target,
                owner,
                group,
                mode,
            } => Effect::StatOverride {
                mode: parse_mode(path, source, Some(&mode))?,
                path: target,
                owner,
                group,
            },
            RawEffect::Unit { name, enabled } => Effect::Unit {
                name,
                enabled: enabled.unwrap_or(true),
            },
            RawEffect::Sysctl { key, value } => {
                // The persisted value is a file dpkg ships, fixed at build
                // time: a condition could not switch it.
                if when.is_some() {
                    return Err(Error::invalid(
                        at(&key),
                        format!("sysctl `{key}` has a `when` condition"),
                        Some("kernel parameters are persisted by a shipped file and cannot be conditional; let a later-sorting module file override the value instead".into()),
                    ));
                }
                sysctl_lines.push(format!("{key} = {value}\n"));
                Effect::Sysctl { key, value }
            }
            RawEffect::Group { name, members } => Effect::Group { name, members },
            RawEffect::Command {
                id,
                run,
                undo,
                creates,
            } => Effect::Command {
                id,
                run,
                undo,
                creates,
            },
            RawEffect::CisRemediation { level, profile } => Effect::CisRemediation {
                level,
                profile,
                only: Vec::new(),
            },
        };
        effect.validate().map_err(|p| {
            let needle = effect.written_path().map(str::to_owned).unwrap_or_else(|| {
                effect
                    .key()
                    .split_once(':')
                    .map(|(_, v)| v.to_owned())
                    .unwrap_or_default()
            });
            Error::invalid(at(&needle), p.what, None)
        })?;
        effects.push(When { when, item: effect });
    }
    if !sysctl_lines.is_empty() {
        // Persisted sysctl values ship as one vendor file per module;
        // 60- sorts after Debian's own 50-*.conf defaults (sysctl.d(5)).
        let priority = raw.sysctl_priority.unwrap_or(60);
        if !(10..=99).contains(&priority) {
            return Err(Error::invalid(
                at("sysctl_priority"),
                format!("sysctl_priority {priority} is not a two-digit number"),
                Some("use 51..99 so Debian's own 50-*.conf files come first".into()),
            ));
        }
        let target = format!("/usr/lib/sysctl.d/{priority}-vpsc-{}.conf", raw.name);
        let mut content = format!(
            "# Kernel parameters of vpsc-mod-{}; removed with the package.\n",
            raw.name
        );
        content.extend(sysctl_lines);
        vendor_files.push(ShippedFile {
            path: target.clone(),
            content: content.into_bytes(),
            mode: 0o644,
        });
        effects.insert(0, When::always(Effect::VendorFile { path: target }));
    }
    let mut keys = BTreeSet::new();
    for e in &effects {
        if !keys.insert(e.item.key()) {
            return Err(Error::invalid(
                at(e.item.written_path().unwrap_or(&raw.name)),
                format!("effect `{}` appears twice", e.item.key()),
                Some("merge the two entries".into()),
            ));
        }
    }
    let check_at = |c: &Check| at(c.label().split(' ').nth(1).unwrap_or("verify"));
    let verify: Vec<When<Check>> = raw.verify;
    for c in &verify {
        c.item
            .validate()
            .map_err(|p| Error::invalid(check_at(&c.item), p.what, None))?;
    }
    for r in &raw.require {
        r.check
            .validate()
            .map_err(|p| Error::invalid(check_at(&r.check), p.what, None))?;
        if r.hint.trim().is_empty() {
            return Err(Error::invalid(
                check_at(&r.check),
                format!("requirement `{}` has an empty `hint`", r.check.label()),
                Some("say how the administrator satisfies it".into()),
            ));
        }
    }
    let conditions = effects
        .iter()
        .map(|e| e.when.as_deref())
        .chain(verify.iter().map(|c| c.when.as_deref()))
        .chain(raw.require.iter().map(|r| r.when.as_deref()));
    for when in conditions.flatten() {
        if when.trim().is_empty() || when.contains("{{") || when.contains("{%") {
            return Err(Error::invalid(
                at(when),
                format!("`when: {when}` is not an expression"),
                Some(
                    "write a minijinja expression without `{{ }}`, e.g. `when: swap_size != \"0\"`"
                        .into(),
                ),
            ));
        }
    }
    for argv in &raw.reload {
        plan::check_argv(argv).map_err(|p| Error::invalid(at("reload"), p.what, None))?;
    }
    check_cis_waivers(&raw.cis_waivers, &at)?;
    // A value from a site or profile reaches templates as written: each
    // one that can hold text must say what text, so a newline or a quote
    // that would break out of its line is refused before anything is built.
    for (name, default) in &raw.parameters {
        let textual = matches!(
            default,
            serde_json::Value::String(_)
                | serde_json::Value::Array(_)
                | serde_json::Value::Object(_)
        );
        if textual && !raw.choices.contains_key(name) && !raw.types.contains_key(name) {
            let kinds: Vec<&str> = vpsc_contract::param_types::ParamType::ALL
                .iter()
                .map(|k| k.name())
                .collect();
            return Err(Error::invalid(
                locate::find(path, source, name, 1),
                format!(
                    "parameter `{name}` of module `{}` holds text but declares neither `types` nor `choices`",
                    raw.name
                ),
                Some(format!(
                    "add `{name}: <type>` under `types:` (one of {}), or list its values under `choices:`",
                    kinds.join(", ")
                )),
            ));
        }
    }
    let module = Module {
        name: raw.name,
        version: raw.version,
        description: raw.description,
        long_description: raw.long_description,
        section,
        depends: raw.depends,
        packages: raw.packages,
        suggests: raw.suggests,
        parameters: raw.parameters,
        choices: raw.choices,
        types: raw.types,
        require: raw.require,
        effects,
        vendor_files,
        verify,
        reload: raw.reload,
        cis_waivers: raw.cis_waivers,
        vendor: raw.source,
        source: path.to_path_buf(),
    };
    module
        .plan()
        .validate()
        .map_err(|p| Error::invalid(at("choices"), p.what, None))?;
    // Every template must render with the defaults alone.
    check_templates(&module, &module.parameters)?;
    Ok(module)
}

/// Policy §3.4: a synopsis under 80 characters without a trailing period,
/// and a non-empty extended description.
fn check_description(path: &Path, source: &str, synopsis: &str, long: &str) -> Result<()> {
    let at = locate::find(path, source, "description", 1);
    if synopsis.is_empty()
        || synopsis.len() > 79
        || synopsis.ends_with('.')
        || synopsis.contains('\n')
    {
        return Err(Error::invalid(
            at,
            format!(
                "description {synopsis:?} must be one line under 80 characters without a final period"
            ),
            Some(
                "Policy §3.4.1: the synopsis is a noun phrase, e.g. `hardened OpenSSH server`"
                    .into(),
            ),
        ));
    }
    if long.trim().is_empty() {
        return Err(Error::invalid(
            locate::find(path, source, "long_description", 1),
            "long_description is empty",
            Some("lintian's extended-description-is-empty: say what the package does in a sentence or two".to_owned()),
        ));
    }
    Ok(())
}

/// One `Depends:` entry: alternatives allowed, each a valid package name
/// with an optional version constraint.
fn check_relation(rel: &str) -> std::result::Result<(), vpsc_contract::Invalid> {
    // Names first: the relation parser's messages for a bad name are
    // about tokens, not about what the user wrote.
    for alt in rel.split('|') {
        let name = alt
            .trim()
            .split(|c: char| c.is_whitespace() || c == '(' || c == ':')
            .next()
            .unwrap_or("");
        vpsc_contract::names::package(name)?;
        if alt.contains('(') {
            let inner = alt
                .split_once('(')
                .map(|(_, r)| r.trim_end().trim_end_matches(')'))
                .unwrap_or("");
            let (op, version) = inner.trim().split_at(
                inner
                    .trim()
                    .find(|c: char| c.is_ascii_alphanumeric())
                    .unwrap_or(inner.trim().len()),
            );
            if !["<<", "<=", "=", ">=", ">>"].contains(&op.trim())
                || version.trim().parse::<debversion::Version>().is_err()
            {
                return Err(vpsc_contract::Invalid::new(format!(
                    "`{}` has an invalid version constraint `({inner})`: use one of << <= = >= >> and a Debian version",
                    alt.trim()
                )));
            }
        }
    }
    let relations: debian_control::lossless::relations::Relations = rel
        .parse()
        .map_err(|e: String| format!("`{rel}` is not a Debian relation: {e}"))?;
    let entries: Vec<_> = relations.entries().collect();
    if entries.len() != 1 {
        return Err(vpsc_contract::Invalid::new(format!(
            "`{rel}` holds {} relations; write one per list entry",
            entries.len()
        )));
    }
    for r in entries[0].relations() {
        let name = r
            .try_name()
            .ok_or_else(|| format!("`{rel}` has an entry without a package name"))?;
        vpsc_contract::names::package(&name)?;
    }
    Ok(())
}

/// Renders a build-time template, positioning errors inside the file.
fn render_at(
    env: &minijinja::Environment<'_>,
    path: &Path,
    source: &str,
    what: &str,
    template: &str,
    params: &Params,
) -> Result<String> {
    render::render(env, what, template, params)
        .map_err(|e| template_error(path, source, what, template, &e, params))
}

fn template_error(
    path: &Path,
    source: &str,
    what: &str,
    template: &str,
    e: &minijinja::Error,
    params: &Params,
) -> Error {
    let anchor = locate::find(path, source, what, 1);
    let first = template
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    let start = source
        .lines()
        .enumerate()
        .skip(anchor.line.saturating_sub(1))
        .find(|(_, l)| !first.is_empty() && l.trim() == first.trim())
        .map(|(i, _)| i + 1);
    let line = match (start, e.line()) {
        (Some(s), Some(l)) => s + l - 1,
        _ => anchor.line,
    };
    Error::Template {
        loc: Location {
            file: path.to_path_buf(),
            line,
            column: 0,
        },
        what: what.to_owned(),
        message: describe_template_error(template, e, params),
    }
}

/// minijinja reports "undefined value" without the name; the names used
/// by the template but absent from the parameters are what the user needs.
fn describe_template_error(template: &str, e: &minijinja::Error, params: &Params) -> String {
    let base = e
        .detail()
        .map(str::to_owned)
        .unwrap_or_else(|| e.kind().to_string());
    if e.kind() != minijinja::ErrorKind::UndefinedError {
        return base;
    }
    let env = render::environment();
    let mut missing: Vec<String> = env
        .template_from_str(template)
        .map(|t| {
            t.undeclared_variables(false)
                .into_iter()
                .filter(|v| !params.contains_key(v))
                .collect()
        })
        .unwrap_or_default();
    missing.sort();
    if missing.is_empty() {
        base
    } else {
        let names: Vec<String> = missing.iter().map(|m| format!("`{m}`")).collect();
        format!("undefined variable {}", names.join(", "))
    }
}

/// Renders every runtime template of `module` with `params`, so a template
/// with an undefined variable fails the build instead of a postinst. The
/// module's YAML is read only to position an error.
pub fn check_templates(module: &Module, params: &Params) -> Result<()> {
    let source = || std::fs::read_to_string(&module.source).unwrap_or_default();
    let env = render::environment();
    // Conditions are evaluated with the defaults and every module present,
    // so an undefined name fails the build.
    let conditions = module
        .effects
        .iter()
        .map(|e| e.when.as_deref())
        .chain(module.verify.iter().map(|c| c.when.as_deref()))
        .chain(module.require.iter().map(|r| r.when.as_deref()));
    for when in conditions.flatten() {
        render::condition(&env, Some(when), params, &[]).map_err(|err| {
            let unknown = unknown_names(when, params);
            let what = if unknown.is_empty() {
                format!("condition `{when}` cannot be evaluated: {err}")
            } else {
                format!(
                    "condition `{when}` names undefined `{}`",
                    unknown.join("`, `")
                )
            };
            Error::invalid(
                locate::find(&module.source, &source(), when, 1),
                what,
                Some(
                    "a condition may use the module's `parameters:` and `installed_modules`".into(),
                ),
            )
        })?;
    }
    for r in &module.require {
        render::render(&env, "hint", &r.hint, params)
            .and_then(|_| render::render_check(&env, &r.check, params))
            .map_err(|err| {
                template_error(&module.source, &source(), &r.hint, &r.hint, &err, params)
            })?;
    }
    for e in module.effects.iter().map(|e| &e.item) {
        render::render_effect(&env, e, params).map_err(|err| {
            let (what, template) = match e {
                Effect::ManagedFile { path, template, .. }
                | Effect::Divert { path, template, .. } => (path.clone(), template.clone()),
                other => (other.key(), String::new()),
            };
            template_error(&module.source, &source(), &what, &template, &err, params)
        })?;
    }
    for c in module.verify.iter().map(|c| &c.item) {
        render::render_check(&env, c, params).map_err(|err| {
            let template = match c {
                Check::FileContains { text, .. } => text.clone(),
                Check::GroupMember { user, .. } => user.clone(),
                _ => String::new(),
            };
            template_error(
                &module.source,
                &source(),
                &c.label(),
                &template,
                &err,
                params,
            )
        })?;
    }
    Ok(())
}

/// Names in an expression that are neither parameters nor known words;
/// quoted strings are skipped.
fn unknown_names(expr: &str, params: &Params) -> Vec<String> {
    const WORDS: [&str; 11] = [
        "and",
        "or",
        "not",
        "in",
        "is",
        "true",
        "false",
        "none",
        "defined",
        "installed_modules",
        "if",
    ];
    let mut out = Vec::new();
    let mut quote = None;
    let mut word = String::new();
    for c in expr.chars().chain([' ']) {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c.is_ascii_alphanumeric() || c == '_' => {
                word.push(c);
                continue;
            }
            None => {}
        }
        let w = std::mem::take(&mut word);
        let first_alpha = w
            .chars()
            .next()
            .is_some_and(|f| f.is_ascii_alphabetic() || f == '_');
        if first_alpha
            && !WORDS.contains(&w.as_str())
            && !params.contains_key(&w)
            && !out.contains(&w)
        {
            out.push(w);
        }
    }
    out
}

/// Resolves inheritance depth-first; `stack` detects inheritance cycles.
fn resolve_profile(
    name: &str,
    raw: &BTreeMap<String, (PathBuf, String, RawProfile)>,
    modules: &BTreeMap<String, Module>,
    stack: &mut Vec<String>,
) -> Result<Profile> {
    let (path, source, profile) = &raw[name];
    check_version(path, source, &profile.version)?;
    check_description(
        path,
        source,
        &profile.description,
        &profile.long_description,
    )?;
    if stack.iter().any(|s| s == name) {
        stack.push(name.to_owned());
        return Err(Error::invalid(
            locate::find(path, source, "inherits", 1),
            format!("profile inheritance cycle: {}", stack.join(" -> ")),
            Some("a profile may inherit only from a profile that does not inherit it back".into()),
        ));
    }
    stack.push(name.to_owned());
    let mut entries: Vec<ProfileModule> = match &profile.inherits {
        None => Vec::new(),
        Some(parent) => {
            if !raw.contains_key(parent) {
                return Err(Error::invalid(
                    locate::find(path, source, parent, 1),
                    format!("profile `{name}` inherits unknown profile `{parent}`"),
                    Some(format!(
                        "known profiles: {}",
                        raw.keys().cloned().collect::<Vec<_>>().join(", ")
                    )),
                ));
            }
            resolve_profile(parent, raw, modules, stack)?.modules
        }
    };
    stack.pop();
    for m in &profile.modules {
        if !modules.contains_key(&m.module) {
            return Err(Error::invalid(
                locate::find(path, source, &m.module, 1),
                format!("profile `{name}` lists unknown module `{}`", m.module),
                Some(suggest(&m.module, modules.keys())),
            ));
        }
        match entries.iter_mut().find(|e| e.name == m.module) {
            Some(existing) => {
                if let Some(core) = m.core {
                    existing.core = core;
                }
                existing.parameters.extend(m.parameters.clone());
            }
            None => entries.push(ProfileModule {
                name: m.module.clone(),
                core: m.core.unwrap_or(false),
                parameters: m.parameters.clone(),
            }),
        }
    }
    if entries.is_empty() {
        return Err(Error::invalid(
            locate::find(path, source, "modules", 1),
            format!("profile `{name}` has no modules"),
            Some("list at least one module under `modules:`".into()),
        ));
    }
    Ok(Profile {
        name: name.to_owned(),
        version: profile.version.clone(),
        description: profile.description.clone(),
        long_description: profile.long_description.clone(),
        inherits: profile.inherits.clone(),
        modules: entries,
        source: path.clone(),
    })
}

/// Overrides name real parameters and render; a profile's modules must
/// bring their module dependencies along.
fn check_profile(
    profile: &Profile,
    source: &str,
    modules: &BTreeMap<String, Module>,
) -> Result<()> {
    let listed: BTreeSet<&str> = profile.modules.iter().map(|m| m.name.as_str()).collect();
    for entry in &profile.modules {
        let module = &modules[&entry.name];
        for param in entry.parameters.keys() {
            if !module.parameters.contains_key(param) {
                return Err(Error::invalid(
                    locate::find(&profile.source, source, param, 1),
                    format!(
                        "profile `{}` overrides unknown parameter `{param}` of module `{}`",
                        profile.name, module.name
                    ),
                    Some(suggest(param, module.parameters.keys())),
                ));
            }
        }
        let plan = module.plan();
        for (param, value) in &entry.parameters {
            plan.check_value(param, value).map_err(|why| {
                Error::invalid(
                    locate::find(&profile.source, source, param, 1),
                    format!(
                        "profile `{}` sets parameter `{param}` of module `{}` to {}: {why}",
                        profile.name,
                        module.name,
                        serde_json::to_string(value).unwrap_or_default()
                    ),
                    None,
                )
            })?;
        }
        let params = render::merge(&module.parameters, Some(&entry.parameters));
        check_templates(module, &params).map_err(|e| match e {
            Error::Template { loc, what, message } => Error::Template {
                loc,
                what: format!("{what} (with the overrides of profile `{}`)", profile.name),
                message,
            },
            other => other,
        })?;
        for dep in &module.depends {
            if !listed.contains(dep.as_str()) {
                return Err(Error::invalid(
                    locate::find(&profile.source, source, &entry.name, 1),
                    format!(
                        "module `{}` of profile `{}` depends on module `{dep}`, which the profile does not list",
                        entry.name, profile.name
                    ),
                    Some(format!("add `- module: {dep}` to the profile")),
                ));
            }
        }
    }
    Ok(())
}

/// Two modules writing the same path would undo each other.
fn check_path_conflicts(modules: &BTreeMap<String, Module>) -> Result<()> {
    let mut owners: BTreeMap<&str, &Module> = BTreeMap::new();
    for m in modules.values() {
        for e in &m.effects {
            if let Some(p) = e.item.written_path()
                && let Some(other) = owners.insert(p, m)
            {
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

/// "did you mean" for a misspelt name.
pub fn suggest<'a>(wrong: &str, known: impl Iterator<Item = &'a String>) -> String {
    let known: Vec<&String> = known.collect();
    let best = known
        .iter()
        .map(|k| (edit_distance(wrong, k), *k))
        .filter(|(d, _)| *d <= 2)
        .min();
    match best {
        Some((_, k)) => format!("did you mean `{k}`?"),
        None if known.is_empty() => "there is none to choose from".into(),
        None => format!(
            "known: {}",
            known
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// A module's CIS waivers name rules the runtime has, under the benchmark
/// that numbers them so, and say why.
fn check_cis_waivers(
    waivers: &[vpsc_contract::plan::CisWaiver],
    at: &dyn Fn(&str) -> Location,
) -> Result<()> {
    let rules = vpsc_contract::cis::rule_ids()
        .map_err(|e| Error::invalid(at("cis_waivers"), e.what, None))?;
    for w in waivers {
        if w.id.is_empty() || w.reason.trim().is_empty() {
            return Err(Error::invalid(
                at("cis_waivers"),
                "a CIS waiver needs `id: {debian12: …, debian13: …}` and a reason",
                None,
            ));
        }
        for (benchmark, id) in &w.id {
            if !rules.iter().any(|r| r.id.get(benchmark) == Some(id)) {
                return Err(Error::invalid(
                    at(id),
                    format!(
                        "CIS waiver names rule {id}, which {} does not have",
                        benchmark.title()
                    ),
                    Some(
                        "`vpsc cis scan --benchmark debian12|debian13 --level 2` lists the rules"
                            .into(),
                    ),
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
