//! What packages claim of `/etc`, for the guard of [`super::collateral`]:
//! the paths of their file lists (dpkg's `info/*.list`), the links of
//! their alternatives, what their tmpfiles.d files declare, and the paths
//! their maintainer scripts name.
//!
//! Birth times alone do not tell the host's files from the purge's: a
//! package that stays rewrites its own files while vpsc's packages are
//! installed (pam-auth-update the `common-*` files, libc-bin's trigger
//! `ld.so.cache`, adduser the account files), so they are newer than
//! vpsc's first transaction, yet no purged package created them; and a
//! purged package's postinst may recreate a link the host had (locales'
//! `ln -sfr` of a dangling `/etc/default/locale`), so the link is newer
//! though the host declared it (systemd's tmpfiles.d).

use std::collections::{BTreeMap, BTreeSet};

use super::Packages;
use super::collateral::Kind;
use crate::root::Root;

/// The tree the claims are about.
pub const WATCHED: &str = "/etc";

/// The account database: what the purge leaves in it is listed as the
/// rollback's leftover users and groups, and the shadow tools rewrite it
/// (and its `-` backups) whenever an account changes.
pub const ACCOUNT_FILES: &[&str] = &[
    "/etc/passwd",
    "/etc/group",
    "/etc/shadow",
    "/etc/gshadow",
    "/etc/subuid",
    "/etc/subgid",
];

/// Maintainer scripts and other control files whose text names paths.
const SCRIPTS: &[&str] = &[
    "preinst", "postinst", "prerm", "postrm", "config", "triggers",
];

/// What systemd-tmpfiles makes at a path (tmpfiles.d(5)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    /// What it makes.
    pub kind: Kind,
    /// For a link, its target.
    pub target: Option<String>,
}

/// What a set of packages claims of [`WATCHED`].
#[derive(Debug, Clone, Default)]
pub struct Claims {
    /// Paths of their file lists.
    pub listed: BTreeSet<String>,
    /// Paths their tmpfiles.d files declare, and how.
    pub declared: BTreeMap<String, Declared>,
    /// Links of their alternatives (`/etc/alternatives/NAME`, and any
    /// link under /etc).
    pub alternatives: BTreeSet<String>,
    /// The texts of their maintainer scripts.
    pub scripts: Vec<String>,
}

impl Claims {
    /// The claims of the installed packages `keys` of `db`; with
    /// `scripts`, their maintainer scripts are read too.
    pub fn read<'a>(
        root: &Root,
        db: &Packages,
        keys: impl Iterator<Item = &'a String>,
        scripts: bool,
    ) -> Claims {
        let mut claims = Claims::default();
        for key in keys {
            for path in db.file_list(root, key) {
                if is_tmpfiles_conf(&path) {
                    let text = root.read_to_string(&path).unwrap_or_default();
                    claims.declared.extend(tmpfiles(&text));
                }
                if under_watched(&path) {
                    claims.listed.insert(path);
                }
            }
            if scripts {
                claims
                    .scripts
                    .extend(SCRIPTS.iter().filter_map(|s| db.info_text(root, key, s)));
            }
        }
        claims.declared.retain(|p, _| under_watched(p));
        claims
    }

    /// Adds the alternatives update-alternatives(1) keeps in
    /// `/var/lib/dpkg/alternatives` (those of the installed packages).
    pub fn with_alternatives(mut self, root: &Root) -> Claims {
        const ADMIN: &str = "/var/lib/dpkg/alternatives";
        for name in root.read_dir_names(ADMIN).unwrap_or_default() {
            let text = root
                .read_to_string(&format!("{ADMIN}/{name}"))
                .unwrap_or_default();
            self.alternatives
                .insert(format!("/etc/alternatives/{name}"));
            // Status, master link, then slave name and link pairs up to a
            // blank line (the choices follow).
            let mut lines = text.lines().skip(1);
            self.alternatives.extend(lines.next().map(str::to_owned));
            while let (Some(slave), Some(link)) = (lines.next(), lines.next()) {
                if slave.is_empty() {
                    break;
                }
                self.alternatives
                    .insert(format!("/etc/alternatives/{slave}"));
                self.alternatives.insert(link.to_owned());
            }
        }
        self.alternatives.retain(|p| under_watched(p));
        self
    }

    /// Whether these packages manage `path`, and how, for the report of
    /// what is left: listed, an alternative, declared in tmpfiles.d, an
    /// account file, or named by a maintainer script (a package that
    /// rewrote its own file, not one that a purged package created).
    pub fn manage(&self, path: &str) -> bool {
        let account = ACCOUNT_FILES
            .iter()
            .any(|a| path == *a || path.strip_suffix('-') == Some(a));
        self.listed.contains(path)
            || self.alternatives.contains(path)
            || self.declared.contains_key(path)
            || account
            || self.scripts.iter().any(|t| t.contains(path))
    }
}

/// What the packages `purge` remove by dpkg's own rules: the paths their
/// lists name that no package staying (in `staying`) lists too.
pub fn owned_by_purge(
    root: &Root,
    db: &Packages,
    purge: &BTreeSet<String>,
    staying: &Claims,
) -> BTreeSet<String> {
    Claims::read(root, db, purge.iter(), false)
        .listed
        .difference(&staying.listed)
        .cloned()
        .collect()
}

/// Whether `path` is [`WATCHED`] or below it.
pub fn under_watched(path: &str) -> bool {
    path == WATCHED || path.starts_with(&format!("{WATCHED}/"))
}

/// Whether `path` is a packaged tmpfiles.d file.
fn is_tmpfiles_conf(path: &str) -> bool {
    ["/usr/lib/tmpfiles.d/", "/lib/tmpfiles.d/"]
        .iter()
        .any(|d| {
            path.strip_prefix(d)
                .is_some_and(|n| n.ends_with(".conf") && !n.contains('/'))
        })
}

/// The paths a tmpfiles.d file makes: `Type Path Mode User Group Age
/// Argument` lines of the creating types. Paths with specifiers (`%`) or
/// quotes are skipped: their expansion is systemd-tmpfiles' own.
pub fn tmpfiles(text: &str) -> Vec<(String, Declared)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(kind), Some(path)) = (fields.first(), fields.get(1)) else {
            continue;
        };
        if kind.starts_with('#') || !path.starts_with('/') || path.contains(['%', '"', '\'']) {
            continue;
        }
        let made = match kind.chars().next() {
            Some('f' | 'F' | 'C') => Kind::File,
            Some('d' | 'D' | 'v' | 'q' | 'Q') => Kind::Dir,
            Some('L') => Kind::Symlink,
            Some('p' | 'c' | 'b') => Kind::Other,
            _ => continue,
        };
        let target = (made == Kind::Symlink).then(|| match fields.get(6..) {
            Some(arg) if !arg.is_empty() && arg != ["-"] => arg.join(" "),
            // tmpfiles.d(5): `L` without an argument links to the factory copy.
            _ => format!("/usr/share/factory{path}"),
        });
        out.push((
            path.trim_end_matches('/').to_owned(),
            Declared { kind: made, target },
        ));
    }
    out
}
