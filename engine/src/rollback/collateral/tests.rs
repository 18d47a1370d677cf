//! The record's rule, and record, restore and what is left on small
//! trees, links planted between record and restore included.

use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::Path;

use super::*;
use crate::localtime::Zone;
use crate::rollback::Packages;
use crate::rollback::claims::{self, tmpfiles};

const START: i64 = 1_796_538_410;

#[test]
fn the_rule_owned_unowned_before_after_and_size() {
    let j = |kind, size, born, owned| judge(kind, size, born, owned, false, START);
    assert_eq!(j(Kind::File, 10, START - 1, false), Judgement::Watched);
    assert_eq!(j(Kind::File, 10, START - 1, true), Judgement::Owned);
    assert_eq!(
        j(Kind::File, 10, START, false),
        Judgement::Newer,
        "the second the transaction started counts as after"
    );
    assert_eq!(j(Kind::File, 10, START + 60, false), Judgement::Newer);
    assert_eq!(j(Kind::File, 10, START + 60, true), Judgement::Owned);
    assert_eq!(
        j(Kind::File, CONTENT_LIMIT, START - 1, false),
        Judgement::Watched
    );
    assert_eq!(
        j(Kind::File, CONTENT_LIMIT + 1, START - 1, false),
        Judgement::TooLarge
    );
    assert_eq!(
        j(Kind::Dir, CONTENT_LIMIT + 1, START - 1, false),
        Judgement::Watched,
        "the limit is for file contents"
    );
    assert_eq!(j(Kind::Symlink, 12, START - 1, false), Judgement::Watched);
    // Declared by a package staying: the host's, whenever it was made.
    assert_eq!(
        judge(Kind::Symlink, 12, START + 60, false, true, START),
        Judgement::Watched
    );
    assert_eq!(
        judge(Kind::Symlink, 12, START + 60, true, true, START),
        Judgement::Owned
    );
}

#[test]
fn tmpfiles_declarations() {
    let text = "# comment\n\
        L+ /etc/default/locale - - -  -  ../locale.conf\n\
        L /etc/os-release\n\
        d /etc/credstore 0700 root root\n\
        f /etc/x%H - - - -\n\
        z /etc/shadow 0640\n\
        C /etc/pam.d - - - - /usr/share/factory/etc/pam.d\n";
    let got = tmpfiles(text);
    let shown: Vec<(&str, Kind, Option<&str>)> = got
        .iter()
        .map(|(p, d)| (p.as_str(), d.kind, d.target.as_deref()))
        .collect();
    assert_eq!(
        shown,
        [
            ("/etc/default/locale", Kind::Symlink, Some("../locale.conf")),
            (
                "/etc/os-release",
                Kind::Symlink,
                Some("/usr/share/factory/etc/os-release")
            ),
            ("/etc/credstore", Kind::Dir, None),
            ("/etc/pam.d", Kind::File, None)
        ],
        "specifiers and non-creating types are left out"
    );
    let declared: BTreeMap<String, claims::Declared> = got.into_iter().collect();
    assert!(declared_as(
        &declared,
        "/etc/default/locale",
        Kind::Symlink,
        Some("../locale.conf")
    ));
    assert!(!declared_as(
        &declared,
        "/etc/default/locale",
        Kind::Symlink,
        Some("/elsewhere")
    ));
    assert!(!declared_as(
        &declared,
        "/etc/default/locale",
        Kind::File,
        None
    ));
    assert!(declared_as(&declared, "/etc/credstore", Kind::Dir, None));
}

#[test]
fn what_counts_as_left() {
    assert!(is_left("/etc/gitconfig", START, false, START));
    assert!(
        !is_left("/etc/gitconfig", START - 1, false, START),
        "the host's"
    );
    assert!(!is_left("/etc/gitconfig", START, true, START), "managed");
    assert!(!is_left("/etc/vpsc", START, false, START), "site");
    assert!(!is_left("/etc/vpsc/site.yaml", START, false, START));
    assert!(is_left("/etc/vpscx", START, false, START));
}

