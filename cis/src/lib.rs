//! CIS benchmark scanning: rules are data (`profiles/cis/*.yaml`, compiled
//! into the runtime), each with the IDs it has in each benchmark, its
//! levels, and one typed check that judges the effective configuration
//! (sshd as `sshd -T` would see it, sysctl across every sysctl.d
//! directory, kernel modules across every modprobe.d directory, journald
//! across its drop-ins, the audit rules augenrules loads), not the text of
//! one file.
//!
//! The modules form layers: [`verdict`], [`facts`] and [`check`] at the
//! bottom; one module per configuration a check reads (sshd, pam,
//! journald, ...), each defining its check kinds; [`checks`] naming every
//! kind for the rule files; [`rule`], [`scan`] and [`remedy`] on top. No
//! module imports one above it.

pub mod accounts;
pub mod aide;
pub mod audit_rules;
pub mod auditctl;
pub mod auditd;
pub mod augenrules;
pub mod check;
pub mod checks;
pub mod cmdline;
pub mod cron;
pub mod dconf;
pub mod facts;
pub mod files;
pub mod firewall;
pub mod host;
pub mod journald;
pub mod logfiles;
pub mod logindefs;
pub mod modprobe;
pub mod mounts;
pub mod packages;
pub mod pam;
pub mod paths;
pub mod remedy;
pub mod rsyslog;
pub mod rule;
pub mod scan;
pub mod shell;
pub mod sshd;
pub mod sudoers;
pub mod sysctl;
pub mod timesync;
pub mod units;
pub mod verdict;
pub mod walk;

pub use checks::CisCheck;
pub use paths::{dir_files, expand};
pub use rule::{Rule, benchmark_of, rules};

pub use vpsc_contract::cis::{Benchmark, Levels, Profile};
