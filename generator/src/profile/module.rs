//! One module file: raw YAML to a validated [`Module`], every name,
//! relation, path, parameter and effect checked.

use std::collections::BTreeSet;
use std::path::Path;

use vpsc_contract::plan::{self, Check, Effect, PathRule, When};
use vpsc_contract::render::{self};

use super::fields::{
    check_cis_waivers, check_description, check_file_name, check_item_keys, check_relation,
    check_version, parse_mode,
};
use super::locate;
use super::model::{Module, ShippedFile};
use super::raw::{RawEffect, RawModule};
use super::templates::{check_templates, render_at};
use crate::error::{Error, Result};

pub(super) fn validate_module(path: &Path, source: &str, raw: RawModule) -> Result<Module> {
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
