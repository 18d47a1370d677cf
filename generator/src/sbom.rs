//! `vpsc-gen sbom`: a CycloneDX 1.6 JSON bill of materials of a release.
//! It lists the Rust crates linked into the programs vpsc ships as `.deb`
//! (the workspace members with `[package.metadata.deb]` and their normal
//! dependencies for the target, as `cargo metadata --locked` resolves them
//! from Cargo.lock, with each crate's licence and Cargo.lock checksum), and
//! every `.deb` of the given pools with the files it installs.
//!
//! Written with serde_json rather than the `cyclonedx-bom` crate: the part
//! of the format used here is a few plain structs, and that crate would add
//! some twenty dependencies (XML writer, SPDX parser, regex) to a tool
//! whose own SBOM this is. The output is deterministic: its date comes from
//! SOURCE_DATE_EPOCH and its serial number from its content.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::deb::hex;
use crate::error::{Error, Result};
use crate::repo::index::control_field;
use crate::repo::pool;

/// What the bill of materials covers.
pub struct Options {
    /// The workspace's Cargo.lock (its Cargo.toml is beside it).
    pub lockfile: PathBuf,
    /// Directories searched for `.deb` files.
    pub pools: Vec<PathBuf>,
    /// Target the programs are built for (`cargo metadata --filter-platform`).
    pub target: String,
    /// `metadata.timestamp`, seconds since the epoch.
    pub date: u64,
}

/// A CycloneDX document (the fields vpsc writes).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bom {
    /// Always `CycloneDX`.
    pub bom_format: String,
    /// `1.6`.
    pub spec_version: String,
    /// `urn:uuid:…`, derived from the content.
    pub serial_number: String,
    /// Revision of this BOM: 1.
    pub version: u32,
    /// When and by what, and what it describes.
    pub metadata: Metadata,
    /// Crates and packages.
    pub components: Vec<Component>,
    /// Who needs whom, by `bom-ref`.
    pub dependencies: Vec<Dependency>,
}

/// `metadata`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Metadata {
    /// RFC 3339.
    pub timestamp: String,
    /// The tool that wrote it.
    pub tools: Tools,
    /// The release described.
    pub component: Component,
}

/// `metadata.tools`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Tools {
    /// vpsc-gen itself.
    pub components: Vec<Component>,
}

/// A component: a crate, a `.deb` or a file in one.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Component {
    /// `library`, `application` or `file`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Reference used in `dependencies`.
    #[serde(rename = "bom-ref", default, skip_serializing_if = "Option::is_none")]
    pub bom_ref: Option<String>,
    /// Name (a file's path).
    pub name: String,
    /// Version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Package URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    /// Licences as SPDX expressions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<License>,
    /// Hashes of the artefact.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hashes: Vec<Hash>,
    /// Name/value pairs (`vpsc:…`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<Property>,
    /// What it contains (a package's files).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<Component>,
}

/// One licence entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct License {
    /// SPDX licence expression.
    pub expression: String,
}

/// One hash.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hash {
    /// `SHA-256`.
    pub alg: String,
    /// Lowercase hex.
    pub content: String,
}

/// One property.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Property {
    /// Name.
    pub name: String,
    /// Value.
    pub value: String,
}

/// One node of the dependency graph.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dependency {
    /// The component.
    #[serde(rename = "ref")]
    pub reference: String,
    /// What it needs.
    pub depends_on: Vec<String>,
}

