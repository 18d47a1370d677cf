//! Drift: managed files changed since vpsc wrote them, read from the
//! journal's desired state. `vpsc status` and `vpsc health` both report it.

use serde::Serialize;

use crate::effects;
use crate::error::Result;
use crate::root::Root;
use crate::state::State;
use vpsc_contract::plan::Effect;

/// One managed file that no longer matches what vpsc wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drift {
    /// The module that manages it.
    pub module: String,
    /// The file.
    pub path: String,
}

/// The drifted files of `module`, from its journalled steps.
pub fn of_module(root: &Root, state: &State, module: &str) -> Result<Vec<String>> {
    Ok(state
        .steps(module)?
        .iter()
        .filter_map(|s| match serde_json::from_str::<Effect>(&s.desired) {
            Ok(
                Effect::ManagedFile {
                    path,
                    template,
                    mode,
                    ..
                }
                | Effect::Divert {
                    path,
                    template,
                    mode,
                    ..
                },
            ) if !effects::file_matches(root, &path, template.as_bytes(), mode) => Some(path),
            Ok(Effect::Fetch {
                path, sha256, mode, ..
            }) if !effects::fetched_matches(root, &path, &sha256, mode) => Some(path),
            _ => None,
        })
        .collect())
}

/// Every drifted file of every configured module.
pub fn all(root: &Root, state: &State) -> Result<Vec<Drift>> {
    let mut out = Vec::new();
    for m in state.modules()? {
        for path in of_module(root, state, &m.name)? {
            out.push(Drift {
                module: m.name.clone(),
                path,
            });
        }
    }
    Ok(out)
}
