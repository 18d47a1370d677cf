//! The signed repository as a server meets it: published by
//! `vpsc-gen repo publish`, served over HTTP on loopback, trusted through
//! `vpsc-archive-keyring` alone (no `Trusted: yes`), in a Debian 13 chroot
//! whose apt verifies with Sequoia's `sqv`.

use std::path::{Path, PathBuf};

use vpsc_e2e::{
    ArchiveKey, Chroot, HttpServer, copy_tree, inputs, repo_config, require_root, runtime_deb,
    workspace_root,
};

/// `apt-get update` of one sources file only: the Debian lists come with the
/// base tarball and refreshing them would make the test depend on the
/// mirror. The repository's old lists are dropped first, so every update
/// fetches and checks everything again.
fn update(chroot: &Chroot, sources: &str) -> std::process::Output {
    for entry in std::fs::read_dir(chroot.path("/var/lib/apt/lists"))
        .expect("lists")
        .flatten()
    {
        if entry.file_name().to_string_lossy().starts_with("127.0.0.1") {
            std::fs::remove_file(entry.path()).expect("drop list");
        }
    }
    chroot.apt_get(&[
        "-o",
        &format!("Dir::Etc::SourceList=sources.list.d/{sources}"),
        "-o",
        "Dir::Etc::SourceParts=-",
        "-o",
        "APT::Get::List-Cleanup=0",
        "update",
    ])
}

