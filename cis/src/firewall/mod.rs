//! Host firewall facts for CIS section 4: which utility is in use (ufw,
//! nftables, iptables-persistent) from packages and unit enablement, the
//! nftables ruleset the system really gets, ufw's files and the
//! iptables-save files iptables-persistent restores. Nothing here loads a
//! rule into the host: the persisted nftables configuration is loaded only
//! inside a fresh network namespace (`unshare --net`), which vanishes with
//! the process.

pub mod iptables;
pub mod nft;
pub mod ufw;
pub mod utility;

pub use iptables::Family;
pub use nft::{Nft, NftProperty};
pub use ufw::Direction;
pub use utility::{Utility, in_use};
