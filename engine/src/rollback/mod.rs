//! What `vpsc rollback PROFILE` purges, computed before anything changes.
//!
//! apt's autoremove cannot undo a profile: it keeps whatever an installed
//! package recommends, and with that turned off it would also take
//! packages the host had before. The rollback instead asks apt's history
//! ([`crate::aptlog`]) what vpsc's transactions installed and purges
//! exactly that, less what the packages that stay still need:
//!
//! 1. **The epoch**: the transactions since vpsc-runtime was last removed
//!    (before that, vpsc was not on the system, so nothing of it counts).
//! 2. **vpsc's transactions**: those of the epoch that installed a vpsc
//!    package ([`is_vpsc`]); every package under their `Install:` is a
//!    candidate, unless a later transaction of someone else installed it
//!    again. A transaction that only *upgraded* a vpsc package (a module's
//!    new version pulling in a new dependency) contributes only what vpsc's
//!    packages depend on or recommend: it may also have installed things
//!    for the host's own upgrades.
//! 3. **What stays needs**: every package that is not purged keeps the
//!    packages its `Depends`/`Pre-Depends` need, through alternatives
//!    (`a | b`: any one not purged is enough, else the first is kept) and
//!    `Provides`, repeated until nothing changes. A candidate the
//!    administrator marked manually installed stays, as does an Essential
//!    one.
//!
//! Every installed vpsc package is purged; if something that stays
//! depends on one, the rollback refuses. The plan is then checked with
//! `apt-get -s` by the command (`commands/rollback.rs`), which refuses if
//! apt would remove anything else. What the purge's maintainer scripts
//! take of the host's `/etc`, or leave in it, is [`collateral`]'s, with
//! what packages claim there in [`claims`].

pub mod claims;
pub mod collateral;
pub mod dpkg;
pub mod sysusers;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

pub use dpkg::Packages;
pub use sysusers::Kind;

use crate::accounts::{self, Db};
use crate::aptlog::Transaction;
use crate::error::{Error, Result};
use crate::root::Root;

/// Whether `name` is one of vpsc's packages, which a rollback removes: a
/// profile, a module or the runtime. `vpsc-archive-keyring` and the
/// `vpsc-source-*` vendor repositories are the host's apt configuration
/// (installed by hand, before any profile, and needed to install one
/// again), so they are neither purged as vpsc's nor do they mark a
/// transaction as vpsc's.
pub fn is_vpsc(name: &str) -> bool {
    name == "vpsc-runtime" || name.starts_with("vpsc-mod-") || name.starts_with("vpsc-profile-")
}

/// The apt option that marks the rollback's own apt run in apt's history
/// (`-o Vpsc::Rollback=NAME` shows in its `Commandline:`), so an
/// interrupted rollback can be run again after its profile is gone.
pub const TAG: &str = "Vpsc::Rollback";

/// A transaction the plan is built from.
#[derive(Debug, Clone, Serialize)]
pub struct Source {
    /// History file, inside the root.
    pub file: String,
    /// Line of its `Start-Date:`.
    pub line: usize,
    /// When it started.
    pub start: String,
    /// The apt command line.
    pub commandline: String,
    /// How many packages it installed.
    pub installed: usize,
}

/// A package a vpsc transaction installed that the rollback keeps.
#[derive(Debug, Clone, Serialize)]
pub struct Kept {
    /// Package key.
    pub package: String,
    /// Why it stays.
    pub reason: String,
}

/// What a rollback does.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// Profile name.
    pub profile: String,
    /// Whether this finishes an interrupted rollback (the profile package
    /// is already gone).
    pub resumed: bool,
    /// vpsc's transactions, oldest first.
    pub transactions: Vec<Source>,
    /// Packages to purge, sorted.
    pub purge: Vec<String>,
    /// Packages those transactions installed that stay, and why.
    pub kept: Vec<Kept>,
    /// Packages of the host those transactions upgraded (`name old, new`):
    /// they stay at the new version.
    pub upgraded: Vec<String>,
    /// Packages those transactions removed (`name version`) that are not
    /// installed now: the rollback does not reinstall them.
    pub removed: Vec<String>,
}

