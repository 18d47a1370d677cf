//! The release of a fork, end to end on a loopback target (issue 18, item
//! 3): `vpsc-gen repo init` in a fresh checkout, then `release/run` twice
//! with that throwaway key, pushing to a local directory as its rsync
//! target. The pushed tree verifies as apt would, SHA256SUMS and the SBOM
//! describe the release files, and the second release (another commit, so
//! another SOURCE_DATE_EPOCH) publishes onto the first without changing a
//! byte of an unchanged package.
//!
//! It reuses vpsc-runtime and vpsc-gen from `target/debian` (`make
//! runtime-deb`, which `make test` runs first) and the vpsc-gen under test.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{debs, s, vpsc_gen, workspace};
use sha2::{Digest, Sha256};

/// What `repo init --json` prints.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Initialised {
    config: PathBuf,
    config_written: bool,
    public: PathBuf,
    secret: PathBuf,
    fingerprint: String,
    github_secret: String,
    store_with: String,
}

/// The newest `target/debian/NAME_*.deb`; panics with the command that
/// builds it (never a silent skip).
fn built_deb(name: &str) -> PathBuf {
    let dir = workspace().join("target/debian");
    let mut debs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    let n = p.file_name().map(|n| n.to_string_lossy().into_owned());
                    n.is_some_and(|n| n.starts_with(&format!("{name}_")) && n.ends_with(".deb"))
                })
                .collect()
        })
        .unwrap_or_default();
    debs.sort();
    debs.pop().unwrap_or_else(|| {
        panic!(
            "no {name} .deb in {}: run `make runtime-deb` (make test does) first",
            dir.display()
        )
    })
}

