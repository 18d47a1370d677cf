//! One recommendation as the rule files (`profiles/cis/*.yaml`, compiled
//! into the runtime) write it: its IDs, levels, check and remedy; and the
//! shipped rules, parsed and checked once.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use vpsc_contract::Invalid;
use vpsc_contract::cis::{Benchmark, Levels, Profile, RULE_FILES};
use vpsc_engine::root::Root;

use crate::checks::{AllOf, AnyOf, CisCheck};

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
    pub remediation: Option<Remedy>,
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

/// The shipped rules, parsed and checked once.
pub fn rules() -> Result<Vec<Rule>, Invalid> {
    let mut rules: Vec<Rule> = Vec::new();
    for (name, text) in RULE_FILES {
        // Checks are written as maps (`{sysctl: {…}}`), not YAML tags.
        let parsed: Option<Vec<Rule>> = serde_norway::with::singleton_map_recursive::deserialize(
            serde_norway::Deserializer::from_str(text),
        )
        .map_err(|e| {
            Invalid::new(format!(
                "the compiled-in CIS rules do not parse at profiles/cis/{name}:{}: {e}",
                e.location()
                    .map(|l| format!("{}:{}", l.line(), l.column()))
                    .unwrap_or_default()
            ))
        })?;
        rules.extend(parsed.unwrap_or_default());
    }
    let mut seen = std::collections::BTreeSet::new();
    for r in &rules {
        if r.id.is_empty() {
            return Err(Invalid::new(format!("rule `{}` has no ID", r.title)));
        }
        for (b, id) in &r.id {
            if !seen.insert((*b, id.clone())) {
                return Err(Invalid::new(format!(
                    "{} rule {id} appears twice",
                    b.title()
                )));
            }
        }
        let within = |e: Invalid| e.within(format_args!("rule `{}`", r.title));
        r.check.validate().map_err(within)?;
        if let Some(remedy) = &r.remediation {
            remedy.validate(&r.check).map_err(within)?;
        }
    }
    Ok(rules)
}

/// How a rule is put right.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Remedy {
    /// What the check names: the kernel module made unavailable, the
    /// kernel parameter persisted (and set, on a running system), the
    /// file's excess permission bits removed and its owner set.
    Auto,
    /// sshd keywords and values, in a drop-in sshd reads before its own
    /// settings (the first value wins), validated with `sshd -t`.
    Sshd(BTreeMap<String, String>),
    /// `Defaults` lines for a sudoers drop-in, validated with `visudo -c`.
    Sudoers(Vec<String>),
}

impl Remedy {
    /// Checks the remedy fits the rule's check and its values are safe to
    /// write into a configuration file.
    pub fn validate(&self, check: &CisCheck) -> Result<(), Invalid> {
        match self {
            Remedy::Auto if auto_fits(check) => Ok(()),
            Remedy::Auto => Err(
                "remediation `auto` fits only kernel_module_unavailable, sysctl and file_access checks (and all_of or any_of of them)"
                    .into(),
            ),
            Remedy::Sshd(map) if map.is_empty() => Err("sshd remediation is empty".into()),
            Remedy::Sshd(map) => map.iter().try_for_each(|(k, v)| {
                let word = !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric());
                let value = !v.trim().is_empty() && !v.contains(['\n', '#']);
                if word && value {
                    Ok(())
                } else {
                    Err(Invalid::new(format!(
                        "sshd remediation `{k} {v}` is not one keyword and one value"
                    )))
                }
            }),
            Remedy::Sudoers(lines) if lines.is_empty() => Err("sudoers remediation is empty".into()),
            Remedy::Sudoers(lines) => lines.iter().try_for_each(|l| {
                if l.starts_with("Defaults ") && !l.contains('\n') {
                    Ok(())
                } else {
                    Err(Invalid::new(format!(
                        "sudoers remediation `{l}` is not one Defaults line"
                    )))
                }
            }),
        }
    }
}

fn auto_fits(check: &CisCheck) -> bool {
    match check {
        CisCheck::KernelModuleUnavailable(_) | CisCheck::Sysctl(_) | CisCheck::FileAccess(_) => {
            true
        }
        CisCheck::AllOf(AllOf(list)) => list.iter().all(auto_fits),
        // Of alternatives, the first is the one put in place.
        CisCheck::AnyOf(AnyOf(list)) => list.first().is_some_and(auto_fits),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sysctl::Sysctl;

    #[test]
    fn shipped_rules_parse_with_unique_ids_and_valid_checks() {
        let rules = super::rules().expect("rules");
        assert!(rules.len() > 80, "{}", rules.len());
    }

    #[test]
    fn a_remedy_must_fit_its_check_and_be_one_line() {
        let sysctl = CisCheck::Sysctl(Sysctl {
            key: "kernel.randomize_va_space".into(),
            value: "2".into(),
        });
        assert!(Remedy::Auto.validate(&sysctl).is_ok());
        assert!(Remedy::Auto.validate(&CisCheck::WorldWritable).is_err());
        let sshd = |k: &str, v: &str| Remedy::Sshd([(k.to_owned(), v.to_owned())].into());
        assert!(sshd("MaxAuthTries", "4").validate(&sysctl).is_ok());
        assert!(
            sshd("MaxAuthTries", "4\nPermitRootLogin yes")
                .validate(&sysctl)
                .is_err()
        );
        assert!(sshd("Max Auth", "4").validate(&sysctl).is_err());
        assert!(
            Remedy::Sudoers(vec!["Defaults use_pty".into()])
                .validate(&sysctl)
                .is_ok()
        );
        assert!(
            Remedy::Sudoers(vec!["root ALL=(ALL) ALL".into()])
                .validate(&sysctl)
                .is_err()
        );
    }
}
