//! `vpsc metrics write`.

use super::print_json;
use crate::cli::MetricsAction;
use crate::error::{Error, Result};
use crate::observe::{dora, health, metrics, textfile};
use crate::root::Root;
use crate::state::State;

/// The DORA metrics cover the last 30 days, as `vpsc dora` does by default.
const DORA_WINDOW: i64 = 30 * 86_400;

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
    if !root.is_dir(dir) {
        if json {
            print_json(&serde_json::json!({ "written": [] }));
        } else {
            outln!(
                "{dir} does not exist: nothing written (is prometheus-node-exporter installed?)"
            );
        }
        return Ok(0);
    }
    let now = crate::dates::now();
    let facts = health::gather(root, &state, now)?;
    let findings = health::judge(&facts);
    let mut sources = metrics::sources(&facts, &findings);
    sources.push(metrics::Source {
        file: "vpsc_dora.prom",
        families: dora::families(&dora::gather(root, &state, now - DORA_WINDOW, now)?),
    });
    let mut written = Vec::new();
    for source in sources {
        if textfile::write(root, dir, source.file, &source.families)? {
            written.push(format!("{}/{}", dir.trim_end_matches('/'), source.file));
        }
    }
    if json {
        print_json(&serde_json::json!({ "written": written }));
    } else {
        for w in &written {
            outln!("wrote {w}");
        }
    }
    Ok(0)
}