/// A tree whose every entry was born now.
fn tree() -> (tempfile::TempDir, Root) {
    let dir = tempfile::tempdir().expect("tempdir");
    let etc = dir.path().join("etc");
    std::fs::create_dir_all(etc.join("default")).expect("mkdir");
    std::fs::create_dir_all(etc.join("site.d/sub")).expect("mkdir");
    symlink("../locale.conf", etc.join("default/locale")).expect("link");
    std::fs::write(etc.join("owned.conf"), "the purge's").expect("write");
    std::fs::write(etc.join("site.d/sub/key"), "secret").expect("write");
    std::fs::set_permissions(
        etc.join("site.d/sub/key"),
        std::fs::Permissions::from_mode(0o640),
    )
    .expect("chmod");
    std::fs::set_permissions(etc.join("site.d"), std::fs::Permissions::from_mode(0o2750))
        .expect("chmod");
    std::fs::write(
        etc.join("big"),
        vec![b'x'; usize::try_from(CONTENT_LIMIT).expect("fits") + 1],
    )
    .expect("write");
    let root = Root::new(dir.path());
    (dir, root)
}

fn now() -> i64 {
    crate::dates::now()
}

fn owned(paths: &[&str]) -> BTreeSet<String> {
    paths.iter().map(|p| (*p).to_owned()).collect()
}

/// Records with nothing declared.
fn rec(root: &Root, owned: &BTreeSet<String>, start: i64, content: bool) -> Watch {
    record(
        root,
        owned,
        &BTreeMap::new(),
        "x",
        &Zone::utc(),
        start,
        content,
    )
    .expect("record")
}

fn restore_now(root: &Root, watch: &Watch) -> Restoration {
    restore(root, watch, &survey(root).expect("survey")).expect("restore")
}

fn paths<T>(items: &[T], path: impl Fn(&T) -> &str) -> Vec<String> {
    items.iter().map(|i| path(i).to_owned()).collect()
}

#[test]
fn record_selects_and_restore_makes_the_missing_again() {
    let (dir, root) = tree();
    let etc = dir.path().join("etc");
    let later = now() + 100;
    let watch = rec(&root, &owned(&["/etc/owned.conf"]), later, true);
    assert_eq!(
        paths(&watch.entries, |e| &e.path),
        [
            "/etc/big",
            "/etc/default",
            "/etc/default/locale",
            "/etc/site.d",
            "/etc/site.d/sub",
            "/etc/site.d/sub/key"
        ],
        "everything but the purge's own"
    );
    assert_eq!(watch.count, 6);
    assert_eq!(watch.too_large, ["/etc/big"]);
    assert!(watch.entries[0].content.is_none(), "too large: not read");
    assert_eq!(watch.entries[5].content.as_deref(), Some(&b"secret"[..]));

    let none = rec(&root, &owned(&[]), now() - 100, true);
    assert_eq!(none.count, 0, "all born after the start");
    let dry = rec(&root, &owned(&[]), later, false);
    assert_eq!(dry.count, 7);
    assert!(
        dry.entries.iter().all(|e| e.content.is_none()),
        "a dry run reads nothing"
    );

    // The purge: a maintainer script takes the host's files.
    std::fs::remove_file(etc.join("default/locale")).expect("rm");
    std::fs::remove_file(etc.join("owned.conf")).expect("rm");
    std::fs::remove_dir_all(etc.join("site.d")).expect("rm");
    std::fs::remove_file(etc.join("big")).expect("rm");

    let done = restore_now(&root, &watch);
    assert_eq!(
        paths(&done.restored, |r| &r.path),
        [
            "/etc/default/locale",
            "/etc/site.d",
            "/etc/site.d/sub",
            "/etc/site.d/sub/key"
        ]
    );
    assert!(done.restored.iter().all(|r| r.why == RESTORED_WHY));
    assert_eq!(paths(&done.not_restored, |r| &r.path), ["/etc/big"]);
    assert!(done.not_restored[0].why.contains("larger than 1 MiB"));
    assert_eq!(
        std::fs::read_link(etc.join("default/locale")).expect("link"),
        Path::new("../locale.conf")
    );
    let key = std::fs::metadata(etc.join("site.d/sub/key")).expect("key");
    assert_eq!(key.mode() & 0o7777, 0o640);
    assert_eq!(
        std::fs::read(etc.join("site.d/sub/key")).expect("read"),
        b"secret"
    );
    let site = std::fs::metadata(etc.join("site.d")).expect("dir");
    assert_eq!(site.mode() & 0o7777, 0o2750);
    assert_eq!(
        (site.uid(), site.gid()),
        (watch.entries[3].uid, watch.entries[3].gid)
    );
    assert!(
        !etc.join("owned.conf").exists(),
        "the purge's own stays gone"
    );

    // Again: nothing is missing any more.
    let again = restore_now(&root, &watch);
    assert!(again.restored.is_empty());
    assert_eq!(paths(&again.not_restored, |r| &r.path), ["/etc/big"]);

    // A directory the record did not keep (the purge's) is not guessed.
    let kept = rec(
        &root,
        &owned(&["/etc/site.d", "/etc/site.d/sub"]),
        later,
        true,
    );
    std::fs::remove_dir_all(etc.join("site.d")).expect("rm");
    let done = restore_now(&root, &kept);
    let key = done
        .not_restored
        .iter()
        .find(|r| r.path == "/etc/site.d/sub/key")
        .expect("not restored");
    assert!(key.why.starts_with("its directory is gone"), "{}", key.why);
}

