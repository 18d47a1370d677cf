//! The pure building blocks of `vpsc-user` (onboarding people): input
//! validation, SSH public keys, TOTP secrets and terminal QR codes.
//!
//! Nothing here changes the system: callers pass in file texts and the
//! current time, and write what is returned.

mod base64;
pub mod input;
pub mod qr;
pub mod sshkey;
pub mod totp;
