//! A person's TOTP enrolment: the secret file in their home, and what
//! their authenticator app is shown. Shared by `vpsc-user create
//! --enable-2fa` and `vpsc-user 2fa enroll`.

use serde::Serialize;

use super::totp;
use vpsc_engine::error::Result;
use vpsc_engine::root::Root;

/// TOTP details for the new user's authenticator app.
#[derive(Debug, Serialize)]
pub struct TotpEnrolment {
    /// `otpauth://` URI (also shown as a QR code on a terminal).
    pub uri: String,
    /// One-time scratch codes.
    pub scratch_codes: Vec<String>,
}

/// The secret's file in a home, as pam_google_authenticator looks for it.
pub const SECRET_FILE: &str = ".google_authenticator";

/// Writes a fresh TOTP secret to `~/.google_authenticator` in the open
/// `home` (0400, the user's own); the secret is written nowhere else.
pub fn write_secret(
    home: &vpsc_engine::confined::Dir,
    uid: u32,
    gid: u32,
    secret: &totp::Secret,
) -> Result<()> {
    let text = totp::google_authenticator_file(&secret.base32(), secret.scratch_codes());
    home.write(SECRET_FILE, text.as_bytes(), 0o400, uid, gid)
}

/// What a user's authenticator app needs, shown once.
pub fn enrolment(root: &Root, name: &str, secret: &totp::Secret) -> TotpEnrolment {
    let host = hostname(root);
    TotpEnrolment {
        uri: totp::otpauth_uri(&format!("{name}@{host}"), "vpsc", &secret.base32()),
        scratch_codes: secret.scratch_codes().iter().map(u32::to_string).collect(),
    }
}

/// The root's host name, for the account label in authenticator apps.
pub fn hostname(root: &Root) -> String {
    root.read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| vpsc_contract::names::host(h).is_ok())
        .unwrap_or_else(|| "localhost".into())
}
