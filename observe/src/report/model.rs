//! What the compliance report says, gathered into one serialisable
//! value: `vpsc report --json` prints it, the HTML page renders it.
//!
//! Each part is read on its own: a part that cannot be read (a damaged
//! plan, an unreadable waiver file) says why in its place, and the rest of
//! the report still stands. An auditor is better served by a page that
//! names the gap than by no page.

use std::collections::BTreeMap;

use serde::Serialize;
use vpsc_cis::checks::CisStatus;
use vpsc_cis::scan::{self, Finding, Options};
use vpsc_cis::{Benchmark, Profile};
use vpsc_engine::checks::Status;
use vpsc_engine::converge;
use vpsc_engine::dates::utc;
use vpsc_engine::error::{Error, Result};
use vpsc_engine::root::Root;
use vpsc_engine::state::State;

use crate::dora::{self, Dora};

/// A part of the report, or why it is missing.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Part<T> {
    /// What was read.
    Ok(T),
    /// Why it could not be read.
    Unavailable(String),
}

impl<T> From<Result<T>> for Part<T> {
    fn from(r: Result<T>) -> Part<T> {
        match r {
            Ok(v) => Part::Ok(v),
            Err(e) => {
                let mut why = e.to_string();
                if let Some(hint) = e.hint() {
                    why.push_str(&format!(" (hint: {hint})"));
                }
                Part::Unavailable(why)
            }
        }
    }
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// When it was made (Unix seconds).
    pub generated: i64,
    /// The same as `YYYY-MM-DD HH:MM:SS` UTC.
    pub generated_utc: String,
    /// The vpsc that made it.
    pub vpsc_version: String,
    /// The host.
    pub host: Host,
    /// The CIS scan.
    pub cis: Part<Cis>,
    /// CIS waivers, the administrator's and the modules'.
    pub waivers: Part<Vec<WaiverRow>>,
    /// The verify checks of every installed module.
    pub verify: Part<Verify>,
    /// The people vpsc onboarded.
    pub people: Part<Vec<Person>>,
    /// The audit log's chain.
    pub audit: AuditChain,
    /// DORA metrics over the last 30 days.
    pub dora: Part<Dora>,
}

/// Which host.
#[derive(Debug, Clone, Serialize)]
pub struct Host {
    /// `/etc/hostname`, else the kernel's name for the running system.
    pub hostname: String,
    /// `PRETTY_NAME` of os-release, if readable.
    pub os: Option<String>,
    /// `/etc/debian_version`.
    pub debian_version: Option<String>,
    /// The running kernel's release, when the report is of the running
    /// system (a `--root` tree has no kernel of its own).
    pub kernel: Option<String>,
}

/// The CIS scan's result, by section.
#[derive(Debug, Clone, Serialize)]
pub struct Cis {
    /// Benchmark title.
    pub benchmark: String,
    /// Level scanned.
    pub level: u8,
    /// Profile scanned (server).
    pub profile: String,
    /// Percentage passed among passed, failed and waived.
    pub score: f64,
    /// Rules judged.
    pub rules: usize,
    /// Count per status.
    pub counts: BTreeMap<String, usize>,
    /// Per section (the ID's first number).
    pub sections: Vec<Section>,
    /// Every rule that failed (or whose check could not run).
    pub failing: Vec<Failing>,
}

/// One section of the benchmark.
#[derive(Debug, Clone, Serialize)]
pub struct Section {
    /// `1` … `7`.
    pub number: String,
    /// Its title in the benchmark.
    pub title: String,
    /// Passed rules.
    pub passed: usize,
    /// Failed rules.
    pub failed: usize,
    /// Waived rules.
    pub waived: usize,
    /// The rest (manual, not applicable, not evaluated, errors).
    pub other: usize,
    /// Percentage as for the whole scan; `None` when nothing was judged.
    pub score: Option<f64>,
}

