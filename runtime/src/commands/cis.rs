//! `vpsc cis scan`.

use crate::cis::checks::CisStatus;
use crate::cis::scan::{self, Options};
use crate::cis::{self as benchmark, Benchmark, Profile};
use crate::cli::{BenchmarkArg, CisAction, ProfileArg, ScanFormat};
use crate::error::{Error, Result};
use crate::root::Root;

use crate::cis::remedy::JOURNAL_NAME as REMEDIATION;

/// Runs a CIS action; the exit status says whether something failed.
pub fn run(root: &Root, action: CisAction, json: bool) -> Result<i32> {
    match action {
        CisAction::Scan {
            benchmark,
            level,
            profile,
            only,
            skip,
            format,
            record,
            textfile,
        } => scan_command(
            root,
            ScanArgs {
                which: benchmark,
                level,
                profile,
                only,
                skip,
                format,
                record,
                textfile,
            },
            json,
        ),
        CisAction::Remediate {
            level,
            profile,
            only,
            dry_run,
        } => remediate(root, level, profile_of(profile), only, dry_run, json),
        CisAction::Revert => {
            // A change like configure: under the runtime's lock, audited,
            // and a failure fires the on-error hooks.
            let (state, _lock) = super::open_locked(root)?;
            let result =
                crate::converge::unconfigure_own(root, &state, REMEDIATION).map(|report| {
                    if json {
                        super::print_json(&report);
                    } else {
                        outln!(
                            "{} change(s) of vpsc cis remediate undone",
                            report.undone.len()
                        );
                    }
                    0
                });
            super::audited(root, &state, "cis.revert", REMEDIATION, result)
        }
    }
}

fn profile_of(profile: ProfileArg) -> Profile {
    match profile {
        ProfileArg::Server => Profile::Server,
        ProfileArg::Workstation => Profile::Workstation,
    }
}

/// `vpsc cis scan`'s options.
struct ScanArgs {
    which: BenchmarkArg,
    level: u8,
    profile: ProfileArg,
    only: Vec<String>,
    skip: Vec<String>,
    format: ScanFormat,
    record: bool,
    textfile: Option<std::path::PathBuf>,
}

fn scan_command(root: &Root, args: ScanArgs, json: bool) -> Result<i32> {
    let ScanArgs {
        which,
        level,
        profile,
        only,
        skip,
        format,
        record,
        textfile,
    } = args;
    let benchmark = match which {
        BenchmarkArg::Auto => crate::cis::benchmark_of(root),
        BenchmarkArg::Debian12 => Benchmark::Debian12,
        BenchmarkArg::Debian13 => Benchmark::Debian13,
    };
    let profile = profile_of(profile);
    let rules = benchmark::rules().map_err(|e| Error::Invalid {
        what: e.what,
        hint: "the runtime package is damaged; reinstall vpsc-runtime".into(),
    })?;
    if !rules.iter().any(|r| r.id.contains_key(&benchmark)) {
        return Err(Error::Invalid {
            what: format!(
                "no rule of this runtime carries {} IDs yet",
                benchmark.title()
            ),
            hint: "choose the benchmark with `--benchmark debian12` or `--benchmark debian13`"
                .into(),
        });
    }
    let (findings, summary) = scan::scan(
        root,
        &rules,
        &Options {
            benchmark,
            level,
            profile,
            only,
            skip,
            today: crate::dates::today(),
        },
    )?;
    if let Some(path) = &textfile {
        write_textfile(root, path, benchmark, &findings, &summary)?;
    }
    if record {
        let failing: Vec<&str> = findings
            .iter()
            .filter(|f| f.status == CisStatus::Fail)
            .map(|f| f.id.as_str())
            .collect();
        let state = crate::state::State::open(root)?;
        let event = crate::audit::append(
            &state,
            crate::audit::NewEvent {
                actor: crate::audit::actor(root),
                action: "cis.scan".into(),
                target: summary.benchmark.clone(),
                result: if failing.is_empty() {
                    "ok".into()
                } else {
                    format!("error: {} rule(s) fail", failing.len())
                },
                details: serde_json::json!({ "summary": summary, "failing": failing }),
            },
        )?;
        crate::audit::forward(root, &event);
    }
    match (json, format) {
        (true, _) => {
            for f in &findings {
                outln!("{}", serde_json::to_string(f).expect("findings serialise"));
            }
            outln!(
                "{}",
                serde_json::to_string(&serde_json::json!({ "summary": summary }))
                    .expect("summary serialises")
            );
        }
        (false, ScanFormat::Junit) => out!("{}", scan::junit(&findings, &summary)),
        (false, ScanFormat::Table) => {
            for f in &findings {
                let status = serde_json::to_value(f.status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_uppercase))
                    .unwrap_or_default();
                outln!("{status:<14} {:<10} L{} {}", f.id, f.level, f.title);
                if f.status != CisStatus::Pass {
                    for e in &f.evidence {
                        outln!("{:>27} {}", "", scan::evidence_text(e));
                    }
                    if let Some(w) = &f.waiver {
                        outln!("{:>27} waiver: {w}", "");
                    }
                }
            }
            let counts: Vec<String> = summary
                .counts
                .iter()
                .map(|(s, n)| {
                    format!(
                        "{n} {}",
                        serde_json::to_value(s)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_default()
                    )
                })
                .collect();
            outln!(
                "{} (Level {} {}): {} rules, {}; score {:.1}%",
                summary.benchmark,
                summary.level,
                match summary.profile {
                    Profile::Server => "Server",
                    Profile::Workstation => "Workstation",
                },
                summary.rules,
                counts.join(", "),
                summary.score
            );
        }
    }
    let has = |s: CisStatus| summary.counts.get(&s).copied().unwrap_or(0) > 0;
    Ok(if has(CisStatus::Error) {
        2
    } else if has(CisStatus::Fail) {
        1
    } else {
        0
    })
}

