//! `vpsc-gen repo`: keygen, publish and verify on real packages built from
//! the shipped profiles, with GnuPG signing and Sequoia's `sqv` checking as
//! apt on Debian 13 does. What apt itself makes of the result is shown by
//! the e2e test `signed_repository` in the trixie chroot.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{s, vpsc_gen, workspace};

fn vpsc_gen_ok(args: &[&str]) -> String {
    let out = vpsc_gen(args);
    assert!(
        out.status.success(),
        "vpsc-gen {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A key pair in `dir`: (secret, public, fingerprint).
fn keygen(dir: &Path, name: &str) -> (PathBuf, PathBuf, String) {
    let (secret, public) = (
        dir.join(format!("{name}.sec.asc")),
        dir.join(format!("{name}.pub.asc")),
    );
    let fpr = vpsc_gen_ok(&[
        "repo",
        "keygen",
        "--user-id",
        &format!("{name} <{name}@example.org>"),
        "--secret",
        s(&secret),
        "--public",
        s(&public),
    ]);
    (secret, public, fpr.trim().to_owned())
}

/// The shipped profiles built into `dir/build` (packages only matter).
fn build(dir: &Path) -> PathBuf {
    let out = dir.join("build");
    vpsc_gen_ok(&[
        "build",
        "--out",
        s(&out),
        "--source-date-epoch",
        "1795615200",
    ]);
    out
}

fn publish(pool: &Path, out: &Path, key: &Path, config: &str) -> serde_json::Value {
    let json = vpsc_gen_ok(&[
        "repo",
        "publish",
        "--pool",
        s(pool),
        "--out",
        s(out),
        "--sign-key",
        s(key),
        "--config",
        config,
        "--json",
    ]);
    serde_json::from_str(&json).expect("publish --json")
}

fn verify(dir: &Path, keyring: &Path) -> Output {
    vpsc_gen(&[
        "repo",
        "verify",
        "--dir",
        s(dir),
        "--keyring",
        s(keyring),
        "--json",
    ])
}

#[test]
fn published_repository_is_signed_complete_and_verifies() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (secret, public, fpr) = keygen(tmp.path(), "current");
    assert_eq!(fpr.len(), 40, "{fpr}");
    let secret_mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&secret).expect("stat").permissions(),
    );
    assert_eq!(secret_mode & 0o777, 0o600);

    let built = build(tmp.path());
    let repo = tmp.path().join("repo");
    let published = publish(&built.join("pool"), &repo, &secret, "repo.yaml");
    assert_eq!(published["signed_by"][0], fpr.as_str());
    assert!(published["packages"].as_array().expect("list").len() > 20);

    let out = verify(&repo, &public);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("verify --json");
    assert_eq!(v["signed_by"][0], fpr.as_str());
    assert_eq!(v["indices"], 3, "Packages, .gz and .xz for amd64");

    let dists = repo.join("dists/trixie");
    let release = std::fs::read_to_string(dists.join("Release")).expect("Release");
    for field in [
        "Origin: vpsc",
        "Label: vpsc",
        "Suite: trixie",
        "Codename: trixie",
        "Architectures: amd64",
        "Components: main",
        "Acquire-By-Hash: yes",
        "SHA256:",
    ] {
        assert!(
            release.contains(&format!("{field}\n")),
            "{field} missing:\n{release}"
        );
    }
    let inrelease = std::fs::read_to_string(dists.join("InRelease")).expect("InRelease");
    assert!(inrelease.starts_with("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n"));
    // The three encodings of Packages say the same.
    let packages = std::fs::read(dists.join("main/binary-amd64/Packages")).expect("Packages");
    let unxz = Command::new("xz")
        .args(["-dc"])
        .arg(dists.join("main/binary-amd64/Packages.xz"))
        .output()
        .expect("xz");
    assert_eq!(unxz.stdout, packages);
    let by_hash = dists.join("main/binary-amd64/by-hash/SHA256");
    assert_eq!(std::fs::read_dir(&by_hash).expect("by-hash").count(), 3);
}

