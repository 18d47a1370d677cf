//! OpenPGP signing of `Release` with GnuPG, and key generation.
//!
//! Each run imports the secret keys into a throw-away GnuPG home and kills
//! its agent afterwards, so nothing is left in `~/.gnupg` and CI needs only
//! the key file (from a secret). The keys we make are ed25519 with SHA-512
//! bindings, which Debian 13's apt (Sequoia's `sqv`) accepts; the signatures
//! use SHA-512.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};

/// Environment variable holding the passphrase of a protected secret key.
pub const PASSPHRASE_ENV: &str = "VPSC_SIGNING_PASSPHRASE";

/// A throw-away GnuPG home with the signing keys imported.
pub struct Signer {
    home: tempfile::TempDir,
    /// Fingerprints of the signing keys, in the order given.
    pub fingerprints: Vec<String>,
    /// Newest creation time of the keys (a signature cannot be older).
    created: u64,
}

impl Signer {
    /// Imports the armoured or binary secret keys in `files`.
    pub fn new(files: &[PathBuf]) -> Result<Signer> {
        let home = gnupg_home()?;
        let mut signer = Signer {
            home,
            fingerprints: Vec::new(),
            created: 0,
        };
        for file in files {
            let before = signer.secret_keys()?;
            signer.gpg(&["--import", &file.to_string_lossy()], None)?;
            let after = signer.secret_keys()?;
            let new: Vec<&(String, u64)> = after.iter().filter(|k| !before.contains(k)).collect();
            let [(fingerprint, created)] = new.as_slice() else {
                return Err(Error::Repo {
                    what: format!(
                        "{} holds {} secret signing keys; one file must hold exactly one",
                        file.display(),
                        new.len()
                    ),
                    hint: "export one key with `gpg --armor --export-secret-keys FINGERPRINT`, or make one with `vpsc-gen repo keygen`".into(),
                });
            };
            signer.fingerprints.push(fingerprint.clone());
            signer.created = signer.created.max(*created);
        }
        Ok(signer)
    }

    /// An inline (cleartext) signature by every key: `InRelease`.
    pub fn clearsign(&self, data: &[u8], date: u64) -> Result<Vec<u8>> {
        self.sign("--clearsign", data, date)
    }

    /// A detached, armoured signature by every key: `Release.gpg`.
    pub fn detach_sign(&self, data: &[u8], date: u64) -> Result<Vec<u8>> {
        self.sign("--detach-sign", data, date)
    }

    fn sign(&self, mode: &str, data: &[u8], date: u64) -> Result<Vec<u8>> {
        // A fixed signature time makes the output depend only on the
        // input (ed25519 signatures are deterministic); it may not precede
        // the key.
        let time = format!("{}!", date.max(self.created));
        let mut args = vec![
            "--armor",
            "--digest-algo",
            "SHA512",
            "--faked-system-time",
            &time,
        ];
        for f in &self.fingerprints {
            args.extend(["--local-user", f.as_str()]);
        }
        args.extend([mode, "--output", "-"]);
        self.gpg(&args, Some(data))
    }

    /// (fingerprint, creation time) of every secret key that can sign.
    fn secret_keys(&self) -> Result<Vec<(String, u64)>> {
        let out = self.gpg(&["--with-colons", "--list-secret-keys"], None)?;
        let text = String::from_utf8_lossy(&out);
        let mut keys = Vec::new();
        let mut pending: Option<u64> = None;
        for line in text.lines() {
            let f: Vec<&str> = line.split(':').collect();
            match f.first() {
                Some(&"sec") => {
                    let capabilities = f.get(11).copied().unwrap_or("");
                    pending = capabilities
                        .contains('S')
                        .then(|| f.get(5).and_then(|t| t.parse().ok()).unwrap_or(0));
                }
                Some(&"fpr") => {
                    if let (Some(created), Some(fpr)) = (pending.take(), f.get(9)) {
                        keys.push(((*fpr).to_owned(), created));
                    }
                }
                _ => {}
            }
        }
        Ok(keys)
    }

    fn gpg(&self, args: &[&str], input: Option<&[u8]>) -> Result<Vec<u8>> {
        gpg(self.home.path(), args, input)
    }
}

impl Drop for Signer {
    fn drop(&mut self) {
        kill_agent(self.home.path());
    }
}

/// A new signing key.
pub struct NewKey {
    /// Upper-case hex fingerprint.
    pub fingerprint: String,
    /// Armoured secret key (keep it secret: CI reads it from a secret).
    pub secret: Vec<u8>,
    /// Armoured public key (ship it in the keyring package).
    pub public: Vec<u8>,
}

/// Makes an ed25519 signing key for `user_id`, expiring after `expire`
/// (GnuPG syntax: `3y`, `18m`, `never`), without a passphrase: it is meant
/// for a CI secret store.
pub fn keygen(user_id: &str, expire: &str) -> Result<NewKey> {
    if user_id.contains(['\n', ':']) || user_id.trim().is_empty() {
        return Err(Error::Usage {
            what: format!("user ID {user_id:?} is empty or holds a newline or `:`"),
            hint: "use the form `Name <email>`, e.g. `vpsc archive <apt@example.org>`".into(),
        });
    }
    let home = gnupg_home()?;
    let result = (|| {
        let run = |args: &[&str]| gpg(home.path(), args, None);
        run(&[
            "--passphrase",
            "",
            "--quick-generate-key",
            user_id,
            "ed25519",
            "sign",
            expire,
        ])?;
        let listing =
            String::from_utf8_lossy(&run(&["--with-colons", "--list-secret-keys"])?).into_owned();
        let fingerprint = listing
            .lines()
            .find_map(|l| {
                l.strip_prefix("fpr:")
                    .map(|r| r.trim_matches(':').to_owned())
            })
            .ok_or_else(|| Error::Tool {
                command: "gpg --list-secret-keys".into(),
                message: "no key after --quick-generate-key".into(),
            })?;
        Ok(NewKey {
            secret: run(&["--armor", "--export-secret-keys", &fingerprint])?,
            public: run(&["--armor", "--export", &fingerprint])?,
            fingerprint,
        })
    })();
    kill_agent(home.path());
    result
}

fn gnupg_home() -> Result<tempfile::TempDir> {
    // gpg-agent's socket path must stay under ~100 bytes: use /tmp, not
    // a deep TMPDIR.
    tempfile::Builder::new()
        .prefix("vpsc-gnupg-")
        .tempdir_in("/tmp")
        .map_err(Error::io("create a GnuPG home in", "/tmp"))
}

fn gpg(home: &Path, args: &[&str], input: Option<&[u8]>) -> Result<Vec<u8>> {
    let mut cmd = Command::new("gpg");
    cmd.arg("--homedir").arg(home).args([
        "--batch",
        "--no-tty",
        "--quiet",
        "--pinentry-mode",
        "loopback",
    ]);
    if let Ok(p) = std::env::var(PASSPHRASE_ENV) {
        if !args.contains(&"--passphrase") {
            cmd.args(["--passphrase", &p]);
        }
    }
    cmd.args(args);
    crate::tool::run(cmd, input, &format!("gpg {}", args.join(" ")), "gnupg")
}

fn kill_agent(home: &Path) {
    let _ = Command::new("gpgconf")
        .arg("--homedir")
        .arg(home)
        .args(["--kill", "gpg-agent"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}
