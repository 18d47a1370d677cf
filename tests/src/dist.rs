//! Building the apt repositories the scenarios install from: the shipped
//! profiles or a fixture tree, plus the `vpsc-runtime` package that
//! `make runtime-deb` built with cargo-deb.

use std::path::{Path, PathBuf};

use vpsc_gen::build::{Inputs, build};

use crate::workspace_root;

/// The vpsc-runtime `.deb` under `target/debian/`; panics with the command
/// that builds it when it is missing (never a silent skip).
pub fn runtime_deb() -> PathBuf {
    let dir = workspace_root().join("target/debian");
    let mut debs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.file_name().is_some_and(|n| {
                        n.to_string_lossy().starts_with("vpsc-runtime_")
                            && n.to_string_lossy().ends_with(".deb")
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    debs.sort();
    debs.pop().unwrap_or_else(|| {
        panic!(
            "no vpsc-runtime .deb in {}: run `make runtime-deb` (make test does) before the e2e tests",
            dir.display()
        )
    })
}

/// Builds an apt repository from `profiles` (a directory with `modules/`
/// and profile YAML) into `out`, with the runtime package included.
pub fn build_dist(profiles: &Path, out: &Path) {
    build(&inputs(profiles), out, &[runtime_deb()], None)
        .unwrap_or_else(|e| panic!("building {}: {e}", profiles.display()));
}

/// The modules of `profile` whose packages come from Debian, inherited
/// ones included, in profile order, and then those that need a vendor
/// repository (which the chroot, without network beyond Debian, lacks).
pub fn profile_modules(profiles: &Path, profile: &str) -> (Vec<String>, Vec<String>) {
    let cat = catalogue(profiles);
    cat.profiles[profile]
        .modules
        .iter()
        .map(|m| m.name.clone())
        .partition(|name| cat.modules[name].vendor.is_none())
}

/// Generator inputs for `profiles` with the project's hooks and repo.yaml
/// and a fixed SOURCE_DATE_EPOCH.
pub fn inputs(profiles: &Path) -> Inputs {
    let root = workspace_root();
    Inputs {
        profiles: profiles.to_path_buf(),
        hooks: root.join("hooks"),
        config: root.join("repo.yaml"),
        epoch: 1_795_615_200,
    }
}

/// The validated catalogue of `profiles`.
pub fn catalogue(profiles: &Path) -> vpsc_gen::profile::Catalogue {
    vpsc_gen::build::catalogue(&inputs(profiles))
        .unwrap_or_else(|e| panic!("catalogue {}: {e}", profiles.display()))
}

/// The Debian packages (first alternative of each relation) the modules of
/// `profile` depend on, for priming a chroot before its first snapshot.
pub fn debian_dependencies(profiles: &Path, profile: &str) -> Vec<String> {
    let cat = catalogue(profiles);
    let p = &cat.profiles[profile];
    let mut out: Vec<String> = p
        .modules
        .iter()
        .map(|m| &cat.modules[&m.name])
        .filter(|m| m.vendor.is_none())
        .flat_map(|m| m.packages.iter())
        .map(|rel| {
            rel.split('|')
                .next()
                .and_then(|a| a.split_whitespace().next())
                .expect("validated relations have a name")
                .to_owned()
        })
        .filter(|name| is_debian(name))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Whether a module's package relation names a Debian package, not vpsc's
/// own (a module that needs a newer runtime says so with
/// `vpsc-runtime (>= …)`).
fn is_debian(name: &str) -> bool {
    !name.starts_with("vpsc-")
}

/// The Debian packages (first alternative of each relation) that the
/// modules `names`, and the modules they depend on, need.
pub fn modules_debian_dependencies(profiles: &Path, names: &[&str]) -> Vec<String> {
    let cat = catalogue(profiles);
    let mut seen = std::collections::BTreeSet::new();
    let mut todo: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let mut out = Vec::new();
    while let Some(name) = todo.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let m = &cat.modules[&name];
        todo.extend(m.depends.iter().cloned());
        out.extend(m.packages.iter().map(|rel| {
            rel.split('|')
                .next()
                .and_then(|a| a.split_whitespace().next())
                .expect("validated relations have a name")
                .to_owned()
        }));
    }
    out.retain(|name| is_debian(name));
    out.sort();
    out.dedup();
    out
}
