//! Removal loses nothing and leaves nothing: on a trixie chroot the CIS
//! remediation is applied, the SSH second factor enforced, and two people
//! onboarded and offboarded with `--archive`; then `apt purge` of every
//! vpsc package gives back the system as it was before, except what is
//! kept by design: the offboarded people's locked accounts (their UIDs are
//! never handed out again) and their home archives, still readable.

use vpsc_e2e::{
    AllowRule, Chroot, Snapshot, modules_debian_dependencies, require_root, workspace_root,
};

/// Trees beyond the snapshot's default scope that vpsc writes to.
const ALSO: &[&str] = &[
    "home",
    "srv",
    "var/lib/vpsc",
    "var/log/vpsc",
    "var/lib/vpsc-archive",
];

/// What may differ after the purge, each with why.
const KEPT: &[AllowRule] = &[
    AllowRule::new(
        "etc/passwd",
        "offboarded accounts stay, locked, so their UIDs are never reused",
    ),
    AllowRule::new("etc/shadow", "their locked passwords and expiry"),
    AllowRule::new("etc/group", "their user groups, kept with the accounts"),
    AllowRule::new("etc/gshadow", "their user groups, kept with the accounts"),
    AllowRule::new(
        "etc/subuid",
        "useradd's subordinate IDs of the kept accounts",
    ),
    AllowRule::new(
        "etc/subgid",
        "useradd's subordinate IDs of the kept accounts",
    ),
    AllowRule::new("etc/*-", "shadow-utils' backups of the account files"),
    AllowRule::new(
        "var/lib/vpsc-archive",
        "home archives of offboarded people are kept where purge does not reach",
    ),
];

#[test]
fn purging_every_vpsc_package_gives_back_the_system_but_the_offboarded() {
    require_root();
    let chroot = Chroot::with_shipped_repo();
    // What the scenario stands on comes from Debian, before the snapshot:
    // the modules' own Debian packages, sshd and the PAM module.
    let mut debian = modules_debian_dependencies(&workspace_root().join("profiles"), &["rbac"]);
    debian.extend([
        "openssh-server".into(),
        "libpam-google-authenticator".into(),
    ]);
    let mut install = vec!["install"];
    install.extend(debian.iter().map(String::as_str));
    chroot.apt_get_ok(&install);
    std::fs::create_dir_all(chroot.path("/run/sshd")).expect("privilege separation directory");
    let before = Snapshot::take_also(chroot.root(), ALSO);

    chroot.apt_get_ok(&["install", "vpsc-mod-rbac"]);
    let remediated = chroot.run_ok(&["vpsc", "cis", "remediate"]);
    assert!(remediated.contains("applied"), "{remediated}");
    for (name, role) in [("ada", "admin"), ("bob", "developer")] {
        chroot.run_ok(&[
            "vpsc-user",
            "create",
            name,
            "--full-name",
            name,
            "--email",
            "x@example.org",
            "--role",
            role,
            "--enable-2fa",
        ]);
    }
    chroot.run_ok(&["vpsc-user", "2fa", "enforce"]);
    let drop_in = chroot.path("/etc/ssh/sshd_config.d/20-vpsc-2fa.conf");
    assert!(drop_in.exists());
    assert!(chroot.path("/etc/sudoers.d/vpsc-cis").exists());
    let mut archives = Vec::new();
    for name in ["bob", "ada"] {
        let out = chroot.run_ok(&["vpsc-user", "--json", "delete", name, "--archive"]);
        let deleted: serde_json::Value = serde_json::from_str(&out).expect("json");
        archives.push(deleted["archive"].as_str().expect("archive").to_owned());
    }

    // Everything vpsc, purged as an administrator would.
    chroot.apt_get_ok(&["purge", "--autoremove", "vpsc-mod-rbac", "vpsc-runtime"]);
    let after = Snapshot::take_also(chroot.root(), ALSO);
    before.assert_same(&after, KEPT);

    // What was allowed to differ differs only as it should.
    for rel in ["etc/passwd", "etc/shadow", "etc/group", "etc/gshadow"] {
        let d = before
            .accounts()
            .diff(after.accounts(), rel)
            .unwrap_or_else(|| panic!("{rel} missing"));
        assert!(d.removed.is_empty(), "{rel} lost lines: {:?}", d.removed);
        let mut names: Vec<&str> = d
            .added
            .iter()
            .map(|l| l.split(':').next().unwrap_or_default())
            .collect();
        names.sort();
        assert_eq!(names, ["ada", "bob"], "{rel} gained {:?}", d.added);
    }
    let shadow = std::fs::read_to_string(chroot.path("/etc/shadow")).expect("shadow");
    for name in ["ada", "bob"] {
        assert!(
            shadow.lines().any(|l| l.starts_with(&format!("{name}:!"))),
            "{name} is locked"
        );
    }
    for archive in &archives {
        assert!(archive.starts_with("/var/lib/vpsc-archive/"), "{archive}");
        let listing = chroot.run_ok(&["tar", "-tzf", archive]);
        assert!(listing.contains(".google_authenticator"), "{listing}");
    }
    assert!(!drop_in.exists(), "the second factor was relaxed");
    assert!(
        !chroot.path("/var/lib/vpsc").exists(),
        "the journal went with the purge"
    );
    assert!(
        !chroot.path("/var/log/vpsc").exists(),
        "the anchor went with it"
    );
}

/// A journal that still holds changes in force (here a module configured
/// by hand, with no package whose prerm would undo it) is not thrown away:
/// the purge keeps it and says why, so the changes can still be undone.
#[test]
fn purge_keeps_a_journal_that_still_holds_changes() {
    require_root();
    let chroot = Chroot::with_shipped_repo();
    chroot.apt_get_ok(&["install", "vpsc-runtime"]);
    std::fs::create_dir_all(chroot.path("/etc/demo")).expect("mkdir");
    std::fs::create_dir_all(chroot.path("/usr/share/vpsc/modules")).expect("mkdir");
    std::fs::write(
        chroot.path("/usr/share/vpsc/modules/demo.json"),
        r#"{"format":1,"module":"demo","version":"1.0","parameters":{},
            "effects":[{"kind":"managed_file","path":"/etc/demo/a.conf","template":"a\n","mode":420}],
            "verify":[]}"#,
    )
    .expect("plan");
    chroot.run_ok(&["vpsc", "configure", "demo"]);
    let out = chroot.apt_get(&["purge", "vpsc-runtime"]);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{said}");
    assert!(said.contains("keeping /var/lib/vpsc"), "{said}");
    assert!(said.contains("demo (1 change(s))"), "{said}");
    assert!(chroot.path("/var/lib/vpsc/state.db").exists());
    assert!(
        chroot.path("/etc/demo/a.conf").exists(),
        "the change is still in force"
    );
}