/// The scan's metrics for node-exporter's textfile collector.
fn write_textfile(
    root: &Root,
    path: &std::path::Path,
    benchmark: Benchmark,
    findings: &[scan::Finding],
    summary: &scan::Summary,
) -> Result<()> {
    use crate::observe::exposition::Family;
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(Error::Invalid {
            what: format!("--textfile {} is not a file path", path.display()),
            hint: "name a .prom file in the collector's directory".into(),
        });
    };
    let bench = match benchmark {
        Benchmark::Debian12 => "debian12",
        Benchmark::Debian13 => "debian13",
    };
    let level = summary.level.to_string();
    let profile = match summary.profile {
        Profile::Server => "server",
        Profile::Workstation => "workstation",
    };
    let labels = [
        ("benchmark", bench),
        ("level", &level),
        ("profile", profile),
    ];
    let mut score = Family::gauge(
        "vpsc_cis_score_ratio",
        "Passed rules among passed, failed and waived rules of the last CIS scan (0 to 1).",
    );
    score.sample(&labels, summary.score / 100.0);
    let mut rules = Family::gauge("vpsc_cis_rules", "Rules of the last CIS scan by status.");
    for (status, n) in &summary.counts {
        let s = serde_json::to_value(status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let mut l = labels.to_vec();
        l.push(("status", &s));
        rules.sample(&l, *n as f64);
    }
    let mut failed = Family::gauge(
        "vpsc_cis_rule_failed",
        "1 for each rule that fails in the last CIS scan.",
    );
    for f in findings.iter().filter(|f| f.status == CisStatus::Fail) {
        let mut l = labels.to_vec();
        l.push(("id", &f.id));
        l.push(("title", &f.title));
        failed.sample(&l, 1.0);
    }
    let mut when = Family::gauge(
        "vpsc_cis_last_scan_timestamp_seconds",
        "When the last CIS scan ran, in seconds since the epoch.",
    );
    when.value(crate::dates::now() as f64);
    crate::observe::textfile::write(
        root,
        &dir.to_string_lossy(),
        &name.to_string_lossy(),
        &[score, rules, failed, when],
    )?;
    Ok(())
}

