//! A package's bytes change only when its module changed (issue 18, item
//! 1): no generator version in package content, `build --against` the
//! published pool reproduces unchanged packages byte for byte whatever
//! SOURCE_DATE_EPOCH a later release builds with, and a package that
//! changed under an already published version is named, with the file to
//! bump, before anything is written (`build --against`, `repo check`).

mod common;

use std::path::{Path, PathBuf};

use common::{debs, s, vpsc_gen, workspace};

/// `vpsc-gen build` of `profiles` (and `hooks`) into `out` at `epoch`,
/// optionally `--against` a published tree.
fn build(
    profiles: &Path,
    hooks: &Path,
    out: &Path,
    epoch: &str,
    against: Option<&Path>,
) -> std::process::Output {
    let mut args = vec![
        "build",
        "--profiles",
        s(profiles),
        "--hooks",
        s(hooks),
        "--out",
        s(out),
        "--source-date-epoch",
        epoch,
    ];
    if let Some(a) = against {
        args.extend(["--against", s(a)]);
    }
    vpsc_gen(&args)
}

/// Edits a module's description without raising its version.
fn change_description(module: &Path) {
    let text = std::fs::read_to_string(module).expect("read the module");
    std::fs::write(
        module,
        text.replacen("description: ", "description: changed ", 1),
    )
    .expect("edit");
}

fn ok(out: std::process::Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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

/// The shipped profiles and hooks copied under `dir` (named `profiles`, so
/// messages show `profiles/modules/…` as in the checkout).
fn checkout(dir: &Path) -> (PathBuf, PathBuf) {
    let (profiles, hooks) = (dir.join("profiles"), dir.join("hooks"));
    copy_dir(&workspace().join("profiles"), &profiles);
    copy_dir(&workspace().join("hooks"), &hooks);
    (profiles, hooks)
}

#[test]
fn no_package_names_the_generator_version() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (profiles, hooks) = checkout(tmp.path());
    ok(build(
        &profiles,
        &hooks,
        &tmp.path().join("a"),
        "1795615200",
        None,
    ));
    let version = format!("vpsc-gen {}", env!("CARGO_PKG_VERSION"));
    for (name, deb) in debs(&tmp.path().join("a")) {
        for member in ["--ctrl-tarfile", "--fsys-tarfile"] {
            std::fs::write(tmp.path().join("deb"), &deb).expect("write");
            let tar = std::process::Command::new("dpkg-deb")
                .arg(member)
                .arg(tmp.path().join("deb"))
                .output()
                .expect("dpkg-deb");
            assert!(tar.status.success(), "{name}");
            let mut archive = tar::Archive::new(tar.stdout.as_slice());
            for entry in archive.entries().expect("tar") {
                let mut entry = entry.expect("entry");
                let mut data = Vec::new();
                std::io::Read::read_to_end(&mut entry, &mut data).expect("read");
                if entry.path().expect("path").ends_with("changelog.gz") {
                    let mut text = Vec::new();
                    std::io::Read::read_to_end(
                        &mut flate2::read::GzDecoder::new(data.as_slice()),
                        &mut text,
                    )
                    .expect("gunzip");
                    data = text;
                }
                let text = String::from_utf8_lossy(&data);
                assert!(
                    !text.contains(&version),
                    "{name}: {} names {version}",
                    entry.path().expect("path").display()
                );
            }
        }
    }
    // A template that asks for it fails: it is not in the context.
    let script = hooks.join("module-postinst.j2");
    let text = std::fs::read_to_string(&script).expect("read");
    std::fs::write(&script, format!("{text}# {{{{ generator_version }}}}\n")).expect("write");
    let out = build(&profiles, &hooks, &tmp.path().join("b"), "1795615200", None);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_later_release_rebuilds_unchanged_packages_byte_for_byte() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (profiles, hooks) = checkout(tmp.path());
    let (first, next) = (tmp.path().join("first"), tmp.path().join("next"));
    ok(build(&profiles, &hooks, &first, "1795615200", None));
    // Another commit, another SOURCE_DATE_EPOCH: every timestamp would
    // differ, so without --against every package would too.
    let plain = tmp.path().join("plain");
    ok(build(&profiles, &hooks, &plain, "1800000000", None));
    assert_ne!(debs(&first), debs(&plain));
    ok(build(&profiles, &hooks, &next, "1800000000", Some(&first)));
    let (a, b) = (debs(&first), debs(&next));
    assert!(a.len() > 20, "{} packages", a.len());
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (name, bytes) in &a {
        assert!(bytes == &b[name], "{name} differs although unchanged");
    }

    // A bumped module is built new, at the new epoch; the rest stays.
    let git = profiles.join("modules/git.yaml");
    let text = std::fs::read_to_string(&git).expect("git.yaml");
    std::fs::write(
        &git,
        text.replacen("version: \"1.1.0\"", "version: \"1.1.1\"", 1)
            .replacen("description: ", "description: changed ", 1),
    )
    .expect("edit");
    // The profiles that depend on git change too (their Depends name the
    // new version): they need a bump as well, and are named.
    let bumped = tmp.path().join("bumped");
    let out = build(&profiles, &hooks, &bumped, "1800000000", Some(&first));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        !stderr.contains("\n  vpsc-mod-"),
        "no module but git changed: {stderr}"
    );
    assert!(
        stderr.contains("(all): raise `version:` in profiles/beginner.yaml\n"),
        "{stderr}"
    );
    assert!(!bumped.exists());
}

