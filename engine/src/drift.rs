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
        .filter_map(|s| serde_json::from_str::<Effect>(&s.desired).ok())
        .filter(|e| effects::content_matches(root, e) == Some(false))
        .filter_map(|e| e.written_path().map(str::to_owned))
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
