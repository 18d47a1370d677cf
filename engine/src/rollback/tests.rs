//! The plan on small made-up systems: what is purged, what stays and why.

use super::*;
use crate::aptlog::parse;

/// An installed package: name, auto-installed, Depends, Provides.
type Spec<'a> = (&'a str, bool, &'a str, &'a str);

fn db(specs: &[Spec]) -> Packages {
    let mut status = String::from(
        "Package: dpkg\nStatus: install ok installed\nArchitecture: amd64\nEssential: yes\n\n",
    );
    let mut extended = String::new();
    for (name, auto, depends, provides) in specs {
        status.push_str(&format!(
            "Package: {name}\nStatus: install ok installed\nArchitecture: amd64\n"
        ));
        if !depends.is_empty() {
            status.push_str(&format!("Depends: {depends}\n"));
        }
        if !provides.is_empty() {
            status.push_str(&format!("Provides: {provides}\n"));
        }
        status.push('\n');
        if *auto {
            extended.push_str(&format!(
                "Package: {name}\nArchitecture: amd64\nAuto-Installed: 1\n\n"
            ));
        }
    }
    Packages::parse(&status, &extended)
}

/// A transaction installing `manual` by name and `auto` as dependencies.
fn tx(start: &str, manual: &[&str], auto: &[&str]) -> String {
    let mut items: Vec<String> = manual.iter().map(|n| format!("{n}:amd64 (1.0)")).collect();
    items.extend(auto.iter().map(|n| format!("{n}:amd64 (1.0, automatic)")));
    format!(
        "\nStart-Date: {start}\nCommandline: apt install {}\nInstall: {}\nEnd-Date: {start}\n",
        manual.join(" "),
        items.join(", ")
    )
}

/// The host's git, then the profile; the host's packages are
/// git (manual), perl (its dependency) and patch (its recommendation).
fn history(extra: &str) -> Vec<Transaction> {
    let text = format!(
        "{}{}{extra}",
        tx("1", &["git"], &["perl", "patch"]),
        tx(
            "2",
            &["vpsc-profile-demo"],
            &[
                "vpsc-runtime",
                "vpsc-mod-a",
                "foo",
                "bar",
                "baz",
                "xa",
                "ya",
                "pv"
            ]
        ),
    );
    parse(&text, "/var/log/apt/history.log").expect("history parses")
}

/// The system after both: `extra` adds the admin's later packages.
fn system(extra: &[Spec]) -> Packages {
    let mut specs: Vec<Spec> = vec![
        ("git", false, "perl", ""),
        ("perl", true, "", ""),
        ("patch", true, "", ""),
        ("vpsc-profile-demo", false, "vpsc-mod-a", ""),
        ("vpsc-mod-a", true, "vpsc-runtime, foo, perl", ""),
        ("vpsc-runtime", true, "", ""),
        ("foo", true, "bar (>= 1)", ""),
        ("bar", true, "", ""),
        ("baz", true, "", ""),
        ("xa", true, "", ""),
        ("ya", true, "", ""),
        ("pv", true, "", "virtual-thing (= 1.0)"),
    ];
    specs.extend_from_slice(extra);
    db(&specs)
}

fn kept(plan: &Plan) -> Vec<(&str, &str)> {
    plan.kept
        .iter()
        .map(|k| (k.package.as_str(), k.reason.as_str()))
        .collect()
}

#[test]
fn purges_what_vpsc_added_and_nothing_of_the_host() {
    let plan = plan("demo", &history(""), &system(&[])).expect("plan");
    assert_eq!(
        plan.purge,
        [
            "bar",
            "baz",
            "foo",
            "pv",
            "vpsc-mod-a",
            "vpsc-profile-demo",
            "vpsc-runtime",
            "xa",
            "ya"
        ]
    );
    assert!(plan.kept.is_empty(), "{:?}", plan.kept);
    assert_eq!(plan.transactions.len(), 1);
    assert_eq!(plan.transactions[0].line, 7);
    assert!(!plan.resumed);
}

#[test]
fn a_later_package_keeps_what_it_depends_on() {
    let later = tx("3", &["tool"], &[]);
    let plan = plan(
        "demo",
        &history(&later),
        &system(&[("tool", false, "foo", "")]),
    )
    .expect("plan");
    assert!(!plan.purge.contains(&"foo".to_owned()));
    assert!(
        !plan.purge.contains(&"bar".to_owned()),
        "foo's own dependency"
    );
    assert_eq!(
        kept(&plan),
        [
            ("bar", "`foo`, which stays, depends on it"),
            ("foo", "`tool`, which stays, depends on it")
        ]
    );
}

