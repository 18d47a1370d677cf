//! A scan: the rules of one benchmark, level and profile, judged against a
//! root, with waivers applied and a score.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::facts::Facts;
use crate::rule::Rule;
use crate::verdict::{CisStatus, Evidence};
use vpsc_contract::cis::{Benchmark, Profile};
use vpsc_engine::error::{Error, Result};
use vpsc_engine::root::Root;

/// Waivers file, relative to the root.
pub const WAIVERS: &str = "/etc/vpsc/cis-waivers.yaml";

/// What to scan.
#[derive(Debug, Clone)]
pub struct Options {
    /// Benchmark whose IDs and rules apply.
    pub benchmark: Benchmark,
    /// Highest level included (1 or 2).
    pub level: u8,
    /// Server or workstation.
    pub profile: Profile,
    /// Only these IDs (empty: all).
    pub only: Vec<String>,
    /// Never these IDs.
    pub skip: Vec<String>,
    /// Today (YYYY-MM-DD), for waiver expiry.
    pub today: String,
}

/// One rule's finding.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// ID in the scanned benchmark.
    pub id: String,
    /// Title.
    pub title: String,
    /// Level in the scanned profile.
    pub level: u8,
    /// Outcome.
    pub status: CisStatus,
    /// What was found.
    pub evidence: Vec<Evidence>,
    /// The waiver's reason, when waived (or expired).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiver: Option<String>,
}

/// Counts and score of a scan.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Benchmark title.
    pub benchmark: String,
    /// Profile and level.
    pub profile: Profile,
    /// Level.
    pub level: u8,
    /// Rules judged.
    pub rules: usize,
    /// Per status.
    pub counts: BTreeMap<CisStatus, usize>,
    /// Percentage of passed among passed and failed (waived counts as
    /// failed: a waiver is a decision, not compliance).
    pub score: f64,
}

/// One waiver.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Waiver {
    /// Rule ID (in the scanned benchmark).
    pub rule: String,
    /// Why.
    pub reason: String,
    /// Last day it holds (YYYY-MM-DD).
    pub expires: String,
}

/// Reads the waivers under `root` (none when the file is absent).
pub fn waivers(root: &Root) -> Result<Vec<Waiver>> {
    let path = std::path::PathBuf::from(WAIVERS);
    let text = match root.read_to_string(WAIVERS) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("read", &path)(e)),
    };
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<Waiver> = serde_norway::from_str(&text).map_err(|e| {
        Error::yaml(
            &path,
            &e,
            "a waiver is `- {rule: 1.1.1.1, reason: …, expires: 2027-01-31}`",
        )
    })?;
    for w in &list {
        let valid = w.expires.len() == 10
            && w.expires.as_bytes()[4] == b'-'
            && w.expires.as_bytes()[7] == b'-'
            && w.expires.chars().filter(char::is_ascii_digit).count() == 8;
        if !valid || w.reason.trim().is_empty() {
            return Err(Error::Invalid {
                what: format!(
                    "{}: the waiver of {} needs a reason and an expiry date YYYY-MM-DD",
                    path.display(),
                    w.rule
                ),
                hint: "a waiver without an end is an exception nobody reviews; give it one".into(),
            });
        }
    }
    Ok(list)
}

/// The waivers the installed modules declare (docker needs IP
/// forwarding): they hold while the module is installed.
pub fn module_waivers(root: &Root, benchmark: Benchmark) -> Result<Vec<Waiver>> {
    let mut out = Vec::new();
    for module in vpsc_engine::converge::installed_modules(root)? {
        let plan = vpsc_engine::converge::load_plan(root, &module)?;
        for w in plan.cis_waivers {
            if let Some(id) = w.id.get(&benchmark) {
                out.push(Waiver {
                    rule: id.clone(),
                    reason: format!("needed by module {module}: {}", w.reason),
                    expires: "9999-12-31".into(),
                });
            }
        }
    }
    Ok(out)
}

/// `5.1.10` sorts after `5.1.9`.
fn id_order(id: &str) -> Vec<u32> {
    id.split('.')
        .map(|p| p.parse().unwrap_or(u32::MAX))
        .collect()
}

