//! The apt repository (docs/packaging.md §5): its indices, the pool they are
//! built from, signing, the stateless publisher and a verifier that checks
//! a published tree as apt would.

pub mod bump;
pub mod index;
pub mod init;
pub mod pool;
pub mod publish;
pub mod sign;
pub mod verify;

pub use index::{IndexFile, PoolEntry, indices};
