//! Command-line interface of `vpsc`; doc comments are the help text.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Configure and verify vpsc modules; called by the maintainer scripts of
/// vpsc-mod-* and vpsc-profile-* packages.
#[derive(Debug, Parser)]
#[command(name = "vpsc", version = crate::fault::VERSION, about, long_about = None)]
#[command(after_help = "Examples:\n  vpsc verify\n  vpsc status --json\n  vpsc cis scan --level 2")]
pub struct Cli {
    /// Operate on this root directory instead of / (default: $DPKG_ROOT, else /).
    #[arg(long, global = true, value_name = "DIR")]
    pub root: Option<PathBuf>,

    /// Print machine-readable JSON on stdout.
    #[arg(long, global = true)]
    pub json: bool,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Converge a module to its installed plan, then verify it (postinst configure).
    #[command(hide = true)]
    Configure {
        /// Module name, e.g. `ssh` for vpsc-mod-ssh.
        module: String,
        /// Version being upgraded from (as dpkg passes it); informational.
        #[arg(long, value_name = "OLDVER")]
        from: Option<String>,
    },
    /// Undo everything the journal records for a module (prerm remove).
    #[command(hide = true)]
    Unconfigure {
        /// Module name.
        module: String,
    },
    /// Forget a module's journal and backups after its removal (postrm purge).
    #[command(hide = true)]
    Forget {
        /// Module name.
        module: String,
        /// Forget by hand, outside the postrm of the module's package.
        #[arg(long)]
        force: bool,
    },
    /// Run verify checks; exit 1 if any fails.
    #[command(after_help = "Examples:\n  vpsc verify\n  vpsc verify ssh firewall --json")]
    Verify {
        /// Modules to verify (default: every installed module).
        modules: Vec<String>,
    },
    /// Show configured modules, their steps and drift.
    #[command(after_help = "Examples:\n  vpsc status\n  vpsc --root /srv/image status --json")]
    Status,
    /// Verify every configured module once and run the post-install hooks
    /// (vpsc-runtime's postinst, when dpkg processes its trigger).
    #[command(hide = true)]
    Triggered {
        /// The triggers dpkg names (informational).
        triggers: Vec<String>,
    },
    /// Undo the runtime's own changes (CIS remediation, the SSH second
    /// factor) before vpsc-runtime is removed (its prerm).
    #[command(hide = true)]
    Withdraw,
    /// CIS benchmark scanning.
    #[command(after_help = "Examples:\n  vpsc cis scan\n  vpsc cis remediate --level 1 --dry-run")]
    Cis {
        /// scan, remediate or revert.
        #[command(subcommand)]
        action: CisAction,
    },
    /// Show or reset the circuit breakers of network steps.
    #[command(
        after_help = "Examples:\n  vpsc breaker status\n  vpsc breaker reset net:deb.debian.org:443"
    )]
    Breaker {
        /// status or reset.
        #[command(subcommand)]
        action: BreakerAction,
    },
    /// Query, verify and export the tamper-evident audit log.
    #[command(
        after_help = "Examples:\n  vpsc audit verify\n  vpsc audit query --since 2026-12-01 --action user."
    )]
    Audit {
        /// query, verify or export.
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Roles and permissions (role-based access control).
    #[command(after_help = "Examples:\n  vpsc rbac roles\n  vpsc rbac check ada app:web:deploy")]
    Rbac {
        /// roles, show or check.
        #[command(subcommand)]
        action: RbacAction,
    },
    /// Undo a profile exactly: purge it, vpsc's modules and runtime, and
    /// every Debian package their apt transactions installed that nothing
    /// staying needs (read from apt's history); restores what of the
    /// host's /etc the purge's maintainer scripts removed, and lists what
    /// they left and the system users the purge leaves. Refuses, changing
    /// nothing, if apt would remove anything else.
    #[command(after_help = "Examples:\n  vpsc rollback server --dry-run\n  vpsc rollback server")]
    Rollback {
        /// Profile name, e.g. `beginner` for vpsc-profile-beginner.
        profile: String,
        /// Print the plan (what would be purged, what kept and why, how
        /// many entries of /etc it would watch) and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// One look at the host, from local facts only: verify results, drift,
    /// breakers, the audit chain, the last CIS scan, pending security
    /// upgrades, reboot, failed units, disk and inodes, time sync. Exit 0
    /// healthy, 1 degraded (naming why), 2 error.
    #[command(after_help = "Examples:\n  vpsc health\n  vpsc health --json")]
    Health,
    /// Prometheus metrics for node-exporter's textfile collector.
    #[command(after_help = "Examples:\n  vpsc metrics write\n  vpsc metrics write --dir /tmp/m")]
    Metrics {
        /// write.
        #[command(subcommand)]
        action: MetricsAction,
    },
    /// File integrity: AIDE's results into the audit log and the metrics.
    #[command(after_help = "Examples:\n  vpsc integrity status\n  vpsc integrity record")]
    Integrity {
        /// record or status.
        #[command(subcommand)]
        action: IntegrityAction,
    },
    /// DORA metrics of this host's changes, from the audit log and dpkg's
    /// log: deployment frequency, lead time, change failure rate, time to
    /// restore.
    #[command(after_help = "Examples:\n  vpsc dora\n  vpsc dora --since 2026-11-01 --json")]
    Dora {
        /// Only changes at or after this time (Unix seconds or YYYY-MM-DD;
        /// default: 30 days ago).
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
    },
    /// A compliance report for an auditor: one self-contained HTML page
    /// (or JSON) with CIS, waivers, verify, people, audit chain and DORA.
    #[command(
        after_help = "Examples:\n  vpsc report --html report.html\n  vpsc report --json > report.json"
    )]
    Report {
        /// Write the HTML page to FILE.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
    },
    /// Apply or release a profile's parameter overrides (the profile
    /// packages' maintainer scripts).
    #[command(hide = true)]
    Profile {
        /// apply or release.
        #[command(subcommand)]
        action: ProfileAction,
    },
}

