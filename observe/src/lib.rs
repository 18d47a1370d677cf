//! vpsc's observability layer. It reads the host and the layers below
//! (the engine's journal and audit log, CIS scans, people and grants, the
//! systemd journal, dpkg's log) and writes nothing but Prometheus textfiles
//! and audit events: `vpsc health`, `vpsc metrics`, `vpsc-user activity`,
//! `vpsc integrity`, `vpsc dora` and `vpsc report` are built on it.

pub mod activity;
pub mod dora;
pub mod exposition;
pub mod health;
pub mod integrity;
pub mod metrics;
pub mod report;
pub mod textfile;
