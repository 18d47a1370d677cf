//! `vpsc-gen repo init`: what a fork needs before its first release tag —
//! `repo.yaml`, the archive key pair, the public key where the release
//! workflow reads it (`keys/vpsc-archive.asc`), and the name of the CI
//! secret the secret key goes into. The secret key is written to a file
//! (mode 0600, git-ignored) and never printed unless asked.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};

/// Where `.github/workflows/release.yml` and `release/run` read the public
/// key, relative to the checkout.
pub const PUBLIC_KEY: &str = "keys/vpsc-archive.asc";
/// Where the secret key goes by default, beside it (git-ignored).
pub const SECRET_KEY: &str = "keys/vpsc-archive.sec.asc";
/// The GitHub Actions secret release.yml passes to `release/run`.
pub const SECRET_NAME: &str = "VPSC_SIGNING_KEY";

/// What to initialise.
pub struct Options {
    /// The checkout root.
    pub dir: PathBuf,
    /// `archive.url` of the new repo.yaml: where servers fetch from.
    pub url: Option<String>,
    /// Origin and Label of the new repo.yaml.
    pub origin: Option<String>,
    /// Maintainer of every package (`Name <address>`).
    pub maintainer: Option<String>,
    /// Where the secret key goes (default [`SECRET_KEY`] under `dir`).
    pub secret: Option<PathBuf>,
    /// OpenPGP user ID of the key.
    pub user_id: String,
    /// Validity of the key.
    pub expire: String,
    /// Rewrite repo.yaml and replace an existing key pair.
    pub force: bool,
}

/// What `repo init` did.
#[derive(Debug, Serialize)]
pub struct Initialised {
    /// The repository identity file.
    pub config: PathBuf,
    /// Whether it was written (false: an existing one was kept).
    pub config_written: bool,
    /// The armoured public key (commit it).
    pub public: PathBuf,
    /// The armoured secret key (store it as `github_secret`, never commit it).
    pub secret: PathBuf,
    /// Fingerprint of the new key.
    pub fingerprint: String,
    /// Name of the CI secret that holds the secret key.
    pub github_secret: String,
    /// The command that stores it.
    pub store_with: String,
}

/// Writes repo.yaml (unless one is kept), makes the key pair and places
/// both keys. Everything is checked before the first file is written.
pub fn init(options: &Options) -> Result<(Initialised, Vec<u8>)> {
    let config = options.dir.join("repo.yaml");
    let public = options.dir.join(PUBLIC_KEY);
    let secret = options
        .secret
        .clone()
        .unwrap_or_else(|| options.dir.join(SECRET_KEY));
    let write_config = options.force || !config.exists();
    if !write_config && (options.url.is_some() || options.origin.is_some()) {
        return Err(Error::Usage {
            what: format!(
                "{} exists; --url and --origin only apply to a new one",
                config.display()
            ),
            hint: "edit it by hand, or pass --force to write it anew from these values".into(),
        });
    }
    if !options.force {
        for path in [&public, &secret] {
            if path.exists() {
                return Err(Error::Usage {
                    what: format!(
                        "{} exists: this repository has a key already",
                        path.display()
                    ),
                    hint: "servers trust that key; to replace it anyway pass --force, then follow \
                           `Key rotation` in the README (announce the next key first)"
                        .into(),
                });
            }
        }
    }
    let yaml = if write_config {
        let url = options.url.as_deref().ok_or_else(|| Error::Usage {
            what: "--url is needed to write repo.yaml: the URL servers fetch the repository from"
                .into(),
            hint: "e.g. --url https://OWNER.github.io/REPO for GitHub Pages".into(),
        })?;
        let yaml = config_yaml(
            url,
            options.origin.as_deref().unwrap_or("vpsc"),
            options
                .maintainer
                .as_deref()
                .unwrap_or("vpsc developers <vpsc@example.org>"),
        );
        check_config(&options.dir, &yaml)?;
        Some(yaml)
    } else {
        crate::profile::load_config(&config)?;
        None
    };
    let key = super::sign::keygen(&options.user_id, &options.expire)?;

    if let Some(yaml) = &yaml {
        super::publish::write_atomic(&config, yaml.as_bytes())?;
    }
    for (path, data, mode) in [(&public, &key.public, 0o644), (&secret, &key.secret, 0o600)] {
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(Error::io("create", dir))?;
        if options.force {
            match std::fs::remove_file(path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(Error::io("remove", path)(e));
                }
                _ => {}
            }
        }
        crate::write_new(path, data, mode)?;
    }
    ignore_secrets(&options.dir.join("keys"))?;
    let store_with = format!("gh secret set {SECRET_NAME} < {}", secret.display());
    Ok((
        Initialised {
            config,
            config_written: yaml.is_some(),
            public,
            secret,
            fingerprint: key.fingerprint,
            github_secret: SECRET_NAME.into(),
            store_with,
        },
        key.secret,
    ))
}

