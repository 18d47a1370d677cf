//! What every check kind is: the fields a rule file gives, how they are
//! validated when the rules load, and how the check is judged. Each kind
//! implements [`Check`] in the module of the configuration it judges; the
//! `CisCheck` enum only names them for the rule files.

use vpsc_contract::Invalid;

use crate::facts::Facts;
use crate::verdict::Verdict;

/// One kind of check.
pub trait Check {
    /// Checks the names and values the rule file gives.
    fn validate(&self) -> Result<(), Invalid> {
        Ok(())
    }

    /// Judges the check against the facts of a scan.
    fn judge(&self, f: &Facts<'_>) -> Verdict;
}