#[test]
fn a_link_planted_for_a_recorded_directory_is_not_followed() {
    let (dir, root) = tree();
    let etc = dir.path().join("etc");
    let outside = tempfile::tempdir().expect("outside");
    let inside = dir.path().join("srv");
    std::fs::create_dir(&inside).expect("mkdir");
    let watch = rec(&root, &owned(&["/etc/owned.conf"]), now() + 100, true);

    // Between record and restore: the directory gives way to a link, in
    // the root and out of it; a file's name too.
    std::fs::remove_dir_all(etc.join("site.d")).expect("rm");
    symlink(outside.path(), etc.join("site.d")).expect("plant");
    std::fs::remove_dir_all(etc.join("default")).expect("rm");
    symlink("../srv", etc.join("default")).expect("plant");
    let done = restore_now(&root, &watch);
    assert!(done.restored.is_empty(), "{:?}", done.restored);
    let refused: Vec<(String, String)> = done
        .not_restored
        .iter()
        .map(|r| (r.path.clone(), r.why.clone()))
        .collect();
    assert_eq!(
        refused.len(),
        2,
        "what is below them is skipped: {refused:?}"
    );
    assert_eq!(refused[0].0, "/etc/default");
    assert_eq!(
        refused[0].1,
        "it was a directory and is now a symbolic link (to ../srv); left as it is, not followed"
    );
    assert_eq!(refused[1].0, "/etc/site.d");
    assert!(
        refused[1].1.contains("now a symbolic link (to /"),
        "{refused:?}"
    );
    assert_eq!(
        std::fs::read_dir(outside.path()).expect("ls").count(),
        0,
        "nothing written outside the root"
    );
    assert_eq!(
        std::fs::read_dir(&inside).expect("ls").count(),
        0,
        "nor through a link in it"
    );
    assert!(
        std::fs::symlink_metadata(etc.join("site.d"))
            .expect("link")
            .is_symlink()
    );
}

#[test]
fn a_link_planted_above_a_recorded_entry_is_refused_by_name() {
    let (dir, root) = tree();
    let etc = dir.path().join("etc");
    let outside = tempfile::tempdir().expect("outside");
    // The directory is the purge's (not watched), the file in it the host's.
    let watch = rec(
        &root,
        &owned(&["/etc/owned.conf", "/etc/site.d", "/etc/site.d/sub"]),
        now() + 100,
        true,
    );
    assert!(
        watch
            .entries
            .iter()
            .any(|e| e.path == "/etc/site.d/sub/key")
    );
    std::fs::remove_dir_all(etc.join("site.d/sub")).expect("rm");
    std::fs::create_dir(outside.path().join("sub")).expect("mkdir");
    symlink(outside.path().join("sub"), etc.join("site.d/sub")).expect("plant");
    // And a link where the host's file was.
    std::fs::remove_file(etc.join("big")).expect("rm");
    symlink("/etc/shadow", etc.join("big")).expect("plant");

    let done = restore_now(&root, &watch);
    assert!(done.restored.is_empty(), "{:?}", done.restored);
    let key = done
        .not_restored
        .iter()
        .find(|r| r.path == "/etc/site.d/sub/key")
        .expect("refused");
    assert!(
        key.why
            .contains("cannot be opened without following a link")
            && key.why.contains("/etc/site.d/sub is a symbolic link"),
        "{}",
        key.why
    );
    let big = done
        .not_restored
        .iter()
        .find(|r| r.path == "/etc/big")
        .expect("refused");
    assert!(
        big.why.contains("now a symbolic link (to /etc/shadow)"),
        "{}",
        big.why
    );
    assert_eq!(
        std::fs::read_dir(outside.path().join("sub"))
            .expect("ls")
            .count(),
        0
    );
}