/// Metrics actions.
#[derive(Debug, Subcommand)]
pub enum MetricsAction {
    /// Write every metrics file (one per source) atomically into the
    /// textfile collector's directory (the timer runs this).
    #[command(after_help = "Examples:\n  vpsc metrics write")]
    Write {
        /// The collector's directory.
        #[arg(long, value_name = "DIR", default_value = crate::METRICS_DIR)]
        dir: PathBuf,
    },
}

/// File integrity actions.
#[derive(Debug, Subcommand)]
pub enum IntegrityAction {
    /// Read AIDE's last check and record it in the audit log and the
    /// metrics (run after AIDE's daily check).
    #[command(after_help = "Examples:\n  vpsc integrity record")]
    Record,
    /// Show AIDE's last check: when, and what was added, removed, changed.
    #[command(after_help = "Examples:\n  vpsc integrity status --json")]
    Status,
}

/// RBAC actions.
#[derive(Debug, Subcommand)]
pub enum RbacAction {
    /// List the roles and where they come from.
    #[command(after_help = "Examples:\n  vpsc rbac roles --json")]
    Roles,
    /// One role with what it inherits: groups, permissions, sudo rules.
    #[command(after_help = "Examples:\n  vpsc rbac show developer")]
    Show {
        /// Role name.
        role: String,
    },
    /// Whether USER holds PERMISSION (scope:resource:action) now; exit 0
    /// allowed, 1 denied.
    #[command(after_help = "Examples:\n  vpsc rbac check ada app:web:deploy")]
    Check {
        /// Login name.
        user: String,
        /// Permission, e.g. app:web:deploy.
        permission: String,
    },
}

/// Profile actions.
#[derive(Debug, Subcommand)]
pub enum ProfileAction {
    /// Record the profile's overrides and reconverge its modules (profile postinst).
    Apply {
        /// Profile name, e.g. `beginner`.
        name: String,
    },
    /// Drop the profile's overrides and reconverge its modules (profile prerm).
    Release {
        /// Profile name.
        name: String,
    },
}

