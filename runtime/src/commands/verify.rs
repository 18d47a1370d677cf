//! `vpsc verify [MODULE…]`.

use super::print_json;
use crate::checks::{CheckResult, Status};
use crate::converge;
use crate::error::{Error, Result};
use crate::root::Root;
use crate::state::State;

/// Runs verify checks; exit 0 when all pass, 1 otherwise.
pub fn verify(root: &Root, state: &State, modules: &[String], json: bool) -> Result<i32> {
    let names = if modules.is_empty() {
        converge::installed_modules(root)?
    } else {
        modules.to_vec()
    };
    let mut results: Vec<CheckResult> = Vec::new();
    for name in &names {
        let plan = converge::load_plan(root, name)?;
        let params = converge::resolve_params(root, state, &plan)?;
        results.extend(converge::verify_plan(root, state, &plan, &params)?);
    }
    let count = |s: Status| results.iter().filter(|r| r.status == s).count();
    let (passed, failed, skipped) = (
        count(Status::Pass),
        count(Status::Fail),
        count(Status::NotEvaluated),
    );
    if json {
        print_json(&serde_json::json!({
            "passed": passed,
            "failed": failed,
            "not_evaluated": skipped,
            "results": results,
        }));
    } else {
        for r in &results {
            outln!(
                "{} {:<10} {} — {}",
                r.status.word(),
                r.module,
                r.check,
                r.detail
            );
        }
        outln!("{passed} passed, {failed} failed, {skipped} not evaluated (need a running system)");
    }
    if failed > 0 {
        let mut modules: Vec<String> = results
            .iter()
            .filter(|r| r.failed())
            .map(|r| r.module.clone())
            .collect();
        modules.dedup();
        if json {
            return Ok(1);
        }
        return Err(Error::VerifyFailed {
            failed,
            total: results.len(),
            modules,
        });
    }
    Ok(0)
}