/// A repo.yaml as the shipped one, with the fork's URL and names.
fn config_yaml(url: &str, origin: &str, maintainer: &str) -> String {
    // JSON strings are YAML strings: quoting without a YAML writer.
    let q = |s: &str| serde_json::to_string(s).expect("strings serialise");
    format!(
        "# Identity of every package and of the apt repository vpsc-gen writes\n\
         # (written by `vpsc-gen repo init`). Origin, Label, Suite and Codename\n\
         # are frozen once published: changing them breaks every client's\n\
         # `apt update` (docs/packaging.md §5).\n\
         maintainer: {maintainer}\n\
         homepage: {url}\n\
         copyright: {copyright}\n\
         origin: {origin}\n\
         label: {origin}\n\
         suite: trixie\n\
         codename: trixie\n\
         component: main\n\
         architectures: [amd64]\n\
         description: {description}\n\
         # How servers reach the published repository (vpsc-archive-keyring's\n\
         # /etc/apt/sources.list.d/vpsc.sources); bump keyring_version whenever the\n\
         # archive keys change (`vpsc-gen build --archive-key`).\n\
         archive:\n\
         \x20 url: {url}\n\
         \x20 keyring_version: \"1.0.0\"\n\
         # Versions of each package kept by `vpsc-gen repo publish`, and days an\n\
         # index stays under by-hash/ after the last Release that named it.\n\
         keep_versions: 3\n\
         keep_by_hash_days: 14\n",
        maintainer = q(maintainer),
        url = q(url),
        copyright = q(&format!("{} {maintainer}", year_now())),
        origin = q(origin),
        description = q(&format!(
            "{origin} module and profile packages for Debian 13"
        )),
    )
}

fn year_now() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    crate::doc::rfc3339(now)[..4].to_owned()
}

/// Loads the new repo.yaml from a temporary file first, so a bad value
/// (a maintainer without an address) fails before anything is written.
fn check_config(dir: &Path, yaml: &str) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(Error::io("create", dir))?;
    let tmp = tempfile::Builder::new()
        .prefix(".repo.yaml.")
        .tempfile_in(dir)
        .map_err(Error::io("create a temporary file in", dir))?;
    std::fs::write(tmp.path(), yaml).map_err(Error::io("write", tmp.path()))?;
    crate::profile::load_config(tmp.path()).map(|_| ())
}

/// `keys/.gitignore`: secret keys never reach a commit by accident.
fn ignore_secrets(keys: &Path) -> Result<()> {
    let path = keys.join(".gitignore");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    if text.lines().any(|l| l.trim() == "*.sec.asc") {
        return Ok(());
    }
    let mut text = text;
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(
        "# Secret keys (`vpsc-gen repo init`) go to a CI secret, never a commit.\n*.sec.asc\n",
    );
    std::fs::write(&path, text).map_err(Error::io("write", &path))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_written_config_loads() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let yaml = super::config_yaml("https://me.github.io/vpsc", "myorg", "Me <me@example.org>");
        super::check_config(tmp.path(), &yaml).expect("loads");
        assert!(yaml.contains("origin: \"myorg\"\n"));
        assert!(yaml.contains("  url: \"https://me.github.io/vpsc\"\n"));
    }
}
