//! The audit rules a CIS rule requires, against what the kernel gets at
//! boot (what augenrules loads) and, on a running system, what it has
//! (`auditctl -l`). Both sides are normalized by the auditctl parser, so a
//! required rule is present when, for each of its syscalls, a loaded rule
//! has the same fields, that syscall (or all), at least its permissions
//! and a key (CIS's audits look for one).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use vpsc_contract::Invalid;

use crate::auditctl::{Line, Rule, SyntaxError, parse_line};
use crate::augenrules::{AUDIT_RULES, ListingFailed, Loaded, RULES_D};
use crate::check::Check;
use crate::facts::{Fact, Facts};
use crate::logindefs::uid_min;
use crate::sudoers;
use crate::verdict::{CisStatus, Evidence, Verdict, verdict};
use crate::walk::Walk;
use vpsc_engine::root::Root;

/// The rules augenrules loads at boot, read once per scan.
struct AtBoot(Loaded);

impl Fact for AtBoot {
    fn read(root: &Root, _live: bool) -> AtBoot {
        AtBoot(Loaded::from_disk(root))
    }
}

/// The rules the running kernel has (`auditctl -l`), asked once per scan
/// and only of a live system.
struct Running(Result<Loaded, ListingFailed>);

impl Fact for Running {
    fn read(root: &Root, _live: bool) -> Running {
        Running(Loaded::running(root))
    }
}

/// Audit rules loaded at boot from /etc/audit/rules.d as augenrules builds
/// them (and, on a running system, `auditctl -l`), compared after
/// normalization.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditRules {
    /// Rules that must be loaded; `{uid_min}` is login.defs' UID_MIN,
    /// `{sudo_logfile}` sudo's `Defaults logfile`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
    /// A rule every setuid or setgid file needs, `{path}` its path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_each_setid_file: Option<String>,
    /// The last `-e` must be `-e 2`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub immutable: bool,
    /// `-c` must come before the first rule.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub continue_on_error: bool,
}

impl Check for AuditRules {
    fn validate(&self) -> Result<(), Invalid> {
        if self.rules.is_empty()
            && self.for_each_setid_file.is_none()
            && !self.immutable
            && !self.continue_on_error
        {
            return Err("audit_rules requires nothing".into());
        }
        validate(&self.rules, self.for_each_setid_file.as_deref())
    }

    fn judge(&self, f: &Facts<'_>) -> Verdict {
        judge(
            f,
            &self.rules,
            self.for_each_setid_file.as_deref(),
            self.immutable,
            self.continue_on_error,
        )
    }
}

/// Whether every required rule is loaded; missing ones (and, with
/// `covered`, the lines that cover the others) as evidence, prefixed with
/// `label`.
fn compare(
    loaded: &Loaded,
    wanted: &[(String, Rule)],
    label: &str,
    covered: bool,
    evidence: &mut Vec<Evidence>,
) -> bool {
    let mut ok = true;
    let mut shown = BTreeSet::new();
    for (text, want) in wanted {
        let atoms: Vec<Option<&str>> = if want.syscalls.is_empty() {
            vec![None]
        } else {
            want.syscalls.iter().map(|s| Some(s.as_str())).collect()
        };
        let mut missing = Vec::new();
        for atom in atoms {
            match loaded.cover(want, atom) {
                Some((e, true)) => {
                    if covered && shown.insert((e.file.clone(), e.line)) {
                        evidence.push(Evidence::at(&e.file, e.line, e.text.clone()));
                    }
                }
                Some((e, false)) => {
                    ok = false;
                    evidence.push(Evidence::at(
                        &e.file,
                        e.line,
                        format!("{label}{}: covers `{text}` but has no key (-k)", e.text),
                    ));
                }
                None => missing.push(atom.unwrap_or("")),
            }
        }
        if !missing.is_empty() {
            ok = false;
            let which = if want.syscalls.is_empty() || missing.len() == want.syscalls.len() {
                String::new()
            } else {
                format!(" (for {})", missing.join(","))
            };
            evidence.push(Evidence::said(format!("{label}missing: `{text}`{which}")));
        }
    }
    ok
}

