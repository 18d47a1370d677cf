//! Kernel parameters as they are persisted (the sysctl.d file that wins,
//! as the engine reads it) and, on a running system, as the kernel has
//! them.

use serde::{Deserialize, Serialize};
use vpsc_contract::Invalid;

use crate::check::Check;
use crate::facts::Facts;
use crate::verdict::{Evidence, Verdict, pass_if};

/// A kernel parameter has this value as persisted by the sysctl.d files
/// that win, and (on a running system) in the running kernel.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sysctl {
    /// Dotted key.
    pub key: String,
    /// Expected value.
    pub value: String,
}

impl Check for Sysctl {
    fn validate(&self) -> Result<(), Invalid> {
        vpsc_contract::names::sysctl_key(&self.key)?;
        vpsc_contract::names::sysctl_value(&self.value)
    }

    fn judge(&self, f: &Facts<'_>) -> Verdict {
        let (key, want) = (self.key.as_str(), self.value.as_str());
        let mut evidence = Vec::new();
        let mut ok = true;
        match vpsc_engine::effects::sysctl_persisted_at(f.root(), key) {
            Some((value, file, line)) => {
                ok &= value == want;
                evidence.push(Evidence::at(&file, line, format!("{key} = {value}")));
            }
            None => {
                ok = false;
                evidence.push(Evidence::said(format!(
                    "{key} is not set in any sysctl.d file"
                )));
            }
        }
        if f.live() {
            let running = std::fs::read_to_string(format!("/proc/sys/{}", key.replace('.', "/")))
                .map(|v| v.trim().to_owned())
                .unwrap_or_default();
            ok &= running == want;
            evidence.push(Evidence::at(
                &format!("/proc/sys/{}", key.replace('.', "/")),
                0,
                format!("running {key} = {running}"),
            ));
        }
        pass_if(ok, evidence)
    }
}
