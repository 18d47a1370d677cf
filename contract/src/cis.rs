//! The CIS benchmark types both sides share: which benchmark and profile a
//! rule or waiver means, and the rule files compiled in (their checks are
//! judged by the runtime's CIS layer; the generator only needs their IDs).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The rules shipped with this runtime, by file: `rules.yaml` and one
/// file per topic added since (`rules-<section>-<topic>.yaml`).
pub const RULE_FILES: &[(&str, &str)] = &[
    ("rules.yaml", include_str!("../../profiles/cis/rules.yaml")),
    (
        "rules-4-firewall.yaml",
        include_str!("../../profiles/cis/rules-4-firewall.yaml"),
    ),
    (
        "rules-5-authentication.yaml",
        include_str!("../../profiles/cis/rules-5-authentication.yaml"),
    ),
    (
        "rules-6-logging.yaml",
        include_str!("../../profiles/cis/rules-6-logging.yaml"),
    ),
];

/// A benchmark the rules carry IDs for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Benchmark {
    /// CIS Debian Linux 12 Benchmark v1.1.0.
    Debian12,
    /// CIS Debian Linux 13 Benchmark v1.0.0.
    Debian13,
}

impl Benchmark {
    /// Name and version, for reports.
    pub fn title(self) -> &'static str {
        match self {
            Benchmark::Debian12 => "CIS Debian Linux 12 Benchmark v1.1.0",
            Benchmark::Debian13 => "CIS Debian Linux 13 Benchmark v1.0.0",
        }
    }
}

/// The two profiles of a CIS benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// Servers.
    Server,
    /// Workstations.
    Workstation,
}

impl Profile {
    /// Its name in options and reports.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Server => "server",
            Profile::Workstation => "workstation",
        }
    }
}

/// Level 1 or 2 of a rule per profile; absent means not part of it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Levels {
    /// Level in the Server profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<u8>,
    /// Level in the Workstation profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workstation: Option<u8>,
}

/// The IDs of one shipped rule, per benchmark.
#[derive(Debug, Clone, Deserialize)]
pub struct RuleIds {
    /// Its ID in each benchmark that has it.
    pub id: BTreeMap<Benchmark, String>,
}

/// The IDs of every shipped rule (what a module's waiver may name).
pub fn rule_ids() -> Result<Vec<RuleIds>, crate::Invalid> {
    let mut out = Vec::new();
    for (name, text) in RULE_FILES {
        let parsed: Option<Vec<RuleIds>> = serde_norway::from_str(text).map_err(|e| {
            format!("the compiled-in CIS rules do not parse at profiles/cis/{name}: {e}")
        })?;
        out.extend(parsed.unwrap_or_default());
    }
    Ok(out)
}
