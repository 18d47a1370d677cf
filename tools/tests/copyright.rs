//! `debian/copyright` lists the crates linked into the programs as the
//! lockfile has them: a dependency added or upgraded without the file
//! regenerated fails here, naming the command that brings it up to date.

use std::path::Path;

#[test]
fn debian_copyright_lists_the_linked_crates_of_the_lockfile() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace");
    let crates =
        vpsc_gen::sbom::shipped_crates(&workspace.join("Cargo.lock"), "x86_64-unknown-linux-gnu")
            .expect("cargo metadata");
    assert!(
        crates.iter().any(|c| c.name == "serde") && crates.iter().any(|c| c.name == "rusqlite"),
        "{crates:?}"
    );
    assert!(
        !crates
            .iter()
            .any(|c| c.name == "proptest" || c.name == "insta"),
        "test-only crates are not linked: {crates:?}"
    );
    let expected = vpsc_docs::copyright::render(&crates);
    let committed =
        std::fs::read_to_string(workspace.join("debian/copyright")).expect("debian/copyright");
    assert!(
        committed == expected,
        "debian/copyright is out of date: run `cargo run -q -p vpsc-docs -- --copyright Cargo.lock > debian/copyright`"
    );
}