fn stderr(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Replaces a file's bytes for the duration of a check, then restores them.
fn with_edited(path: &Path, edit: impl FnOnce(&mut Vec<u8>), check: impl FnOnce()) {
    let original = std::fs::read(path).expect("read");
    let mut changed = original.clone();
    edit(&mut changed);
    std::fs::write(path, &changed).expect("edit");
    check();
    std::fs::write(path, &original).expect("restore");
}

#[test]
fn signed_repository_over_http_installs_a_profile_and_refuses_tampering() {
    require_root();
    let work = tempfile::tempdir().expect("tempdir");
    let current = ArchiveKey::generate(work.path(), "current");
    let stranger = ArchiveKey::generate(work.path(), "stranger");
    let repo = work.path().join("repo");
    std::fs::create_dir_all(&repo).expect("mkdir");
    let server = HttpServer::start(&repo, None);

    let built = work.path().join("built");
    let keyring = vpsc_gen::archive::source(
        &repo_config(),
        std::slice::from_ref(&current.public),
        Some(&server.url()),
    )
    .unwrap_or_else(|e| panic!("archive keyring: {e}"));
    vpsc_gen::build::build(
        &inputs(&workspace_root().join("profiles")),
        &built,
        &[runtime_deb()],
        Some(&keyring),
    )
    .unwrap_or_else(|e| panic!("build: {e}"));
    current.publish(&repo, &built.join("pool"));

    // Setting a server up: the keyring .deb, then apt does the rest.
    let chroot = Chroot::new();
    let keyring_deb = std::fs::read_dir(built.join("pool/main/v/vpsc-archive-keyring"))
        .expect("keyring package")
        .flatten()
        .next()
        .expect("one keyring .deb")
        .path();
    std::fs::copy(&keyring_deb, chroot.path("/tmp/vpsc-archive-keyring.deb")).expect("copy");
    chroot.run_ok(&["dpkg", "-i", "/tmp/vpsc-archive-keyring.deb"]);
    let sources = std::fs::read_to_string(chroot.path("/etc/apt/sources.list.d/vpsc.sources"))
        .expect("sources");
    assert!(!sources.contains("Trusted"), "{sources}");
    assert!(
        sources.contains("Signed-By: /usr/share/keyrings/vpsc-archive-keyring.pgp"),
        "{sources}"
    );
    let out = update(&chroot, "vpsc.sources");
    assert!(out.status.success(), "{}", stderr(&out));
    chroot.apt_get_ok(&["install", "--no-install-recommends", "vpsc-profile-server"]);
    let status = chroot.run_ok(&[
        "dpkg-query",
        "-W",
        "-f=${db:Status-Abbrev}",
        "vpsc-profile-server",
    ]);
    assert_eq!(status.trim(), "ii");
    let verify = chroot.run_ok(&["vpsc", "verify"]);
    assert!(
        verify.contains(" passed, 0 failed") && verify.contains("PASS security"),
        "{verify}"
    );
    // vpsc-runtime's file trigger verified the whole system once for the
    // whole apt run, after every module was configured.
    let system = chroot.run_ok(&["vpsc", "audit", "query", "--action", "system.verify"]);
    let runs: Vec<&str> = system.lines().collect();
    assert_eq!(runs.len(), 1, "{system}");
    assert!(runs[0].ends_with("— ok"), "{system}");

    // An index changed after signing.
    let index_dir = repo.join("dists/trixie/main/binary-amd64");
    let by_hash: Vec<PathBuf> = std::fs::read_dir(index_dir.join("by-hash/SHA256"))
        .expect("by-hash")
        .flatten()
        .map(|e| e.path())
        .collect();
    let originals: Vec<(PathBuf, Vec<u8>)> = by_hash
        .iter()
        .chain(
            [
                index_dir.join("Packages"),
                index_dir.join("Packages.xz"),
                index_dir.join("Packages.gz"),
            ]
            .iter(),
        )
        .map(|p| (p.clone(), std::fs::read(p).expect("read")))
        .collect();
    // Same size, one byte changed: only the hash can tell.
    for (p, data) in &originals {
        let mut changed = data.clone();
        let middle = changed.len() / 2;
        changed[middle] ^= 0x01;
        std::fs::write(p, changed).expect("tamper");
    }
    let out = update(&chroot, "vpsc.sources");
    assert!(
        !out.status.success() && stderr(&out).contains("Hash Sum mismatch"),
        "a modified Packages was accepted:\n{}",
        stderr(&out)
    );
    for (p, data) in &originals {
        std::fs::write(p, data).expect("restore");
    }
    let out = update(&chroot, "vpsc.sources");
    assert!(out.status.success(), "{}", stderr(&out));

    // A package changed after publishing (same size, one byte). apt would
    // take a good copy from its cache (shared between test chroots), so
    // none may be there.
    forget_cached_vpsc_debs(&chroot);
    let git = std::fs::read_dir(repo.join("pool/main/v/vpsc-mod-git"))
        .expect("vpsc-mod-git in the pool")
        .map(|e| e.expect("entry").path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .expect("a vpsc-mod-git .deb");
    with_edited(
        &git,
        |d| {
            let last = d.len() - 1;
            d[last] ^= 0xff;
        },
        || {
            let out = chroot.apt_get(&["install", "--no-install-recommends", "vpsc-mod-git"]);
            assert!(
                !out.status.success() && stderr(&out).contains("Hash Sum mismatch"),
                "a modified .deb was installed:\n{}",
                stderr(&out)
            );
        },
    );
    forget_cached_vpsc_debs(&chroot);

    // A Release signed by a key the keyring does not hold.
    stranger.publish(&repo, &built.join("pool"));
    let out = update(&chroot, "vpsc.sources");
    let text = stderr(&out);
    assert!(
        !out.status.success()
            && text.contains(&format!("Missing key {}", stranger.fingerprint))
            && text.contains("is not signed"),
        "a Release signed by an unknown key was accepted:\n{text}"
    );
    current.publish(&repo, &built.join("pool"));

    // A new version is published; a client with the older lists still gets
    // the version they name, and after an update both are offered.
    let profiles = work.path().join("profiles");
    copy_tree(&workspace_root().join("profiles"), &profiles);
    let git_yaml = profiles.join("modules/git.yaml");
    let text = std::fs::read_to_string(&git_yaml).expect("git.yaml");
    // The shipped version, whatever it is now, and one above it.
    let old = text
        .lines()
        .find_map(|l| l.strip_prefix("version: "))
        .expect("git.yaml has a version")
        .trim_matches('"')
        .to_owned();
    let new = format!("{old}.1");
    std::fs::write(
        &git_yaml,
        text.replacen(
            &format!("version: \"{old}\""),
            &format!("version: \"{new}\""),
            1,
        ),
    )
    .expect("bump");
    let newer = work.path().join("newer");
    vpsc_gen::build::build(&inputs(&profiles), &newer, &[], None)
        .unwrap_or_else(|e| panic!("build: {e}"));
    let out = update(&chroot, "vpsc.sources");
    assert!(out.status.success(), "{}", stderr(&out));
    current.publish(&repo, &newer.join("pool/main/v/vpsc-mod-git"));
    chroot.apt_get_ok(&["install", "--no-install-recommends", "vpsc-mod-git"]);
    let installed = chroot.run_ok(&["dpkg-query", "-W", "-f=${Version}", "vpsc-mod-git"]);
    assert_eq!(installed.trim(), old);
    let out = update(&chroot, "vpsc.sources");
    assert!(out.status.success(), "{}", stderr(&out));
    let policy = chroot.run_ok(&["apt-cache", "policy", "vpsc-mod-git"]);
    assert!(
        policy.contains(&format!("Candidate: {new}")) && policy.contains(&format!(" {old} ")),
        "{policy}"
    );

    // A private repository: HTTP basic auth through auth.conf.d.
    let private = HttpServer::start(&repo, Some("vpsc:s3cret"));
    std::fs::write(
        chroot.path("/etc/apt/sources.list.d/vpsc-private.sources"),
        sources.replace(&server.url(), &private.url()),
    )
    .expect("private sources");
    let out = update(&chroot, "vpsc-private.sources");
    assert!(
        !out.status.success() && stderr(&out).contains("401"),
        "no credentials, yet the update worked:\n{}",
        stderr(&out)
    );
    let auth = chroot.path("/etc/apt/auth.conf.d/vpsc.conf");
    std::fs::create_dir_all(auth.parent().expect("dir")).expect("mkdir");
    let write_auth = |password: &str| {
        std::fs::write(
            &auth,
            format!(
                "machine http://{}\nlogin vpsc\npassword {password}\n",
                private.authority()
            ),
        )
        .expect("auth.conf");
        std::fs::set_permissions(&auth, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .expect("chmod");
    };
    write_auth("wrong");
    let out = update(&chroot, "vpsc-private.sources");
    assert!(
        !out.status.success() && stderr(&out).contains("401"),
        "wrong credentials, yet the update worked:\n{}",
        stderr(&out)
    );
    write_auth("s3cret");
    let out = update(&chroot, "vpsc-private.sources");
    assert!(out.status.success(), "{}", stderr(&out));
    std::fs::remove_file(chroot.path("/etc/apt/sources.list.d/vpsc.sources")).ok();
    chroot.apt_get_ok(&[
        "install",
        "--no-install-recommends",
        &format!("vpsc-mod-git={new}"),
    ]);
    let installed = chroot.run_ok(&["dpkg-query", "-W", "-f=${Version}", "vpsc-mod-git"]);
    assert_eq!(installed.trim(), new);
    forget_cached_vpsc_debs(&chroot);
}

/// Deletes vpsc's packages from apt's archive cache, and only those: the
/// cache is shared by every test chroot and keeps Debian's packages.
fn forget_cached_vpsc_debs(chroot: &Chroot) {
    let cache = chroot.path("/var/cache/apt/archives");
    for entry in std::fs::read_dir(&cache).expect("apt cache").flatten() {
        if entry.file_name().to_string_lossy().starts_with("vpsc-") {
            std::fs::remove_file(entry.path()).expect("remove cached vpsc package");
        }
    }
}
