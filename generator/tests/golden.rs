//! Golden tests: the control file, maintainer scripts and shipped plan of
//! every package rendered from the shipped profiles and from the valid
//! fixtures. Adding a case is adding a directory under
//! `tests/fixtures/valid/`.

use std::path::{Path, PathBuf};

use vpsc_gen::build::{Inputs, catalogue, render_all};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn inputs(profiles: PathBuf) -> Inputs {
    Inputs {
        profiles,
        hooks: workspace().join("hooks"),
        config: workspace().join("repo.yaml"),
        epoch: 1_795_615_200,
    }
}

/// One snapshot per package: control, scripts and the JSON files it ships.
fn render_snapshot(profiles: PathBuf) -> Vec<(String, String)> {
    let inputs = inputs(profiles);
    let cat = catalogue(&inputs).expect("valid catalogue");
    render_all(&cat, &inputs)
        .expect("renders")
        .into_iter()
        .map(|r| {
            let mut text = format!("=== control\n{}", r.spec.control);
            for (name, body) in &r.spec.scripts {
                text.push_str(&format!("=== {name}\n{body}"));
            }
            for f in &r.spec.files {
                if f.path.ends_with(".json") || f.path.starts_with("/usr/lib/") {
                    text.push_str(&format!(
                        "=== {} (mode {:04o})\n{}",
                        f.path,
                        f.mode,
                        String::from_utf8_lossy(&f.content)
                    ));
                } else {
                    text.push_str(&format!(
                        "=== {} (mode {:04o}, {} bytes)\n",
                        f.path,
                        f.mode,
                        f.content.len()
                    ));
                }
            }
            (r.package, text)
        })
        .collect()
}

#[test]
fn shipped_profiles_render_as_recorded() {
    for (package, text) in render_snapshot(workspace().join("profiles")) {
        insta::assert_snapshot!(format!("shipped__{package}"), text);
    }
}

/// `vpsc-archive-keyring` for a fixed public key (its secret half was
/// thrown away: this key signs nothing).
#[test]
fn archive_keyring_renders_as_recorded() {
    let inputs = inputs(workspace().join("profiles"));
    let cat = catalogue(&inputs).expect("valid catalogue");
    let key = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/keys/archive.pub.asc");
    let source =
        vpsc_gen::archive::source(&cat.config, &[key], Some("https://apt.example.org/vpsc"))
            .expect("keyring source");
    let env = vpsc_gen::scripts::environment(&inputs.hooks).expect("hooks");
    let r = vpsc_gen::build::render_source(&cat, &env, &inputs, &source).expect("renders");
    let mut text = format!("=== control\n{}", r.spec.control);
    assert!(
        r.spec.scripts.is_empty(),
        "dpkg alone installs and removes it"
    );
    for f in &r.spec.files {
        if f.path.ends_with(".pgp") {
            text.push_str(&format!(
                "=== {} (mode {:04o}, {} bytes)\n",
                f.path,
                f.mode,
                f.content.len()
            ));
        } else if !f.path.starts_with("/usr/share/doc/") {
            text.push_str(&format!(
                "=== {} (mode {:04o})\n{}",
                f.path,
                f.mode,
                String::from_utf8_lossy(&f.content)
            ));
        }
    }
    insta::assert_snapshot!("archive_keyring", text);
}

#[test]
fn valid_fixtures_render_as_recorded() {
    insta::glob!("fixtures/valid/*", |dir| {
        for (package, text) in render_snapshot(dir.to_path_buf()) {
            insta::assert_snapshot!(package, text);
        }
    });
}
