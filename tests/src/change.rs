//! [`Change`]: one difference between two snapshots, displayed for the
//! person reading a failed assertion: what path, what it was, what it became.

use crate::{Content, Entry, Kind};
use std::fmt;

/// One path that differs between two snapshots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Present only in the later snapshot.
    Added {
        /// Path relative to the snapshot root.
        path: String,
        /// What appeared.
        entry: Entry,
    },
    /// Present only in the earlier snapshot.
    Removed {
        /// Path relative to the snapshot root.
        path: String,
        /// What disappeared.
        entry: Entry,
    },
    /// Present in both, with a different type, mode, owner or content.
    Modified {
        /// Path relative to the snapshot root.
        path: String,
        /// The entry before.
        before: Entry,
        /// The entry after.
        after: Entry,
        /// Line changes, for the account files (`/etc/passwd` and friends).
        lines: Option<LineDiff>,
    },
}

/// Lines that left and lines that appeared in a text file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineDiff {
    /// Lines only in the earlier version.
    pub removed: Vec<String>,
    /// Lines only in the later version.
    pub added: Vec<String>,
}

impl Change {
    /// The path that changed, relative to the snapshot root.
    pub fn path(&self) -> &str {
        match self {
            Change::Added { path, .. } | Change::Removed { path, .. } => path,
            Change::Modified { path, .. } => path,
        }
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Added { path, entry } => write!(f, "added    /{path}  ({entry})"),
            Change::Removed { path, entry } => write!(f, "removed  /{path}  ({entry})"),
            Change::Modified {
                path,
                before,
                after,
                lines,
            } => {
                write!(f, "modified /{path}  ")?;
                let mut parts = Vec::new();
                if before.kind != after.kind {
                    parts.push(format!("type {} → {}", before.kind, after.kind));
                }
                if before.mode != after.mode {
                    parts.push(format!("mode {:04o} → {:04o}", before.mode, after.mode));
                }
                if (before.uid, before.gid) != (after.uid, after.gid) {
                    parts.push(format!(
                        "owner {}:{} → {}:{}",
                        before.uid, before.gid, after.uid, after.gid
                    ));
                }
                if before.content != after.content {
                    parts.push(format!("{} → {}", before.content, after.content));
                }
                write!(f, "({})", parts.join(", "))?;
                for line in lines.iter().flat_map(|l| &l.removed) {
                    write!(f, "\n    - {line}")?;
                }
                for line in lines.iter().flat_map(|l| &l.added) {
                    write!(f, "\n    + {line}")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {:04o} {}:{}",
            self.kind, self.mode, self.uid, self.gid
        )?;
        match self.content {
            Content::None => Ok(()),
            _ => write!(f, " {}", self.content),
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::File => "file",
            Kind::Dir => "dir",
            Kind::Symlink => "symlink",
            Kind::Fifo => "fifo",
            Kind::Socket => "socket",
            Kind::CharDevice => "char-device",
            Kind::BlockDevice => "block-device",
        })
    }
}

impl fmt::Display for Content {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Content::None => f.write_str("-"),
            // 16 hex digits tell versions apart for a reader; equality
            // is decided on the full digest.
            Content::Sha256(hex) => write!(f, "sha256:{}", &hex[..16.min(hex.len())]),
            Content::Target(target) => write!(f, "-> {target}"),
            Content::Device(rdev) => write!(f, "rdev {rdev:#x}"),
        }
    }
}
