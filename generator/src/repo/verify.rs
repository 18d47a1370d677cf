//! `vpsc-gen repo verify`: checks a published tree the way apt does. The
//! signatures go through Sequoia's `sqv`, the verifier Debian 13's apt
//! calls, with the keyring a client would name in `Signed-By:`; then every
//! index is checked against `Release`, its by-hash copy against its name,
//! and every package against its index entry.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::deb::hex;
use crate::error::{Error, Result};
use crate::profile::raw::RawConfig;

/// What a verification looked at.
#[derive(Debug, Serialize)]
pub struct Verified {
    /// Fingerprints of the keys whose signatures `sqv` accepted.
    pub signed_by: Vec<String>,
    /// Index files checked against `Release`.
    pub indices: usize,
    /// Packages checked against their index entries.
    pub packages: usize,
}

/// Verifies `dir/dists/<suite>` against `keyrings` (armoured or binary).
pub fn verify(dir: &Path, config: &RawConfig, keyrings: &[PathBuf]) -> Result<Verified> {
    let dists = dir.join("dists").join(&config.suite);
    let keyring_dir = tempfile::tempdir().map_err(Error::io(
        "create a temporary directory in",
        std::env::temp_dir(),
    ))?;
    let mut binary_keyrings = Vec::new();
    for (i, k) in keyrings.iter().enumerate() {
        binary_keyrings.push(binary_keyring(
            k,
            &keyring_dir.path().join(format!("{i}.pgp")),
        )?);
    }
    let mut problems = Vec::new();

    // InRelease is what apt reads first; Release.gpg is the fallback for
    // old clients. Both must be good and sign the same text.
    let inrelease_path = dists.join("InRelease");
    let inrelease = read(&inrelease_path)?;
    let (signed_text, signature) = split_clearsigned(&inrelease).ok_or_else(|| Error::Wanting {
        what: format!(
            "{} is not a cleartext-signed message",
            inrelease_path.display()
        ),
        hint: "publish again with --sign-key".into(),
    })?;
    let text_file = keyring_dir.path().join("InRelease.text");
    let sig_file = keyring_dir.path().join("InRelease.sig");
    std::fs::write(&text_file, &signed_text).map_err(Error::io("write", &text_file))?;
    std::fs::write(&sig_file, &signature).map_err(Error::io("write", &sig_file))?;
    let signed_by = sqv(&binary_keyrings, &sig_file, &text_file, &inrelease_path)?;
    let release_path = dists.join("Release");
    let release = read(&release_path)?;
    sqv(
        &binary_keyrings,
        &dists.join("Release.gpg"),
        &release_path,
        &dists.join("Release.gpg"),
    )?;
    let release = String::from_utf8_lossy(&release).into_owned();
    if release.trim_end_matches('\n') != String::from_utf8_lossy(&signed_text) {
        problems
            .push("InRelease and Release differ: one of them is from another publish".to_owned());
    }

    let fields = paragraph(&release);
    for (name, want) in [
        ("Origin", &config.origin),
        ("Label", &config.label),
        ("Suite", &config.suite),
        ("Codename", &config.codename),
    ] {
        if fields.get(name) != Some(want) {
            problems.push(format!(
                "Release has {name}: {:?}, repo.yaml says {want:?}; apt refuses an update whose {name} changed",
                fields.get(name).map(String::as_str).unwrap_or("")
            ));
        }
    }
    if fields.get("Acquire-By-Hash").map(String::as_str) != Some("yes") {
        problems.push("Release lacks `Acquire-By-Hash: yes`".into());
    }

    let mut indices = 0;
    let mut packages = 0;
    for line in release
        .split("\nSHA256:\n")
        .nth(1)
        .unwrap_or("")
        .lines()
        .take_while(|l| l.starts_with(' '))
    {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let [hash, size, rel] = parts.as_slice() else {
            problems.push(format!("malformed SHA256 line in Release: {line:?}"));
            continue;
        };
        indices += 1;
        let path = dists.join(rel);
        match std::fs::read(&path) {
            Ok(data) => {
                if data.len().to_string() != *size || hex(&Sha256::digest(&data)) != *hash {
                    problems.push(format!(
                        "{rel} does not match its Release entry (changed after signing)"
                    ));
                }
                if rel.ends_with("/Packages") {
                    packages += check_packages(dir, rel, &data, &mut problems);
                }
            }
            Err(e) => problems.push(format!(
                "{rel} is listed in Release but cannot be read: {e}"
            )),
        }
        let dir_of = rel.rsplit_once('/').map_or("", |(d, _)| d);
        let by_hash = dists.join(format!("{dir_of}/by-hash/SHA256/{hash}"));
        match std::fs::read(&by_hash) {
            Ok(data) if hex(&Sha256::digest(&data)) == *hash => {}
            Ok(_) => problems.push(format!("{} does not match its name", by_hash.display())),
            Err(_) => problems.push(format!("{rel} has no by-hash copy {}", by_hash.display())),
        }
    }
    if indices == 0 {
        problems.push("Release lists no SHA256 index".into());
    }
    if !problems.is_empty() {
        return Err(Error::Wanting {
            what: format!(
                "{} is not a repository apt would accept:\n  - {}",
                dists.display(),
                problems.join("\n  - ")
            ),
            hint: "publish again from the pool with `vpsc-gen repo publish`".into(),
        });
    }
    Ok(Verified {
        signed_by,
        indices,
        packages,
    })
}

