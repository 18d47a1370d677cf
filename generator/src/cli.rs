//! Command-line interface of `vpsc-gen`; doc comments are the help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Turn vpsc profiles into Debian packages and an apt repository.
#[derive(Debug, Parser)]
#[command(name = "vpsc-gen", version, about, long_about = None)]
#[command(after_help = "Examples:\n  vpsc-gen check\n  vpsc-gen build --out dist")]
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
    #[command(
        after_help = "Examples:\n  vpsc-gen build --out dist\n  vpsc-gen build --profiles site/profiles --out dist --include-deb vpsc-runtime_0.6.0-1_amd64.deb"
    )]
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
        /// Also build vpsc-archive-keyring with this armoured public key
        /// (repeat to announce the next key: current first).
        #[arg(long = "archive-key", value_name = "FILE")]
        archive_keys: Vec<PathBuf>,
        /// URI the keyring's apt source names (default: `archive.url` of
        /// repo.yaml).
        #[arg(long, value_name = "URI", requires = "archive_keys")]
        archive_url: Option<String>,
        /// Timestamp of every file (default: $SOURCE_DATE_EPOCH, else now).
        #[arg(long, value_name = "SECONDS")]
        source_date_epoch: Option<u64>,
        /// The published repository (or a directory of .deb files): a
        /// package whose version is there is built with that file's
        /// timestamp, so an unchanged one is byte-identical; one that
        /// changed without a new version is refused, each named.
        #[arg(long, value_name = "DIR")]
        against: Option<PathBuf>,
        /// Print what was written as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write a CycloneDX JSON bill of materials: the crates linked into the
    /// shipped programs (from Cargo.lock) and every .deb with its files.
    #[command(
        after_help = "Examples:\n  vpsc-gen sbom --lockfile Cargo.lock --pool dist/pool --out vpsc.cdx.json"
    )]
    Sbom {
        /// The workspace's Cargo.lock (`cargo metadata --locked` reads the
        /// Cargo.toml beside it for licences).
        #[arg(long, default_value = "Cargo.lock", value_name = "FILE")]
        lockfile: PathBuf,
        /// Directory searched recursively for .deb files (repeatable).
        #[arg(long = "pool", value_name = "DIR", required = true)]
        pools: Vec<PathBuf>,
        /// Target triple the programs are built for.
        #[arg(
            long,
            default_value = "x86_64-unknown-linux-gnu",
            value_name = "TRIPLE"
        )]
        target: String,
        /// `metadata.timestamp` in seconds since the epoch (default:
        /// $SOURCE_DATE_EPOCH, else now).
        #[arg(long, value_name = "SECONDS")]
        date: Option<u64>,
        /// Where the JSON goes (`-`: stdout).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Validate the profiles and modules without writing anything.
    #[command(
        after_help = "Examples:\n  vpsc-gen check\n  vpsc-gen check --profiles site/profiles --config site/repo.yaml"
    )]
    Check {
        /// Inputs.
        #[command(flatten)]
        inputs: InputArgs,
        /// Also resolve every Debian dependency against apt's lists in DIR
        /// (e.g. a Debian 13 chroot's /var/lib/apt/lists).
        #[arg(long, value_name = "DIR")]
        debian_lists: Option<PathBuf>,
    },
    /// Start a new module from a commented skeleton that builds as it is.
    #[command(
        after_help = "Examples:\n  vpsc-gen new module redis\n  vpsc-gen new module redis --profiles site/profiles"
    )]
    New {
        /// What to start.
        #[command(subcommand)]
        what: NewWhat,
    },
    /// Print the JSON Schema of module or profile YAML (for editors).
    #[command(after_help = "Examples:\n  vpsc-gen schema module > module.schema.json")]
    Schema {
        /// Which files the schema describes.
        #[arg(value_enum)]
        what: SchemaWhat,
    },
    /// Print the module and profile dependency graph (Graphviz DOT).
    #[command(after_help = "Examples:\n  vpsc-gen graph | dot -Tsvg > modules.svg")]
    Graph {
        /// Inputs.
        #[command(flatten)]
        inputs: InputArgs,
    },
    /// Publish, sign and verify the apt repository.
    #[command(
        after_help = "Examples:\n  vpsc-gen repo publish --pool dist/pool --out repo --sign-key archive.sec.asc"
    )]
    Repo {
        /// What to do with it.
        #[command(subcommand)]
        action: RepoAction,
    },
}