/// The values `{uid_min}` and `{sudo_logfile}` stand for, or the verdict
/// that makes the check moot.
fn placeholders(f: &Facts<'_>, texts: &[String]) -> Result<Vec<(String, String)>, Verdict> {
    let mut out = vec![("{uid_min}".to_owned(), uid_min(f.root()).to_string())];
    if texts.iter().any(|t| t.contains("{sudo_logfile}")) {
        let root = f.root();
        if !root.exists("/etc/sudoers") {
            return Err(verdict(
                CisStatus::Notapplicable,
                vec![Evidence::said("no /etc/sudoers: sudo is not installed")],
            ));
        }
        let entries = sudoers::defaults(root);
        match sudoers::effective(&entries, "logfile") {
            Some(e) => match &e.op {
                sudoers::Op::Set(path) if path.starts_with('/') => {
                    out.push(("{sudo_logfile}".to_owned(), path.clone()));
                }
                _ => {
                    return Err(verdict(
                        CisStatus::Fail,
                        vec![Evidence::at(
                            &e.file,
                            e.line,
                            format!("{}: sudo writes no log file to watch", e.shown()),
                        )],
                    ));
                }
            },
            None => {
                return Err(verdict(
                    CisStatus::Fail,
                    vec![Evidence::at(
                        "/etc/sudoers",
                        0,
                        "no global Defaults logfile: sudo writes no log file to watch",
                    )],
                ));
            }
        }
    }
    Ok(out)
}

/// Why a required rule text is not one the check can look for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unusable {
    /// auditctl would refuse it.
    #[error(transparent)]
    Syntax(#[from] SyntaxError),
    /// It is a control line or a rule that audits nothing here.
    #[error("`{0}` is not an always,exit rule or a watch")]
    NotARule(String),
}

/// Parses the required rule texts of a check (placeholders filled in).
pub fn required(texts: &[String]) -> Result<Vec<(String, Rule)>, Unusable> {
    texts
        .iter()
        .map(|t| match parse_line(t)? {
            Line::Rule(r) => Ok((t.clone(), r)),
            _ => Err(Unusable::NotARule(t.clone())),
        })
        .collect()
}

/// Checks the rule texts of a rule file, with dummy placeholder values.
pub fn validate(rules: &[String], each: Option<&str>) -> Result<(), Invalid> {
    let filled: Vec<String> = rules
        .iter()
        .map(String::as_str)
        .chain(each)
        .map(|t| {
            t.replace("{uid_min}", "1000")
                .replace("{sudo_logfile}", "/var/log/sudo.log")
                .replace("{path}", "/usr/bin/x")
        })
        .collect();
    if let Some(t) = filled.iter().find(|t| t.contains(['{', '}'])) {
        return Err(Invalid::new(format!(
            "`{t}`: the placeholders are {{uid_min}}, {{sudo_logfile}} and, in for_each_setid_file, {{path}}"
        )));
    }
    required(&filled)
        .map(drop)
        .map_err(|e| Invalid::new(e.to_string()))
}

/// Judges the required rules against the loaded ones.
fn judge(
    f: &Facts<'_>,
    rules: &[String],
    each: Option<&str>,
    immutable: bool,
    continue_on_error: bool,
) -> Verdict {
    let mut texts: Vec<String> = rules.to_vec();
    let mut evidence = Vec::new();
    if let Some(template) = each {
        let walk = f.get::<Walk>();
        let setid = &walk.setid;
        if setid.is_empty() {
            evidence.push(Evidence::said(
                "no setuid or setgid file on the local filesystems",
            ));
        }
        texts.extend(setid.iter().map(|p| template.replace("{path}", p)));
    }
    let values = match placeholders(f, &texts) {
        Ok(v) => v,
        Err(v) => return v,
    };
    let texts: Vec<String> = texts
        .iter()
        .map(|t| values.iter().fold(t.clone(), |t, (k, v)| t.replace(k, v)))
        .collect();
    let wanted = match required(&texts) {
        Ok(w) => w,
        Err(e) => return verdict(CisStatus::Error, vec![Evidence::said(e.to_string())]),
    };
    let at_boot = f.get::<AtBoot>();
    let disk = &at_boot.0;
    if disk.files.is_empty() {
        return verdict(
            CisStatus::Fail,
            vec![Evidence::said(format!(
                "no {RULES_D}/*.rules and no {AUDIT_RULES}: no audit rules are loaded at boot"
            ))],
        );
    }
    let mut ok = compare(disk, &wanted, "", true, &mut evidence);
    if immutable {
        ok &= enable_is_2(disk, &mut evidence);
    }
    if continue_on_error {
        let first_rule = disk
            .entries
            .iter()
            .position(|e| matches!(e.parsed, Line::Rule(_)));
        let c = disk
            .entries
            .iter()
            .position(|e| matches!(&e.parsed, Line::Control(o, _) if o == "-c"));
        match (c, first_rule) {
            (Some(c), Some(r)) if c > r => {
                ok = false;
                let e = &disk.entries[c];
                evidence.push(Evidence::at(
                    &e.file,
                    e.line,
                    "-c comes after the first rule: an error before it still stops the load",
                ));
            }
            (Some(c), _) => {
                let e = &disk.entries[c];
                evidence.push(Evidence::at(&e.file, e.line, "-c"));
            }
            (None, _) => {
                ok = false;
                evidence.push(Evidence::said(format!(
                    "no -c in {RULES_D}/*.rules: auditctl stops loading at the first error"
                )));
            }
        }
    }
    evidence.extend(disk.problems.iter().cloned());
    let mut status = if ok { CisStatus::Pass } else { CisStatus::Fail };
    if f.live() {
        match &f.get::<Running>().0 {
            Ok(running) => {
                let label = "running (auditctl -l): ";
                let mut live_ok = compare(running, &wanted, label, false, &mut evidence);
                if immutable {
                    live_ok &= enable_is_2_live(f.root(), &mut evidence);
                }
                if !live_ok {
                    status = CisStatus::Fail;
                }
            }
            Err(why) => {
                if status == CisStatus::Pass {
                    status = CisStatus::NotEvaluated;
                }
                evidence.push(Evidence::said(format!(
                    "the running rules could not be read: {why}"
                )));
            }
        }
    } else {
        evidence.push(Evidence::said(
            "the running rules (auditctl -l) are not evaluated on a --root tree",
        ));
    }
    verdict(status, evidence)
}