/// Computes the plan for `profile` from `history` (oldest first) and the
/// installed packages.
pub fn plan(profile: &str, history: &[Transaction], db: &Packages) -> Result<Plan> {
    let package = format!("vpsc-profile-{profile}");
    let begin = history
        .iter()
        .rposition(|t| t.removed("vpsc-runtime"))
        .map_or(0, |i| i + 1);
    let epoch = &history[begin..];
    let installs_vpsc = |t: &Transaction| t.install.iter().any(|e| is_vpsc(&e.name));
    let upgrades_vpsc = |t: &Transaction| t.upgrade.iter().any(|e| is_vpsc(&e.name));
    let installed = db.installed(&package);
    let last_install = epoch
        .iter()
        .rposition(|t| t.install.iter().any(|e| e.name == package));
    let tag = format!("{TAG}={profile}");
    let resumed = !installed
        && last_install.is_some_and(|i| {
            epoch[i + 1..]
                .iter()
                .any(|t| t.commandline.split_whitespace().any(|w| w == tag))
        });
    check_installed(profile, epoch, installed, last_install, resumed)?;

    let forced: BTreeSet<String> = db
        .map
        .iter()
        .filter(|(_, p)| is_vpsc(&p.name))
        .map(|(k, _)| k.clone())
        .collect();
    let wanted_by_vpsc = reachable(db, &forced);
    // The transaction that last installed each package.
    let mut last: BTreeMap<String, usize> = BTreeMap::new();
    for (i, t) in epoch.iter().enumerate() {
        for e in &t.install {
            last.insert(db.key(&e.name, e.arch.as_deref()), i);
        }
    }
    let mut candidates = BTreeSet::new();
    for (key, &i) in &last {
        let t = &epoch[i];
        let counts = installs_vpsc(t) || (upgrades_vpsc(t) && wanted_by_vpsc.contains(key));
        if counts && db.installed(key) {
            candidates.insert(key.clone());
        }
    }

    let mut kept: BTreeMap<String, String> = BTreeMap::new();
    let mut purge: BTreeSet<String> = forced.clone();
    for key in &candidates {
        let p = &db.map[key];
        if is_vpsc(&p.name) {
            continue;
        }
        if p.essential {
            kept.insert(key.clone(), "Essential: yes; apt does not remove it".into());
        } else if !p.auto {
            kept.insert(
                key.clone(),
                "marked manually installed (apt-mark showmanual): asked for by name, not pulled in by vpsc".into(),
            );
        } else {
            purge.insert(key.clone());
        }
    }
    keep_what_stays_needs(db, &forced, &mut purge, &mut kept)?;

    let sources = epoch
        .iter()
        .filter(|t| installs_vpsc(t) || upgrades_vpsc(t))
        .map(|t| Source {
            file: t.file.clone(),
            line: t.line,
            start: t.start.clone(),
            commandline: t.commandline.clone(),
            installed: t.install.len(),
        })
        .collect();
    let vpsc_runs = || epoch.iter().filter(|t| installs_vpsc(t));
    let upgraded = vpsc_runs()
        .flat_map(|t| &t.upgrade)
        .filter(|e| !is_vpsc(&e.name))
        .map(|e| format!("{} {}", e.name, e.version))
        .collect();
    let removed = vpsc_runs()
        .flat_map(|t| t.remove.iter().chain(&t.purge))
        .filter(|e| !db.installed(&db.key(&e.name, e.arch.as_deref())))
        .map(|e| format!("{} {}", e.name, e.version))
        .collect();
    Ok(Plan {
        profile: profile.to_owned(),
        resumed,
        transactions: sources,
        purge: purge.into_iter().collect(),
        kept: kept
            .into_iter()
            .map(|(package, reason)| Kept { package, reason })
            .collect(),
        upgraded,
        removed,
    })
}

/// Refuses unless the profile is installed by a transaction of the epoch
/// (or a rollback of it was interrupted).
fn check_installed(
    profile: &str,
    epoch: &[Transaction],
    installed: bool,
    last_install: Option<usize>,
    resumed: bool,
) -> Result<()> {
    let package = format!("vpsc-profile-{profile}");
    match (installed, last_install) {
        (true, Some(_)) => Ok(()),
        (false, Some(_)) if resumed => Ok(()),
        (false, Some(i)) => {
            let by = epoch[i + 1..].iter().find(|t| t.removed(&package));
            let when = by.map_or(String::new(), |t| {
                format!(" (removed {} by `{}`)", t.start, t.commandline)
            });
            Err(Error::Precondition {
                what: format!("profile `{profile}` is not installed{when}; nothing was changed"),
                hint: format!(
                    "what it brought stays until removed: `apt install {package}` then `vpsc rollback {profile}` removes all of it, as does `apt autoremove --purge` for most"
                ),
            })
        }
        (false, None) => Err(Error::Precondition {
            what: format!("profile `{profile}` is not installed ({package}); nothing was changed"),
            hint: "`dpkg-query -W 'vpsc-profile-*'` lists the installed profile".into(),
        }),
        (true, None) => Err(Error::Precondition {
            what: format!(
                "{package} is installed, but apt's history (/var/log/apt/history.log*) has no transaction that installed it since vpsc-runtime was installed; nothing was changed"
            ),
            hint: format!(
                "it was installed with dpkg, or the history was rotated away or deleted, so what it added is unknown; remove it the apt way: `apt purge {package} && apt autoremove --purge`"
            ),
        }),
    }
}

/// Everything `from` depends on or recommends, transitively, among the
/// installed packages.
fn reachable(db: &Packages, from: &BTreeSet<String>) -> BTreeSet<String> {
    let mut seen = from.clone();
    let mut todo: Vec<String> = from.iter().cloned().collect();
    while let Some(key) = todo.pop() {
        let p = &db.map[&key];
        for alt in p.depends.iter().chain(&p.recommends).flatten() {
            for s in db.satisfiers(alt) {
                if seen.insert(s.clone()) {
                    todo.push(s.clone());
                }
            }
        }
    }
    seen
}

