//! Bad input: every invalid fixture makes `vpsc-gen build` exit 2 with a
//! message naming file:line:column, what is wrong and how to fix it, and
//! nothing is written. Adding a case is adding a directory under
//! `tests/fixtures/invalid/`.

use std::path::Path;
use std::process::Command;

fn run_build(profiles: &Path, out: &Path) -> std::process::Output {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    Command::new(env!("CARGO_BIN_EXE_vpsc-gen"))
        .current_dir(&root)
        .arg("build")
        .arg("--profiles")
        .arg(profiles)
        .arg("--out")
        .arg(out)
        .env("SOURCE_DATE_EPOCH", "1795615200")
        .output()
        .expect("vpsc-gen runs")
}

#[test]
fn invalid_fixtures_fail_with_a_located_message_and_write_nothing() {
    insta::glob!("fixtures/invalid/*", |dir| {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("dist");
        let rel = dir
            .strip_prefix(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("..")
                    .canonicalize()
                    .expect("workspace"),
            )
            .expect("fixture inside the workspace");
        let output = run_build(rel, &out);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{}: {stderr}", dir.display());
        assert!(
            output.stdout.is_empty(),
            "nothing on stdout for {}",
            dir.display()
        );
        assert!(
            !out.exists(),
            "{} wrote output despite the error",
            dir.display()
        );
        let leftovers: Vec<_> = std::fs::read_dir(tmp.path()).expect("list").collect();
        assert!(
            leftovers.is_empty(),
            "temporary output left behind: {leftovers:?}"
        );
        assert!(stderr.contains("error: "), "{stderr}");
        insta::assert_snapshot!(stderr);
    });
}

#[test]
fn replacing_an_existing_output_keeps_it_on_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("dist");
    std::fs::create_dir(&out).expect("mkdir");
    std::fs::write(out.join("marker"), "old").expect("write");
    let output = run_build(
        Path::new("generator/tests/fixtures/invalid/dependency-cycle"),
        &out,
    );
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        std::fs::read_to_string(out.join("marker")).expect("kept"),
        "old"
    );
}