/// Writes the bill of materials of `options` (see the module docs).
pub fn sbom(options: &Options) -> Result<Bom> {
    let checksums = lock_checksums(&options.lockfile)?;
    let meta = cargo_metadata(&options.lockfile, &options.target)?;
    let (crates, crate_deps, shipped) = linked_crates(&meta)?;
    let mut components = Vec::new();
    let mut dependencies = Vec::new();
    for p in &crates {
        let lockfile_sum = checksums.get(&(p.name.clone(), p.version.clone()));
        if p.source.is_some() && lockfile_sum.is_none() {
            return Err(Error::Usage {
                what: format!(
                    "{} {} is linked but has no checksum in {}",
                    p.name,
                    p.version,
                    options.lockfile.display()
                ),
                hint: "run `cargo generate-lockfile` or `cargo update -p NAME`, then rebuild"
                    .into(),
            });
        }
        components.push(Component {
            kind: "library".into(),
            bom_ref: Some(crate_purl(&p.name, &p.version)),
            name: p.name.clone(),
            version: Some(p.version.clone()),
            purl: Some(crate_purl(&p.name, &p.version)),
            licenses: p
                .license
                .iter()
                .map(|l| License {
                    expression: l.clone(),
                })
                .collect(),
            hashes: lockfile_sum
                .map(|s| Hash {
                    alg: "SHA-256".into(),
                    content: s.clone(),
                })
                .into_iter()
                .collect(),
            properties: Vec::new(),
            components: Vec::new(),
        });
        dependencies.push(Dependency {
            reference: crate_purl(&p.name, &p.version),
            depends_on: crate_deps
                .get(&p.id)
                .into_iter()
                .flatten()
                .cloned()
                .collect(),
        });
    }

    let debs = pool::scan(&options.pools, "main")?;
    let names: BTreeMap<String, String> = debs
        .iter()
        .map(|d| (d.package.clone(), deb_ref(d)))
        .collect();
    let mut seen = BTreeSet::new();
    for deb in &debs {
        if !seen.insert(deb_ref(deb)) {
            continue;
        }
        components.push(Component {
            kind: "application".into(),
            bom_ref: Some(deb_ref(deb)),
            name: deb.package.clone(),
            version: Some(deb.version.clone()),
            purl: Some(deb_ref(deb)),
            licenses: Vec::new(),
            hashes: vec![Hash {
                alg: "SHA-256".into(),
                content: deb.entry.sha256.clone(),
            }],
            properties: vec![Property {
                name: "vpsc:filename".into(),
                value: deb.entry.filename.clone(),
            }],
            components: files(&deb.path)?,
        });
        let mut needs: BTreeSet<String> = ["Pre-Depends", "Depends"]
            .iter()
            .filter_map(|f| control_field(&deb.entry.control, f))
            .flat_map(|v| {
                v.split([',', '|'])
                    .filter_map(|r| r.split_whitespace().next().map(str::to_owned))
                    .collect::<Vec<_>>()
            })
            .filter_map(|n| names.get(&n).cloned())
            .collect();
        if let Some(root) = shipped.get(&deb.package) {
            needs.insert(root.clone());
        }
        dependencies.push(Dependency {
            reference: deb_ref(deb),
            depends_on: needs.into_iter().collect(),
        });
    }

    let version = meta
        .packages
        .iter()
        .find(|p| p.name == "vpsc-gen")
        .map(|p| p.version.clone())
        .unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_owned());
    let tool = Component {
        kind: "application".into(),
        bom_ref: None,
        name: "vpsc-gen".into(),
        version: Some(env!("CARGO_PKG_VERSION").into()),
        purl: None,
        licenses: Vec::new(),
        hashes: Vec::new(),
        properties: Vec::new(),
        components: Vec::new(),
    };
    let mut bom = Bom {
        bom_format: "CycloneDX".into(),
        spec_version: "1.6".into(),
        serial_number: String::new(),
        version: 1,
        metadata: Metadata {
            timestamp: crate::doc::rfc3339(options.date),
            tools: Tools {
                components: vec![tool],
            },
            component: Component {
                kind: "application".into(),
                bom_ref: Some("vpsc".into()),
                name: "vpsc".into(),
                version: Some(version),
                purl: None,
                licenses: Vec::new(),
                hashes: Vec::new(),
                properties: Vec::new(),
                components: Vec::new(),
            },
        },
        components,
        dependencies,
    };
    let digest = Sha256::digest(serde_json::to_vec(&bom).expect("serialisable"));
    bom.serial_number = format!("urn:uuid:{}", uuid(&digest));
    Ok(bom)
}

/// `pkg:cargo/NAME@VERSION`.
pub fn crate_purl(name: &str, version: &str) -> String {
    format!("pkg:cargo/{name}@{}", purl_escape(version))
}