/// Takes out of `purge` what a package that stays needs, until every
/// package that stays has its Depends and Pre-Depends.
fn keep_what_stays_needs(
    db: &Packages,
    forced: &BTreeSet<String>,
    purge: &mut BTreeSet<String>,
    kept: &mut BTreeMap<String, String>,
) -> Result<()> {
    let mut todo: Vec<String> = db
        .map
        .keys()
        .filter(|k| !purge.contains(*k))
        .rev()
        .cloned()
        .collect();
    while let Some(key) = todo.pop() {
        for clause in &db.map[&key].depends {
            let mut satisfiers: Vec<&String> =
                clause.iter().flat_map(|alt| db.satisfiers(alt)).collect();
            let mut seen = BTreeSet::new();
            satisfiers.retain(|s| seen.insert(*s));
            // Nothing installed satisfies it (already broken), or
            // something that stays does.
            if satisfiers.is_empty() || satisfiers.iter().any(|s| !purge.contains(*s)) {
                continue;
            }
            let Some(&keep) = satisfiers.iter().find(|s| !forced.contains(**s)) else {
                let needed = satisfiers[0];
                return Err(Error::Precondition {
                    what: format!(
                        "`{key}` stays (vpsc's transactions did not install it) but depends on `{needed}`, which the rollback must remove; nothing was changed"
                    ),
                    hint: format!("remove `{key}` first (`apt purge {key}`), or keep vpsc"),
                });
            };
            purge.remove(keep);
            kept.insert(keep.clone(), format!("`{key}`, which stays, depends on it"));
            todo.push(keep.clone());
        }
    }
    Ok(())
}

/// A system user or group that the purge leaves, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Leftover {
    /// User or group.
    pub kind: Kind,
    /// Its name.
    pub name: String,
    /// The purged package that creates it.
    pub package: String,
    /// Its sysusers.d file, or `postinst`.
    pub source: String,
}

/// Why [`Leftover`]s stay, for the output.
pub const LEFTOVER_REASON: &str = "Debian packages do not remove the system users and groups they created when purged (files may still belong to them, and a reused ID would give those files away)";

/// The system users and groups that packages of `purge` created, that
/// exist now, and that no package staying also declares (those were
/// there before, or stay needed). Read before the purge, while the
/// packages' files and scripts are there.
pub fn leftovers(root: &Root, db: &Packages, purge: &BTreeSet<String>) -> Result<Vec<Leftover>> {
    let mut declared: BTreeMap<(Kind, String), Leftover> = BTreeMap::new();
    let mut purged_files = BTreeSet::new();
    for key in purge {
        let mut found = BTreeSet::new();
        for path in db.file_list(root, key) {
            if sysusers::is_sysusers_file(&path) {
                let text = root.read_to_string(&path).unwrap_or_default();
                found.extend(
                    sysusers::from_sysusers(&text)
                        .into_iter()
                        .map(|a| (a, path.clone())),
                );
                purged_files.insert(path);
            }
        }
        if let Some(text) = db.info_text(root, key, "postinst") {
            found.extend(
                sysusers::from_script(&text)
                    .into_iter()
                    .map(|a| (a, "postinst".into())),
            );
        }
        for ((kind, name), source) in found {
            declared.entry((kind, name.clone())).or_insert(Leftover {
                kind,
                name,
                package: key.clone(),
                source,
            });
        }
    }
    let mut staying = BTreeSet::new();
    for key in db.map.keys().filter(|k| !purge.contains(*k)) {
        if let Some(text) = db.info_text(root, key, "postinst") {
            staying.extend(sysusers::from_script(&text));
        }
    }
    for dir in sysusers::SYSUSERS_DIRS {
        for name in root.read_dir_names(dir).unwrap_or_default() {
            let path = format!("{dir}{name}");
            if sysusers::is_sysusers_file(&path) && !purged_files.contains(&path) {
                staying.extend(sysusers::from_sysusers(
                    &root.read_to_string(&path).unwrap_or_default(),
                ));
            }
        }
    }
    let existing = existing_accounts(root)?;
    Ok(declared
        .into_iter()
        .filter(|(k, _)| existing.contains(k) && !staying.contains(k))
        .map(|(_, l)| l)
        .collect())
}

/// The users and groups the root has now.
pub fn existing_accounts(root: &Root) -> Result<BTreeSet<(Kind, String)>> {
    let mut out = BTreeSet::new();
    for (kind, db) in [(Kind::User, Db::Passwd), (Kind::Group, Db::Group)] {
        out.extend(
            accounts::table(root, db)?
                .iter()
                .map(|r| r.field(0))
                .filter(|n| !n.is_empty())
                .map(|n| (kind, n.to_owned())),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
