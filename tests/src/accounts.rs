//! [`Accounts`]: the user and group databases (`/etc/passwd`, `/etc/group`,
//! `/etc/shadow`, `/etc/gshadow`) kept line by line, so that a snapshot
//! difference in them reads as "+ alice:x:1001:…" rather than as two hashes.
//! They are also ordinary files of the snapshot; this only adds readability.

use crate::LineDiff;
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

/// The account files, relative to the root.
const FILES: [&str; 4] = ["etc/passwd", "etc/group", "etc/shadow", "etc/gshadow"];

/// Lines of each account file that exists under a root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accounts {
    files: BTreeMap<&'static str, Vec<String>>,
}

impl Accounts {
    /// Reads the account files under `root`; missing ones are left out.
    pub fn read(root: &Path) -> Accounts {
        let files = FILES
            .into_iter()
            .filter_map(|rel| {
                let text = fs::read_to_string(root.join(rel)).ok()?;
                Some((rel, text.lines().map(str::to_owned).collect()))
            })
            .collect();
        Accounts { files }
    }

    /// The account files from their texts, by path relative to the root.
    pub(crate) fn from_texts(texts: &BTreeMap<String, String>) -> Accounts {
        let files = FILES
            .into_iter()
            .filter_map(|rel| {
                let text = texts.get(rel)?;
                Some((rel, text.lines().map(str::to_owned).collect()))
            })
            .collect();
        Accounts { files }
    }

    /// Lines of `rel` (e.g. `"etc/passwd"`), if it is an account file that existed.
    pub fn lines(&self, rel: &str) -> Option<&[String]> {
        self.files.get(rel).map(Vec::as_slice)
    }

    /// Lines removed from and added to `rel` between `self` and `after`.
    ///
    /// None unless `rel` is an account file present in both. Order within
    /// the files is ignored: each line stands for one user or group.
    pub fn diff(&self, after: &Accounts, rel: &str) -> Option<LineDiff> {
        let (old, new) = (self.lines(rel)?, after.lines(rel)?);
        Some(LineDiff {
            removed: old.iter().filter(|l| !new.contains(l)).cloned().collect(),
            added: new.iter().filter(|l| !old.contains(l)).cloned().collect(),
        })
    }
}
