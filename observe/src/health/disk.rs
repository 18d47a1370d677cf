//! Block and inode use of `/` and `/var`, by statvfs(2).

use serde::Serialize;
use vpsc_engine::root::Root;

/// One filesystem's use.
#[derive(Debug, Clone, Serialize)]
pub struct Usage {
    /// The mount point as the system sees it: `/` or `/var`.
    pub mount: String,
    /// Size in bytes.
    pub size_bytes: u64,
    /// Bytes available to unprivileged users.
    pub avail_bytes: u64,
    /// Inodes in all.
    pub inodes: u64,
    /// Inodes free.
    pub inodes_free: u64,
}

impl Usage {
    /// Share of blocks in use, as df(1) counts it (reserved blocks are used).
    pub fn blocks_used_ratio(&self) -> f64 {
        ratio(
            self.size_bytes - self.avail_bytes.min(self.size_bytes),
            self.size_bytes,
        )
    }

    /// Share of inodes in use; 0 on filesystems without a fixed count.
    pub fn inodes_used_ratio(&self) -> f64 {
        ratio(self.inodes - self.inodes_free.min(self.inodes), self.inodes)
    }
}

fn ratio(used: u64, all: u64) -> f64 {
    if all == 0 {
        0.0
    } else {
        used as f64 / all as f64
    }
}

/// `/` and `/var` (both, even when one filesystem holds both, so a
/// dashboard always finds both).
pub fn usage(root: &Root) -> Vec<Usage> {
    let mut out: Vec<Usage> = Vec::new();
    for mount in ["/", "/var"] {
        let path = root.path(mount);
        let st = match nix::sys::statvfs::statvfs(&path) {
            Ok(st) => st,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot statvfs");
                continue;
            }
        };
        let frag = st.fragment_size() as u64;
        out.push(Usage {
            mount: mount.to_owned(),
            size_bytes: st.blocks() as u64 * frag,
            avail_bytes: st.blocks_available() as u64 * frag,
            inodes: st.files() as u64,
            inodes_free: st.files_free() as u64,
        });
    }
    out
}
