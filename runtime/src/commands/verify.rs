//! `vpsc verify [MODULE…]`.

use super::print_json;
use crate::checks::CheckResult;
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
        results.extend(converge::verify_plan(root, &plan, &params)?);
    }
    let failed = results.iter().filter(|r| !r.pass).count();
    if json {
        print_json(&serde_json::json!({
            "passed": results.len() - failed,
            "failed": failed,
            "results": results,
        }));
    } else {
        for r in &results {
            println!(
                "{} {:<10} {} — {}",
                if r.pass { "PASS" } else { "FAIL" },
                r.module,
                r.check,
                r.detail
            );
        }
        println!("{} passed, {} failed", results.len() - failed, failed);
    }
    if failed > 0 {
        let mut modules: Vec<String> = results
            .iter()
            .filter(|r| !r.pass)
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