#[test]
fn left_is_what_is_new_and_unowned() {
    let (dir, root) = tree();
    let etc = dir.path().join("etc");
    std::fs::create_dir_all(etc.join("vpsc")).expect("mkdir");
    std::fs::write(etc.join("vpsc/site.yaml"), "admin's").expect("write");
    std::fs::write(etc.join("gitconfig"), "").expect("write");
    std::fs::write(etc.join("passwd-"), "").expect("write");
    std::fs::write(etc.join("nsswitch.conf"), "").expect("write");
    let start = now() - 100;
    let installed = Claims {
        listed: owned(&["/etc/default", "/etc/default/locale", "/etc/owned.conf"]),
        alternatives: owned(&["/etc/big"]),
        scripts: vec!["#!/bin/sh\nsed -i s/mdns// /etc/nsswitch.conf\n".to_owned()],
        ..Claims::default()
    };
    std::fs::remove_file(etc.join("site.d/sub/key")).expect("rm");
    let now_etc = survey(&root).expect("survey");
    let found = left(&now_etc, &installed, start);
    let shown: Vec<(&str, Kind, usize)> = found
        .iter()
        .map(|l| (l.path.as_str(), l.kind, l.entries))
        .collect();
    assert_eq!(
        shown,
        [
            ("/etc/gitconfig", Kind::File, 0),
            ("/etc/site.d", Kind::Dir, 1)
        ],
        "a directory stands for what is left below it; site files, the account files, \
         and what is listed, an alternative or named by a script are not left"
    );
    assert!(found.iter().all(|l| l.why == LEFT_WHY));
    assert!(
        left(&now_etc, &installed, now() + 100).is_empty(),
        "all born before the start: the host's"
    );
}

#[test]
fn alternatives_of_installed_packages_are_owned() {
    let dir = tempfile::tempdir().expect("tempdir");
    let admin = dir.path().join("var/lib/dpkg/alternatives");
    std::fs::create_dir_all(&admin).expect("mkdir");
    std::fs::write(
        admin.join("editor"),
        "auto\n/usr/bin/editor\neditor.1.gz\n/usr/share/man/man1/editor.1.gz\nrview\n/etc/rview\n\n/bin/nano\n40\n",
    )
    .expect("write");
    std::fs::write(dir.path().join("var/lib/dpkg/status"), "").expect("write");
    let root = Root::new(dir.path());
    let got = Claims::default().with_alternatives(&root).alternatives;
    assert_eq!(
        got.into_iter().collect::<Vec<_>>(),
        [
            "/etc/alternatives/editor",
            "/etc/alternatives/editor.1.gz",
            "/etc/alternatives/rview",
            "/etc/rview"
        ]
    );
}

