//! Writing a metrics file into node-exporter's textfile collector
//! directory: atomically (a random `O_EXCL` name, then a rename), so the
//! collector never reads half a file, and never through a name someone
//! else planted there (the directory may belong to node-exporter's
//! account).

use vpsc_engine::error::Result;
use vpsc_engine::root::Root;

use crate::exposition::{self, Family};

/// Writes `families` to `DIR/NAME` under `root`; `Ok(false)` when the
/// directory does not exist (node-exporter is not installed), which is
/// not an error: there is nobody to read the file.
pub fn write(root: &Root, dir: &str, name: &str, families: &[Family]) -> Result<bool> {
    debug_assert!(
        name.ends_with(".prom") && !name.contains('/'),
        "bad textfile name {name}"
    );
    if !root.is_dir(dir) {
        tracing::info!(dir, "no textfile collector directory; metrics not written");
        return Ok(false);
    }
    let path = format!("{}/{name}", dir.trim_end_matches('/'));
    root.write_file(&path, exposition::render(families).as_bytes(), 0o644, 0, 0)?;
    Ok(true)
}
