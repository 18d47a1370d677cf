//! `vpsc report`: one page for an auditor: the host, its CIS score per
//! section with every failing rule and its evidence, the waivers, the
//! verify result of every installed module, the people with their roles,
//! grants, second factor and key age, the audit chain, and DORA.
//! [`model`] gathers it, [`html`] renders it.

pub mod html;
pub mod model;

pub use html::render;
pub use model::{Report, gather};

#[cfg(test)]
mod tests;
