//! `vpsc-gen repo publish`: a stateless writer. Every run rebuilds the
//! indices from the pool, so there is no database to lose or corrupt (as
//! aptly's) and any number of versions can be kept (unlike reprepro's one).
//!
//! Order matters to clients updating while we write: pool files first,
//! then indices and their by-hash copies, then `Release`, `Release.gpg`
//! and `InRelease` last; only then is what fell out of retention deleted.
//! A client holding the previous `InRelease` keeps finding its indices
//! under `by-hash/` for the configured time.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::bump;
use super::index::{self, PoolEntry};
use super::pool::{self, Deb};
use super::sign::Signer;
use crate::error::{Error, Result};
use crate::profile::raw::RawConfig;

/// What to publish and how.
pub struct Options {
    /// Directories searched (recursively) for `.deb` files; the output's
    /// own `pool/` is always included, so earlier versions stay.
    pub pools: Vec<PathBuf>,
    /// The repository root.
    pub out: PathBuf,
    /// Secret keys that sign `Release` (none: unsigned, for local tests).
    pub sign_keys: Vec<PathBuf>,
    /// `Date:` of the Release, seconds since the epoch.
    pub date: u64,
}

/// What a publish did.
#[derive(Debug, Serialize)]
pub struct Published {
    /// The suite written.
    pub suite: String,
    /// Packages in the indices, as `pool/…` paths.
    pub packages: Vec<String>,
    /// Pool files deleted because newer versions pushed them out.
    pub pruned: Vec<String>,
    /// by-hash files deleted because they expired.
    pub expired_by_hash: usize,
    /// Fingerprints of the signing keys.
    pub signed_by: Vec<String>,
}

/// Publishes every package found under `options.pools` (and already in
/// the output's pool) into `options.out`.
pub fn publish(config: &RawConfig, options: &Options) -> Result<Published> {
    // Everything that can fail on bad input fails before anything is
    // written: the keys, then every package.
    let signer = if options.sign_keys.is_empty() {
        None
    } else {
        Some(Signer::new(&options.sign_keys)?)
    };
    let own_pool = options.out.join("pool");
    let mut dirs = options.pools.clone();
    if own_pool.is_dir() && !dirs.contains(&own_pool) {
        dirs.push(own_pool.clone());
    }
    let found = pool::scan(&dirs, &config.component)?;
    if found.is_empty() {
        return Err(Error::Repo {
            what: format!("no .deb files under {}", shown(&dirs)),
            hint: "build packages first (`make debs`) and pass their directory with --pool".into(),
        });
    }
    refuse_unbumped(&found, &own_pool)?;
    let kept = pool::select(found, config.keep_versions)?;

    let entries: Vec<PoolEntry> = kept.iter().map(|d| d.entry.clone()).collect();
    let (files, release) = index::indices(&entries, config, options.date)?;
    // Signed in memory first: a key that cannot sign changes nothing.
    let signatures = match &signer {
        Some(s) => Some((
            s.detach_sign(release.as_bytes(), options.date)?,
            s.clearsign(release.as_bytes(), options.date)?,
        )),
        None => None,
    };

    for deb in &kept {
        place(deb, &options.out)?;
    }
    let dists = options.out.join("dists").join(&config.suite);
    for f in &files {
        // A by-hash name fixes the content: an existing file only gets
        // its time refreshed (see `expire_by_hash`).
        let path = dists.join(f.by_hash_path());
        if path.is_file() {
            touch(&path)?;
        } else {
            write_atomic(&path, &f.data)?;
        }
    }
    for f in &files {
        write_atomic(&dists.join(&f.path), &f.data)?;
    }
    write_atomic(&dists.join("Release"), release.as_bytes())?;
    match &signatures {
        Some((detached, inline)) => {
            write_atomic(&dists.join("Release.gpg"), detached)?;
            write_atomic(&dists.join("InRelease"), inline)?;
        }
        None => {
            // A stale signature would sign an older Release.
            for name in ["Release.gpg", "InRelease"] {
                remove_if_present(&dists.join(name))?;
            }
        }
    }
    let signed_by = signer.map(|s| s.fingerprints.clone()).unwrap_or_default();

    let wanted: BTreeSet<PathBuf> = kept
        .iter()
        .map(|d| options.out.join(&d.entry.filename))
        .collect();
    let mut pruned = Vec::new();
    prune_pool(&own_pool, &wanted, &options.out, &mut pruned)?;
    let current: BTreeSet<String> = files.iter().map(|f| f.by_hash_path()).collect();
    let expired_by_hash = expire_by_hash(&dists, &current, config.keep_by_hash_days)?;
    Ok(Published {
        suite: config.suite.clone(),
        packages: kept.iter().map(|d| d.entry.filename.clone()).collect(),
        pruned,
        expired_by_hash,
        signed_by,
    })
}