/// Judges the selected rules.
pub fn scan(root: &Root, rules: &[Rule], options: &Options) -> Result<(Vec<Finding>, Summary)> {
    let mut waivers = waivers(root)?;
    waivers.extend(module_waivers(root, options.benchmark)?);
    let facts = Facts::new(root);
    let mut findings = Vec::new();
    // In the benchmark's own order, whichever rule file a rule is in.
    let mut ordered: Vec<(Vec<u32>, &String, &Rule)> = rules
        .iter()
        .filter_map(|r| r.id.get(&options.benchmark).map(|id| (id_order(id), id, r)))
        .collect();
    ordered.sort_by(|a, b| a.0.cmp(&b.0));
    for (_, id, rule) in ordered {
        let Some(level) = rule
            .level_in(options.profile)
            .filter(|l| *l <= options.level)
        else {
            continue;
        };
        if (!options.only.is_empty() && !options.only.contains(id)) || options.skip.contains(id) {
            continue;
        }
        let v = rule.check.judge(&facts);
        let mut finding = Finding {
            id: id.clone(),
            title: rule.title.clone(),
            level,
            status: v.status,
            evidence: v.evidence,
            waiver: None,
        };
        let waiver = (finding.status == CisStatus::Fail)
            .then(|| waivers.iter().find(|w| &w.rule == id))
            .flatten();
        if let Some(w) = waiver {
            // ISO dates compare as strings.
            if w.expires.as_str() >= options.today.as_str() {
                finding.status = CisStatus::Waived;
                finding.waiver = Some(format!("{} (until {})", w.reason, w.expires));
            } else {
                finding.waiver = Some(format!("expired {}: {}", w.expires, w.reason));
            }
        }
        findings.push(finding);
    }
    let mut counts = BTreeMap::new();
    for f in &findings {
        *counts.entry(f.status).or_insert(0) += 1;
    }
    let passed = counts.get(&CisStatus::Pass).copied().unwrap_or(0);
    let judged = passed
        + counts.get(&CisStatus::Fail).copied().unwrap_or(0)
        + counts.get(&CisStatus::Waived).copied().unwrap_or(0);
    let summary = Summary {
        benchmark: options.benchmark.title().to_owned(),
        profile: options.profile,
        level: options.level,
        rules: findings.len(),
        counts,
        score: if judged == 0 {
            100.0
        } else {
            (passed as f64 * 1000.0 / judged as f64).round() / 10.0
        },
    };
    Ok((findings, summary))
}

/// JUnit XML: one test case per rule; failures and errors as such,
/// manual, not-applicable, not-evaluated and waived as skipped.
pub fn junit(findings: &[Finding], summary: &Summary) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let count = |s: CisStatus| summary.counts.get(&s).copied().unwrap_or(0);
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">\n",
        esc(&summary.benchmark),
        findings.len(),
        count(CisStatus::Fail),
        count(CisStatus::Error),
        findings.len() - count(CisStatus::Pass) - count(CisStatus::Fail) - count(CisStatus::Error)
    );
    for f in findings {
        let evidence: Vec<String> = f.evidence.iter().map(evidence_text).collect();
        let body = esc(&evidence.join("; "));
        out.push_str(&format!(
            "  <testcase classname=\"cis.{}\" name=\"{} {}\">",
            esc(&f.id),
            esc(&f.id),
            esc(&f.title)
        ));
        match f.status {
            CisStatus::Pass => {}
            CisStatus::Fail => out.push_str(&format!("<failure message=\"{body}\"/>")),
            CisStatus::Error => out.push_str(&format!("<error message=\"{body}\"/>")),
            other => out.push_str(&format!(
                "<skipped message=\"{}: {body}\"/>",
                serde_json::to_value(other)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            )),
        }
        out.push_str("</testcase>\n");
    }
    out.push_str("</testsuite>\n");
    out
}

/// `file:line: value`, or the value alone.
pub fn evidence_text(e: &Evidence) -> String {
    match (&e.file, e.line) {
        (Some(f), Some(l)) => format!("{f}:{l}: {}", e.value),
        (Some(f), None) => format!("{f}: {}", e.value),
        _ => e.value.clone(),
    }
}
