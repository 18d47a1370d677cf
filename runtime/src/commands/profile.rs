//! `vpsc profile apply|release`: a profile's parameter overrides.
//!
//! dpkg configures a profile after its modules (they are its dependencies),
//! so modules first converge with their defaults; applying the profile then
//! records its overrides and reconverges the affected modules. Releasing
//! reverts them to their defaults while they stay installed.

use super::print_json;
use crate::converge;
use crate::error::{Error, Result};
use crate::plan::{PLAN_FORMAT, PROFILE_DIR, ProfileDoc};
use crate::root::Root;
use crate::state::{ModuleState, State};

fn load(root: &Root, name: &str) -> Result<ProfileDoc> {
    crate::names::module(name).map_err(|what| Error::Invalid {
        what: what.what.replace("module name", "profile name"),
        hint: "profile names are those of the vpsc-profile-* packages without the prefix".into(),
    })?;
    let path = std::path::PathBuf::from(format!("/{PROFILE_DIR}/{name}.json"));
    let text = root
        .read_to_string(&path.to_string_lossy())
        .map_err(Error::io("read", &path))?;
    let doc: ProfileDoc = serde_json::from_str(&text).map_err(|e| Error::Invalid {
        what: format!("profile file {} is invalid: {e}", path.display()),
        hint: format!("reinstall vpsc-profile-{name}"),
    })?;
    if doc.format != PLAN_FORMAT || doc.profile != name {
        return Err(Error::Invalid {
            what: format!(
                "profile file {} does not describe profile `{name}` in format {PLAN_FORMAT}",
                path.display()
            ),
            hint: format!("reinstall vpsc-profile-{name} built by a matching vpsc-gen"),
        });
    }
    Ok(doc)
}

/// Reconverges the profile's modules that are configured.
fn reconverge(root: &Root, state: &State, doc: &ProfileDoc) -> Result<Vec<String>> {
    let mut done = Vec::new();
    for module in doc.modules.keys() {
        let configured = state
            .module(module)?
            .is_some_and(|m| m.state == ModuleState::Configured);
        if configured && root.exists(&format!("/{}/{module}.json", crate::plan::PLAN_DIR)) {
            converge::configure(root, state, module, &crate::cis::remedy::Remediations)?;
            done.push(module.clone());
        }
    }
    Ok(done)
}

/// `vpsc profile apply NAME`.
pub fn apply(root: &Root, state: &State, name: &str, json: bool) -> Result<i32> {
    let doc = load(root, name)?;
    for (other, _) in state.profiles()? {
        if other != name {
            return Err(Error::Precondition {
                what: format!(
                    "profile `{other}` is already applied; only one profile may be installed at a time"
                ),
                hint: format!("remove it first: `apt remove vpsc-profile-{other}`"),
            });
        }
    }
    let overrides = serde_json::to_string(&doc.modules).expect("overrides serialise");
    state.set_profile(name, &overrides)?;
    let modules = reconverge(root, state, &doc)?;
    if json {
        print_json(&serde_json::json!({ "profile": name, "reconverged": modules }));
    }
    Ok(0)
}

/// `vpsc profile release NAME`.
pub fn release(root: &Root, state: &State, name: &str, json: bool) -> Result<i32> {
    let doc = match load(root, name) {
        Ok(doc) => Some(doc),
        // The file may already be gone (removal half done); just forget it.
        Err(Error::Io { .. }) => None,
        Err(e) => return Err(e),
    };
    state.delete_profile(name)?;
    let modules = match doc {
        Some(doc) => reconverge(root, state, &doc)?,
        None => Vec::new(),
    };
    if json {
        print_json(&serde_json::json!({ "profile": name, "reconverged": modules }));
    }
    Ok(0)
}
