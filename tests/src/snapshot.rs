//! [`Snapshot`]: type, mode, owner and content digest of every entry in the
//! parts of a root that a package may change and a removal must restore —
//! `/etc` (with enabled units, which are symlinks in `/etc/systemd/system`,
//! and the account files), `/usr`, and dpkg's diversion and statoverride
//! databases.
//!
//! Invariants: symlinks are recorded, never followed; nothing in scope is
//! skipped, so a difference can only be ignored through an [`AllowRule`]
//! that states its reason.

use crate::{Accounts, AllowRule, Change};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::{self, File, Metadata};
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

/// What a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Regular file.
    File,
    /// Directory.
    Dir,
    /// Symbolic link.
    Symlink,
    /// Named pipe.
    Fifo,
    /// Unix socket.
    Socket,
    /// Character device.
    CharDevice,
    /// Block device.
    BlockDevice,
}

/// What an entry holds, as far as the snapshot compares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// Directories, pipes and sockets: only type, mode and owner count.
    None,
    /// SHA-256 of a regular file, in lower-case hex.
    Sha256(String),
    /// Target of a symlink, as written (not followed).
    Target(String),
    /// Device number of a device node.
    Device(u64),
}

/// One recorded path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// File type.
    pub kind: Kind,
    /// Permission bits including setuid, setgid and sticky (`mode & 0o7777`).
    pub mode: u32,
    /// Owner uid, numeric as in the chroot.
    pub uid: u32,
    /// Owner gid, numeric as in the chroot.
    pub gid: u32,
    /// Digest, link target or device number.
    pub content: Content,
}

/// The recorded state of a root; compare two with [`Snapshot::diff`].
#[derive(Debug, Clone)]
pub struct Snapshot {
    entries: BTreeMap<String, Entry>,
    accounts: Accounts,
}