#[test]
fn tampering_and_unknown_keys_are_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (secret, public, _) = keygen(tmp.path(), "current");
    let (stranger, _, _) = keygen(tmp.path(), "stranger");
    let built = build(tmp.path());
    let repo = tmp.path().join("repo");
    publish(&built.join("pool"), &repo, &secret, "repo.yaml");
    let packages = repo.join("dists/trixie/main/binary-amd64/Packages");
    let deb = repo.join("pool/main/v/vpsc-mod-git/vpsc-mod-git_1.1.0_all.deb");
    let refused = |what: &str, expected: &str| {
        let out = verify(&repo, &public);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{what}: {stderr}");
        assert!(stderr.contains(expected), "{what}: {stderr}");
    };

    let original = std::fs::read(&packages).expect("read");
    std::fs::write(&packages, [original.as_slice(), b"\n"].concat()).expect("write");
    refused(
        "edited Packages",
        "main/binary-amd64/Packages does not match its Release entry",
    );
    std::fs::write(&packages, &original).expect("restore");

    let original = std::fs::read(&deb).expect("read");
    let mut flipped = original.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0xff;
    std::fs::write(&deb, &flipped).expect("write");
    refused(
        "edited .deb",
        "vpsc-mod-git_1.1.0_all.deb does not match its entry",
    );
    std::fs::write(&deb, &original).expect("restore");

    publish(&built.join("pool"), &repo, &stranger, "repo.yaml");
    refused("signed by another key", "the signature of");
}

#[test]
fn republishing_keeps_old_versions_and_the_by_hash_files_of_older_releases() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (secret, public, _) = keygen(tmp.path(), "current");
    let built = build(tmp.path());
    let repo = tmp.path().join("repo");
    publish(&built.join("pool"), &repo, &secret, "repo.yaml");
    let dists = repo.join("dists/trixie");
    let old_release = std::fs::read_to_string(dists.join("Release")).expect("Release");

    // A new version of one module, built from a copy of the profiles.
    let newer = git_module_edited(tmp.path(), "newer", |t| {
        t.replacen("version: \"1.1.0\"", "version: \"1.1.1\"", 1)
    });
    publish(&newer, &repo, &secret, "repo.yaml");
    assert!(verify(&repo, &public).status.success());

    let packages =
        std::fs::read_to_string(dists.join("main/binary-amd64/Packages")).expect("Packages");
    for v in ["1.1.0", "1.1.1"] {
        assert!(
            packages.contains(&format!("Package: vpsc-mod-git\nVersion: {v}\n")),
            "{v} not indexed"
        );
        assert!(
            repo.join(format!("pool/main/v/vpsc-mod-git/vpsc-mod-git_{v}_all.deb"))
                .is_file()
        );
    }
    // A client holding the previous InRelease still finds every index it names.
    for line in old_release
        .split("\nSHA256:\n")
        .nth(1)
        .expect("SHA256")
        .lines()
    {
        let f: Vec<&str> = line.split_whitespace().collect();
        let dir = f[2].rsplit_once('/').expect("dir").0;
        let by_hash = dists.join(dir).join("by-hash/SHA256").join(f[0]);
        assert!(by_hash.is_file(), "{} is gone", by_hash.display());
    }

    // Retention: with one version kept, 1.0.0 goes; by-hash files not named
    // for longer than keep_by_hash_days go too.
    let config = tmp.path().join("repo.yaml");
    let base = std::fs::read_to_string(workspace().join("repo.yaml")).expect("repo.yaml");
    std::fs::write(
        &config,
        base.replace("keep_versions: 3", "keep_versions: 1")
            .replace("keep_by_hash_days: 14", "keep_by_hash_days: 1"),
    )
    .expect("config");
    let by_hash = dists.join("main/binary-amd64/by-hash/SHA256");
    let two_days_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(2 * 86400);
    for e in std::fs::read_dir(&by_hash).expect("by-hash") {
        let f = std::fs::File::options()
            .append(true)
            .open(e.expect("entry").path())
            .expect("open");
        f.set_modified(two_days_ago).expect("age it");
    }
    let published = publish(&newer, &repo, &secret, s(&config));
    assert_eq!(
        published["pruned"][0],
        "pool/main/v/vpsc-mod-git/vpsc-mod-git_1.1.0_all.deb"
    );
    assert_eq!(
        published["expired_by_hash"], 6,
        "the two earlier publishes' indices"
    );
    assert_eq!(std::fs::read_dir(&by_hash).expect("by-hash").count(), 3);
    assert!(verify(&repo, &public).status.success());
}

