//! Per-host parameter overrides: `/etc/vpsc/site.d/*.yaml`, read at
//! configure time so a host changes its admin user, SSH port or timezone
//! without rebuilding any package.
//!
//! Each file maps module names to parameter values:
//!
//! ```yaml
//! ssh:
//!   port: 2222
//! base:
//!   admin_user: alice
//! ```
//!
//! Files are read in lexical order of their names, later ones winning, and
//! site values win over a profile's overrides, which win over module
//! defaults. The files belong to the administrator: vpsc only reads them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::root::Root;
use vpsc_contract::plan::Plan;
use vpsc_contract::render::Params;

/// Directory of the site override files, relative to the root.
pub const SITE_DIR: &str = "/etc/vpsc/site.d";

/// One file's overrides: module → parameters.
type SiteFile = BTreeMap<String, Params>;

/// Overrides of every site file for `module`, merged in file order, with
/// the file that set each parameter (for error messages).
pub fn overrides(root: &Root, module: &str) -> Result<Vec<(PathBuf, Params)>> {
    let mut files: Vec<String> = match root.read_dir_names(SITE_DIR) {
        Ok(names) => names
            .into_iter()
            .filter(|n| n.ends_with(".yaml"))
            .map(|n| format!("{SITE_DIR}/{n}"))
            .filter(|p| root.is_file(p))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("list", SITE_DIR)(e)),
    };
    files.sort();
    let mut out = Vec::new();
    for inside in files {
        let text = root
            .read_to_string(&inside)
            .map_err(Error::io("read", &inside))?;
        let path = PathBuf::from(&inside);
        let parsed = parse(&path, &text)?;
        if let Some(params) = parsed.get(module) {
            out.push((path, params.clone()));
        }
    }
    Ok(out)
}

fn parse(path: &Path, text: &str) -> Result<SiteFile> {
    if text.trim().is_empty() {
        return Ok(SiteFile::new());
    }
    serde_norway::from_str::<SiteFile>(text).map_err(|e| {
        Error::yaml(
            path,
            &e,
            "a site file maps module names to parameters, e.g. `ssh: {port: 2222}`",
        )
    })
}

/// Applies the site overrides of `module` to `params`, refusing names the
/// module does not declare (a typo would otherwise be ignored silently)
/// and values of the wrong type or outside the parameter's `choices`.
pub fn apply(root: &Root, plan: &Plan, params: &mut Params) -> Result<()> {
    let module = plan.module.as_str();
    for (path, overrides) in overrides(root, module)? {
        for (name, value) in overrides {
            if !params.contains_key(&name) {
                let known: Vec<&str> = params.keys().map(String::as_str).collect();
                return Err(Error::Invalid {
                    what: format!(
                        "{} sets parameter `{name}` of module `{module}`, which has no such parameter",
                        path.display()
                    ),
                    hint: if known.is_empty() {
                        format!("module `{module}` takes no parameters; remove the entry")
                    } else {
                        format!("module `{module}` takes: {}", known.join(", "))
                    },
                });
            }
            plan.check_value(&name, &value)
                .map_err(|why| Error::Invalid {
                    what: format!(
                        "{} sets parameter `{name}` of module `{module}` to {}: {why}",
                        path.display(),
                        serde_json::to_string(&value).unwrap_or_default()
                    ),
                    hint: format!("correct the value of `{name}` under `{module}:` in that file"),
                })?;
            params.insert(name, value);
        }
    }
    Ok(())
}

/// Property tests: a site file is typed by hand; whatever it holds, it
/// parses or is refused with its position, never a panic.
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    const SHIPPED: &str =
        "security:\n  bantime: 1h\n  reboot_time: \"04:00\"\nssh:\n  port: 2222\n";

    fn damaged() -> impl Strategy<Value = String> {
        let c = prop_oneof![
            any::<char>(),
            prop::sample::select(vec![
                '\n', ':', ' ', '-', '"', '\'', '{', '[', '&', '*', '!', '#', '|', '>'
            ]),
        ];
        (
            any::<prop::sample::Index>(),
            prop::collection::vec(c, 0..12),
            any::<bool>(),
        )
            .prop_map(|(at, splice, cut)| {
                let chars: Vec<char> = SHIPPED.chars().collect();
                let i = at.index(chars.len());
                let splice: String = splice.into_iter().collect();
                let head: String = chars[..i].iter().collect();
                let tail: String = chars[i..].iter().collect();
                if cut {
                    format!("{head}{splice}")
                } else {
                    format!("{head}{splice}{tail}")
                }
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn any_site_file_parses_or_is_refused(text in damaged()) {
            match parse(Path::new("/etc/vpsc/site.d/50-host.yaml"), &text) {
                Ok(_) => {}
                Err(e) => prop_assert!(e.to_string().starts_with("/etc/vpsc/site.d/50-host.yaml")),
            }
        }
    }
}