/// `pkg:deb/vpsc/NAME@VERSION?arch=ARCH`.
fn deb_ref(deb: &pool::Deb) -> String {
    format!(
        "pkg:deb/vpsc/{}@{}?arch={}",
        deb.package,
        purl_escape(&deb.version),
        deb.arch
    )
}

/// Percent-encodes what a purl version may not hold (`+` of SemVer build
/// metadata and of Debian versions, `:` of an epoch).
fn purl_escape(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-~".contains(c) {
                c.to_string()
            } else {
                format!("%{:02X}", c as u32)
            }
        })
        .collect()
}

/// A UUID (version 4 layout) from the first 16 bytes of a digest.
fn uuid(digest: &[u8]) -> String {
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// `checksum` of every `[[package]]` of Cargo.lock, by (name, version).
fn lock_checksums(lockfile: &Path) -> Result<BTreeMap<(String, String), String>> {
    let text = std::fs::read_to_string(lockfile).map_err(Error::io("read", lockfile))?;
    let mut out = BTreeMap::new();
    for block in text.split("[[package]]").skip(1) {
        let value = |key: &str| {
            block.lines().find_map(|l| {
                let (k, v) = l.split_once(" = ")?;
                (k.trim() == key).then(|| v.trim().trim_matches('"').to_owned())
            })
        };
        if let (Some(name), Some(version), Some(sum)) =
            (value("name"), value("version"), value("checksum"))
        {
            out.insert((name, version), sum);
        }
    }
    Ok(out)
}

#[derive(Deserialize)]
struct CargoMetadata {
    packages: Vec<CargoPackage>,
    workspace_members: Vec<String>,
    resolve: Resolve,
}

#[derive(Clone, Deserialize)]
struct CargoPackage {
    id: String,
    name: String,
    version: String,
    license: Option<String>,
    source: Option<String>,
    #[serde(default)]
    metadata: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Resolve {
    nodes: Vec<Node>,
}

#[derive(Deserialize)]
struct Node {
    id: String,
    deps: Vec<NodeDep>,
}

#[derive(Deserialize)]
struct NodeDep {
    pkg: String,
    dep_kinds: Vec<DepKind>,
}

#[derive(Deserialize)]
struct DepKind {
    kind: Option<String>,
}

fn cargo_metadata(lockfile: &Path, target: &str) -> Result<CargoMetadata> {
    let manifest = lockfile.with_file_name("Cargo.toml");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = std::process::Command::new(&cargo);
    cmd.args(["metadata", "--format-version", "1", "--locked"])
        .arg("--filter-platform")
        .arg(target)
        .arg("--manifest-path")
        .arg(&manifest);
    let shown = format!(
        "cargo metadata --locked --filter-platform {target} --manifest-path {}",
        manifest.display()
    );
    let out = crate::tool::run(cmd, None, &shown, "cargo")?;
    serde_json::from_slice(&out).map_err(|e| Error::Tool {
        command: shown,
        message: format!("unexpected output: {e}"),
    })
}

/// A crate from crates.io linked into a shipped program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedCrate {
    /// Crate name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Its SPDX licence expression, as its Cargo.toml declares it.
    pub license: Option<String>,
}

/// The registry crates linked into the programs the workspace of
/// `lockfile` ships (the workspace's own crates left out), sorted.
pub fn shipped_crates(lockfile: &Path, target: &str) -> Result<Vec<LinkedCrate>> {
    let meta = cargo_metadata(lockfile, target)?;
    let (crates, _, _) = linked_crates(&meta)?;
    Ok(crates
        .into_iter()
        .filter(|c| c.source.is_some())
        .map(|c| LinkedCrate {
            name: c.name,
            version: c.version,
            license: c.license,
        })
        .collect())
}

/// The crates linked into the shipped programs, the normal-dependency
/// edges between them (by purl), and each shipped `.deb` name's root crate.
#[allow(clippy::type_complexity)]
fn linked_crates(
    meta: &CargoMetadata,
) -> Result<(
    Vec<CargoPackage>,
    BTreeMap<String, Vec<String>>,
    BTreeMap<String, String>,
)> {
    let by_id: BTreeMap<&str, &CargoPackage> =
        meta.packages.iter().map(|p| (p.id.as_str(), p)).collect();
    let nodes: BTreeMap<&str, &Node> = meta
        .resolve
        .nodes
        .iter()
        .map(|n| (n.id.as_str(), n))
        .collect();
    let mut shipped = BTreeMap::new();
    let mut stack = Vec::new();
    for id in &meta.workspace_members {
        let Some(p) = by_id.get(id.as_str()) else {
            continue;
        };
        let deb = p.metadata.as_ref().and_then(|m| m.get("deb"));
        if let Some(deb) = deb {
            let name = deb
                .get("name")
                .and_then(|n| n.as_str())
                .unwrap_or(&p.name)
                .to_owned();
            shipped.insert(name, crate_purl(&p.name, &p.version));
            stack.push(id.as_str());
        }
    }
    if shipped.is_empty() {
        return Err(Error::Usage {
            what: "no workspace member has [package.metadata.deb]: nothing is shipped".into(),
            hint: "give --lockfile the Cargo.lock of the vpsc workspace".into(),
        });
    }
    let mut seen: BTreeSet<&str> = stack.iter().copied().collect();
    let mut edges = BTreeMap::new();
    while let Some(id) = stack.pop() {
        let Some(node) = nodes.get(id) else { continue };
        let mut needs = Vec::new();
        for dep in &node.deps {
            // Normal dependencies only: build scripts and tests are not
            // linked into the programs.
            if !dep.dep_kinds.iter().any(|k| k.kind.is_none()) {
                continue;
            }
            if let Some(p) = by_id.get(dep.pkg.as_str()) {
                needs.push(crate_purl(&p.name, &p.version));
            }
            if seen.insert(dep.pkg.as_str()) {
                stack.push(dep.pkg.as_str());
            }
        }
        needs.sort();
        needs.dedup();
        edges.insert(id.to_owned(), needs);
    }
    let mut crates: Vec<CargoPackage> = seen
        .iter()
        .filter_map(|id| by_id.get(id).map(|p| (*p).clone()))
        .collect();
    crates.sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
    Ok((crates, edges, shipped))
}

/// The regular files a `.deb` installs, with their SHA-256, read with
/// `dpkg-deb --fsys-tarfile` (which knows every compression dpkg does).
fn files(deb: &Path) -> Result<Vec<Component>> {
    let mut cmd = std::process::Command::new("dpkg-deb");
    cmd.arg("--fsys-tarfile").arg(deb);
    let shown = format!("dpkg-deb --fsys-tarfile {}", deb.display());
    let tar = crate::tool::run(cmd, None, &shown, "dpkg")?;
    let mut archive = tar::Archive::new(tar.as_slice());
    let mut out = Vec::new();
    let entries = archive.entries().map_err(Error::io("read", deb))?;
    for entry in entries {
        let mut entry = entry.map_err(Error::io("read", deb))?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let path = entry
            .path()
            .map_err(Error::io("read", deb))?
            .to_string_lossy()
            .trim_start_matches('.')
            .to_owned();
        let mut data = Vec::new();
        entry
            .read_to_end(&mut data)
            .map_err(Error::io("read", deb))?;
        out.push(Component {
            kind: "file".into(),
            bom_ref: None,
            name: path,
            version: None,
            purl: None,
            licenses: Vec::new(),
            hashes: vec![Hash {
                alg: "SHA-256".into(),
                content: hex(&Sha256::digest(&data)),
            }],
            properties: Vec::new(),
            components: Vec::new(),
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn purls_escape_build_metadata_and_epochs() {
        assert_eq!(
            super::crate_purl("wasi", "0.11.0+wasi-snapshot-preview1"),
            "pkg:cargo/wasi@0.11.0%2Bwasi-snapshot-preview1"
        );
        assert_eq!(super::purl_escape("1:2.0~rc1"), "1%3A2.0~rc1");
    }

    #[test]
    fn serial_numbers_are_uuids() {
        let u = super::uuid(&[0xff; 32]);
        assert_eq!(u, "ffffffff-ffff-4fff-bfff-ffffffffffff");
    }
}
