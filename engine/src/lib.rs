//! vpsc's engine: the one state database, the write-ahead journal, the
//! effects it applies and undoes, converge, the audit log, the breakers
//! and the administrator's hooks, on a confined view of a root tree. It
//! knows no capability above it (CIS, people): what they need from it
//! arrives as plan effects, an [`converge::Expand`] hook, or their own
//! tables in the state database ([`state::Tables`]).

pub mod accounts;
pub mod aptlog;
pub mod audit;
pub mod breaker;
pub mod checks;
pub mod config;
pub mod confined;
pub mod converge;
pub mod dates;
pub mod drift;
pub mod effects;
pub mod error;
pub mod fault;
pub mod hooks;
pub mod localtime;
pub mod rollback;
pub mod root;
pub mod site;
pub mod sockets;
pub mod state;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use error::{Error, Result};

/// Version of this runtime (module packages depend on what their plan
/// needs, see [`vpsc_contract::plan::Plan::runtime_needed`]).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