/// Checks each package of a `Packages` index; returns how many there are.
fn check_packages(dir: &Path, rel: &str, data: &[u8], problems: &mut Vec<String>) -> usize {
    let text = String::from_utf8_lossy(data);
    let mut count = 0;
    for stanza in text.split("\n\n").filter(|s| !s.trim().is_empty()) {
        count += 1;
        let f = paragraph(stanza);
        let name = f.get("Package").cloned().unwrap_or_default();
        let (Some(file), Some(size), Some(hash)) =
            (f.get("Filename"), f.get("Size"), f.get("SHA256"))
        else {
            problems.push(format!("{rel}: {name} lacks Filename, Size or SHA256"));
            continue;
        };
        match std::fs::read(dir.join(file)) {
            Ok(deb) if deb.len().to_string() == *size && hex(&Sha256::digest(&deb)) == *hash => {}
            Ok(_) => problems.push(format!("{file} does not match its entry in {rel}")),
            Err(e) => problems.push(format!("{file} (in {rel}) cannot be read: {e}")),
        }
    }
    count
}

/// Single-line fields of one deb822 paragraph.
fn paragraph(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with(' '))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_owned(), v.trim().to_owned()))
        .collect()
}

/// The signed text and the armoured signature of a cleartext-signed
/// message (RFC 4880 §7): dash-escaping undone, the line break before the
/// signature not part of the text.
pub fn split_clearsigned(data: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let text = std::str::from_utf8(data).ok()?;
    let mut lines = text.split('\n');
    if lines.next()?.trim_end() != "-----BEGIN PGP SIGNED MESSAGE-----" {
        return None;
    }
    // Armour headers ("Hash: SHA512") up to the first empty line.
    for line in lines.by_ref() {
        if line.trim_end().is_empty() {
            break;
        }
    }
    let mut body: Vec<&str> = Vec::new();
    let mut signature = String::new();
    let mut in_signature = false;
    for line in lines {
        if in_signature {
            signature.push_str(line);
            signature.push('\n');
        } else if line.trim_end() == "-----BEGIN PGP SIGNATURE-----" {
            in_signature = true;
            signature.push_str(line);
            signature.push('\n');
        } else {
            body.push(line.strip_prefix("- ").unwrap_or(line));
        }
    }
    in_signature.then(|| (body.join("\n").into_bytes(), signature.into_bytes()))
}

/// A binary copy of `key` at `to` (sqv reads binary keyrings).
fn binary_keyring(key: &Path, to: &Path) -> Result<PathBuf> {
    let data = read(key)?;
    if !data.starts_with(b"-----BEGIN") {
        return Ok(key.to_owned());
    }
    let text = String::from_utf8_lossy(&data);
    let mut binary = Vec::new();
    // A keyring file may hold several armoured blocks (current and next key).
    for block in text.split_inclusive("-----END PGP PUBLIC KEY BLOCK-----") {
        if block.contains("-----BEGIN PGP PUBLIC KEY BLOCK-----") {
            let k = crate::keyring::parse(block).map_err(|why| Error::Repo {
                what: format!("{}: {why}", key.display()),
                hint:
                    "pass the armoured public key `vpsc-gen repo keygen` wrote, or a binary keyring"
                        .into(),
            })?;
            binary.extend(k.binary);
        }
    }
    std::fs::write(to, binary).map_err(Error::io("write", to))?;
    Ok(to.to_owned())
}

/// Runs `sqv` as apt does; returns the fingerprints of the good signatures.
fn sqv(keyrings: &[PathBuf], signature: &Path, file: &Path, shown: &Path) -> Result<Vec<String>> {
    let mut cmd = Command::new("sqv");
    for k in keyrings {
        cmd.arg("--keyring").arg(k);
    }
    let out = cmd
        .arg(signature)
        .arg(file)
        .output()
        .map_err(|e| Error::Tool {
            command: "sqv".into(),
            message: format!("{e} (install sqv, the verifier Debian 13's apt uses)"),
        })?;
    if !out.status.success() {
        return Err(Error::Wanting {
            what: format!(
                "the signature of {} is not accepted: {}",
                shown.display(),
                String::from_utf8_lossy(&out.stderr).trim().replace('\n', " ")
            ),
            hint: "sign with a key in the keyring clients use (`vpsc-gen repo publish --sign-key`), or pass that keyring with --keyring".into(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect())
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(Error::io("read", path))
}