/// A failing rule.
#[derive(Debug, Clone, Serialize)]
pub struct Failing {
    /// Its ID.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its level.
    pub level: u8,
    /// `fail` or `error`.
    pub status: String,
    /// What was found, `file:line: value` each.
    pub evidence: Vec<String>,
    /// An expired waiver, if one was.
    pub waiver: Option<String>,
}

/// A waiver.
#[derive(Debug, Clone, Serialize)]
pub struct WaiverRow {
    /// Rule ID.
    pub rule: String,
    /// The rule's title, when the scan knows it.
    pub title: Option<String>,
    /// Why.
    pub reason: String,
    /// Last day (`YYYY-MM-DD`), `None` for a module's, which holds while
    /// the module is installed.
    pub expires: Option<String>,
    /// Whether it is past its last day.
    pub expired: bool,
    /// `site` (/etc/vpsc/cis-waivers.yaml) or the module's name.
    pub source: String,
}

/// Verify of every installed module.
#[derive(Debug, Clone, Serialize)]
pub struct Verify {
    /// Checks that passed.
    pub passed: usize,
    /// Checks that failed.
    pub failed: usize,
    /// Checks only a running system can answer.
    pub not_evaluated: usize,
    /// Per module.
    pub modules: Vec<ModuleVerify>,
}

/// One module's checks.
#[derive(Debug, Clone, Serialize)]
pub struct ModuleVerify {
    /// The module.
    pub module: String,
    /// Checks that passed.
    pub passed: usize,
    /// Checks that failed.
    pub failed: usize,
    /// Checks not evaluated.
    pub not_evaluated: usize,
    /// Every check: its label, `PASS`/`FAIL`/`SKIP` and what was found.
    pub checks: Vec<Check>,
    /// Why the module's checks could not run, if they could not.
    pub error: Option<String>,
}

/// One verify check.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What it checks.
    pub check: String,
    /// `PASS`, `FAIL` or `SKIP`.
    pub status: String,
    /// What was found.
    pub detail: String,
}

/// A person vpsc onboarded.
#[derive(Debug, Clone, Serialize)]
pub struct Person {
    /// Login name.
    pub name: String,
    /// Full name.
    pub full_name: String,
    /// Email.
    pub email: String,
    /// `active`, `locked` or `deleted`.
    pub status: String,
    /// Roles held without end.
    pub roles: Vec<String>,
    /// Roles held for a time.
    pub grants: Vec<GrantRow>,
    /// Teams.
    pub teams: Vec<String>,
    /// Whether a TOTP second factor is set up.
    pub two_factor: bool,
    /// When the account expires, if it does (UTC).
    pub expires: Option<String>,
    /// Authorised SSH keys.
    pub keys: Vec<KeyRow>,
}

/// A time-limited role.
#[derive(Debug, Clone, Serialize)]
pub struct GrantRow {
    /// The role.
    pub role: String,
    /// Its end (UTC).
    pub until: String,
    /// Whether it has ended.
    pub expired: bool,
}

/// An SSH key.
#[derive(Debug, Clone, Serialize)]
pub struct KeyRow {
    /// Fingerprint.
    pub fingerprint: String,
    /// Type.
    pub kind: String,
    /// When it was added (UTC).
    pub added: String,
    /// Its age in whole days.
    pub age_days: i64,
}

/// The audit chain.
#[derive(Debug, Clone, Serialize)]
pub struct AuditChain {
    /// Whether every link holds and the anchor matches.
    pub intact: bool,
    /// Events checked (when intact).
    pub events: i64,
    /// The newest event anchored outside the database.
    pub anchored: Option<i64>,
    /// The chain's head hash.
    pub head: Option<String>,
    /// What is broken, if something is.
    pub problem: Option<String>,
}