/// Whether the last `-e` loaded is `-e 2`.
fn enable_is_2(loaded: &Loaded, evidence: &mut Vec<Evidence>) -> bool {
    match loaded.last_enable() {
        Some((e, "2")) => {
            evidence.push(Evidence::at(&e.file, e.line, e.text.clone()));
            true
        }
        Some((e, v)) => {
            evidence.push(Evidence::at(
                &e.file,
                e.line,
                format!(
                    "{}: the last -e is {v}, not 2 (augenrules keeps only the last)",
                    e.text
                ),
            ));
            false
        }
        None => {
            evidence.push(Evidence::said(
                "no -e 2: the rules can be changed until reboot",
            ));
            false
        }
    }
}

/// Whether the running audit system is immutable (`auditctl -s`: enabled 2).
fn enable_is_2_live(root: &Root, evidence: &mut Vec<Evidence>) -> bool {
    match root.run(&["auditctl", "-s"]) {
        Ok(out) => {
            let enabled = out
                .lines()
                .find_map(|l| l.strip_prefix("enabled "))
                .map(str::trim)
                .unwrap_or("?")
                .to_owned();
            let ok = enabled == "2";
            evidence.push(Evidence::said(format!("running: enabled {enabled}")));
            ok
        }
        Err(e) => {
            evidence.push(Evidence::said(format!("auditctl -s: {e}")));
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_required_rule_is_covered_syscall_by_syscall() {
        let loaded = {
            let mut l = Loaded::default();
            l.load(vec![
                (
                    "/r".into(),
                    1,
                    "-a always,exit -F arch=b64 -S adjtimex -k t".into(),
                ),
                (
                    "/r".into(),
                    2,
                    "-a always,exit -S settimeofday -F arch=b64 -k t".into(),
                ),
                (
                    "/r".into(),
                    3,
                    "-a always,exit -F arch=b32 -S adjtimex,settimeofday".into(),
                ),
            ]);
            l.files.push("/r".into());
            l
        };
        let want = required(&[
            "-a always,exit -F arch=b64 -S adjtimex,settimeofday -k time-change".into(),
        ])
        .expect("parses");
        let mut ev = Vec::new();
        assert!(compare(&loaded, &want, "", true, &mut ev), "{ev:?}");
        let want32 = required(&[
            "-a always,exit -F arch=b32 -S adjtimex,settimeofday -k time-change".into(),
        ])
        .expect("parses");
        assert!(
            !compare(&loaded, &want32, "", true, &mut Vec::new()),
            "no key"
        );
        let extra = required(&["-a always,exit -F arch=b64 -S adjtimex -F auid>=1000 -k x".into()])
            .expect("parses");
        assert!(
            !compare(&loaded, &extra, "", true, &mut Vec::new()),
            "other fields"
        );
    }
}