#[test]
fn a_changed_package_without_a_new_version_is_refused_and_nothing_changes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (secret, _, _) = keygen(tmp.path(), "current");
    let built = build(tmp.path());
    let repo = tmp.path().join("repo");
    publish(&built.join("pool"), &repo, &secret, "repo.yaml");
    let release = std::fs::read(repo.join("dists/trixie/InRelease")).expect("InRelease");

    let rebuilt = git_module_edited(tmp.path(), "rebuilt", |t| {
        t.replacen("description: ", "description: changed ", 1)
    });
    let out = vpsc_gen(&[
        "repo",
        "publish",
        "--pool",
        s(&rebuilt),
        "--out",
        s(&repo),
        "--sign-key",
        s(&secret),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("error: 1 package changed without a new version"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "\n  vpsc-mod-git 1.1.0 (all): raise `version:` in profiles/modules/git.yaml\n"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: a changed package needs a new version"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(repo.join("dists/trixie/InRelease")).expect("InRelease"),
        release
    );
}

#[test]
fn the_next_key_is_announced_in_the_keyring_before_it_signs() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (current_secret, current_public, current) = keygen(tmp.path(), "current");
    let (next_secret, next_public, next) = keygen(tmp.path(), "next");
    let built = tmp.path().join("build");
    vpsc_gen_ok(&[
        "build",
        "--out",
        s(&built),
        "--archive-key",
        s(&current_public),
        "--archive-key",
        s(&next_public),
        "--archive-url",
        "https://apt.example.org/vpsc",
    ]);
    let deb = built.join("pool/main/v/vpsc-archive-keyring/vpsc-archive-keyring_1.0.0_all.deb");
    let unpacked = tmp.path().join("unpacked");
    let out = Command::new("dpkg-deb")
        .arg("-x")
        .arg(&deb)
        .arg(&unpacked)
        .output()
        .expect("dpkg-deb");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let keyring = unpacked.join("usr/share/keyrings/vpsc-archive-keyring.pgp");
    let sources = std::fs::read_to_string(unpacked.join("etc/apt/sources.list.d/vpsc.sources"))
        .expect("sources");
    assert!(sources.contains("URIs: https://apt.example.org/vpsc\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/vpsc-archive-keyring.pgp\n"), "{sources}");

    // Signed by the next key alone: a server with the new keyring accepts
    // it, one that never upgraded the keyring does not.
    let repo = tmp.path().join("repo");
    publish(&built.join("pool"), &repo, &next_secret, "repo.yaml");
    let out = verify(&repo, &keyring);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["signed_by"], serde_json::json!([next]));
    assert_eq!(verify(&repo, &current_public).status.code(), Some(1));

    // During the change both sign, and both kinds of server accept.
    let json = vpsc_gen_ok(&[
        "repo",
        "publish",
        "--pool",
        s(&built.join("pool")),
        "--out",
        s(&repo),
        "--sign-key",
        s(&current_secret),
        "--sign-key",
        s(&next_secret),
        "--json",
    ]);
    let published: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(published["signed_by"], serde_json::json!([current, next]));
    assert!(verify(&repo, &current_public).status.success());
    assert!(verify(&repo, &keyring).status.success());
}

/// apt remembers Origin, Label, Suite and Codename of a repository and
/// refuses an update where they changed: they are frozen (docs/packaging.md §5).
#[test]
fn repository_identity_is_frozen() {
    let config = vpsc_gen::profile::load_config(&workspace().join("repo.yaml")).expect("repo.yaml");
    assert_eq!(
        (
            config.origin.as_str(),
            config.label.as_str(),
            config.suite.as_str(),
            config.codename.as_str()
        ),
        ("vpsc", "vpsc", "trixie", "trixie"),
        "changing these breaks `apt update` on every server already using the repository"
    );
}

#[test]
fn keygen_refuses_to_overwrite_a_key() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (secret, public, _) = keygen(tmp.path(), "current");
    let before = std::fs::read(&secret).expect("read");
    let out = vpsc_gen(&[
        "repo",
        "keygen",
        "--secret",
        s(&secret),
        "--public",
        s(&public),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot create"));
    assert_eq!(std::fs::read(&secret).expect("read"), before);
}

/// vpsc-mod-git built into `dir/out` from a copy of the shipped profiles
/// whose `git.yaml` went through `edit`; returns its pool directory.
fn git_module_edited(dir: &Path, out: &str, edit: impl Fn(&str) -> String) -> PathBuf {
    let profiles = dir.join(format!("{out}-profiles"));
    copy_dir(&workspace().join("profiles"), &profiles);
    let git = profiles.join("modules/git.yaml");
    let text = std::fs::read_to_string(&git).expect("git.yaml");
    std::fs::write(&git, edit(&text)).expect("edit git.yaml");
    let built = dir.join(out);
    vpsc_gen_ok(&[
        "build",
        "--profiles",
        s(&profiles),
        "--out",
        s(&built),
        "--source-date-epoch",
        "1795615300",
    ]);
    built.join("pool/main/v/vpsc-mod-git")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir") {
        let e = e.expect("entry");
        let target = to.join(e.file_name());
        if e.file_type().expect("type").is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).expect("copy");
        }
    }
}