/// Gathers the report of `root` at `now`.
pub fn gather(root: &Root, state: &State, now: i64) -> Result<Report> {
    let today = utc(now)[..10].to_owned();
    let benchmark = vpsc_cis::benchmark_of(root);
    let cis = cis(root, benchmark, &today);
    let titles: BTreeMap<String, String> = match &cis {
        Ok((_, findings)) => findings
            .iter()
            .map(|f| (f.id.clone(), f.title.clone()))
            .collect(),
        Err(_) => BTreeMap::new(),
    };
    Ok(Report {
        generated: now,
        generated_utc: utc(now),
        vpsc_version: vpsc_engine::VERSION.to_owned(),
        host: host(root),
        cis: cis.map(|(c, _)| c).into(),
        waivers: waivers(root, benchmark, &today, &titles).into(),
        verify: verify(root, state).into(),
        people: people(state, now).into(),
        audit: audit(root, state),
        dora: dora::gather(root, state, now - dora::DEFAULT_WINDOW, now).into(),
    })
}

fn host(root: &Root) -> Host {
    let read = |path: &str| {
        root.read_to_string(path)
            .ok()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    };
    // The kernel's name counts only for the running system: a tree's
    // name is its own /etc/hostname or none.
    let live = |path: &str| {
        root.is_host()
            .then(|| std::fs::read_to_string(path).ok())
            .flatten()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    };
    let hostname = read("/etc/hostname")
        .or_else(|| live("/proc/sys/kernel/hostname"))
        .unwrap_or_else(|| "(unnamed host)".into());
    let os = read("/etc/os-release")
        .or_else(|| read("/usr/lib/os-release"))
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_owned())
        });
    Host {
        hostname,
        os,
        debian_version: read("/etc/debian_version"),
        kernel: live("/proc/sys/kernel/osrelease"),
    }
}

/// The CIS benchmark's section titles (the same in the Debian 12 and 13
/// benchmarks).
fn section_title(number: &str) -> String {
    match number {
        "1" => "Initial Setup",
        "2" => "Services",
        "3" => "Network",
        "4" => "Host Based Firewall",
        "5" => "Access Control",
        "6" => "Logging and Auditing",
        "7" => "System Maintenance",
        other => return format!("Section {other}"),
    }
    .to_owned()
}

fn status_word(s: CisStatus) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn cis(root: &Root, benchmark: Benchmark, today: &str) -> Result<(Cis, Vec<Finding>)> {
    let rules = vpsc_cis::rules().map_err(|e| Error::Invalid {
        what: e.what,
        hint: "the runtime package is damaged; reinstall vpsc-runtime".into(),
    })?;
    let (findings, summary) = scan::scan(
        root,
        &rules,
        &Options {
            benchmark,
            level: 1,
            profile: Profile::Server,
            only: Vec::new(),
            skip: Vec::new(),
            today: today.to_owned(),
        },
    )?;
    let mut sections: BTreeMap<u32, Section> = BTreeMap::new();
    for f in &findings {
        let number = f.id.split('.').next().unwrap_or_default().to_owned();
        let key = number.parse().unwrap_or(u32::MAX);
        let s = sections.entry(key).or_insert_with(|| Section {
            title: section_title(&number),
            number,
            passed: 0,
            failed: 0,
            waived: 0,
            other: 0,
            score: None,
        });
        match f.status {
            CisStatus::Pass => s.passed += 1,
            CisStatus::Fail => s.failed += 1,
            CisStatus::Waived => s.waived += 1,
            _ => s.other += 1,
        }
    }
    for s in sections.values_mut() {
        let judged = s.passed + s.failed + s.waived;
        // As the scan's own score: a waiver is a decision, not compliance.
        s.score = (judged > 0).then(|| (s.passed as f64 * 1000.0 / judged as f64).round() / 10.0);
    }
    let failing = findings
        .iter()
        .filter(|f| matches!(f.status, CisStatus::Fail | CisStatus::Error))
        .map(|f| Failing {
            id: f.id.clone(),
            title: f.title.clone(),
            level: f.level,
            status: status_word(f.status),
            evidence: f.evidence.iter().map(scan::evidence_text).collect(),
            waiver: f.waiver.clone(),
        })
        .collect();
    let cis = Cis {
        benchmark: summary.benchmark.clone(),
        level: summary.level,
        profile: "server".into(),
        score: summary.score,
        rules: summary.rules,
        counts: summary
            .counts
            .iter()
            .map(|(s, n)| (status_word(*s), *n))
            .collect(),
        sections: sections.into_values().collect(),
        failing,
    };
    Ok((cis, findings))
}

