//! vpsc-gen: turns YAML profiles into Debian module and profile packages
//! and a local apt repository.

pub mod archive;
pub mod build;
pub mod cli;
pub mod control;
pub mod deb;
pub mod doc;
pub mod error;
pub mod keyring;
pub mod profile;
pub mod repo;
pub mod resolve;
pub mod scaffold;
pub mod schema;
pub mod scripts;
pub mod tool;

pub use error::{Error, Result};

use cli::{Cli, Command, InputArgs, NewWhat, RepoAction, SchemaWhat};

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
        Err(_) => Ok(epoch_now()),
    }
}

/// Runs the parsed command line; returns the exit status.
pub fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Schema { what } => {
            let schema = match what {
                SchemaWhat::Module => schema::module(),
                SchemaWhat::Profile => schema::profile(),
            };
            print_json(&schema);
            Ok(0)
        }
        Command::New {
            what: NewWhat::Module { name, profiles },
        } => {
            let path = scaffold::new_module(&profiles, &name)?;
            eprintln!(
                "vpsc-gen: wrote {}; edit it, then `vpsc-gen check`",
                path.display()
            );
            Ok(0)
        }
        Command::Build {
            inputs: args,
            out,
            include_debs,
            archive_keys,
            archive_url,
            source_date_epoch,
            json,
        } => {
            let archive = if archive_keys.is_empty() {
                None
            } else {
                let config = profile::load_config(&args.config)?;
                Some(archive::source(
                    &config,
                    &archive_keys,
                    archive_url.as_deref(),
                )?)
            };
            let written = build::build(
                &inputs(&args, epoch(source_date_epoch)?),
                &out,
                &include_debs,
                archive.as_ref(),
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
            print!("{}", profile::graph::to_dot(&cat));
            Ok(0)
        }
        Command::Repo { action } => repo_command(action),
    }
}

fn print_json(value: &impl serde::Serialize) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("serialisable")
    );
}

/// `vpsc-gen repo …`.
fn repo_command(action: RepoAction) -> Result<i32> {
    match action {
        RepoAction::Publish {
            pools,
            out,
            config,
            sign_keys,
            date,
            json,
        } => {
            let config = profile::load_config(&config)?;
            let date = match date {
                Some(d) => d,
                None => epoch_now(),
            };
            let published = repo::publish::publish(
                &config,
                &repo::publish::Options {
                    pools,
                    out: out.clone(),
                    sign_keys,
                    date,
                },
            )?;
            if json {
                print_json(&published);
            } else {
                eprintln!(
                    "vpsc-gen: {} packages published to {} ({}), {} pruned, {} expired by-hash files removed",
                    published.packages.len(),
                    out.display(),
                    if published.signed_by.is_empty() {
                        "unsigned".to_owned()
                    } else {
                        format!("signed by {}", published.signed_by.join(", "))
                    },
                    published.pruned.len(),
                    published.expired_by_hash
                );
            }
            Ok(0)
        }
        RepoAction::Keygen {
            user_id,
            expire,
            secret,
            public,
            json,
        } => {
            let key = repo::sign::keygen(&user_id, &expire)?;
            write_new(&secret, &key.secret, 0o600)?;
            write_new(&public, &key.public, 0o644)?;
            if json {
                print_json(&serde_json::json!({
                    "fingerprint": key.fingerprint,
                    "secret": secret,
                    "public": public,
                }));
            } else {
                println!("{}", key.fingerprint);
                eprintln!(
                    "vpsc-gen: secret key in {} (keep it secret), public key in {}",
                    secret.display(),
                    public.display()
                );
            }
            Ok(0)
        }
        RepoAction::Verify {
            dir,
            keyrings,
            config,
            json,
        } => {
            let config = profile::load_config(&config)?;
            let verified = repo::verify::verify(&dir, &config, &keyrings)?;
            if json {
                print_json(&verified);
            } else {
                eprintln!(
                    "vpsc-gen: {} is good: signed by {}; {} indices and {} package entries match",
                    dir.display(),
                    verified.signed_by.join(", "),
                    verified.indices,
                    verified.packages
                );
            }
            Ok(0)
        }
    }
}

fn epoch_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Creates `path` with `mode`, refusing to overwrite: a key file is never
/// replaced by accident.
fn write_new(path: &std::path::Path, data: &[u8], mode: u32) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(Error::io("create", path))?;
    file.write_all(data).map_err(Error::io("write", path))
}
