//! `vpsc metrics write`.

use super::print_json;
use crate::cli::MetricsAction;
use crate::error::{Error, Result};
use crate::observe::{health, metrics, textfile};
use crate::root::Root;
use crate::state::State;

/// Writes every metrics file derived from the health facts (the CIS scan,
/// activity and integrity write their own when they run).
pub fn run(root: &Root, action: MetricsAction, json: bool) -> Result<i32> {
    let MetricsAction::Write { dir } = action;
    let Some(dir) = dir.to_str().filter(|d| d.starts_with('/')) else {
        return Err(Error::Invalid {
            what: format!("--dir {} is not an absolute path", dir.display()),
            hint: "name the collector's directory from the root, e.g. /var/lib/prometheus/node-exporter".into(),
        });
    };
    let state = State::open(root)?;
    let facts = health::gather(root, &state, crate::dates::now())?;
    let findings = health::judge(&facts);
    let mut written = Vec::new();
    for source in metrics::sources(&facts, &findings) {
        if textfile::write(root, dir, source.file, &source.families)? {
            written.push(format!("{}/{}", dir.trim_end_matches('/'), source.file));
        }
    }
    if json {
        print_json(&serde_json::json!({ "written": written }));
    } else if written.is_empty() {
        outln!("{dir} does not exist: nothing written (is prometheus-node-exporter installed?)");
    } else {
        for w in &written {
            outln!("wrote {w}");
        }
    }
    Ok(0)
}
