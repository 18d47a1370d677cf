//! vpsc runtime: the `vpsc` and `vpsc-user` commands, called by the
//! maintainer scripts of the vpsc-mod-* packages and by administrators.
//! Arguments, output and exit codes live here; the work is done by the
//! layers below, re-exported under their old paths:
//!
//! - [`vpsc_contract`]: the plan format shared with the generator;
//! - [`vpsc_engine`]: state, journal, effects, converge, audit, breakers;
//! - [`vpsc_cis`] and [`vpsc_users`] on top of the engine.

pub mod cli;
pub mod cli_user;
pub mod commands;

pub use vpsc_cis as cis;
pub use vpsc_contract::{names, param_types, plan, render};
pub use vpsc_engine::{
    Error, Result, VERSION, accounts, aptlog, audit, breaker, checks, config, confined, converge,
    dates, drift, effects, error, fault, hooks, localtime, rollback, root, site, sockets, state,
};
pub use vpsc_users as users;
pub use vpsc_users::rbac;

pub use vpsc_observe as observe;

/// Where vpsc writes its Prometheus textfiles: the directory of Debian's
/// node-exporter textfile collector, which the monitoring module points
/// node-exporter at.
pub const METRICS_DIR: &str = "/var/lib/prometheus/node-exporter";