/// Audit log actions.
#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// List events, oldest first.
    #[command(
        after_help = "Examples:\n  vpsc audit query --since 2026-12-01\n  vpsc audit query --actor user:ada --action user. --json"
    )]
    Query {
        /// Only events at or after this time (Unix seconds or YYYY-MM-DD).
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
        /// Only events before this time (Unix seconds or YYYY-MM-DD).
        #[arg(long, value_name = "TIME")]
        until: Option<String>,
        /// Only this actor, e.g. `user:alice` or `package:vpsc-mod-ssh`.
        #[arg(long)]
        actor: Option<String>,
        /// Only this action, or a prefix ending in `.` (`effect.`).
        #[arg(long)]
        action: Option<String>,
    },
    /// Check the whole hash chain; exit 1 naming the first bad event.
    #[command(after_help = "Examples:\n  vpsc audit verify")]
    Verify,
    /// Every event as JSON Lines on stdout.
    #[command(after_help = "Examples:\n  vpsc audit export > audit.jsonl")]
    Export,
}

/// Circuit breaker actions.
#[derive(Debug, Subcommand)]
pub enum BreakerAction {
    /// Every breaker: state, recent failures, last error.
    #[command(after_help = "Examples:\n  vpsc breaker status --json")]
    Status,
    /// Close a breaker (or all), forgetting its failures.
    #[command(
        after_help = "Examples:\n  vpsc breaker reset net:deb.debian.org:443\n  vpsc breaker reset"
    )]
    Reset {
        /// Breaker key, e.g. `net:deb.debian.org:443` (default: all).
        key: Option<String>,
    },
}

/// CIS actions.
#[derive(Debug, Subcommand)]
pub enum CisAction {
    /// Judge the system against a CIS benchmark; exit 0 when nothing
    /// fails, 1 when a rule fails, 2 on error.
    #[command(
        after_help = "Examples:\n  vpsc cis scan\n  vpsc cis scan --level 2 --only 5.1.1,5.1.2 --json\n  vpsc cis scan --format junit > cis.xml"
    )]
    Scan {
        /// Which benchmark's rules and IDs.
        #[arg(long, value_enum, default_value_t = BenchmarkArg::Auto)]
        benchmark: BenchmarkArg,
        /// Highest level: 1 or 2.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=2))]
        level: u8,
        /// Which profile of the benchmark.
        #[arg(long, value_enum, default_value_t = ProfileArg::Server)]
        profile: ProfileArg,
        /// Only these rule IDs (comma-separated).
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
        /// Skip these rule IDs (comma-separated).
        #[arg(long, value_delimiter = ',')]
        skip: Vec<String>,
        /// How to print the findings (`--json` for JSON Lines and a
        /// summary line).
        #[arg(long, value_enum, default_value_t = ScanFormat::Table)]
        format: ScanFormat,
        /// Record the outcome in the audit log (the daily timer does).
        #[arg(long)]
        record: bool,
        /// Also write Prometheus metrics to FILE for node-exporter's
        /// textfile collector (skipped when its directory does not exist).
        #[arg(long, value_name = "FILE")]
        textfile: Option<std::path::PathBuf>,
    },
    /// Put right the rules of a level and profile that have a safe
    /// remediation, through the journal; each run replaces the previous
    /// one's selection. Rules waived by the administrator or by an
    /// installed module are left alone.
    #[command(
        after_help = "Examples:\n  vpsc cis remediate --level 1 --dry-run\n  vpsc cis remediate --only 1.1.1.1"
    )]
    Remediate {
        /// Highest level: 1 or 2.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=2))]
        level: u8,
        /// Which profile of the benchmark.
        #[arg(long, value_enum, default_value_t = ProfileArg::Server)]
        profile: ProfileArg,
        /// Only these rule IDs (comma-separated).
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
        /// Show what would change (a diff per file) and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Undo everything `vpsc cis remediate` changed, exactly.
    #[command(after_help = "Examples:\n  vpsc cis revert")]
    Revert,
}

/// `--benchmark` of `cis scan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchmarkArg {
    /// The one of the release in /etc/debian_version.
    Auto,
    /// CIS Debian Linux 12.
    Debian12,
    /// CIS Debian Linux 13.
    Debian13,
}

/// `--profile` of `cis scan` and `cis remediate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProfileArg {
    /// The benchmark's Server profile.
    Server,
    /// The benchmark's Workstation profile.
    Workstation,
}

/// `--format` of `cis scan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScanFormat {
    /// A table for people.
    Table,
    /// JUnit XML, one test case per rule, for CI dashboards.
    Junit,
}
