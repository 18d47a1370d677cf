//! `vpsc rollback PROFILE` is the exact undo of a profile, Debian packages
//! included. On a trixie chroot whose host has packages of its own — git,
//! asked for by name, and patch, installed automatically and kept only by
//! git's Recommends (what `APT::AutoRemove::RecommendsImportant=false`
//! would wrongly take) — the beginner profile is installed, then rolled
//! back by the vpsc it installed. Afterwards dpkg's package list and
//! apt's auto/manual marks are exactly as before, nothing of vpsc is left
//! in /etc or /usr, and the only account changes are the system users and
//! groups Debian packages keep on purge, which the rollback lists. What
//! Debian's maintainer scripts take of the host's /etc (locales' postrm
//! deletes the base system's `/etc/default/locale`) the rollback restores;
//! what they create and leave (git-lfs's `/etc/gitconfig`) it reports as
//! left; the few such files are listed with their reasons in
//! [`DEBIAN_LEFTOVERS`]. Names that are not an installed profile change
//! nothing.

use std::collections::BTreeSet;
use std::time::Instant;

use vpsc_e2e::{AllowRule, Chroot, Snapshot, cache_dir, require_root};

/// What differs in /etc and /usr after the rollback, each with why: the
/// purge of Debian packages, not vpsc, leaves or takes these (seen on
/// trixie with the beginner profile), besides the account files, whose
/// new entries `assert_rolled_back` compares with the rollback's list.
/// Anything else fails the test.
const DEBIAN_LEFTOVERS: &[AllowRule] = &[
    AllowRule::new(
        "etc/X11",
        "lightdm's postinst writes /etc/X11/default-display-manager; its postrm leaves it",
    ),
    AllowRule::new(
        "etc/systemd/system/display-manager.service",
        "lightdm's postinst links it; its postrm leaves the link, dangling",
    ),
    AllowRule::new(
        "etc/gitconfig",
        "git-lfs's postinst `git lfs install --system` creates it; its prerm empties it but leaves the file; the rollback reports it as left (asserted below)",
    ),
    AllowRule::new(
        "etc/xml",
        "xml-core's postrm keeps /etc/xml (it removes it only while /var/lib/xml-core exists)",
    ),
];

/// `name version status` of every package dpkg knows, sorted.
fn packages(chroot: &Chroot) -> Vec<String> {
    let out = chroot.run_ok(&[
        "dpkg-query",
        "-W",
        "-f=${Package} ${Version} ${db:Status-Abbrev}\\n",
    ]);
    let mut lines: Vec<String> = out.lines().map(|l| l.trim().to_owned()).collect();
    lines.sort();
    lines
}

