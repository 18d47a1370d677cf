//! vpsc-gen: turns YAML profiles into Debian module and profile packages
//! and a local apt repository.

pub mod build;
pub mod cli;
pub mod control;
pub mod deb;
pub mod doc;
pub mod error;
pub mod graph;
pub mod keyring;
pub mod profile;
pub mod repo;
pub mod resolve;
pub mod scripts;

pub use error::{Error, Result};

use cli::{Cli, Command, InputArgs};

fn inputs(args: &InputArgs, epoch: u64) -> build::Inputs {
    build::Inputs {
        profiles: args.profiles.clone(),
        hooks: args.hooks.clone(),
        config: args.config.clone(),
        epoch,
    }
}

/// SOURCE_DATE_EPOCH from the argument, the environment, or the clock.
fn epoch(arg: Option<u64>) -> Result<u64> {
    if let Some(e) = arg {
        return Ok(e);
    }
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) => v.trim().parse().map_err(|_| Error::Usage {
            what: format!("SOURCE_DATE_EPOCH={v:?} is not a number of seconds"),
            hint: "set it to a Unix time, e.g. `git log -1 --format=%ct`".into(),
        }),
        Err(_) => Ok(std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)),
    }
}

/// Runs the parsed command line; returns the exit status.
pub fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Build {
            inputs: args,
            out,
            include_debs,
            source_date_epoch,
            json,
        } => {
            let written = build::build(
                &inputs(&args, epoch(source_date_epoch)?),
                &out,
                &include_debs,
            )?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&written).expect("serialisable")
                );
            } else {
                for w in &written {
                    println!("{}", w.filename);
                }
                eprintln!(
                    "vpsc-gen: {} packages and the apt indices written to {}",
                    written.len(),
                    out.display()
                );
            }
            Ok(0)
        }
        Command::Check {
            inputs: args,
            debian_lists,
        } => {
            let cat = build::catalogue(&inputs(&args, 0))?;
            build::render_all(&cat, &inputs(&args, 0))?;
            eprintln!(
                "vpsc-gen: {} modules and {} profiles are valid",
                cat.modules.len(),
                cat.profiles.len()
            );
            if let Some(dir) = debian_lists {
                resolve::check(&cat, &resolve::Index::from_lists(&dir)?)?;
                eprintln!(
                    "vpsc-gen: every Debian dependency resolves against {}",
                    dir.display()
                );
            }
            Ok(0)
        }
        Command::Graph { inputs: args } => {
            let cat = build::catalogue(&inputs(&args, 0))?;
            print!("{}", graph::to_dot(&cat));
            Ok(0)
        }
    }
}
