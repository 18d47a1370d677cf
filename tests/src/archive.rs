//! A throw-away archive key and signed publishing of built pools with the
//! shipped `repo.yaml`, for the tests that serve a signed repository
//! (signed_repo, upgrade, fleet).

use std::path::{Path, PathBuf};

use vpsc_gen::profile::raw::RawConfig;
use vpsc_gen::repo::publish::{self, Options};

use crate::workspace_root;

/// An OpenPGP key pair written as `NAME.sec.asc` and `NAME.pub.asc`.
#[derive(Debug, Clone)]
pub struct ArchiveKey {
    /// The armoured secret key.
    pub secret: PathBuf,
    /// The armoured public key.
    pub public: PathBuf,
    /// Its fingerprint, as apt and sqv name it.
    pub fingerprint: String,
}

impl ArchiveKey {
    /// A new key `NAME <NAME@example.org>`, valid for a year, in `dir`.
    pub fn generate(dir: &Path, name: &str) -> Self {
        let key = vpsc_gen::repo::sign::keygen(&format!("{name} <{name}@example.org>"), "1y")
            .unwrap_or_else(|e| panic!("keygen: {e}"));
        let this = ArchiveKey {
            secret: dir.join(format!("{name}.sec.asc")),
            public: dir.join(format!("{name}.pub.asc")),
            fingerprint: key.fingerprint.clone(),
        };
        std::fs::write(&this.secret, key.secret).expect("write secret");
        std::fs::write(&this.public, key.public).expect("write public");
        this
    }

    /// Publish options: `pool` into `repo`, signed by this key, dated now.
    pub fn options(&self, repo: &Path, pool: &Path) -> Options {
        Options {
            pools: vec![pool.to_path_buf()],
            out: repo.to_path_buf(),
            sign_keys: vec![self.secret.clone()],
            date: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock")
                .as_secs(),
        }
    }

    /// Publishes `pool` into (or onto) `repo`, signed by this key.
    pub fn publish(&self, repo: &Path, pool: &Path) {
        publish::publish(&repo_config(), &self.options(repo, pool))
            .unwrap_or_else(|e| panic!("publish: {e}"));
    }
}

/// The shipped repository settings (`repo.yaml`).
pub fn repo_config() -> RawConfig {
    vpsc_gen::profile::load_config(&workspace_root().join("repo.yaml")).expect("repo.yaml")
}