#[test]
fn alternatives_keep_the_first_unless_one_stays_anyway() {
    let later = tx("3", &["h1", "h2", "h3"], &[]);
    let plan = plan(
        "demo",
        &history(&later),
        &system(&[
            ("h1", false, "xa | ya", ""),
            ("h2", false, "baz | perl", ""),
            ("h3", false, "ya (>= 9) | xa", ""),
        ]),
    )
    .expect("plan");
    // h1 keeps xa; h3 is then content with xa, so ya goes; h2 has perl.
    assert_eq!(kept(&plan), [("xa", "`h1`, which stays, depends on it")]);
    assert!(plan.purge.contains(&"ya".to_owned()));
    assert!(plan.purge.contains(&"baz".to_owned()));
}

#[test]
fn provides_count_as_the_virtual_package() {
    let later = tx("3", &["client"], &[]);
    let plan = plan(
        "demo",
        &history(&later),
        &system(&[("client", false, "virtual-thing", "")]),
    )
    .expect("plan");
    assert_eq!(
        kept(&plan),
        [("pv", "`client`, which stays, depends on it")]
    );
}

#[test]
fn a_package_marked_manual_stays_with_what_it_needs() {
    let mut db = system(&[]);
    db.map.get_mut("foo").expect("foo").auto = false;
    let plan = plan("demo", &history(""), &db).expect("plan");
    let kept = kept(&plan);
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert!(kept[0].0 == "bar" && kept[0].1.contains("`foo`"));
    assert!(kept[1].0 == "foo" && kept[1].1.contains("manually installed"));
}

#[test]
fn something_that_stays_needing_vpsc_is_refused() {
    let later = tx("3", &["addon"], &[]);
    let err = plan(
        "demo",
        &history(&later),
        &system(&[("addon", false, "vpsc-runtime", "")]),
    )
    .expect_err("refused");
    let shown = err.to_string();
    assert!(
        shown.contains("`addon` stays") && shown.contains("`vpsc-runtime`"),
        "{shown}"
    );
    assert!(shown.contains("nothing was changed"));
}

#[test]
fn only_the_current_epoch_counts() {
    // vpsc was installed and removed once before; `old` stayed behind then
    // and was the host's when the profile came again.
    let earlier = format!(
        "{}\nStart-Date: 0b\nCommandline: apt autoremove --purge\nPurge: vpsc-runtime:amd64 (0.5)\nEnd-Date: 0b\n",
        tx("0", &["vpsc-profile-demo"], &["vpsc-runtime", "old"])
    );
    let text = format!(
        "{earlier}{}",
        tx(
            "2",
            &["vpsc-profile-demo"],
            &["vpsc-runtime", "vpsc-mod-a", "foo", "bar"]
        )
    );
    let history = parse(&text, "h").expect("parses");
    let db = db(&[
        ("old", true, "", ""),
        ("vpsc-profile-demo", false, "vpsc-mod-a", ""),
        ("vpsc-mod-a", true, "vpsc-runtime, foo", ""),
        ("vpsc-runtime", true, "", ""),
        ("foo", true, "bar", ""),
        ("bar", true, "", ""),
    ]);
    let plan = plan("demo", &history, &db).expect("plan");
    assert!(!plan.purge.contains(&"old".to_owned()), "{:?}", plan.purge);
    assert_eq!(plan.purge.len(), 5);
}

#[test]
fn a_module_upgrade_contributes_only_what_vpsc_needs() {
    let upgrade = "\nStart-Date: 3\nCommandline: apt upgrade\n\
        Install: newdep:amd64 (1, automatic), kernel-new:amd64 (2, automatic)\n\
        Upgrade: vpsc-mod-a:amd64 (1.0, 1.1), linux-image-amd64:amd64 (1, 2)\nEnd-Date: 3\n";
    let mut db = system(&[
        ("newdep", true, "", ""),
        ("kernel-new", true, "", ""),
        ("linux-image-amd64", false, "kernel-new", ""),
    ]);
    db.map
        .get_mut("vpsc-mod-a")
        .expect("module")
        .depends
        .push(vec!["newdep".into()]);
    let plan = plan("demo", &history(upgrade), &db).expect("plan");
    assert!(plan.purge.contains(&"newdep".to_owned()));
    assert!(!plan.purge.contains(&"kernel-new".to_owned()));
    assert!(
        plan.kept.is_empty(),
        "not a candidate at all: {:?}",
        plan.kept
    );
    assert_eq!(plan.transactions.len(), 2);
}

