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
pub mod sbom;
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
            against,
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
            let written = build::build_against(
                &inputs(&args, epoch(source_date_epoch)?),
                &out,
                &include_debs,
                archive.as_ref(),
                against.as_deref(),
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
        Command::Sbom {
            lockfile,
            pools,
            target,
            date,
            out,
        } => {
            let bom = sbom::sbom(&sbom::Options {
                lockfile,
                pools,
                target,
                date: epoch(date)?,
            })?;
            let mut json = serde_json::to_string_pretty(&bom).expect("serialisable");
            json.push('\n');
            if out == std::path::Path::new("-") {
                print!("{json}");
            } else {
                repo::publish::write_atomic(&out, json.as_bytes())?;
                let files: usize = bom.components.iter().map(|c| c.components.len()).sum();
                eprintln!(
                    "vpsc-gen: {} components ({} files in packages) written to {}",
                    bom.components.len(),
                    files,
                    out.display()
                );
            }
            Ok(0)
        }
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
        RepoAction::Check {
            pools,
            published,
            config,
            json,
        } => {
            let config = profile::load_config(&config)?;
            let new = repo::pool::scan(&pools, &config.component)?;
            let pool = published.join("pool");
            let old = if pool.is_dir() {
                repo::pool::scan(&[pool], &config.component)?
            } else if published.is_dir() {
                Vec::new()
            } else {
                return Err(Error::Usage {
                    what: format!("--published {}: no such directory", published.display()),
                    hint: "give the root of the published repository".into(),
                });
            };
            let unbumped = repo::bump::all_unbumped(&new, &old);
            let dependents = if unbumped.is_empty() {
                Vec::new()
            } else {
                repo::bump::dependents(&unbumped, &repo::bump::unchanged(&new, &old))
            };
            if json {
                print_json(&serde_json::json!({ "unbumped": unbumped, "dependents": dependents }));
            } else if unbumped.is_empty() {
                eprintln!(
                    "vpsc-gen: {} packages checked against {}: none changed without a new version",
                    new.len(),
                    published.display()
                );
            } else {
                let err = Error::Unbumped {
                    unbumped: unbumped.clone(),
                    dependents,
                    against: published.display().to_string(),
                };
                eprintln!("vpsc-gen: {err}");
                eprintln!("  hint: {}", repo::bump::HINT);
            }
            Ok(if unbumped.is_empty() { 0 } else { 1 })
        }
        RepoAction::Init {
            dir,
            url,
            origin,
            maintainer,
            secret,
            user_id,
            expire,
            force,
            print_secret,
            json,
        } => {
            let (done, secret_key) = repo::init::init(&repo::init::Options {
                dir,
                url,
                origin,
                maintainer,
                secret,
                user_id,
                expire,
                force,
            })?;
            if json {
                print_json(&done);
            } else {
                println!("{}", done.fingerprint);
            }
            if print_secret {
                print!("{}", String::from_utf8_lossy(&secret_key));
            }
            if !json {
                eprintln!(
                    "vpsc-gen: {} {}; public key in {} (commit it); secret key in {} (never commit it)",
                    done.config.display(),
                    if done.config_written {
                        "written"
                    } else {
                        "kept as it was (--force rewrites it)"
                    },
                    done.public.display(),
                    done.secret.display()
                );
                eprintln!(
                    "Store the secret key as the GitHub Actions secret {}, then delete the file or keep it offline:\n  {}\nThen commit repo.yaml and {}, enable GitHub Pages on the gh-pages branch, and push a v* tag.",
                    done.github_secret,
                    done.store_with,
                    repo::init::PUBLIC_KEY
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
pub(crate) fn write_new(path: &std::path::Path, data: &[u8], mode: u32) -> Result<()> {
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
