//! Files fetched from the network, kept only with their pinned SHA-256.
//!
//! The download is apt's own (`apt-helper download-file`), so the
//! proxies, TLS settings and `auth.conf.d` credentials the administrator
//! gave apt apply, and apt checks the hash as it does for any index. It goes
//! through the endpoint's circuit breaker with retries; a wrong hash or a
//! missing file is permanent and not retried.

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use super::Ctx;
use crate::breaker::Failure;
use crate::error::Result;
use vpsc_contract::plan;

/// apt's helper, present wherever apt is.
const APT_HELPER: &str = "/usr/lib/apt/apt-helper";

/// The content at `url`, whose SHA-256 is `sha256`.
pub(super) fn download(ctx: &Ctx<'_>, url: &str, sha256: &str) -> Result<Vec<u8>> {
    let (host, port) = plan::endpoint(url).map_err(|p| crate::error::Error::Invalid {
        what: p.what,
        hint: "fix the `url` of the fetch effect".into(),
    })?;
    ctx.breakers.call(
        &format!("net:{host}:{port}"),
        &format!("fetching {url}"),
        || attempt(url, sha256),
    )
}

fn attempt(url: &str, sha256: &str) -> std::result::Result<Vec<u8>, Failure> {
    let dir = DownloadDir::new()
        .map_err(|e| Failure::Permanent(format!("cannot create a download directory: {e}")))?;
    let target = dir.0.join("download");
    // vpsc's retry settings govern (vpsc.yaml); apt's own retries with
    // back-off would multiply them.
    let out = crate::root::waiting(|| {
        Command::new(APT_HELPER)
            .args(["-o", "Acquire::Retries=0"])
            .arg("download-file")
            .arg(url)
            .arg(&target)
            .arg(format!("SHA256:{sha256}"))
            .output()
    })
    .map_err(|e| Failure::Permanent(format!("cannot run {APT_HELPER}: {e} (is apt installed?)")))?;
    if !out.status.success() {
        let message = String::from_utf8_lossy(&out.stderr)
            .lines()
            .filter(|l| l.starts_with("E: ") || l.contains("Err"))
            .collect::<Vec<_>>()
            .join(" ");
        let message = if message.is_empty() {
            format!("apt-helper exited with {}", out.status)
        } else {
            message
        };
        return Err(if permanent(&message) {
            Failure::Permanent(message)
        } else {
            Failure::Transient(message)
        });
    }
    // The directory is _apt's: whatever it holds is read without
    // following a link planted at the name.
    let data = {
        use std::io::Read;
        use std::os::unix::fs::OpenOptionsExt;
        let mut buf = Vec::new();
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
            .open(&target)
            .and_then(|mut f| f.read_to_end(&mut buf))
            .map(|_| buf)
    }
    .map_err(|e| Failure::Permanent(format!("cannot read the download: {e}")))?;
    // apt checked the hash already; a second look costs nothing.
    let actual: String = Sha256::digest(&data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if actual != sha256 {
        return Err(Failure::Permanent(format!(
            "Hash Sum mismatch: {url} has SHA-256 {actual}, the module pins {sha256}"
        )));
    }
    Ok(data)
}

/// A private directory apt's unprivileged `_apt` user may write to,
/// removed on drop.
struct DownloadDir(PathBuf);

impl DownloadDir {
    fn new() -> std::io::Result<DownloadDir> {
        // Unpredictable, and mkdir fails on anything planted at the name.
        let path =
            std::env::temp_dir().join(format!("vpsc-fetch-{:016x}", crate::confined::random_u64()));
        std::fs::DirBuilder::new().mode(0o700).create(&path)?;
        // apt's methods drop to _apt; hand it the directory so the download
        // is sandboxed instead of running as root with a warning.
        if let Ok(Some(apt)) = nix::unistd::User::from_name("_apt") {
            let _ = nix::unistd::chown(path.as_path(), Some(apt.uid), None);
        }
        Ok(DownloadDir(path))
    }
}

impl Drop for DownloadDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(Path::new(&self.0));
    }
}

/// Whether apt-helper's failure will not change on a retry: a missing
/// file, refused access or other content. A refused or timed-out
/// connection may. Status codes are whole words of apt's message ("404
/// Not Found"), never part of a port or path ("127.0.0.1:34039").
fn permanent(message: &str) -> bool {
    message
        .split_whitespace()
        .any(|w| ["404", "403", "401"].contains(&w))
        || ["Hash Sum mismatch", "unexpected size"]
            .iter()
            .any(|p| message.contains(p))
}

#[cfg(test)]
mod tests {
    use super::permanent;

    #[test]
    fn a_status_code_is_a_word_not_part_of_a_port() {
        assert!(permanent(
            "E: Failed to fetch http://deb.example.org/key.asc  404  Not Found [IP: 192.0.2.1 80]"
        ));
        assert!(!permanent(
            "E: Failed to fetch http://127.0.0.1:34039/key.asc  Could not connect to 127.0.0.1:34039 (127.0.0.1). - connect (111: Connection refused)"
        ));
        assert!(!permanent(
            "E: Failed to fetch http://example.org:4041/k  Connection timed out"
        ));
        assert!(permanent("E: Hash Sum mismatch"));
    }
}