/// `vpsc-gen repo …`.
#[derive(Debug, Subcommand)]
pub enum RepoAction {
    /// Rebuild the indices of a repository from its pool and new packages,
    /// keep older versions, and sign `Release`.
    #[command(
        after_help = "Examples:\n  vpsc-gen repo publish --pool dist/pool --out repo --sign-key archive.sec.asc"
    )]
    Publish {
        /// Directory searched recursively for .deb files (repeatable); the
        /// output's own pool/ is always included.
        #[arg(long = "pool", value_name = "DIR", required = true)]
        pools: Vec<PathBuf>,
        /// Repository root to write.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Repository identity and retention.
        #[arg(long, default_value = "repo.yaml", value_name = "FILE")]
        config: PathBuf,
        /// Secret key that signs (repeatable: each signs). Without one the
        /// repository is unsigned. A protected key's passphrase is read
        /// from $VPSC_SIGNING_PASSPHRASE.
        #[arg(long = "sign-key", value_name = "FILE")]
        sign_keys: Vec<PathBuf>,
        /// `Date:` of the Release in seconds since the epoch (default: now).
        #[arg(long, value_name = "SECONDS")]
        date: Option<u64>,
        /// Print what was published as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Name every package whose version is already published with other
    /// content (it needs a new version), without writing anything. Exit
    /// status 1 if there is one.
    #[command(after_help = "Examples:\n  vpsc-gen repo check --pool dist/pool --published repo")]
    Check {
        /// Directory searched recursively for the new .deb files (repeatable).
        #[arg(long = "pool", value_name = "DIR", required = true)]
        pools: Vec<PathBuf>,
        /// The published repository root (its pool/ is read).
        #[arg(long, value_name = "DIR")]
        published: PathBuf,
        /// Repository identity.
        #[arg(long, default_value = "repo.yaml", value_name = "FILE")]
        config: PathBuf,
        /// Print the packages as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Set a fork up to publish: write repo.yaml (if absent), make the
    /// archive key pair, put the public key at keys/vpsc-archive.asc, and
    /// say which CI secret to store the secret key in (`gh secret set
    /// VPSC_SIGNING_KEY < keys/vpsc-archive.sec.asc`).
    #[command(
        after_help = "Examples:\n  vpsc-gen repo init --url https://OWNER.github.io/REPO\n  vpsc-gen repo init --dir fork --url https://apt.example.org/vpsc --origin example --secret ~/archive.sec.asc"
    )]
    Init {
        /// The checkout root.
        #[arg(long, default_value = ".", value_name = "DIR")]
        dir: PathBuf,
        /// Where servers fetch the repository from (`archive.url`); needed
        /// when repo.yaml is written.
        #[arg(long, value_name = "URL")]
        url: Option<String>,
        /// Origin and Label of a new repo.yaml (default: vpsc).
        #[arg(long, value_name = "NAME")]
        origin: Option<String>,
        /// Maintainer of every package, `Name <address>`.
        #[arg(long, value_name = "WHO")]
        maintainer: Option<String>,
        /// Where the secret key goes (default: keys/vpsc-archive.sec.asc,
        /// git-ignored).
        #[arg(long, value_name = "FILE")]
        secret: Option<PathBuf>,
        /// OpenPGP user ID of the key.
        #[arg(long, default_value = "vpsc archive signing key <vpsc@example.org>")]
        user_id: String,
        /// Validity (GnuPG syntax: 3y, 18m, never).
        #[arg(long, default_value = "3y")]
        expire: String,
        /// Rewrite repo.yaml and replace an existing key pair.
        #[arg(long)]
        force: bool,
        /// Also print the armoured secret key on stdout (it is otherwise
        /// never shown, so CI logs cannot leak it).
        #[arg(long)]
        print_secret: bool,
        /// Print what was done as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Make an ed25519 signing key apt on Debian 13 accepts.
    #[command(
        after_help = "Examples:\n  vpsc-gen repo keygen --secret archive.sec.asc --public archive.pub.asc"
    )]
    Keygen {
        /// OpenPGP user ID of the key.
        #[arg(long, default_value = "vpsc archive signing key <vpsc@example.org>")]
        user_id: String,
        /// Validity (GnuPG syntax: 3y, 18m, never).
        #[arg(long, default_value = "3y")]
        expire: String,
        /// Where the armoured secret key goes (mode 0600; store it as a CI secret).
        #[arg(long, value_name = "FILE")]
        secret: PathBuf,
        /// Where the armoured public key goes (give it to `build --archive-key`).
        #[arg(long, value_name = "FILE")]
        public: PathBuf,
        /// Print the fingerprint as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check a published repository as apt would: signatures with sqv,
    /// then every index and package against what the signature covers.
    #[command(
        after_help = "Examples:\n  vpsc-gen repo verify --dir repo --keyring archive.pub.asc"
    )]
    Verify {
        /// Repository root.
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        /// Public key or keyring clients trust (repeatable).
        #[arg(long = "keyring", value_name = "FILE", required = true)]
        keyrings: Vec<PathBuf>,
        /// Repository identity.
        #[arg(long, default_value = "repo.yaml", value_name = "FILE")]
        config: PathBuf,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// What `vpsc-gen new` starts.
#[derive(Debug, Subcommand)]
pub enum NewWhat {
    /// Write `PROFILES/modules/NAME.yaml` (never over an existing file).
    #[command(
        after_help = "Examples:\n  vpsc-gen new module redis\n  vpsc-gen new module redis --profiles site/profiles"
    )]
    Module {
        /// Module name: becomes the package vpsc-mod-NAME.
        name: String,
        /// Directory holding `modules/*.yaml` and the profiles.
        #[arg(long, default_value = "profiles", value_name = "DIR")]
        profiles: PathBuf,
    },
}

/// The YAML files there is a schema of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaWhat {
    /// `profiles/modules/*.yaml`.
    Module,
    /// `profiles/*.yaml`.
    Profile,
}