#[test]
fn a_changed_module_under_its_old_version_is_named_and_nothing_is_written() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (profiles, hooks) = checkout(tmp.path());
    let first = tmp.path().join("first");
    ok(build(&profiles, &hooks, &first, "1795615200", None));

    let git = profiles.join("modules/git.yaml");
    change_description(&git);
    let next = tmp.path().join("next");
    let out = build(&profiles, &hooks, &next, "1800000000", Some(&first));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "error: 1 package changed without a new version ({} has it with other content):\n  \
             vpsc-mod-git 1.1.0 (all): raise `version:` in profiles/modules/git.yaml\n",
            first.display()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: a changed package needs a new version"),
        "{stderr}"
    );
    assert!(!next.exists(), "nothing is written");

    // A generator whose templates changed: every module package is named.
    let prerm = hooks.join("module-prerm.j2");
    let text = std::fs::read_to_string(&prerm).expect("read");
    std::fs::write(&prerm, text.replacen("set -e\n", "set -e\n# new\n", 1)).expect("write");
    std::fs::write(
        &git,
        std::fs::read_to_string(workspace().join("profiles/modules/git.yaml")).expect("read"),
    )
    .expect("restore");
    let out = build(&profiles, &hooks, &next, "1800000000", Some(&first));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let modules = std::fs::read_dir(profiles.join("modules"))
        .expect("list")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "yaml"))
        })
        .count();
    let (changed, then) = stderr
        .split_once("\nand these, whose relations name those versions (they change with them):")
        .expect("the profiles are named as changing once the modules are bumped");
    let named = changed.matches("\n  vpsc-mod-").count();
    assert_eq!(named, modules, "{stderr}");
    assert!(
        !changed.contains("vpsc-profile-"),
        "profiles did not change: {stderr}"
    );
    assert!(then.contains("\n  vpsc-profile-server "), "{stderr}");
    assert!(!next.exists(), "nothing is written");
}

/// Raises the last number of the `version:` line of a module or profile.
fn bump(file: &Path) {
    let text = std::fs::read_to_string(file).expect("read");
    let line = text
        .lines()
        .find(|l| l.starts_with("version: "))
        .expect("a version line");
    let version = line["version: ".len()..].trim_matches('"');
    let (head, last) = version.rsplit_once('.').expect("x.y.z");
    let next = format!("{head}.{}", last.parse::<u32>().expect("a number") + 1);
    std::fs::write(
        file,
        text.replacen(line, &format!("version: \"{next}\""), 1),
    )
    .expect("write");
}

