//! Command-line interface of `vpsc-user`; doc comments are the help text.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Onboard and offboard people: accounts, roles, SSH keys, TOTP, teams.
/// Every change is recorded in the audit log, and a failed change is
/// undone.
#[derive(Debug, Parser)]
#[command(name = "vpsc-user", version = crate::fault::VERSION, about, long_about = None)]
#[command(
    after_help = "Examples:\n  vpsc-user create ada --full-name \"Ada Lovelace\" --email ada@example.org --role admin --ssh-key ada.pub\n  vpsc-user list"
)]
pub struct UserCli {
    /// Operate on this root directory instead of / (as `useradd --root`).
    #[arg(long, global = true, value_name = "DIR")]
    pub root: Option<PathBuf>,

    /// Print machine-readable JSON on stdout.
    #[arg(long, global = true)]
    pub json: bool,

    /// What to do.
    #[command(subcommand)]
    pub command: UserCommand,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Onboard a person: account, role groups and sudo rules, SSH key,
    /// TOTP, expiry, teams and git identity.
    #[command(
        after_help = "Examples:\n  vpsc-user create ada --full-name \"Ada Lovelace\" --email ada@example.org --role admin --ssh-key ada.pub --enable-2fa\n  vpsc-user create bob --full-name \"Bob Smith\" --email bob@example.org --role developer --generate-ssh-key --expires 90d --dry-run"
    )]
    Create {
        /// Login name (lowercase, starts with a letter, at most 32 characters).
        name: String,
        /// Full name, for GECOS and git.
        #[arg(long)]
        full_name: String,
        /// Email address, for git and the record.
        #[arg(long)]
        email: String,
        /// Role from the roles file (`vpsc rbac roles` lists them).
        #[arg(long)]
        role: String,
        /// Team to join (repeatable).
        #[arg(long = "team", value_name = "T")]
        teams: Vec<String>,
        /// The person's OpenSSH public key file.
        #[arg(long, value_name = "FILE", conflicts_with = "generate_ssh_key")]
        ssh_key: Option<PathBuf>,
        /// Generate an ed25519 key pair and print the private key once.
        #[arg(long)]
        generate_ssh_key: bool,
        /// Set up a TOTP second factor (libpam-google-authenticator format).
        #[arg(long)]
        enable_2fa: bool,
        /// When the account expires: YYYY-MM-DD or a duration (90d, 12w).
        #[arg(long, value_name = "DATE|DURATION")]
        expires: Option<String>,
        /// Login shell (from /etc/shells; default /bin/bash).
        #[arg(long, value_name = "PATH")]
        shell: Option<String>,
        /// Check everything and show the steps; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Offboard a person: lock, end sessions, remove sudo rules and
    /// group memberships; the UID is never reused.
    #[command(after_help = "Examples:\n  vpsc-user delete bob --archive")]
    Delete {
        /// Login name.
        name: String,
        /// Pack the home into a root-only archive under /var/lib/vpsc-archive and remove it.
        #[arg(long)]
        archive: bool,
    },
    /// List onboarded users.
    #[command(after_help = "Examples:\n  vpsc-user list --json")]
    List,
    /// Show one user: roles, grants, groups, keys, status.
    #[command(after_help = "Examples:\n  vpsc-user show ada")]
    Show {
        /// Login name.
        name: String,
    },
    /// Lock an account (password and SSH keys).
    #[command(after_help = "Examples:\n  vpsc-user lock bob")]
    Lock {
        /// Login name.
        name: String,
    },
    /// Unlock an account.
    #[command(after_help = "Examples:\n  vpsc-user unlock bob")]
    Unlock {
        /// Login name.
        name: String,
    },
    /// Assign or revoke lasting roles.
    #[command(after_help = "Examples:\n  vpsc-user role assign bob devops")]
    Role {
        /// assign or revoke.
        #[command(subcommand)]
        action: RoleAction,
    },
    /// Add, rotate or revoke SSH keys.
    #[command(after_help = "Examples:\n  vpsc-user ssh-key rotate ada new.pub")]
    SshKey {
        /// add, rotate or revoke.
        #[command(subcommand)]
        action: KeyAction,
    },
    /// Grant, extend or revoke a role for a limited time.
    #[command(after_help = "Examples:\n  vpsc-user temp-access grant bob --role devops --for 1d")]
    TempAccess {
        /// grant, extend, revoke or sweep.
        #[command(subcommand)]
        action: TempAction,
    },
    /// Teams: a group and a setgid shared folder under /srv/teams.
    #[command(after_help = "Examples:\n  vpsc-user team create web\n  vpsc-user team add web bob")]
    Team {
        /// create, add, remove or list.
        #[command(subcommand)]
        action: TeamAction,
    },
    /// TOTP second factor.
    #[command(name = "2fa")]
    #[command(after_help = "Examples:\n  vpsc-user 2fa enroll ada\n  vpsc-user 2fa enforce")]
    TwoFactor {
        /// enroll, enforce, relax, code or verify.
        #[command(subcommand)]
        action: TwoFactorAction,
    },
    /// Who logged in and did what, read from the systemd journal (sshd,
    /// sudo, su, systemd-logind), per person, with anomalies: a first login
    /// from a new address, a login far outside the person's usual hours,
    /// repeated failures, sudo without a role that grants it, use after a
    /// grant expired.
    #[command(
        after_help = "Examples:\n  vpsc-user activity\n  vpsc-user activity ada --since 2026-12-01 --json\n  vpsc-user activity --record"
    )]
    Activity {
        /// Only this person (login name).
        name: Option<String>,
        /// Only entries at or after this time: Unix seconds (`@N` too),
        /// `YYYY-MM-DD [HH:MM[:SS]]`, now, today, yesterday, or an age such
        /// as `-7d` or `2 hours ago` (default: 7 days ago).
        #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
        since: Option<String>,
        /// Read this journal file instead of the system journal (as
        /// `journalctl --file`).
        #[arg(long, value_name = "FILE")]
        file: Vec<PathBuf>,
        /// Record new anomalies in the audit log and write the activity
        /// metrics (the metrics timer does).
        #[arg(long)]
        record: bool,
    },
}

