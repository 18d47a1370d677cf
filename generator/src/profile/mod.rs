//! Profiles and modules: raw YAML (`raw`), validation (`validate`) and the
//! validated model (`model`).

pub mod locate;
pub mod model;
pub mod raw;
pub mod validate;

pub use model::{Catalogue, Module, Profile, ProfileModule, ShippedFile, Source};
pub use validate::{load_catalogue, load_config};
