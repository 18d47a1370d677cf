//! The packages a publish starts from: every `.deb` under the given
//! directories, read without trusting their file names, then cut down to the
//! newest versions of each package.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use debversion::Version;
use md5::Md5;
use sha2::{Digest, Sha256};

use super::index::{PoolEntry, control_field};
use crate::deb::hex;
use crate::error::{Error, Result};

/// A `.deb` found in a pool directory.
#[derive(Debug, Clone)]
pub struct Deb {
    /// Where it was found.
    pub path: PathBuf,
    /// `Package:`.
    pub package: String,
    /// `Version:`.
    pub version: String,
    /// `Architecture:`.
    pub arch: String,
    /// Its index entry, `filename` set to its place in the published pool.
    pub entry: PoolEntry,
}

/// Every `.deb` below `dirs` (recursively), in path order.
pub fn scan(dirs: &[PathBuf], component: &str) -> Result<Vec<Deb>> {
    let mut paths = Vec::new();
    for dir in dirs {
        collect(dir, &mut paths)?;
    }
    paths.sort();
    paths.into_iter().map(|p| read(&p, component)).collect()
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(Error::io("list", dir))?;
    for entry in entries {
        let entry = entry.map_err(Error::io("list", dir))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(Error::io("stat", &path))?;
        if kind.is_dir() {
            collect(&path, out)?;
        } else if kind.is_file() && path.extension().is_some_and(|e| e == "deb") {
            out.push(path);
        }
    }
    Ok(())
}

/// Reads one package: control paragraph, size and hashes.
pub fn read(path: &Path, component: &str) -> Result<Deb> {
    let bytes = std::fs::read(path).map_err(Error::io("read", path))?;
    let control = match control_from_ar(&bytes) {
        Some(c) => c,
        None => control_with_dpkg_deb(path)?,
    };
    let field = |name: &str| {
        control_field(&control, name).ok_or_else(|| Error::Repo {
            what: format!("{} has no `{name}:` field", path.display()),
            hint: "only Debian binary packages (.deb) belong in a pool".into(),
        })
    };
    let (package, version, arch) = (field("Package")?, field("Version")?, field("Architecture")?);
    version.parse::<Version>().map_err(|e| Error::Repo {
        what: format!(
            "{}: version `{version}` is not a Debian version: {e}",
            path.display()
        ),
        hint: "rebuild the package with a valid version".into(),
    })?;
    let source = control_field(&control, "Source")
        .map(|s| s.split_whitespace().next().unwrap_or(&s).to_owned())
        .unwrap_or_else(|| package.clone());
    let filename = pool_path(component, &source, &package, &version, &arch);
    let entry = PoolEntry {
        control,
        filename,
        size: bytes.len() as u64,
        md5: hex(&Md5::digest(&bytes)),
        sha256: hex(&Sha256::digest(&bytes)),
        architecture: arch.clone(),
    };
    Ok(Deb {
        path: path.to_owned(),
        package,
        version,
        arch,
        entry,
    })
}

/// `pool/<component>/<initial>/<source>/<package>_<version>_<arch>.deb`,
/// `lib` sources under four-letter initials as in Debian's archive; the
/// epoch is not part of a file name.
pub fn pool_path(
    component: &str,
    source: &str,
    package: &str,
    version: &str,
    arch: &str,
) -> String {
    let initial = if source.starts_with("lib") && source.len() > 3 {
        &source[..4]
    } else {
        &source[..1]
    };
    let version = version.split_once(':').map_or(version, |(_, v)| v);
    format!("pool/{component}/{initial}/{source}/{package}_{version}_{arch}.deb")
}

/// The control file from an ar member `control.tar.gz` or `control.tar`;
/// `None` for another compression, which dpkg-deb then reads.
fn control_from_ar(deb: &[u8]) -> Option<String> {
    let mut rest = deb.strip_prefix(b"!<arch>\n")?;
    while rest.len() >= 60 {
        let header = &rest[..60];
        let name = std::str::from_utf8(&header[..16]).ok()?.trim_end();
        let name = name.strip_suffix('/').unwrap_or(name);
        let size: usize = std::str::from_utf8(&header[48..58])
            .ok()?
            .trim()
            .parse()
            .ok()?;
        let data = rest.get(60..60 + size)?;
        if name.starts_with("control.tar") {
            let tar: Box<dyn Read> = match name {
                "control.tar.gz" => Box::new(flate2::read::GzDecoder::new(data)),
                "control.tar" => Box::new(data),
                _ => return None,
            };
            let mut archive = tar::Archive::new(tar);
            for entry in archive.entries().ok()? {
                let mut entry = entry.ok()?;
                let path = entry.path().ok()?.into_owned();
                if path == Path::new("./control") || path == Path::new("control") {
                    let mut text = String::new();
                    entry.read_to_string(&mut text).ok()?;
                    return Some(text);
                }
            }
            return None;
        }
        rest = rest.get(60 + size + size % 2..)?;
    }
    None
}

/// The control paragraph of a `.deb` compressed otherwise (cargo-deb
/// uses xz), read with dpkg-deb, which knows every compression dpkg does.
fn control_with_dpkg_deb(path: &Path) -> Result<String> {
    let mut cmd = std::process::Command::new("dpkg-deb");
    cmd.arg("--field").arg(path);
    let shown = format!("dpkg-deb --field {}", path.display());
    let out = crate::tool::run(cmd, None, &shown, "dpkg").map_err(|e| Error::Repo {
        what: format!("{} is not a readable Debian package: {e}", path.display()),
        hint: "remove it from the pool or replace it with a good copy".into(),
    })?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// The newest `keep` versions of each package and architecture, newest
/// first. The same version twice is one package if the bytes are equal, and
/// an error if they differ: apt would reject one of them as corrupt.
pub fn select(debs: Vec<Deb>, keep: usize) -> Result<Vec<Deb>> {
    let mut by_name: BTreeMap<(String, String), Vec<Deb>> = BTreeMap::new();
    for deb in debs {
        by_name
            .entry((deb.package.clone(), deb.arch.clone()))
            .or_default()
            .push(deb);
    }
    let mut kept = Vec::new();
    for ((package, arch), mut versions) in by_name {
        versions.sort_by(|a, b| {
            let parse = |d: &Deb| d.version.parse::<Version>().ok();
            parse(b).cmp(&parse(a))
        });
        let mut unique: Vec<Deb> = Vec::new();
        for deb in versions {
            if let Some(same) = unique.iter().find(|u| u.version == deb.version) {
                if same.entry.sha256 != deb.entry.sha256 {
                    return Err(Error::Repo {
                        what: format!(
                            "{package} {} ({arch}) exists twice with different content: {} and {}",
                            deb.version,
                            same.path.display(),
                            deb.path.display()
                        ),
                        hint: "a changed package needs a new version; bump it in its YAML (or changelog) and rebuild".into(),
                    });
                }
                continue;
            }
            unique.push(deb);
        }
        kept.extend(unique.into_iter().take(keep));
    }
    kept.sort_by(|a, b| a.entry.filename.cmp(&b.entry.filename));
    Ok(kept)
}
