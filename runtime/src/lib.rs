//! vpsc runtime: journalled, reversible configure and verify steps for the
//! vpsc-mod-* packages, called from their maintainer scripts.
//!
//! The plan format in [`plan`] is shared with the generator (`vpsc-gen`),
//! which validates with the same code before it builds a package.

pub mod accounts;
pub mod aptlog;
pub mod audit;
pub mod breaker;
pub mod checks;
pub mod cis;
pub mod cli;
pub mod cli_user;
pub mod commands;
pub mod config;
pub mod confined;
pub mod converge;
pub mod dates;
pub mod effects;
pub mod error;
pub mod fault;
pub mod hooks;
pub mod localtime;
pub mod names;
pub mod param_types;
pub mod plan;
pub mod rbac;
pub mod render;
pub mod rollback;
pub mod root;
pub mod site;
pub mod sockets;
pub mod state;
#[cfg(test)]
pub(crate) mod testing;
pub mod users;

pub use error::{Error, Result};

/// Version of this runtime (module packages depend on what their plan
/// needs, see [`plan::Plan::runtime_needed`]).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
