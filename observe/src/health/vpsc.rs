//! Facts from vpsc's own records: verify results, the audit chain, the
//! last CIS scan and people's grants.

use serde::Serialize;
use vpsc_engine::audit::{self, Query};
use vpsc_engine::checks::CheckResult;
use vpsc_engine::converge;
use vpsc_engine::error::{Error, Result};
use vpsc_engine::root::Root;
use vpsc_engine::state::State;

use super::AuditState;

/// Every installed module's verify checks, as `vpsc verify` runs them.
pub fn verify(root: &Root, state: &State) -> Result<Vec<CheckResult>> {
    let mut results = Vec::new();
    for name in converge::installed_modules(root)? {
        let plan = converge::load_plan(root, &name)?;
        let params = converge::resolve_params(root, state, &plan)?;
        results.extend(converge::verify_plan(root, state, &plan, &params)?);
    }
    Ok(results)
}

/// The audit chain, checked end to end and against its anchor.
pub fn audit(root: &Root, state: &State) -> Result<AuditState> {
    match audit::verify_anchored(root, state) {
        Ok(v) => Ok(AuditState::Intact { events: v.events }),
        Err(Error::AuditBroken { seq, why }) => Ok(AuditState::Broken { seq, why }),
        Err(e) => Err(e),
    }
}

/// The last CIS scan recorded in the audit log (the daily timer records).
#[derive(Debug, Clone, Serialize)]
pub struct LastScan {
    /// When (Unix seconds).
    pub time: i64,
    /// Which benchmark.
    pub benchmark: String,
    /// Score in percent.
    pub score: f64,
    /// Failing rule IDs.
    pub failing: Vec<String>,
}

/// The newest `cis.scan` event, if any.
pub fn last_scan(state: &State) -> Result<Option<LastScan>> {
    let events = audit::query(
        state,
        &Query {
            action: Some("cis.scan".into()),
            ..Query::default()
        },
    )?;
    Ok(events.last().map(|e| LastScan {
        time: e.time / 1_000_000,
        benchmark: e.target.clone(),
        score: e.details["summary"]["score"].as_f64().unwrap_or(0.0),
        failing: e.details["failing"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
    }))
}

/// A person's temporary grant of a role.
#[derive(Debug, Clone, Serialize)]
pub struct Grant {
    /// Login name.
    pub user: String,
    /// The role.
    pub role: String,
    /// When it ends (Unix seconds).
    pub until: i64,
}

/// Every temporary grant on record.
pub fn grants(state: &State) -> Result<Vec<Grant>> {
    Ok(vpsc_users::store::users(state)?
        .into_iter()
        .flat_map(|u| {
            u.grants.into_iter().map(move |g| Grant {
                user: u.name.clone(),
                role: g.role,
                until: g.until,
            })
        })
        .collect())
}
