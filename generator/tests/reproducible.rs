//! Reproducibility and readability of the output: two builds with one
//! SOURCE_DATE_EPOCH are identical byte for byte, and dpkg-deb reads every
//! package back with the expected members.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{files, workspace};
use vpsc_gen::build::{Inputs, build};

fn build_into(out: &Path) {
    let inputs = Inputs {
        profiles: workspace().join("profiles"),
        hooks: workspace().join("hooks"),
        config: workspace().join("repo.yaml"),
        epoch: 1_795_615_200,
    };
    build(&inputs, out, &[], None).expect("build succeeds");
}

#[test]
fn two_builds_are_byte_identical() {
    let tmp = tempfile::tempdir().expect("tempdir");
    build_into(&tmp.path().join("a"));
    build_into(&tmp.path().join("b"));
    let (a, b) = (files(&tmp.path().join("a")), files(&tmp.path().join("b")));
    assert!(
        a.keys().any(|p| p.extension().is_some_and(|e| e == "deb")),
        "no .deb built"
    );
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (path, bytes) in &a {
        assert!(
            bytes == &b[path],
            "{} differs between two builds",
            path.display()
        );
    }
}

#[test]
fn dpkg_deb_reads_every_package_back() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("dist");
    build_into(&out);
    let debs: Vec<PathBuf> = files(&out)
        .into_keys()
        .filter(|p| p.extension().is_some_and(|e| e == "deb"))
        .collect();
    assert!(
        debs.len() >= 6,
        "expected every module and profile, got {debs:?}"
    );
    for deb in debs {
        let path = out.join(&deb);
        let info = Command::new("dpkg-deb")
            .arg("--info")
            .arg(&path)
            .output()
            .expect("dpkg-deb runs");
        assert!(
            info.status.success(),
            "{}: {}",
            deb.display(),
            String::from_utf8_lossy(&info.stderr)
        );
        let info = String::from_utf8_lossy(&info.stdout);
        // Source packages only ship a keyring and a conffile.
        let members: &[&str] = if deb.to_string_lossy().contains("vpsc-source-") {
            &["control", "md5sums", "conffiles"]
        } else {
            &["control", "md5sums", "postinst", "prerm", "postrm"]
        };
        for member in members {
            assert!(
                info.contains(member),
                "{} lacks {member}:\n{info}",
                deb.display()
            );
        }
        let contents = Command::new("dpkg-deb")
            .arg("--contents")
            .arg(&path)
            .output()
            .expect("dpkg-deb runs");
        let contents = String::from_utf8_lossy(&contents.stdout);
        assert!(
            contents.contains("/copyright"),
            "{} has no copyright file",
            deb.display()
        );
        assert!(
            contents.contains("/changelog.gz"),
            "{} has no changelog",
            deb.display()
        );
        assert!(
            contents
                .lines()
                .all(|l| l.contains(" root/root ") || l.contains(" 0/0 ")),
            "{contents}"
        );
    }
}
