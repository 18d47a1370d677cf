//! Profiles and modules: raw YAML (`raw`), validation (`validate`, with
//! `module`, `templates`, `inherit` and the dependency `graph`) and the
//! validated model (`model`).

mod fields;
pub mod graph;
mod inherit;
pub mod locate;
pub mod model;
mod module;
pub mod raw;
pub mod suggest;
mod templates;
pub mod validate;

pub use model::{Catalogue, Module, Profile, ProfileModule, ShippedFile, Source};
pub use validate::{load_catalogue, load_config};
