//! Onboarding and offboarding people (`vpsc-user`).
//!
//! The pure building blocks (input validation, SSH public keys, TOTP
//! secrets, terminal QR codes) change nothing: callers pass in file texts
//! and the current time. The rest changes the system: the account and
//! what it holds (groups, sudoers drop-in, SSH keys, TOTP), each change a
//! step with its undo and an audit event.

pub mod create;
pub mod delete;
pub mod enrol;
pub mod input;
pub mod manage;
pub mod qr;
pub mod rbac;
pub mod recover;
pub mod sshkey;
pub mod store;
pub mod sudoers;
pub mod totp;
pub mod twofactor;
pub mod tx;

use vpsc_engine::error::Error;

/// Maps a validator's message to [`Error::Invalid`] with `hint`.
pub fn invalid<E: std::fmt::Display>(hint: &str) -> impl Fn(E) -> Error + '_ {
    move |what| Error::Invalid {
        what: what.to_string(),
        hint: hint.to_owned(),
    }
}
