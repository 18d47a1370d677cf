//! Unattended upgrades of vpsc itself are opt-in: the security module's
//! `vpsc_auto_upgrades` site parameter adds vpsc's repository (Origin and
//! Label `vpsc`, repo.yaml) to unattended-upgrades' allowed origins, and
//! taking it back removes it again. Shown on a trixie chroot with the
//! shipped repository, through apt's own reading of its configuration
//! (`apt-config dump`) and unattended-upgrades' (`unattended-upgrade
//! --dry-run -d`).

use std::time::Instant;

use vpsc_e2e::{Chroot, require_root};

/// The file the parameter adds, beside the module's own
/// `52vpsc-unattended-upgrades`.
const ORIGINS_FILE: &str = "/etc/apt/apt.conf.d/52vpsc-unattended-upgrades-vpsc";

/// The pattern unattended-upgrades matches against the repository's Release.
const PATTERN: &str = "origin=vpsc,label=vpsc";

/// The allowed origins unattended-upgrades reports in its debug output.
fn allowed_origins(chroot: &Chroot) -> String {
    let out = chroot.run(&["unattended-upgrade", "--dry-run", "-d"]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "unattended-upgrade --dry-run -d:\n{text}"
    );
    text.lines()
        .find(|l| l.contains("Allowed origins are:"))
        .unwrap_or_else(|| panic!("no `Allowed origins are:` line:\n{text}"))
        .to_owned()
}

/// Writes the host's site file and converges the module, as README says.
fn set_site(chroot: &Chroot, text: Option<&str>) {
    let path = chroot.path("/etc/vpsc/site.d/50-host.yaml");
    match text {
        Some(text) => {
            std::fs::create_dir_all(chroot.path("/etc/vpsc/site.d")).expect("mkdir site.d");
            std::fs::write(&path, text).expect("write the site file");
        }
        None => std::fs::remove_file(&path).expect("remove the site file"),
    }
    chroot.run_ok(&["vpsc", "configure", "security"]);
}

#[test]
fn vpsc_auto_upgrades_adds_vpsc_origin_only_when_asked() {
    require_root();
    let started = Instant::now();
    let chroot = Chroot::with_shipped_repo();
    chroot.apt_get_ok(&["install", "vpsc-mod-security"]);

    // The repository really carries the Origin and Label the pattern names.
    let policy = chroot.run_ok(&["apt-cache", "policy"]);
    assert!(
        policy
            .lines()
            .any(|l| l.contains("o=vpsc") && l.contains("l=vpsc")),
        "{policy}"
    );

    // Off by default: Debian's origins only.
    assert!(!chroot.path(ORIGINS_FILE).exists());
    let dump = chroot.run_ok(&["apt-config", "dump"]);
    assert!(!dump.contains(PATTERN), "{dump}");
    let origins = allowed_origins(&chroot);
    assert!(!origins.contains(PATTERN), "{origins}");
    assert!(origins.contains("origin=Debian"), "{origins}");

    // Opted in: apt appends the pattern to the list Debian's
    // 50unattended-upgrades starts, and unattended-upgrades takes it.
    set_site(&chroot, Some("security:\n  vpsc_auto_upgrades: true\n"));
    let file = std::fs::read_to_string(chroot.path(ORIGINS_FILE)).expect("origins file");
    assert!(file.contains(&format!("\"{PATTERN}\";")), "{file}");
    let dump = chroot.run_ok(&["apt-config", "dump"]);
    assert!(
        dump.lines()
            .any(|l| l == format!("Unattended-Upgrade::Origins-Pattern:: \"{PATTERN}\";")),
        "{dump}"
    );
    let origins = allowed_origins(&chroot);
    assert!(
        origins.contains(PATTERN) && origins.contains("origin=Debian"),
        "{origins}"
    );
    let verify = chroot.run_ok(&["vpsc", "verify", "security"]);
    assert!(
        verify.contains(&format!("file_contains {ORIGINS_FILE}")) && verify.contains(" 0 failed"),
        "{verify}"
    );

    // Taken back: the file goes, the pattern with it.
    set_site(&chroot, None);
    assert!(!chroot.path(ORIGINS_FILE).exists());
    let dump = chroot.run_ok(&["apt-config", "dump"]);
    assert!(!dump.contains(PATTERN), "{dump}");
    assert!(!allowed_origins(&chroot).contains(PATTERN));
    eprintln!("vpsc-e2e auto_upgrades: took {:.1?}", started.elapsed());
}
