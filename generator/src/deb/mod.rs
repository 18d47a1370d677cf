//! The `.deb` writer (deb(5)), byte-reproducible for a given
//! SOURCE_DATE_EPOCH, in the manner of cargo-deb's `src/deb/`.

mod ar;
pub mod package;
mod tar;

pub use package::{DataFile, DebSpec, build, hex, installed_size};
pub use tar::gzip;
