//! Role-based access control: the roles file of vpsc-mod-rbac (roles with
//! inheritance, permissions written `scope:resource:action`, sudo rules),
//! the least-privilege judgment of those rules, and permission checks.
//!
//! The file is data: `/etc/vpsc/rbac/roles.yaml` when the host has one,
//! else `/usr/share/vpsc/rbac/roles.yaml` as the package installs it. A
//! file that fails validation is refused whole, never used in part.

pub mod permission;
pub mod privilege;
pub mod roles;

pub use permission::Permission;
pub use roles::{ResolvedRole, Roles};