/// Role actions.
#[derive(Debug, Subcommand)]
pub enum RoleAction {
    /// Give a user a role.
    #[command(after_help = "Examples:\n  vpsc-user role assign bob devops")]
    Assign {
        /// Login name.
        name: String,
        /// Role.
        role: String,
    },
    /// Take a role from a user.
    #[command(after_help = "Examples:\n  vpsc-user role revoke bob devops")]
    Revoke {
        /// Login name.
        name: String,
        /// Role.
        role: String,
    },
}

/// SSH key actions.
#[derive(Debug, Subcommand)]
pub enum KeyAction {
    /// Authorize another key.
    #[command(after_help = "Examples:\n  vpsc-user ssh-key add ada laptop.pub")]
    Add {
        /// Login name.
        name: String,
        /// Public key file.
        file: PathBuf,
    },
    /// Authorize a new key; older keys keep working for the grace period.
    #[command(after_help = "Examples:\n  vpsc-user ssh-key rotate ada new.pub --grace 3d")]
    Rotate {
        /// Login name.
        name: String,
        /// The new public key file.
        file: PathBuf,
        /// How long older keys still work (e.g. 7d).
        #[arg(long, default_value = "7d")]
        grace: String,
    },
    /// Revoke a key at once.
    #[command(
        after_help = "Examples:\n  vpsc-user ssh-key revoke ada SHA256:Qz4y0bTt3kDuFjHPnsAd2C3hV3CAXJaZ1ZGn8DoGEXM"
    )]
    Revoke {
        /// Login name.
        name: String,
        /// Its fingerprint (`SHA256:…`).
        fingerprint: String,
    },
}

/// Temporary access actions.
#[derive(Debug, Subcommand)]
pub enum TempAction {
    /// Grant a role until a time; sudo itself refuses its rules afterwards.
    #[command(
        after_help = "Examples:\n  vpsc-user temp-access grant bob --role devops --for 4h\n  vpsc-user temp-access grant bob --role admin --for 2026-12-24"
    )]
    Grant {
        /// Login name.
        name: String,
        /// Role.
        #[arg(long)]
        role: String,
        /// For how long (e.g. 4h, 2d) or until YYYY-MM-DD.
        #[arg(long = "for", value_name = "DURATION|DATE")]
        duration: String,
    },
    /// Extend a grant.
    #[command(after_help = "Examples:\n  vpsc-user temp-access extend bob --role devops --for 1d")]
    Extend {
        /// Login name.
        name: String,
        /// Role.
        #[arg(long)]
        role: String,
        /// New length from now, or until YYYY-MM-DD.
        #[arg(long = "for", value_name = "DURATION|DATE")]
        duration: String,
    },
    /// End a grant now.
    #[command(after_help = "Examples:\n  vpsc-user temp-access revoke bob --role devops")]
    Revoke {
        /// Login name.
        name: String,
        /// Role.
        #[arg(long)]
        role: String,
    },
    /// Remove expired grants and rotated keys (plumbing: the
    /// vpsc-user-sweep timer runs this).
    #[command(hide = true)]
    Sweep,
}

/// Team actions.
#[derive(Debug, Subcommand)]
pub enum TeamAction {
    /// Create a team.
    #[command(after_help = "Examples:\n  vpsc-user team create web")]
    Create {
        /// Team name.
        name: String,
    },
    /// Add a user to a team.
    #[command(after_help = "Examples:\n  vpsc-user team add web bob")]
    Add {
        /// Team name.
        team: String,
        /// Login name.
        user: String,
    },
    /// Remove a user from a team.
    #[command(after_help = "Examples:\n  vpsc-user team remove web bob")]
    Remove {
        /// Team name.
        team: String,
        /// Login name.
        user: String,
    },
    /// List teams and members.
    #[command(after_help = "Examples:\n  vpsc-user team list --json")]
    List,
}

/// TOTP actions.
#[derive(Debug, Subcommand)]
pub enum TwoFactorAction {
    /// Print the user's current TOTP code (root only; for checks).
    #[command(after_help = "Examples:\n  vpsc-user 2fa code ada")]
    Code {
        /// Login name.
        name: String,
        /// At this Unix time instead of now.
        #[arg(long)]
        at: Option<u64>,
    },
    /// Give an onboarded user a (new) TOTP secret; shows it once.
    #[command(after_help = "Examples:\n  vpsc-user 2fa enroll ada")]
    Enroll {
        /// Login name.
        name: String,
    },
    /// Require key plus TOTP code for SSH logins; refused while an
    /// administrator has no working second factor.
    #[command(after_help = "Examples:\n  vpsc-user 2fa enforce")]
    Enforce,
    /// Stop requiring the code (restores sshd's PAM file exactly).
    #[command(after_help = "Examples:\n  vpsc-user 2fa relax")]
    Relax,
    /// Exit 0 if CODE is valid for the user now (±1 step), else 1.
    #[command(after_help = "Examples:\n  vpsc-user 2fa verify ada 123456")]
    Verify {
        /// Login name.
        name: String,
        /// The code.
        code: String,
    },
}