#[test]
fn the_purge_owns_what_only_it_lists() {
    let dir = tempfile::tempdir().expect("tempdir");
    let info = dir.path().join("var/lib/dpkg/info");
    std::fs::create_dir_all(&info).expect("mkdir");
    std::fs::write(
        info.join("locales.list"),
        "/.\n/etc\n/etc/default\n/etc/locale.alias\n/usr/bin/locale-gen\n",
    )
    .expect("write");
    std::fs::write(
        info.join("base.list"),
        "/.\n/etc\n/etc/default\n/etc/shared\n",
    )
    .expect("write");
    std::fs::write(info.join("other.list"), "/etc/shared\n").expect("write");
    let status = "Package: locales\nStatus: install ok installed\nArchitecture: all\n\n\
        Package: base\nStatus: install ok installed\nArchitecture: all\n\n\
        Package: other\nStatus: install ok installed\nArchitecture: all\n";
    let db = Packages::parse(status, "");
    let root = Root::new(dir.path());
    let purge = owned(&["locales", "other"]);
    let staying = Claims::read(
        &root,
        &db,
        db.map.keys().filter(|k| !purge.contains(*k)),
        false,
    );
    assert_eq!(
        claims::owned_by_purge(&root, &db, &purge, &staying)
            .into_iter()
            .collect::<Vec<_>>(),
        ["/etc/locale.alias"],
        "/etc/default and /etc/shared stay listed by base: dpkg does not remove them"
    );
}

#[test]
fn a_link_a_package_staying_declares_is_watched_however_new() {
    let (dir, root) = tree();
    let etc = dir.path().join("etc");
    let declared: BTreeMap<String, claims::Declared> =
        tmpfiles("L+ /etc/default/locale - - - - ../locale.conf\nd /etc/site.d\n")
            .into_iter()
            .collect();
    // Everything is newer than this start; only what is declared, as it
    // is, counts as the host's.
    let watch = record(
        &root,
        &owned(&[]),
        &declared,
        "x",
        &Zone::utc(),
        now() - 100,
        true,
    )
    .expect("record");
    assert_eq!(
        paths(&watch.entries, |e| &e.path),
        ["/etc/default/locale", "/etc/site.d"]
    );
    std::fs::remove_file(etc.join("default/locale")).expect("rm");
    let done = restore_now(&root, &watch);
    assert_eq!(paths(&done.restored, |r| &r.path), ["/etc/default/locale"]);

    std::fs::remove_file(etc.join("default/locale")).expect("rm");
    symlink("/elsewhere", etc.join("default/locale")).expect("link");
    let other = record(
        &root,
        &owned(&[]),
        &declared,
        "x",
        &Zone::utc(),
        now() - 100,
        true,
    )
    .expect("record");
    assert_eq!(
        paths(&other.entries, |e| &e.path),
        ["/etc/site.d"],
        "a link to elsewhere is not the declared one"
    );
}

#[test]
fn a_file_moved_back_is_not_restored_at_its_old_name() {
    let (dir, root) = tree();
    let etc = dir.path().join("etc");
    // dpkg-divert --rename moved the host's file aside while vpsc's
    // package was installed; its removal moves it back.
    std::fs::write(etc.join("issue.net.vpsc-orig"), "the host's banner").expect("write");
    let watch = rec(&root, &owned(&[]), now() + 100, true);
    assert!(
        watch
            .entries
            .iter()
            .any(|e| e.path == "/etc/issue.net.vpsc-orig")
    );
    std::fs::rename(etc.join("issue.net.vpsc-orig"), etc.join("issue.net")).expect("mv");
    let done = restore_now(&root, &watch);
    assert!(done.restored.is_empty(), "{:?}", done.restored);
    assert!(!etc.join("issue.net.vpsc-orig").exists());
    // Removed for good, it comes back.
    std::fs::remove_file(etc.join("issue.net")).expect("rm");
    let done = restore_now(&root, &watch);
    assert_eq!(
        paths(&done.restored, |r| &r.path),
        ["/etc/issue.net.vpsc-orig"]
    );
}

#[test]
fn packages_manage_what_they_list_declare_or_name() {
    let claims = Claims {
        listed: owned(&["/etc/listed"]),
        declared: tmpfiles("d /etc/declared\n").into_iter().collect(),
        scripts: vec!["update-passwd; ldconfig -C /etc/ld.so.cache".to_owned()],
        ..Claims::default()
    };
    for (path, managed) in [
        ("/etc/listed", true),
        ("/etc/declared", true),
        ("/etc/ld.so.cache", true),
        ("/etc/shadow", true),
        ("/etc/gshadow-", true),
        ("/etc/gitconfig", false),
        ("/etc/shadowy", false),
    ] {
        assert_eq!(claims.manage(path), managed, "{path}");
    }
}