/// `vpsc cis remediate`: the same expansion vpsc-mod-cis-hardening uses,
/// journalled under its own name so `vpsc cis revert` undoes exactly it.
fn remediate(
    root: &Root,
    level: u8,
    profile: Profile,
    only: Vec<String>,
    dry_run: bool,
    json: bool,
) -> Result<i32> {
    let plan = crate::plan::Plan::own(
        REMEDIATION,
        crate::VERSION,
        vec![crate::plan::Effect::CisRemediation {
            level,
            profile,
            only: only.clone(),
        }],
    );
    if !dry_run {
        // A change like configure: under the runtime's lock, audited, and
        // a failure fires the on-error hooks.
        let (state, _lock) = super::open_locked(root)?;
        let result =
            crate::converge::configure_plan(root, &state, &plan, &crate::cis::remedy::Remediations)
                .map(|report| {
                    if json {
                        super::print_json(&report);
                    } else {
                        outln!(
                            "{} applied, {} undone, {} unchanged; `vpsc cis revert` undoes them",
                            report.applied.len(),
                            report.undone.len(),
                            report.unchanged.len()
                        );
                    }
                    0
                });
        return super::audited(root, &state, "cis.remediate", REMEDIATION, result);
    }
    let state = crate::state::State::open(root)?;
    let ours = state
        .steps(REMEDIATION)?
        .into_iter()
        .filter_map(|s| s.key.strip_prefix("statoverride:").map(str::to_owned))
        .collect();
    let (effects, covered) =
        crate::cis::remedy::expand(root, level, profile, only, REMEDIATION, ours)?;
    let changes: Vec<serde_json::Value> = effects
        .iter()
        .map(|(key, e)| serde_json::json!({ "key": key, "change": preview(root, e) }))
        .collect();
    if json {
        super::print_json(&serde_json::json!({ "rules": covered, "changes": changes }));
    } else {
        outln!("dry run: nothing is changed. Rules remediated:");
        for c in &covered {
            outln!("  {:<10} {}", c.id, c.title);
        }
        for c in &changes {
            outln!("--- {}", c["key"].as_str().unwrap_or_default());
            out!("{}", c["change"].as_str().unwrap_or_default());
        }
    }
    Ok(0)
}

/// What applying `effect` would change, as text (a unified diff for files).
fn preview(root: &Root, effect: &crate::plan::Effect) -> String {
    use crate::plan::Effect;
    use std::os::unix::fs::MetadataExt;
    match effect {
        Effect::ManagedFile {
            path,
            template,
            mode,
            ..
        } => {
            let old = root.metadata(path).ok();
            let mut text = match &old {
                Some(m) if m.mode() & 0o7777 != *mode => {
                    format!("mode {:04o} -> {mode:04o}\n", m.mode() & 0o7777)
                }
                None => format!("new file, mode {mode:04o}\n"),
                _ => String::new(),
            };
            text.push_str(&unified_diff(root, path, template));
            if text.is_empty() {
                "unchanged\n".into()
            } else {
                text
            }
        }
        Effect::StatOverride {
            path,
            owner,
            group,
            mode,
        } => match root.metadata(path) {
            Ok(m) => format!(
                "{}:{} {:04o} -> {owner}:{group} {mode:04o} (dpkg-statoverride)\n",
                crate::accounts::name_of(root, crate::accounts::Db::Passwd, m.uid()),
                crate::accounts::name_of(root, crate::accounts::Db::Group, m.gid()),
                m.mode() & 0o7777
            ),
            Err(_) => format!("{path} does not exist\n"),
        },
        Effect::Sysctl { key, value } if root.is_live() => {
            let now = std::fs::read_to_string(format!("/proc/sys/{}", key.replace('.', "/")))
                .unwrap_or_default();
            format!("running {key}: {} -> {value}\n", now.trim())
        }
        Effect::Sysctl { key, value } => {
            format!("running {key} -> {value} on the live system only\n")
        }
        other => format!("{}\n", other.key()),
    }
}

/// `diff -u` of the file (or nothing) against the new content; diff is in
/// diffutils, which Debian marks essential. The current file is read
/// inside the root and fed on stdin; the new text is a file in a private
/// directory of root's.
fn unified_diff(root: &Root, path: &str, new: &str) -> String {
    use std::io::Write;
    use std::os::unix::fs::DirBuilderExt;
    let old = root.read(path).unwrap_or_default();
    let old_label = if root.exists(path) {
        format!("a{path}")
    } else {
        "/dev/null".into()
    };
    let private =
        std::env::temp_dir().join(format!("vpsc-diff-{:016x}", crate::confined::random_u64()));
    if std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&private)
        .is_err()
    {
        return "(no private temporary directory for diff)\n".into();
    }
    let new_file = private.join("new");
    let diff = std::fs::write(&new_file, new).ok().and_then(|()| {
        let mut child = std::process::Command::new("diff")
            .arg("-u")
            .arg(format!("--label={old_label}"))
            .arg(format!("--label=b{path}"))
            .arg("-")
            .arg(&new_file)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .ok()?;
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(&old);
        }
        child
            .wait_with_output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
    });
    let _ = std::fs::remove_dir_all(&private);
    diff.unwrap_or_else(|| "(diff is not installed; install diffutils)\n".into())
}
