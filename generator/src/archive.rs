//! `vpsc-archive-keyring`: the package that makes a server trust the vpsc
//! repository. It ships the public keys in `/usr/share/keyrings/` and a
//! deb822 `/etc/apt/sources.list.d/vpsc.sources` naming them in
//! `Signed-By:`, so apt trusts these keys for this repository only.
//!
//! Rotation: the keyring holds every key given, current first. Announce
//! the next key by shipping it here (a new keyring version) before it
//! signs; clients that upgraded then accept `Release` files signed by
//! either, and the old key can stop signing later.

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::profile::model::{ShippedFile, Source};
use crate::profile::raw::RawConfig;

/// Package name of the archive keyring.
pub const PACKAGE: &str = "vpsc-archive-keyring";
/// Where the keyring is installed.
pub const KEYRING: &str = "/usr/share/keyrings/vpsc-archive-keyring.pgp";
/// The apt source it installs.
pub const SOURCES: &str = "/etc/apt/sources.list.d/vpsc.sources";

/// The keyring package for the armoured public `keys`, pointing apt at
/// `url` (default: `archive.url` of repo.yaml).
pub fn source(config: &RawConfig, keys: &[PathBuf], url: Option<&str>) -> Result<Source> {
    let archive = config.archive.as_ref().ok_or_else(|| Error::Usage {
        what: "--archive-key needs an `archive:` entry in repo.yaml".into(),
        hint: "add `archive: {url: https://…, keyring_version: \"1\"}` to repo.yaml".into(),
    })?;
    let url = url.unwrap_or(&archive.url);
    if !(url.starts_with("https://") || url.starts_with("http://") || url.starts_with("file:"))
        || url.contains(char::is_whitespace)
    {
        return Err(Error::Usage {
            what: format!("archive URL `{url}` is not an http(s) or file: URI"),
            hint: "e.g. https://apt.example.org/vpsc".into(),
        });
    }
    let mut binary = Vec::new();
    let mut fingerprints: Vec<String> = Vec::new();
    for path in keys {
        let text = std::fs::read_to_string(path).map_err(Error::io("read", path))?;
        let key = crate::keyring::parse(&text).map_err(|why| Error::Usage {
            what: format!("{}: {why}", path.display()),
            hint: "pass the armoured public key written by `vpsc-gen repo keygen --public`".into(),
        })?;
        if fingerprints.contains(&key.fingerprint) {
            return Err(Error::Usage {
                what: format!("key {} is given twice", key.fingerprint),
                hint: "give each archive key once, current key first".into(),
            });
        }
        fingerprints.push(key.fingerprint);
        binary.extend(key.binary);
    }
    let sources = format!(
        "# Shipped by {PACKAGE}: the vpsc apt repository.\n\
         # Removed with the package; apt verifies with the keys in {KEYRING}.\n\
         Types: deb\nURIs: {url}\nSuites: {}\nComponents: {}\nSigned-By: {KEYRING}\n",
        config.suite, config.component
    );
    Ok(Source {
        name: "archive".into(),
        package: PACKAGE.into(),
        version: archive.keyring_version.clone(),
        description: "OpenPGP keys and apt source of the vpsc repository".into(),
        long_description: format!(
            "Makes apt trust the vpsc repository, and only it, with these keys:\n{}",
            fingerprints.join("\n")
        ),
        keyring: ShippedFile {
            path: KEYRING.into(),
            content: binary,
            mode: 0o644,
        },
        sources_file: ShippedFile {
            path: SOURCES.into(),
            content: sources.into_bytes(),
            mode: 0o644,
        },
        conflicts: Vec::new(),
        source: PathBuf::from("repo.yaml"),
    })
}