fn names(list: &[String]) -> BTreeSet<String> {
    list.iter()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

/// `apt-mark showauto` or `showmanual`, sorted.
fn marks(chroot: &Chroot, which: &str) -> Vec<String> {
    let mut lines: Vec<String> = chroot
        .run_ok(&["apt-mark", which])
        .lines()
        .map(str::to_owned)
        .collect();
    lines.sort();
    lines
}

/// What `apt-get -s autoremove` with `options` would remove.
fn would_autoremove(chroot: &Chroot, options: &[&str]) -> BTreeSet<String> {
    let mut argv = vec!["apt-get", "-s"];
    argv.extend(options);
    argv.push("autoremove");
    chroot
        .run_ok(&argv)
        .lines()
        .filter_map(|l| l.strip_prefix("Remv "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

/// The host-wide lock every chroot's apt-get takes (`Chroot::apt_get`):
/// the rollback runs apt-get itself, on the shared archive cache.
fn apt_cache_lock() -> nix::fcntl::Flock<std::fs::File> {
    vpsc_e2e::lock_file(&cache_dir().join("apt-archives.lock"))
}

/// `make e2e-full`: the beginner profile brings 1,100-odd packages (3-4
/// minutes); `make test` proves the same on a booted VM with the server
/// profile (`tests/vm.rs`).
#[test]
#[ignore = "run by `make e2e-full`"]
fn rollback_undoes_the_beginner_profile_exactly() {
    require_root();
    let started = Instant::now();
    let chroot = Chroot::with_shipped_repo();

    // The host's own packages, before vpsc.
    chroot.apt_get_ok(&["install", "--install-recommends", "git"]);
    assert!(marks(&chroot, "showmanual").contains(&"git".to_owned()));
    assert!(marks(&chroot, "showauto").contains(&"patch".to_owned()));
    assert!(
        !would_autoremove(&chroot, &[]).contains("patch")
            && would_autoremove(
                &chroot,
                &["-o", "APT::AutoRemove::RecommendsImportant=false"]
            )
            .contains("patch"),
        "patch is kept only by git's Recommends"
    );
    let before = packages(&chroot);
    let (auto_before, manual_before) = (marks(&chroot, "showauto"), marks(&chroot, "showmanual"));
    let snapshot_before = Snapshot::take(chroot.root());

    chroot.apt_get_ok(&["install", "vpsc-profile-beginner"]);
    let installed = packages(&chroot);
    let added: BTreeSet<String> = names(&installed)
        .difference(&names(&before))
        .cloned()
        .collect();
    assert!(added.contains("vpsc-runtime") && added.contains("docker.io"));
    let snapshot_installed = Snapshot::take(chroot.root());

    // Bad input: refused with what and how, nothing changed.
    for (name, said) in [
        ("nosuch", "profile `nosuch` is not installed"),
        ("../beginner", "is not a valid profile name"),
        ("beginner/../../etc", "is not a valid profile name"),
        ("../../usr/bin/vpsc", "is not a valid profile name"),
        ("Beginner", "is not a valid profile name"),
    ] {
        for dry in [false, true] {
            let mut argv = vec!["vpsc", "rollback", "--", name];
            if dry {
                argv.insert(2, "--dry-run");
            }
            let out = chroot.run(&argv);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{argv:?}: {stderr}");
            assert!(stderr.contains(said), "{argv:?}: {stderr}");
            assert!(stderr.contains("hint: "), "{argv:?}: {stderr}");
            assert!(out.stdout.is_empty(), "{argv:?}");
        }
    }

    // The plan, without changing anything.
    let dry = chroot.run_ok(&["vpsc", "--json", "rollback", "beginner", "--dry-run"]);
    let plan: serde_json::Value = serde_json::from_str(&dry).expect("plan json");
    let planned: BTreeSet<String> = plan["purge"]
        .as_array()
        .expect("purge list")
        .iter()
        .map(|p| p.as_str().expect("name").to_owned())
        .collect();
    assert_eq!(planned, added, "the plan purges what the profile added");
    assert_eq!(plan["kept"], serde_json::json!([]), "{}", plan["kept"]);
    let watched = plan["watch"]["count"].as_u64().expect("watch count");
    assert!(
        watched > 100,
        "the base system's /etc is watched: {}",
        plan["watch"]
    );
    assert_eq!(plan["watch"]["too_large"], serde_json::json!([]));
    assert_eq!(packages(&chroot), installed);
    snapshot_installed.assert_same(&Snapshot::take(chroot.root()), &[]);

    // The rollback itself, by the vpsc the profile installed.
    let rollback_started = Instant::now();
    let out = {
        let _lock = apt_cache_lock();
        chroot.run(&["vpsc", "--json", "rollback", "beginner"])
    };
    let took = rollback_started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "rollback failed: {stderr}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("report json");
    assert_eq!(
        report["purged"], report["purge"],
        "every planned package went"
    );
    assert_eq!(
        report["watch"]["count"], watched,
        "the dry run counted the same"
    );
    let paths = |key: &str| -> Vec<String> {
        report[key]
            .as_array()
            .unwrap_or_else(|| panic!("{key} list"))
            .iter()
            .map(|e| e["path"].as_str().expect("path").to_owned())
            .collect()
    };
    let (restored, left) = (paths("restored"), paths("left"));
    assert!(
        restored.contains(&"/etc/default/locale".to_owned()),
        "locales' postrm took the base system's link; restored: {restored:?}"
    );
    assert!(
        report["restored"]
            .as_array()
            .expect("restored")
            .iter()
            .all(|r| r["why"]
                == "removed by the purge though it predates vpsc's install and no purged package owns it"),
        "{}",
        report["restored"]
    );
    assert_eq!(report["not_restored"], serde_json::json!([]));
    assert!(
        left.contains(&"/etc/gitconfig".to_owned()),
        "git-lfs's postinst made it; left: {left:?}"
    );
    for path in &left {
        assert!(
            DEBIAN_LEFTOVERS.iter().any(|r| r.matches(path)),
            "{path} reported as left but is no known leftover of a Debian package: {left:?}"
        );
    }
    assert!(
        report["left"].as_array().expect("left").iter().all(|l| l["why"]
            == "created by a purged package's maintainer script; remove it by hand if unwanted"),
        "{}",
        report["left"]
    );
    assert_eq!(
        std::fs::read_link(chroot.path("/etc/default/locale")).expect("a link again"),
        std::path::Path::new("../locale.conf")
    );

    // Every package the profile added is gone; the host's are all there,
    // with their marks.
    assert_eq!(packages(&chroot), before, "dpkg's package list");
    assert_eq!(marks(&chroot, "showauto"), auto_before, "apt-mark showauto");
    assert_eq!(
        marks(&chroot, "showmanual"),
        manual_before,
        "apt-mark showmanual"
    );
    assert!(!chroot.path("/var/lib/vpsc").exists(), "the journal went");

    // Only the system users and groups Debian keeps on purge are new, and
    // the rollback named each of them.
    let snapshot_after = Snapshot::take(chroot.root());
    let changes = snapshot_before.diff(&snapshot_after, &[]);
    for c in &changes {
        assert!(!c.path().contains("vpsc"), "left of vpsc: {c}");
    }
    let (users, groups) =
        snapshot_before.assert_rolled_back(&snapshot_after, &report, DEBIAN_LEFTOVERS);
    assert!(!users.is_empty(), "trixie's colord and polkitd keep theirs");
    eprintln!(
        "vpsc-e2e rollback: host {} packages; {} after installing the profile; \
         {} added, {} purged, {} kept; rollback took {took:.1?}; \
         /etc: {watched} entries watched, restored {restored:?}, left {left:?}; \
         left behind: users {users:?}, groups {groups:?}; {} path(s) of /etc and /usr differ \
         (Debian packages' leftovers):\n{}\ntotal {:.1?}",
        before.len(),
        installed.len(),
        added.len(),
        report["purged"].as_array().map_or(0, Vec::len),
        report["kept"].as_array().map_or(0, Vec::len),
        changes.len(),
        changes
            .iter()
            .map(|c| format!("  {c}"))
            .collect::<Vec<_>>()
            .join("\n"),
        started.elapsed()
    );
}