impl Snapshot {
    /// What is recorded, relative to the root: whole trees or single files.
    pub const SCOPE: &'static [&'static str] = &[
        "etc",
        "usr",
        "var/lib/dpkg/diversions",
        "var/lib/dpkg/statoverride",
    ];

    /// Records every entry of [`Snapshot::SCOPE`] under `root`.
    pub fn take(root: &Path) -> Snapshot {
        Snapshot::take_also(root, &[])
    }

    /// Records [`Snapshot::SCOPE`] and the trees `extra` (e.g. `"home"`).
    pub fn take_also(root: &Path, extra: &[&str]) -> Snapshot {
        let mut entries = BTreeMap::new();
        for rel in Self::SCOPE.iter().chain(extra) {
            record(root, rel, &mut entries)
                .unwrap_or_else(|e| panic!("snapshot of {}: {e}", root.join(rel).display()));
        }
        Snapshot {
            entries,
            accounts: Accounts::read(root),
        }
    }

    /// A snapshot recorded elsewhere (inside a booted guest), from its parts.
    pub(crate) fn from_parts(entries: BTreeMap<String, Entry>, accounts: Accounts) -> Snapshot {
        Snapshot { entries, accounts }
    }

    /// All recorded entries, by path relative to the root (`"etc/passwd"`).
    pub fn entries(&self) -> &BTreeMap<String, Entry> {
        &self.entries
    }

    /// The entry at `rel`, with or without a leading `/`.
    pub fn get(&self, rel: &str) -> Option<&Entry> {
        self.entries.get(rel.trim_start_matches('/'))
    }

    /// The account files, line by line.
    pub fn accounts(&self) -> &Accounts {
        &self.accounts
    }

    /// The names of the accounts added to `rel` (`etc/passwd`,
    /// `etc/group`) from this snapshot to `after`; none may be removed.
    fn added_accounts(&self, after: &Snapshot, rel: &str) -> std::collections::BTreeSet<String> {
        let diff = self
            .accounts()
            .diff(after.accounts(), rel)
            .unwrap_or_else(|| panic!("{rel} missing"));
        assert!(diff.removed.is_empty(), "{rel} lost {:?}", diff.removed);
        diff.added
            .iter()
            .filter_map(|l| l.split(':').next())
            .map(str::to_owned)
            .collect()
    }

    /// Requires that `after`, the host after `vpsc rollback`, equals this
    /// snapshot up to `allow` and the account files, and that the only
    /// accounts added are the system users and groups the rollback's
    /// `--json` report lists as Debian's leftovers (`report["leftovers"]`);
    /// returns them (users, groups).
    pub fn assert_rolled_back(
        &self,
        after: &Snapshot,
        report: &serde_json::Value,
        allow: &[AllowRule],
    ) -> (
        std::collections::BTreeSet<String>,
        std::collections::BTreeSet<String>,
    ) {
        let left = self.assert_accounts_left(after, report);
        let allow: Vec<AllowRule> = ACCOUNT_FILES.iter().chain(allow).copied().collect();
        self.assert_same(after, &allow);
        left
    }

    /// The accounts added to this snapshot in `after`, which must be those
    /// the rollback's report lists.
    fn assert_accounts_left(
        &self,
        after: &Snapshot,
        report: &serde_json::Value,
    ) -> (
        std::collections::BTreeSet<String>,
        std::collections::BTreeSet<String>,
    ) {
        let listed = |kind: &str| -> std::collections::BTreeSet<String> {
            report["leftovers"]
                .as_array()
                .unwrap_or_else(|| panic!("no leftovers in the rollback's report: {report}"))
                .iter()
                .filter(|l| l["kind"] == kind)
                .filter_map(|l| l["name"].as_str().map(str::to_owned))
                .collect()
        };
        let users = self.added_accounts(after, "etc/passwd");
        let groups = self.added_accounts(after, "etc/group");
        assert_eq!(users, listed("user"), "users left behind: {report}");
        assert_eq!(groups, listed("group"), "groups left behind: {report}");
        (users, groups)
    }

    /// Changes from `self` to `after`, sorted by path, minus those `allow` accepts.
    pub fn diff(&self, after: &Snapshot, allow: &[AllowRule]) -> Vec<Change> {
        let mut paths: Vec<&String> = self.entries.keys().chain(after.entries.keys()).collect();
        paths.sort();
        paths.dedup();
        paths
            .into_iter()
            .filter(|path| !allow.iter().any(|rule| rule.matches(path)))
            .filter_map(
                |path| match (self.entries.get(path), after.entries.get(path)) {
                    (Some(before), Some(now)) if before == now => None,
                    (Some(before), Some(now)) => Some(Change::Modified {
                        path: path.clone(),
                        before: before.clone(),
                        after: now.clone(),
                        lines: self.accounts.diff(&after.accounts, path),
                    }),
                    (Some(before), None) => Some(Change::Removed {
                        path: path.clone(),
                        entry: before.clone(),
                    }),
                    (None, Some(now)) => Some(Change::Added {
                        path: path.clone(),
                        entry: now.clone(),
                    }),
                    (None, None) => None,
                },
            )
            .collect()
    }

    /// Panics, listing every change, unless `after` equals `self` up to `allow`.
    pub fn assert_same(&self, after: &Snapshot, allow: &[AllowRule]) {
        let changes = self.diff(after, allow);
        if !changes.is_empty() {
            let listing: Vec<String> = changes.iter().map(|c| format!("  {c}")).collect();
            panic!(
                "{} unexpected change(s) between snapshots:\n{}",
                changes.len(),
                listing.join("\n")
            );
        }
    }
}

/// The account files, which a rollback leaves changed by the system users
/// and groups Debian's packages keep on purge; [`Snapshot::assert_rolled_back`]
/// compares those with the rollback's report before it allows these.
const ACCOUNT_FILES: &[AllowRule] = &[
    AllowRule::new(
        "etc/passwd",
        "system users Debian packages keep on purge; compared with the rollback's list",
    ),
    AllowRule::new("etc/shadow", "their shadow entries"),
    AllowRule::new(
        "etc/group",
        "system groups Debian packages keep on purge; compared with the rollback's list",
    ),
    AllowRule::new("etc/gshadow", "their gshadow entries"),
    AllowRule::new("etc/*-", "shadow-utils' backups of the account files"),
];