/// Refuses, naming every one, the packages whose version the repository
/// (or another pool given) already has with other bytes.
fn refuse_unbumped(found: &[Deb], own_pool: &Path) -> Result<()> {
    let (published, new): (Vec<Deb>, Vec<Deb>) = found
        .iter()
        .cloned()
        .partition(|d| d.path.starts_with(own_pool));
    let unbumped = bump::all_unbumped(&new, &published);
    if unbumped.is_empty() {
        return Ok(());
    }
    Err(Error::Unbumped {
        dependents: bump::dependents(&unbumped, &bump::unchanged(&new, &published)),
        unbumped,
        against: if published.is_empty() {
            "another pool given".to_owned()
        } else {
            own_pool.display().to_string()
        },
    })
}

fn shown(dirs: &[PathBuf]) -> String {
    dirs.iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Copies a package to its pool path unless an identical file is there.
fn place(deb: &Deb, out: &Path) -> Result<()> {
    let target = out.join(&deb.entry.filename);
    if target == deb.path {
        return Ok(());
    }
    if let Ok(meta) = std::fs::metadata(&target) {
        if meta.len() == deb.entry.size
            && pool::read(&target, "")
                .is_ok_and(|existing| existing.entry.sha256 == deb.entry.sha256)
        {
            return Ok(());
        }
    }
    let data = std::fs::read(&deb.path).map_err(Error::io("read", &deb.path))?;
    write_atomic(&target, &data)
}

/// Writes through a temporary sibling and rename(2), so a reader (or a
/// crash) sees the old file or the new one, never half of one.
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    let dir = path.parent().expect("repository paths have a parent");
    std::fs::create_dir_all(dir).map_err(Error::io("create", dir))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, data).map_err(Error::io("write", &tmp))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io("replace", path)(e)
    })
}

fn touch(path: &Path) -> Result<()> {
    let file = std::fs::File::options()
        .append(true)
        .open(path)
        .map_err(Error::io("open", path))?;
    file.set_modified(SystemTime::now())
        .map_err(Error::io("set the time of", path))
}

fn remove_if_present(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io("remove", path)(e)),
        _ => Ok(()),
    }
}

/// Deletes `.deb` files of the output pool that are no longer indexed.
fn prune_pool(
    dir: &Path,
    wanted: &BTreeSet<PathBuf>,
    out: &Path,
    pruned: &mut Vec<String>,
) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries {
        let path = entry.map_err(Error::io("list", dir))?.path();
        if path.is_dir() {
            prune_pool(&path, wanted, out, pruned)?;
            // Empty directories of dropped packages go too.
            let _ = std::fs::remove_dir(&path);
        } else if path.extension().is_some_and(|e| e == "deb") && !wanted.contains(&path) {
            std::fs::remove_file(&path).map_err(Error::io("remove", &path))?;
            pruned.push(
                path.strip_prefix(out)
                    .unwrap_or(&path)
                    .display()
                    .to_string(),
            );
        }
    }
    pruned.sort();
    Ok(())
}

/// Deletes by-hash files not referenced by the new `Release` and not
/// referenced by any for `days`: each publish refreshes the mtime of the
/// ones it references, so the mtime says when a Release last named it.
fn expire_by_hash(dists: &Path, current: &BTreeSet<String>, days: u64) -> Result<usize> {
    let keep = Duration::from_secs(days * 24 * 60 * 60);
    let now = SystemTime::now();
    let mut removed = 0;
    let dirs: BTreeSet<PathBuf> = current
        .iter()
        .filter_map(|p| dists.join(p).parent().map(Path::to_path_buf))
        .collect();
    for dir in dirs {
        let entries = std::fs::read_dir(&dir).map_err(Error::io("list", &dir))?;
        for entry in entries {
            let path = entry.map_err(Error::io("list", &dir))?.path();
            let rel = path
                .strip_prefix(dists)
                .unwrap_or(&path)
                .display()
                .to_string();
            if current.contains(&rel) {
                continue;
            }
            let age = std::fs::metadata(&path)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| now.duration_since(t).ok())
                .unwrap_or_default();
            if age > keep {
                std::fs::remove_file(&path).map_err(Error::io("remove", &path))?;
                removed += 1;
            }
        }
    }
    Ok(removed)
}