fn release(init: &Initialised, out: &Path, target: &Path, previous: bool, epoch: &str) {
    let mut cmd = Command::new(workspace().join("release/run"));
    cmd.args(["--out", s(out), "--target", s(target)])
        .args(["--config", s(&init.config)])
        .args(["--archive-key", s(&init.public)])
        .env("VPSC_GEN", env!("CARGO_BIN_EXE_vpsc-gen"))
        .env(
            "VPSC_RELEASE_DEBS",
            format!(
                "{} {}",
                s(&built_deb("vpsc-runtime")),
                s(&built_deb("vpsc-gen"))
            ),
        )
        .env("SOURCE_DATE_EPOCH", epoch)
        // The key as the workflow passes it: content in the environment.
        .env(
            "VPSC_SIGNING_KEY",
            std::fs::read_to_string(&init.secret).expect("secret key"),
        );
    if previous {
        cmd.args(["--previous", s(target)]);
    }
    let out = cmd.output().expect("run release/run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "release/run: {stderr}");
    assert!(
        !stderr.contains("PRIVATE KEY")
            && !String::from_utf8_lossy(&out.stdout).contains("PRIVATE KEY"),
        "the secret key reached the log"
    );
}

fn sha256(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Package, version and architecture of a `.deb`, from dpkg-deb.
fn identity(deb: &[u8], scratch: &Path) -> (String, String, String) {
    std::fs::write(scratch, deb).expect("write");
    let out = Command::new("dpkg-deb")
        .args([
            "--show",
            "--showformat=${Package} ${Version} ${Architecture}",
        ])
        .arg(scratch)
        .output()
        .expect("dpkg-deb");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut f = text.split_whitespace().map(str::to_owned);
    let mut next = || f.next().expect("three fields");
    (next(), next(), next())
}

/// The version of `name` in Cargo.lock.
fn locked_version(name: &str) -> String {
    let lock = std::fs::read_to_string(workspace().join("Cargo.lock")).expect("Cargo.lock");
    lock.split("[[package]]")
        .find(|b| b.contains(&format!("\nname = \"{name}\"\n")))
        .and_then(|b| {
            b.lines().find_map(|l| {
                l.strip_prefix("version = \"")?
                    .strip_suffix('"')
                    .map(str::to_owned)
            })
        })
        .unwrap_or_else(|| panic!("{name} not in Cargo.lock"))
}

#[test]
fn a_fork_releases_to_a_loopback_target_and_again_onto_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let checkout = tmp.path().join("checkout");
    let target = tmp.path().join("target");

    // repo init: repo.yaml, the key pair, the secret to store.
    let url = format!("file:{}", target.display());
    let out = vpsc_gen(&[
        "repo",
        "init",
        "--dir",
        s(&checkout),
        "--url",
        &url,
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let init: Initialised = serde_json::from_slice(&out.stdout).expect("init --json");
    assert!(init.config_written);
    assert_eq!(init.public, checkout.join("keys/vpsc-archive.asc"));
    assert_eq!(init.github_secret, "VPSC_SIGNING_KEY");
    assert_eq!(
        init.store_with,
        format!("gh secret set VPSC_SIGNING_KEY < {}", init.secret.display())
    );
    assert_eq!(init.fingerprint.len(), 40);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("PRIVATE KEY"));
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&init.secret)
            .expect("secret")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    let ignore = std::fs::read_to_string(checkout.join("keys/.gitignore")).expect(".gitignore");
    assert!(ignore.lines().any(|l| l == "*.sec.asc"));
    // A second init keeps repo.yaml and refuses to replace the key.
    let again = vpsc_gen(&["repo", "init", "--dir", s(&checkout)]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("has a key already"));

    // The first release.
    let first = tmp.path().join("first");
    release(&init, &first, &target, false, "1795615200");
    let verified = vpsc_gen(&[
        "repo",
        "verify",
        "--dir",
        s(&target),
        "--keyring",
        s(&init.public),
        "--config",
        s(&init.config),
        "--json",
    ]);
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&verified.stdout).expect("verify --json");
    assert_eq!(v["signed_by"][0], init.fingerprint.as_str());

    // SHA256SUMS names every release file, each with its hash.
    let assets = first.join("assets");
    let sums = std::fs::read_to_string(assets.join("SHA256SUMS")).expect("SHA256SUMS");
    let listed: BTreeMap<String, String> = sums
        .lines()
        .map(|l| {
            let (hash, name) = l.split_once("  ").expect("`HASH  NAME`");
            (name.to_owned(), hash.to_owned())
        })
        .collect();
    let files: BTreeSet<String> = std::fs::read_dir(&assets)
        .expect("assets")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n != "SHA256SUMS")
        .collect();
    assert_eq!(listed.keys().cloned().collect::<BTreeSet<_>>(), files);
    for (name, hash) in &listed {
        let data = std::fs::read(assets.join(name)).expect("asset");
        assert_eq!(&sha256(&data), hash, "{name}");
    }
    let published = debs(&target.join("pool"));
    for name in published.keys() {
        assert!(files.contains(name), "{name} is not a release file");
    }
    for name in [
        "vpsc-archive-keyring_",
        "vpsc-runtime_",
        "vpsc-gen_",
        "vpsc-profile-server_",
    ] {
        assert!(files.iter().any(|f| f.starts_with(name)), "no {name}*");
    }

    // The SBOM: every published package with its hash, the crates linked
    // into the programs with their licences, not the test-only ones.
    let bom: serde_json::Value =
        serde_json::from_slice(&std::fs::read(assets.join("vpsc.cdx.json")).expect("sbom"))
            .expect("SBOM is JSON");
    assert_eq!(bom["bomFormat"], "CycloneDX");
    assert_eq!(bom["specVersion"], "1.6");
    assert!(
        bom["serialNumber"]
            .as_str()
            .expect("serial")
            .starts_with("urn:uuid:")
    );
    assert_eq!(bom["metadata"]["timestamp"], "2026-11-25T14:00:00Z");
    let components = bom["components"].as_array().expect("components");
    let by_purl: BTreeMap<&str, &serde_json::Value> = components
        .iter()
        .map(|c| (c["purl"].as_str().expect("purl"), c))
        .collect();
    let scratch = tmp.path().join("scratch.deb");
    for (name, data) in &published {
        let (package, version, arch) = identity(data, &scratch);
        let purl = format!(
            "pkg:deb/vpsc/{package}@{}?arch={arch}",
            version.replace('+', "%2B").replace(':', "%3A")
        );
        let c = by_purl
            .get(purl.as_str())
            .unwrap_or_else(|| panic!("{name}: no {purl} in the SBOM"));
        assert_eq!(c["name"], package.as_str());
        assert_eq!(c["version"], version.as_str());
        assert_eq!(c["hashes"][0]["content"], sha256(data).as_str(), "{name}");
        assert!(
            !c["components"].as_array().expect("files").is_empty(),
            "{name}: no files listed"
        );
    }
    for name in ["serde", "clap", "rusqlite", "minijinja"] {
        let purl = format!("pkg:cargo/{name}@{}", locked_version(name));
        let c = by_purl
            .get(purl.as_str())
            .unwrap_or_else(|| panic!("no {purl} in the SBOM"));
        assert_eq!(c["type"], "library");
        assert!(
            c["licenses"][0]["expression"]
                .as_str()
                .is_some_and(|l| !l.is_empty()),
            "{purl}: no licence"
        );
        assert_eq!(c["hashes"][0]["alg"], "SHA-256");
    }
    for dev_only in ["insta", "proptest", "jsonschema"] {
        assert!(
            !by_purl
                .keys()
                .any(|p| p.starts_with(&format!("pkg:cargo/{dev_only}@"))),
            "{dev_only} is only a test dependency"
        );
    }
    let runtime = bom["dependencies"]
        .as_array()
        .expect("dependencies")
        .iter()
        .find(|d| {
            d["ref"]
                .as_str()
                .is_some_and(|r| r.starts_with("pkg:deb/vpsc/vpsc-runtime@"))
        })
        .expect("vpsc-runtime in dependencies");
    assert!(
        runtime["dependsOn"]
            .as_array()
            .expect("dependsOn")
            .iter()
            .any(|r| r.as_str().is_some_and(|r| r.starts_with("pkg:cargo/vpsc@"))),
        "vpsc-runtime is built from the crate vpsc: {runtime}"
    );

    // The next release, from a later commit, onto the published tree: no
    // package changed, so none needs a new version and none changes.
    let second = tmp.path().join("second");
    release(&init, &second, &target, true, "1800000000");
    assert_eq!(debs(&target.join("pool")), published);
    let verified = vpsc_gen(&[
        "repo",
        "verify",
        "--dir",
        s(&target),
        "--keyring",
        s(&init.public),
        "--config",
        s(&init.config),
    ]);
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
}
