//! Profiles resolved: `extends` chains followed, overrides applied, and
//! each profile's modules and parameters checked against the catalogue.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use vpsc_contract::render::{self};

use super::fields::{check_description, check_version};
use super::locate;
use super::model::{Module, Profile, ProfileModule};
use super::raw::RawProfile;
use super::suggest::suggest;
use super::templates::check_templates;
use crate::error::{Error, Result};

/// Resolves inheritance depth-first; `stack` detects inheritance cycles.
pub(super) fn resolve_profile(
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
pub(super) fn check_profile(
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