#[test]
fn reinstalled_later_by_someone_else_is_theirs() {
    let later = "\nStart-Date: 3\nCommandline: apt purge baz\nPurge: baz:amd64 (1.0)\nEnd-Date: 3\n\
        \nStart-Date: 4\nCommandline: apt install baz\nInstall: baz:amd64 (1.0, automatic)\nEnd-Date: 4\n";
    let plan = plan("demo", &history(later), &system(&[])).expect("plan");
    assert!(!plan.purge.contains(&"baz".to_owned()));
}

#[test]
fn not_installed_or_unknown_is_refused_and_an_interrupted_rollback_resumes() {
    let err = plan("other", &history(""), &system(&[])).expect_err("unknown");
    assert!(err.to_string().contains("profile `other` is not installed"));

    let mut db = system(&[]);
    db.map.remove("vpsc-profile-demo");
    let removed = "\nStart-Date: 3\nCommandline: apt remove vpsc-profile-demo\n\
        Remove: vpsc-profile-demo:amd64 (1.0)\nEnd-Date: 3\n";
    let err = plan("demo", &history(removed), &db).expect_err("removed by hand");
    assert!(
        err.to_string()
            .contains("(removed 3 by `apt remove vpsc-profile-demo`)"),
        "{err}"
    );

    let interrupted = "\nStart-Date: 3\nCommandline: apt-get -o Vpsc::Rollback=demo -y purge vpsc-profile-demo foo\n\
        Purge: vpsc-profile-demo:amd64 (1.0)\nError: Sub-process /usr/bin/dpkg returned an error code (1)\nEnd-Date: 3\n";
    let plan = plan("demo", &history(interrupted), &db).expect("resumes");
    assert!(plan.resumed);
    assert!(plan.purge.contains(&"foo".to_owned()));

    let db = system(&[]);
    let only_dpkg = parse(&tx("1", &["git"], &["perl"]), "h").expect("parses");
    let err = super::plan("demo", &only_dpkg, &db).expect_err("no transaction");
    assert!(err.to_string().contains("has no transaction"), "{err}");
}

#[test]
fn leftover_accounts_are_those_only_purged_packages_declare() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = Root::new(dir.path());
    let w = |rel: &str, text: &str| {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    };
    w(
        "etc/passwd",
        "root:x:0:0::/root:/bin/sh\nsshd:x:990:65534::/run/sshd:/usr/sbin/nologin\nxrdp:x:101:105::/run/xrdp:/usr/sbin/nologin\n",
    );
    w("etc/group", "root:x:0:\nxrdp:x:105:\nnetdev:x:106:\n");
    w(
        "var/lib/dpkg/info/foo.list",
        "/usr\n/usr/lib/sysusers.d\n/usr/lib/sysusers.d/foo.conf\n",
    );
    w(
        "usr/lib/sysusers.d/foo.conf",
        "u sshd -:65534 \"sshd user\" /run/sshd\n",
    );
    w(
        "var/lib/dpkg/info/bar.postinst",
        "adduser --system --group xrdp\naddgroup --system netdev\n",
    );
    // A package that stays also makes netdev: it is not the purge's.
    w(
        "var/lib/dpkg/info/perl.postinst",
        "addgroup --quiet --system netdev || true\n",
    );
    let db = system(&[]);
    let purge: BTreeSet<String> = ["foo", "bar"].iter().map(|s| (*s).to_owned()).collect();
    let left = leftovers(&root, &db, &purge).expect("leftovers");
    let shown: Vec<(Kind, &str, &str, &str)> = left
        .iter()
        .map(|l| {
            (
                l.kind,
                l.name.as_str(),
                l.package.as_str(),
                l.source.as_str(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            (Kind::User, "sshd", "foo", "/usr/lib/sysusers.d/foo.conf"),
            (Kind::User, "xrdp", "bar", "postinst"),
            (Kind::Group, "xrdp", "bar", "postinst"),
        ]
    );
}