fn waivers(
    root: &Root,
    benchmark: Benchmark,
    today: &str,
    titles: &BTreeMap<String, String>,
) -> Result<Vec<WaiverRow>> {
    let mut out: Vec<WaiverRow> = scan::waivers(root)?
        .into_iter()
        .map(|w| WaiverRow {
            title: titles.get(&w.rule).cloned(),
            // ISO dates compare as strings, as the scan compares them.
            expired: w.expires.as_str() < today,
            rule: w.rule,
            reason: w.reason,
            expires: Some(w.expires),
            source: "site".into(),
        })
        .collect();
    for w in scan::module_waivers(root, benchmark)? {
        // The scan words them "needed by module NAME: why".
        let (source, reason) = w
            .reason
            .strip_prefix("needed by module ")
            .and_then(|r| r.split_once(": "))
            .map_or(("module".to_owned(), w.reason.clone()), |(m, why)| {
                (m.to_owned(), why.to_owned())
            });
        out.push(WaiverRow {
            title: titles.get(&w.rule).cloned(),
            rule: w.rule,
            reason,
            expires: None,
            expired: false,
            source,
        });
    }
    Ok(out)
}

fn verify(root: &Root, state: &State) -> Result<Verify> {
    let mut modules = Vec::new();
    for name in converge::installed_modules(root)? {
        let results = converge::load_plan(root, &name).and_then(|plan| {
            let params = converge::resolve_params(root, state, &plan)?;
            converge::verify_plan(root, state, &plan, &params)
        });
        let (checks, error) = match results {
            Ok(r) => (r, None),
            Err(e) => (Vec::new(), Some(e.to_string())),
        };
        let count = |s: Status| checks.iter().filter(|c| c.status == s).count();
        modules.push(ModuleVerify {
            passed: count(Status::Pass),
            failed: count(Status::Fail),
            not_evaluated: count(Status::NotEvaluated),
            checks: checks
                .iter()
                .map(|c| Check {
                    check: c.check.clone(),
                    status: c.status.word().to_owned(),
                    detail: c.detail.clone(),
                })
                .collect(),
            module: name,
            error,
        });
    }
    Ok(Verify {
        passed: modules.iter().map(|m| m.passed).sum(),
        failed: modules.iter().map(|m| m.failed).sum(),
        not_evaluated: modules.iter().map(|m| m.not_evaluated).sum(),
        modules,
    })
}

fn people(state: &State, now: i64) -> Result<Vec<Person>> {
    Ok(vpsc_users::store::users(state)?
        .into_iter()
        .map(|u| Person {
            grants: u
                .grants
                .iter()
                .map(|g| GrantRow {
                    role: g.role.clone(),
                    until: utc(g.until),
                    expired: g.until <= now,
                })
                .collect(),
            keys: u
                .keys
                .iter()
                .map(|k| KeyRow {
                    fingerprint: k.fingerprint.clone(),
                    kind: k.kind.clone(),
                    added: utc(k.added),
                    age_days: (now - k.added).max(0) / 86_400,
                })
                .collect(),
            expires: u.expires.map(utc),
            status: u.status.to_string(),
            two_factor: u.totp,
            name: u.name,
            full_name: u.full_name,
            email: u.email,
            roles: u.roles,
            teams: u.teams,
        })
        .collect())
}

fn audit(root: &Root, state: &State) -> AuditChain {
    match vpsc_engine::audit::verify_anchored(root, state) {
        Ok(v) => AuditChain {
            intact: true,
            events: v.events,
            anchored: v.anchored,
            head: Some(v.head),
            problem: None,
        },
        Err(e) => AuditChain {
            intact: false,
            events: 0,
            anchored: None,
            head: None,
            problem: Some(e.to_string()),
        },
    }
}
