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

fn usage(what: String, allowed: &str) -> Error {
    Error::Invalid {
        what: format!("{what} is not known"),
        hint: format!("use {allowed}"),
    }
}
