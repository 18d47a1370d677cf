//! Command-line interface of `vpsc-gen`; doc comments are the help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Turn vpsc profiles into Debian packages and an apt repository.
#[derive(Debug, Parser)]
#[command(name = "vpsc-gen", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Where the inputs are.
#[derive(Debug, Args)]
pub struct InputArgs {
    /// Directory holding `modules/*.yaml` and the profiles `*.yaml`.
    #[arg(long, default_value = "profiles", value_name = "DIR")]
    pub profiles: PathBuf,
    /// Directory holding the maintainer-script templates.
    #[arg(long, default_value = "hooks", value_name = "DIR")]
    pub hooks: PathBuf,
    /// Package and repository identity.
    #[arg(long, default_value = "repo.yaml", value_name = "FILE")]
    pub config: PathBuf,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build every module and profile package and an apt repository.
    Build {
        /// Inputs.
        #[command(flatten)]
        inputs: InputArgs,
        /// Output directory (replaced as a whole).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Other .deb files to publish alongside, e.g. vpsc-runtime.
        #[arg(long = "include-deb", value_name = "FILE")]
        include_debs: Vec<PathBuf>,
        /// Timestamp of every file (default: $SOURCE_DATE_EPOCH, else now).
        #[arg(long, value_name = "SECONDS")]
        source_date_epoch: Option<u64>,
        /// Print what was written as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Validate the profiles and modules without writing anything.
    Check {
        /// Inputs.
        #[command(flatten)]
        inputs: InputArgs,
        /// Also resolve every Debian dependency against apt's lists in DIR
        /// (e.g. a Debian 13 chroot's /var/lib/apt/lists).
        #[arg(long, value_name = "DIR")]
        debian_lists: Option<PathBuf>,
    },
    /// Print the module and profile dependency graph (Graphviz DOT).
    Graph {
        /// Inputs.
        #[command(flatten)]
        inputs: InputArgs,
    },
}
