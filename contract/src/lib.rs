//! The contract between vpsc's generator and its runtime: the plan format a
//! module package carries, the names both sides accept, the rendering of
//! templates and parameters, and the identities of the CIS rules. Nothing
//! here touches a system: no database, no system calls.

pub mod cis;
mod invalid;
pub mod names;
pub mod param_types;
pub mod plan;
pub mod render;

pub use invalid::Invalid;