/// Records `rel` and, if it is a real directory, everything below it.
fn record(root: &Path, rel: &str, entries: &mut BTreeMap<String, Entry>) -> io::Result<()> {
    let path = root.join(rel);
    let meta = match fs::symlink_metadata(&path) {
        Ok(meta) => meta,
        // An absent file (say, no statoverride yet) is part of the state:
        // its later appearance shows up as Added.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let entry = entry(&path, &meta)?;
    let is_dir = entry.kind == Kind::Dir;
    entries.insert(rel.to_owned(), entry);
    if is_dir {
        for child in fs::read_dir(&path)? {
            let name = child?.file_name();
            // Lossy only for names that are not UTF-8, which Debian
            // packages do not ship (lintian: file-name-is-not-valid-UTF-8).
            let child_rel = format!("{rel}/{}", name.to_string_lossy());
            record(root, &child_rel, entries)?;
        }
    }
    Ok(())
}

fn entry(path: &Path, meta: &Metadata) -> io::Result<Entry> {
    let file_type = meta.file_type();
    let (kind, content) = if file_type.is_symlink() {
        let target = fs::read_link(path)?;
        (
            Kind::Symlink,
            Content::Target(target.to_string_lossy().into_owned()),
        )
    } else if file_type.is_dir() {
        (Kind::Dir, Content::None)
    } else if file_type.is_file() {
        (Kind::File, Content::Sha256(sha256(path)?))
    } else if file_type.is_fifo() {
        (Kind::Fifo, Content::None)
    } else if file_type.is_socket() {
        (Kind::Socket, Content::None)
    } else if file_type.is_char_device() {
        (Kind::CharDevice, Content::Device(meta.rdev()))
    } else {
        (Kind::BlockDevice, Content::Device(meta.rdev()))
    };
    Ok(Entry {
        kind,
        mode: meta.mode() & 0o7777,
        uid: meta.uid(),
        gid: meta.gid(),
        content,
    })
}

fn sha256(path: &Path) -> io::Result<String> {
    let mut hasher = Sha256::new();
    io::copy(&mut File::open(path)?, &mut hasher)?;
    let mut hex = String::with_capacity(64);
    for byte in hasher.finalize() {
        write!(hex, "{byte:02x}").expect("writing to a String cannot fail");
    }
    Ok(hex)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{PermissionsExt, symlink};

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::create_dir_all(dir.path().join("etc/systemd/system")).expect("mkdir");
        let passwd = dir.path().join("etc/passwd");
        fs::write(&passwd, "root:x:0:0::/root:/bin/sh\n").expect("write");
        // Explicit, so the expected mode below does not depend on the umask.
        fs::set_permissions(&passwd, fs::Permissions::from_mode(0o644)).expect("chmod");
        dir
    }

    #[test]
    fn unchanged_tree_has_no_changes() {
        let dir = tree();
        let before = Snapshot::take(dir.path());
        assert!(before.diff(&Snapshot::take(dir.path()), &[]).is_empty());
    }

    #[test]
    fn enabled_unit_symlink_is_added_not_followed() {
        let dir = tree();
        let before = Snapshot::take(dir.path());
        let link = dir.path().join("etc/systemd/system/x.service");
        symlink("/usr/lib/systemd/system/x.service", link).expect("symlink");
        let changes = before.diff(&Snapshot::take(dir.path()), &[]);
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!(
            changes[0].to_string(),
            "added    /etc/systemd/system/x.service  \
             (symlink 0777 0:0 -> /usr/lib/systemd/system/x.service)"
                .replace("0:0", &owner(dir.path())),
        );
    }

    #[test]
    fn mode_change_and_account_lines_are_shown() {
        let dir = tree();
        let before = Snapshot::take(dir.path());
        let passwd = dir.path().join("etc/passwd");
        fs::write(
            &passwd,
            "root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n",
        )
        .expect("write");
        fs::set_permissions(&passwd, fs::Permissions::from_mode(0o600)).expect("chmod");
        let changes = before.diff(&Snapshot::take(dir.path()), &[]);
        let shown = changes[0].to_string();
        assert!(
            shown.starts_with("modified /etc/passwd  (mode 0644 → 0600, sha256:"),
            "{shown}"
        );
        assert!(
            shown.ends_with("\n    + alice:x:1000:1000::/home/alice:/bin/sh"),
            "{shown}"
        );
    }

    #[test]
    fn allow_rule_hides_only_what_it_names() {
        let dir = tree();
        let before = Snapshot::take(dir.path());
        fs::write(dir.path().join("etc/ld.so.cache"), "x").expect("write");
        fs::write(dir.path().join("etc/other"), "x").expect("write");
        let allow = [AllowRule::new("etc/ld.so.cache", "test")];
        let changes = before.diff(&Snapshot::take(dir.path()), &allow);
        let paths: Vec<&str> = changes.iter().map(Change::path).collect();
        assert_eq!(paths, ["etc/other"]);
    }

    /// uid:gid of files the test creates (root in CI, anyone elsewhere).
    fn owner(dir: &Path) -> String {
        let meta = fs::metadata(dir).expect("stat");
        format!("{}:{}", meta.uid(), meta.gid())
    }
}
