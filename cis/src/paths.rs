//! Files a configuration names by directory or glob, as seen from the
//! root.

use vpsc_engine::root::Root;

use crate::sshd::wildcard;

/// The files of `dir` (as seen from the root) whose names end in `ext`,
/// in the lexical order programs read drop-in directories in; none when
/// the directory is missing.
pub fn dir_files(root: &Root, dir: &str, ext: &str) -> Vec<String> {
    let mut names: Vec<String> = root
        .read_dir_names(dir)
        .unwrap_or_default()
        .into_iter()
        .filter(|n| n.ends_with(ext))
        .collect();
    names.sort();
    names.into_iter().map(|n| format!("{dir}/{n}")).collect()
}

/// The files (as seen from the root) a path with `*` or `?` in its last
/// component names, in name order; the path itself when it has none.
pub fn expand(root: &Root, pattern: &str) -> Vec<String> {
    let Some((dir, name)) = pattern.rsplit_once('/') else {
        return Vec::new();
    };
    if !name.contains(['*', '?']) {
        return vec![pattern.to_owned()];
    }
    let mut out: Vec<String> = root
        .read_dir_names(if dir.is_empty() { "/" } else { dir })
        .unwrap_or_default()
        .into_iter()
        .filter(|n| wildcard(name, n))
        .map(|n| format!("{dir}/{n}"))
        .collect();
    out.sort();
    out
}
