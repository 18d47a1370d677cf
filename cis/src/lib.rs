//! CIS benchmark scanning: rules are data (`profiles/cis/*.yaml`, compiled
//! into the runtime), each with the IDs it has in each benchmark, its
//! levels, and one typed check that judges the effective configuration
//! (sshd as `sshd -T` would see it, sysctl across every sysctl.d
//! directory, kernel modules across every modprobe.d directory, journald
//! across its drop-ins, the audit rules augenrules loads), not the text of
//! one file.

pub mod accounts;
pub mod aide;
pub mod audit_rules;
pub mod auditd;
pub mod augenrules;
pub mod checks;
pub mod cmdline;
pub mod cron;
pub mod dconf;
pub mod files;
pub mod firewall;
pub mod host;
pub mod journald;
pub mod logfiles;
pub mod logindefs;
pub mod modprobe;
pub mod mounts;
pub mod packages;
pub mod pam;
pub mod remedy;
pub mod rsyslog;
pub mod scan;
pub mod shell;
pub mod sshd;
pub mod sudoers;
pub mod timesync;
pub mod units;
pub mod walk;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use vpsc_contract::cis::RULE_FILES;
use vpsc_engine::root::Root;

pub use checks::CisCheck;

pub use vpsc_contract::cis::{Benchmark, Levels, Profile};

/// The benchmark of the release in `/etc/debian_version` under `root`
/// (12.x → debian12; 13.x and trixie/sid → debian13).
pub fn benchmark_of(root: &Root) -> Benchmark {
    let version = root
        .read_to_string("/etc/debian_version")
        .unwrap_or_default();
    if version.trim_start().starts_with("12") {
        Benchmark::Debian12
    } else {
        Benchmark::Debian13
    }
}

/// One recommendation.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Its ID in each benchmark that has it.
    pub id: BTreeMap<Benchmark, String>,
    /// Title, as the benchmark words it.
    pub title: String,
    /// Levels per profile.
    pub level: Levels,
    /// How it is judged.
    pub check: CisCheck,
    /// How a failure is put right, where that is safe; absent: it is not
    /// remediated automatically.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation: Option<remedy::Remedy>,
}

impl Rule {
    /// The rule's level in `profile`, if it belongs to it.
    pub fn level_in(&self, profile: Profile) -> Option<u8> {
        match profile {
            Profile::Server => self.level.server,
            Profile::Workstation => self.level.workstation,
        }
    }
}

/// The files of `dir` (as seen from the root) whose names end in `ext`,
/// in the lexical order programs read drop-in directories in; none when
/// the directory is missing.
pub fn dir_files(root: &Root, dir: &str, ext: &str) -> Vec<String> {
    let mut names: Vec<String> = root
        .read_dir_names(dir)
        .unwrap_or_default()
        .into_iter()
        .filter(|n| n.ends_with(ext))
        .collect();
    names.sort();
    names.into_iter().map(|n| format!("{dir}/{n}")).collect()
}

/// The files (as seen from the root) a path with `*` or `?` in its last
/// component names, in name order; the path itself when it has none.
pub fn expand(root: &Root, pattern: &str) -> Vec<String> {
    let Some((dir, name)) = pattern.rsplit_once('/') else {
        return Vec::new();
    };
    if !name.contains(['*', '?']) {
        return vec![pattern.to_owned()];
    }
    let mut out: Vec<String> = root
        .read_dir_names(if dir.is_empty() { "/" } else { dir })
        .unwrap_or_default()
        .into_iter()
        .filter(|n| sshd::wildcard(name, n))
        .map(|n| format!("{dir}/{n}"))
        .collect();
    out.sort();
    out
}

/// The shipped rules, parsed and checked once.
pub fn rules() -> Result<Vec<Rule>, String> {
    let mut rules: Vec<Rule> = Vec::new();
    for (name, text) in RULE_FILES {
        // Checks are written as maps (`{sysctl: {…}}`), not YAML tags.
        let parsed: Option<Vec<Rule>> = serde_norway::with::singleton_map_recursive::deserialize(
            serde_norway::Deserializer::from_str(text),
        )
        .map_err(|e| {
            format!(
                "the compiled-in CIS rules do not parse at profiles/cis/{name}:{}: {e}",
                e.location()
                    .map(|l| format!("{}:{}", l.line(), l.column()))
                    .unwrap_or_default()
            )
        })?;
        rules.extend(parsed.unwrap_or_default());
    }
    let mut seen = std::collections::BTreeSet::new();
    for r in &rules {
        if r.id.is_empty() {
            return Err(format!("rule `{}` has no ID", r.title));
        }
        for (b, id) in &r.id {
            if !seen.insert((*b, id.clone())) {
                return Err(format!("{} rule {id} appears twice", b.title()));
            }
        }
        r.check
            .validate()
            .map_err(|e| format!("rule `{}`: {e}", r.title))?;
        if let Some(remedy) = &r.remediation {
            remedy
                .validate(&r.check)
                .map_err(|e| format!("rule `{}`: {e}", r.title))?;
        }
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    #[test]
    fn shipped_rules_parse_with_unique_ids_and_valid_checks() {
        let rules = super::rules().expect("rules");
        assert!(rules.len() > 80, "{}", rules.len());
    }
}