/// A change to a module every other one depends on names, in one
/// message, every package the release must bump: the module, the modules
/// and profiles whose relations name it, and theirs in turn; bumping
/// exactly those builds.
#[test]
fn everything_a_change_forces_is_named_in_one_round() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (profiles, hooks) = checkout(tmp.path());
    let first = tmp.path().join("first");
    ok(build(&profiles, &hooks, &first, "1795615200", None));
    let system = profiles.join("modules/system.yaml");
    change_description(&system);

    let out = build(
        &profiles,
        &hooks,
        &tmp.path().join("next"),
        "1800000000",
        Some(&first),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let files: Vec<&str> = stderr
        .lines()
        .filter_map(|l| l.split_once("raise `version:` in "))
        .map(|(_, rest)| rest.split(" (").next().unwrap_or(rest))
        .collect();
    for file in [
        "profiles/modules/system.yaml",
        "profiles/modules/security.yaml",
        "profiles/server.yaml",
    ] {
        assert!(files.contains(&file), "{file} is not named: {stderr}");
    }
    // caddy names security only: it is named because security will change.
    assert!(
        stderr.contains(
            "raise `version:` in profiles/modules/caddy.yaml (it names vpsc-mod-security)"
        ),
        "{stderr}"
    );
    assert!(
        !files.contains(&"profiles/modules/git.yaml"),
        "git names no other module: {stderr}"
    );

    for file in &files {
        bump(&tmp.path().join(file));
    }
    ok(build(
        &profiles,
        &hooks,
        &tmp.path().join("bumped"),
        "1800000000",
        Some(&first),
    ));
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Check {
    unbumped: Vec<Unbumped>,
    dependents: Vec<Dependent>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Dependent {
    package: String,
    version: String,
    version_in: String,
    names: Vec<String>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Unbumped {
    package: String,
    version: String,
    arch: String,
    published: PathBuf,
    built: PathBuf,
    version_in: String,
}

#[test]
fn repo_check_lists_what_needs_a_new_version_without_writing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (profiles, hooks) = checkout(tmp.path());
    let repo = tmp.path().join("repo");
    let first = tmp.path().join("first");
    ok(build(&profiles, &hooks, &first, "1795615200", None));
    ok(vpsc_gen(&[
        "repo",
        "publish",
        "--pool",
        s(&first.join("pool")),
        "--out",
        s(&repo),
        "--date",
        "1795615200",
    ]));
    let git = profiles.join("modules/git.yaml");
    change_description(&git);
    let next = tmp.path().join("next");
    ok(build(&profiles, &hooks, &next, "1795615200", None));
    let before = debs(&repo);

    let out = vpsc_gen(&[
        "repo",
        "check",
        "--pool",
        s(&next.join("pool")),
        "--published",
        s(&repo),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let check: Check = serde_json::from_slice(&out.stdout).expect("check --json");
    let named: Vec<_> = check
        .unbumped
        .iter()
        .map(|u| {
            (
                u.package.as_str(),
                u.version.as_str(),
                u.version_in.as_str(),
            )
        })
        .collect();
    assert_eq!(
        named,
        [("vpsc-mod-git", "1.1.0", "profiles/modules/git.yaml")]
    );
    assert_eq!(check.unbumped[0].arch, "all");
    // Every profile with git names it: each is listed to bump with it.
    let server = check
        .dependents
        .iter()
        .find(|d| d.package == "vpsc-profile-server")
        .expect("the server profile names git");
    assert_eq!(server.names, ["vpsc-mod-git"]);
    assert_eq!(server.version_in, "profiles/server.yaml");
    assert!(!server.version.is_empty());
    assert!(
        check
            .dependents
            .iter()
            .all(|d| d.package.starts_with("vpsc-profile-")),
        "no module names git"
    );

    let out = vpsc_gen(&[
        "repo",
        "check",
        "--pool",
        s(&first.join("pool")),
        "--published",
        s(&repo),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(debs(&repo), before, "check writes nothing");
}

/// A site's profiles tree may be called anything: its name is not in any
/// package (changelogs name `modules/NAME.yaml`), so the bytes are the same.
#[test]
fn the_profiles_directory_name_is_not_in_the_packages() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (profiles, hooks) = checkout(tmp.path());
    let a = tmp.path().join("a");
    ok(build(&profiles, &hooks, &a, "1795615200", None));
    let renamed = tmp.path().join("site-profiles");
    std::fs::rename(&profiles, &renamed).expect("rename");
    let b = tmp.path().join("b");
    ok(build(&renamed, &hooks, &b, "1795615200", None));
    let (a, b) = (debs(&a), debs(&b));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (name, bytes) in &a {
        assert!(bytes == &b[name], "{name} names its profiles directory");
    }
}
