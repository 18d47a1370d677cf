//! `vpsc cis scan`.

use crate::cis::checks::CisStatus;
use crate::cis::scan::{self, Options};
use crate::cis::{self as benchmark, Benchmark, Profile};
use crate::cli::CisAction;
use crate::error::{Error, Result};
use crate::root::Root;

/// Runs a CIS action; the exit status says whether something failed.
pub fn run(root: &Root, action: CisAction, json: bool) -> Result<i32> {
    let CisAction::Scan {
        benchmark: which,
        level,
        profile,
        only,
        skip,
        format,
        record,
        textfile,
    } = action;
    let benchmark = match which.as_str() {
        "auto" => Benchmark::detect(root),
        "debian12" => Benchmark::Debian12,
        "debian13" => Benchmark::Debian13,
        other => {
            return Err(usage(
                format!("--benchmark {other}"),
                "auto, debian12 or debian13",
            ));
        }
    };
    let profile = match profile.as_str() {
        "server" => Profile::Server,
        "workstation" => Profile::Workstation,
        other => return Err(usage(format!("--profile {other}"), "server or workstation")),
    };
    let format = if json { "json".to_owned() } else { format };
    if !["table", "json", "junit"].contains(&format.as_str()) {
        return Err(usage(format!("--format {format}"), "table, json or junit"));
    }
    let rules = benchmark::rules().map_err(|what| Error::Invalid {
        what,
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
    match format.as_str() {
        "json" => {
            for f in &findings {
                println!("{}", serde_json::to_string(f).expect("findings serialise"));
            }
            println!(
                "{}",
                serde_json::to_string(&serde_json::json!({ "summary": summary }))
                    .expect("summary serialises")
            );
        }
        "junit" => print!("{}", scan::junit(&findings, &summary)),
        _ => {
            for f in &findings {
                let status = serde_json::to_value(f.status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_uppercase))
                    .unwrap_or_default();
                println!("{status:<14} {:<10} L{} {}", f.id, f.level, f.title);
                if f.status != CisStatus::Pass {
                    for e in &f.evidence {
                        println!("{:>27} {}", "", scan::evidence_text(e));
                    }
                    if let Some(w) = &f.waiver {
                        println!("{:>27} waiver: {w}", "");
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
            println!(
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

/// Prometheus text exposition for node-exporter's textfile collector,
/// written atomically so it never reads half a file.
fn write_textfile(
    root: &Root,
    path: &std::path::Path,
    benchmark: Benchmark,
    findings: &[scan::Finding],
    summary: &scan::Summary,
) -> Result<()> {
    use std::fmt::Write;
    let host = root.path(&path.to_string_lossy());
    let Some(dir) = host.parent().filter(|d| d.is_dir()) else {
        tracing::info!(path = %path.display(), "no textfile collector directory; metrics not written");
        return Ok(());
    };
    let bench = match benchmark {
        Benchmark::Debian12 => "debian12",
        Benchmark::Debian13 => "debian13",
    };
    let labels = format!(
        "benchmark=\"{bench}\",level=\"{}\",profile=\"{}\"",
        summary.level,
        match summary.profile {
            Profile::Server => "server",
            Profile::Workstation => "workstation",
        }
    );
    let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP vpsc_cis_score Passed rules among passed, failed and waived, in percent."
    );
    let _ = writeln!(out, "# TYPE vpsc_cis_score gauge");
    let _ = writeln!(out, "vpsc_cis_score{{{labels}}} {}", summary.score);
    let _ = writeln!(
        out,
        "# HELP vpsc_cis_rules Rules of the last scan by status."
    );
    let _ = writeln!(out, "# TYPE vpsc_cis_rules gauge");
    for (status, n) in &summary.counts {
        let s = serde_json::to_value(status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let _ = writeln!(out, "vpsc_cis_rules{{{labels},status=\"{s}\"}} {n}");
    }
    let _ = writeln!(
        out,
        "# HELP vpsc_cis_rule_failed 1 for each rule that fails."
    );
    let _ = writeln!(out, "# TYPE vpsc_cis_rule_failed gauge");
    for f in findings.iter().filter(|f| f.status == CisStatus::Fail) {
        let _ = writeln!(
            out,
            "vpsc_cis_rule_failed{{{labels},id=\"{}\",title=\"{}\"}} 1",
            esc(&f.id),
            esc(&f.title)
        );
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let _ = writeln!(
        out,
        "# HELP vpsc_cis_last_scan_timestamp_seconds When the scan ran."
    );
    let _ = writeln!(out, "# TYPE vpsc_cis_last_scan_timestamp_seconds gauge");
    let _ = writeln!(out, "vpsc_cis_last_scan_timestamp_seconds {now}");
    let tmp = dir.join(format!(".vpsc_cis.prom.{}", std::process::id()));
    std::fs::write(&tmp, out).map_err(Error::io("write", &tmp))?;
    std::fs::rename(&tmp, &host).map_err(Error::io("replace", &host))
}

fn usage(what: String, allowed: &str) -> Error {
    Error::Invalid {
        what: format!("{what} is not known"),
        hint: format!("use {allowed}"),
    }
}
