//! End-to-end scenarios: vpsc's own packages installed with real apt into a
//! real Debian 13 chroot, verified, upgraded, crashed and removed; after
//! removal the chroot must be as it was, apart from [`ALLOW`].

use std::path::Path;

use vpsc_e2e::{
    AllowRule, Chroot, LocalRepo, Snapshot, build_dist, catalogue, debian_dependencies,
    profile_modules, require_root, workspace_root,
};

/// What removing vpsc may leave changed. Everything else must be identical.
const ALLOW: &[AllowRule] = &[
    AllowRule::new(
        "etc/group-",
        "shadow-utils' backup of the previous /etc/group, rewritten by every gpasswd/groupadd even when the change is later undone",
    ),
    AllowRule::new(
        "etc/gshadow-",
        "backup of the previous /etc/gshadow, as etc/group-",
    ),
    AllowRule::new(
        "etc/passwd-",
        "backup of the previous /etc/passwd, rewritten when a Debian package's postinst runs usermod (seen with the advanced profile) though /etc/passwd itself is restored",
    ),
    AllowRule::new(
        "etc/shadow-",
        "backup of the previous /etc/shadow, as etc/passwd-",
    ),
];

fn dpkg_status(chroot: &Chroot, package: &str) -> String {
    let out = chroot.run(&["dpkg-query", "-W", "-f=${db:Status-Abbrev}", package]);
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn assert_installed(chroot: &Chroot, package: &str) {
    assert_eq!(
        dpkg_status(chroot, package),
        "ii",
        "{package} should be installed"
    );
}

fn assert_gone(chroot: &Chroot, package: &str) {
    let status = dpkg_status(chroot, package);
    assert!(
        status.is_empty() || status.starts_with("un") || status.starts_with("rc"),
        "{package} should be removed, is {status:?}"
    );
}

/// apt's default keeps a package that is only recommended or suggested by
/// another installed package (APT::AutoRemove::RecommendsImportant,
/// SuggestsImportant), so Debian
/// packages pulled in by the Recommends of our Debian dependencies
/// (build-essential through python3-pip, dbus through openssh-server)
/// would outlive the rollback. The rollback measurements therefore
/// autoremove with that option off: it removes more Debian packages, never
/// less of vpsc, since vpsc's own modules are removed either way.
const AUTOREMOVE_ALL: [&str; 6] = [
    "-o",
    "APT::AutoRemove::RecommendsImportant=false",
    "-o",
    "APT::AutoRemove::SuggestsImportant=false",
    "autoremove",
    "--purge",
];

/// Debian packages keep system users and groups after a purge (Policy
/// §9.2). Installing and purging the profile's Debian dependencies once
/// before the first snapshot makes the comparison measure vpsc's own
/// footprint.
fn prime(chroot: &Chroot, profile: &str) {
    let deps = debian_dependencies(&workspace_root().join("profiles"), profile);
    // Only what the base system lacks: purging a base package (say
    // ca-certificates) would make the "before" snapshot unrepresentative.
    let missing: Vec<&str> = deps
        .iter()
        .map(String::as_str)
        .filter(|d| dpkg_status(chroot, d) != "ii")
        .collect();
    let mut install = vec!["install", "systemd", "passwd"];
    install.extend(&missing);
    chroot.apt_get_ok(&install);
    if !missing.is_empty() {
        // apt remembers an explicit install as "manual" across a purge;
        // marked auto, the packages come back as dependencies later and
        // autoremove can take them again, as on a machine never primed.
        let mut auto = vec!["apt-mark", "auto"];
        auto.extend(&missing);
        chroot.run_ok(&auto);
        let mut purge = vec!["purge"];
        purge.extend(&missing);
        chroot.apt_get_ok(&purge);
    }
    chroot.apt_get_ok(&AUTOREMOVE_ALL);
}

/// Installs `profile` into a primed chroot, verifies it, lets `inspect`
/// look at the configured system, then removes it the documented way
/// (`apt remove` the profile, `apt autoremove --purge`) and requires the
/// chroot to be as before. With `reinstall`, finally installs it again and
/// verifies (once per run is enough to show it; the desktop makes every
/// install of the larger profiles cost minutes).
fn round_trip(
    profile: &str,
    site: Option<&str>,
    reinstall: bool,
    inspect: impl Fn(&Chroot),
) -> Chroot {
    require_root();
    let chroot = Chroot::with_shipped_repo();
    prime(&chroot, profile);
    // Every module of the profile, inherited ones included; vendor
    // modules are recommended only, so apt skips them while their
    // vendor's repository is not configured.
    let (modules, vendor_modules) = profile_modules(&workspace_root().join("profiles"), profile);
    if let Some(text) = site {
        // The administrator's per-host file: it exists before vpsc and
        // stays after it, so it is part of both snapshots.
        std::fs::create_dir_all(chroot.path("/etc/vpsc/site.d")).expect("mkdir site.d");
        std::fs::write(chroot.path("/etc/vpsc/site.d/50-host.yaml"), text).expect("site file");
    }
    let before = Snapshot::take(chroot.root());
    let package = format!("vpsc-profile-{profile}");

    chroot.apt_get_ok(&["install", &package]);
    for m in &modules {
        assert_installed(&chroot, &format!("vpsc-mod-{m}"));
    }
    for m in &vendor_modules {
        assert_gone(&chroot, &format!("vpsc-mod-{m}"));
    }
    let verify = chroot.run_ok(&["vpsc", "verify"]);
    assert!(verify.contains(" passed, 0 failed"), "{verify}");
    for m in &modules {
        assert!(
            verify.contains(&format!("PASS {m:<10}")),
            "no check of {m} ran:\n{verify}"
        );
    }
    let mode = std::fs::metadata(chroot.path("/var/lib/vpsc/state.db")).expect("state.db");
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
        0o600
    );
    let status = chroot.run_ok(&["vpsc", "status", "--json"]);
    assert!(status.contains(&format!("\"{profile}\"")), "{status}");
    inspect(&chroot);

    chroot.apt_get_ok(&["remove", &package]);
    chroot.apt_get_ok(&AUTOREMOVE_ALL);
    chroot.apt_get_ok(&["purge", &package]);
    for m in &modules {
        assert_gone(&chroot, &format!("vpsc-mod-{m}"));
    }
    assert_gone(&chroot, "vpsc-runtime");
    before.assert_same(&Snapshot::take(chroot.root()), ALLOW);
    // Outside the snapshot's trees: the system module's swap file, and
    // the journal, which goes when vpsc-runtime is purged.
    assert!(!chroot.path("/swapfile").exists(), "swap file left behind");
    assert!(
        !chroot.path("/var/lib/vpsc").exists(),
        "purging vpsc-runtime left /var/lib/vpsc"
    );

    if reinstall {
        chroot.apt_get_ok(&["install", &package]);
        let verify = chroot.run_ok(&["vpsc", "verify"]);
        assert!(verify.contains(" passed, 0 failed"), "{verify}");
    }
    chroot
}

/// What the security module must have done, looked at as an admin would.
fn inspect_security(chroot: &Chroot, bantime: &str, ssh_port: u16) {
    let issue = std::fs::read_to_string(chroot.path("/etc/issue.net")).expect("banner");
    assert!(issue.contains("Authorised access only"), "{issue}");
    let diversions = chroot.run_ok(&["dpkg-divert", "--list"]);
    assert!(
        diversions.contains(
            "diversion of /etc/issue.net to /etc/issue.net.vpsc-orig by vpsc-mod-security"
        ),
        "{diversions}"
    );
    assert!(
        diversions.contains(
            "diversion of /etc/nftables.conf to /etc/nftables.conf.vpsc-orig by vpsc-mod-security"
        ),
        "{diversions}"
    );
    chroot.run_ok(&["sshd", "-t"]);
    let effective = chroot.run_ok(&["sshd", "-T"]);
    let has = |line: &str| effective.lines().any(|l| l == line);
    assert!(
        has("permitrootlogin without-password") || has("permitrootlogin prohibit-password"),
        "{effective}"
    );
    assert!(has("x11forwarding no"), "{effective}");
    // One port for sshd, the firewall and the jail: they cannot disagree.
    assert!(has(&format!("port {ssh_port}")), "{effective}");
    let ruleset = std::fs::read_to_string(chroot.path("/etc/nftables.conf")).expect("ruleset");
    assert!(
        ruleset.contains(&format!("elements = {{ {ssh_port} }}")),
        "{ruleset}"
    );
    chroot.run_ok(&["nft", "-c", "-f", "/etc/nftables.conf"]);
    let jail =
        std::fs::read_to_string(chroot.path("/etc/fail2ban/jail.d/50-vpsc.local")).expect("jail");
    assert!(jail.contains(&format!("bantime = {bantime}")), "{jail}");
    assert!(jail.contains(&format!("port = {ssh_port}")), "{jail}");
    let group = chroot.run_ok(&["getent", "group", "adm"]);
    assert!(group.trim().ends_with("root"), "{group}");
}

#[test]
fn beginner_profile_installs_verifies_and_removes_without_a_trace() {
    round_trip("beginner", None, false, |chroot| {
        // The profile overrides fail2ban's bantime.
        inspect_security(chroot, "1h", 22);
        let docker = chroot.run_ok(&["getent", "group", "docker"]);
        assert!(docker.trim().ends_with(":root"), "{docker}");
        assert_eq!(
            chroot.run_ok(&["git", "config", "--system", "init.defaultBranch"]),
            "main\n"
        );
        let rdp = read(chroot, "/etc/vpsc/nftables.d/desktop.nft").expect("rdp rule");
        assert!(rdp.contains("{ 3389 }"), "{rdp}");
        chroot.run_ok(&["nft", "-c", "-f", "/etc/nftables.conf"]);

        // Conflict by design: hardening next to the desktop keeps the X
        // server, and its verify accepts it.
        chroot.apt_get_ok(&["install", "vpsc-mod-cis-hardening"]);
        assert_installed(chroot, "xserver-xorg-core");
        let verify = chroot.run_ok(&["vpsc", "verify", "cis-hardening"]);
        assert!(
            !verify.contains("package_absent xserver-xorg-core") && verify.contains(" 0 failed"),
            "{verify}"
        );
        // The rules those modules need to fail are waived, with the
        // module's reason: the X server (2.1.21) for the desktop, IPv4
        // forwarding (3.3.1.1) for docker.
        let out = chroot.run(&[
            "vpsc",
            "cis",
            "scan",
            "--level",
            "2",
            "--only",
            "2.1.21,3.3.1.1",
            "--json",
        ]);
        let scan = String::from_utf8_lossy(&out.stdout);
        for (id, module) in [("2.1.21", "desktop"), ("3.3.1.1", "docker")] {
            let line = scan
                .lines()
                .find(|l| l.contains(&format!("\"id\":\"{id}\"")))
                .unwrap_or_else(|| panic!("no finding {id}: {scan}"));
            assert!(
                line.contains("\"status\":\"waived\"")
                    && line.contains(&format!("needed by module {module}")),
                "{line}"
            );
        }
        chroot.apt_get_ok(&["purge", "vpsc-mod-cis-hardening"]);
    });
}

#[test]
fn server_profile_round_trip_and_removal_cascade() {
    // The host moves SSH to port 2222 and sets its name, time zone,
    // locale and swap through a site file, no rebuild.
    let site = "security:\n  ssh_port: 2222\nsystem:\n  hostname: vpsc-e2e\n  timezone: Europe/Paris\n  locales: [\"en_GB.UTF-8 UTF-8\"]\n  locale: en_GB.UTF-8\n  swap_size: 16M\nmonitoring:\n  allow_from: 192.0.2.10\n";
    let chroot = round_trip("server", Some(site), true, |chroot| {
        inspect_security(chroot, "10m", 2222);
        inspect_monitoring(chroot, "192.0.2.10");
        assert_eq!(read(chroot, "/etc/hostname").as_deref(), Some("vpsc-e2e\n"));
        assert_eq!(
            std::fs::read_link(chroot.path("/etc/localtime")).expect("localtime"),
            Path::new("/usr/share/zoneinfo/Europe/Paris")
        );
        let locales = chroot.run_ok(&["locale", "-a"]);
        assert!(locales.contains("en_GB.utf8"), "{locales}");
        assert_eq!(
            read(chroot, "/etc/locale.conf").as_deref(),
            Some("LANG=en_GB.UTF-8\n")
        );
        let swap = std::fs::metadata(chroot.path("/swapfile")).expect("swapfile");
        assert_eq!(swap.len(), 16 << 20);
        assert!(
            chroot
                .path("/etc/systemd/system/swap.target.wants/swapfile.swap")
                .symlink_metadata()
                .is_ok(),
            "swap unit not enabled"
        );
    });

    assert!(
        !metrics_files(&chroot)
            .iter()
            .any(|f| f.starts_with("vpsc_")),
        "metrics left after the monitoring module went"
    );

    // Cascade: a recommended module goes alone; the profile stays.
    chroot.apt_get_ok(&["remove", "vpsc-mod-git"]);
    assert_gone(&chroot, "vpsc-mod-git");
    assert_installed(&chroot, "vpsc-profile-server");
    let unset = chroot.run(&["git", "config", "--system", "init.defaultBranch"]);
    assert_eq!(
        unset.status.code(),
        Some(1),
        "git's setting survived its module's removal"
    );
    chroot.apt_get_ok(&["autoremove"]);
    assert_installed(&chroot, "vpsc-mod-utilities");
    // A core module takes the profile along; apt then marks the
    // metapackage's other dependencies as manually installed, so
    // autoremove keeps them (apt's rule for Section: metapackages).
    chroot.apt_get_ok(&["remove", "vpsc-mod-security"]);
    assert_gone(&chroot, "vpsc-profile-server");
    chroot.apt_get_ok(&["autoremove"]);
    assert_installed(&chroot, "vpsc-mod-system");
    assert_installed(&chroot, "vpsc-mod-utilities");
    let manual = chroot.run_ok(&["apt-mark", "showmanual"]);
    assert!(manual.contains("vpsc-mod-system"), "{manual}");
    assert!(!chroot.path("/etc/ssh/sshd_config.d/50-vpsc.conf").exists());
    let verify = chroot.run_ok(&["vpsc", "verify"]);
    assert!(
        verify.contains(" passed, 0 failed") && !verify.contains(" security "),
        "{verify}"
    );
    report_renders_in_chromium(&chroot, "vpsc-e2e");
}

/// The `.prom` files in node-exporter's textfile directory.
fn metrics_files(chroot: &Chroot) -> Vec<String> {
    std::fs::read_dir(chroot.path(METRICS_DIR))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".prom"))
                .collect()
        })
        .unwrap_or_default()
}

const METRICS_DIR: &str = "/var/lib/prometheus/node-exporter";

/// The monitoring module, `vpsc health`, and every metrics file vpsc
/// writes, judged by Prometheus' own promtool (installed for the check
/// and purged after it, so the round trip's snapshot is unaffected).
fn inspect_monitoring(chroot: &Chroot, allow_from: &str) {
    let dropin = read(
        chroot,
        "/etc/systemd/system/prometheus-node-exporter.service.d/50-vpsc.conf",
    )
    .expect("node exporter drop-in");
    // Opened to one address: every address, the firewall narrows it.
    assert!(
        dropin.contains("--web.listen-address=:9100 --collector.textfile.directory=/var/lib/prometheus/node-exporter $ARGS"),
        "{dropin}"
    );
    let rule = read(chroot, "/etc/vpsc/nftables.d/monitoring.nft").expect("nft rule");
    assert!(
        rule.contains(&format!("ip saddr {allow_from} tcp dport 9100 accept")),
        "{rule}"
    );
    chroot.run_ok(&["nft", "-c", "-f", "/etc/nftables.conf"]);

    // Health before any CIS scan: vpsc's own aspects are well; what a
    // chroot cannot know (units, time) is unknown, never guessed.
    let health = |chroot: &Chroot| -> (i32, serde_json::Value) {
        let out = chroot.run(&["vpsc", "health", "--json"]);
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "vpsc health --json: {e}: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code().unwrap_or(-1), doc)
    };
    let status_of = |doc: &serde_json::Value, name: &str| -> String {
        doc["findings"]
            .as_array()
            .and_then(|f| f.iter().find(|f| f["name"] == name))
            .and_then(|f| f["status"].as_str())
            .unwrap_or_else(|| panic!("no finding {name}: {doc}"))
            .to_owned()
    };
    let (code, doc) = health(chroot);
    for name in ["verify", "drift", "breakers", "audit", "reboot"] {
        assert_eq!(status_of(&doc, name), "ok", "{doc}");
    }
    for name in ["units", "time", "cis"] {
        assert_eq!(status_of(&doc, name), "unknown", "{doc}");
    }
    let degraded = doc["status"] == "degraded";
    assert_eq!(code, i32::from(degraded), "{doc}");

    // A managed file changed by hand is drift, and makes the host degraded.
    let jail = "/etc/fail2ban/jail.d/50-vpsc.local";
    let original = read(chroot, jail).expect("jail");
    std::fs::write(chroot.path(jail), format!("{original}# edited by hand\n")).expect("edit");
    let (code, doc) = health(chroot);
    assert_eq!(
        (code, status_of(&doc, "drift")),
        (1, "degraded".into()),
        "{doc}"
    );
    let text = String::from_utf8_lossy(&chroot.run(&["vpsc", "health"]).stdout).into_owned();
    assert!(text.contains(jail) && text.contains("degraded: "), "{text}");
    std::fs::write(chroot.path(jail), original).expect("restore");

    // Every source of metrics: the health facts, a recorded CIS scan.
    let scan = chroot.run(&[
        "vpsc",
        "cis",
        "scan",
        "--record",
        "--textfile",
        "/var/lib/prometheus/node-exporter/vpsc_cis.prom",
    ]);
    assert!(matches!(scan.status.code(), Some(0 | 1)), "{scan:?}");
    chroot.run_ok(&["vpsc", "metrics", "write"]);
    // The hourly activity record writes its own file (a chroot has no
    // journal: nobody was active).
    chroot.run_ok(&["vpsc-user", "activity", "--record"]);
    let (_, doc) = health(chroot);
    assert_eq!(status_of(&doc, "cis"), "ok", "{doc}");
    let mut files = metrics_files(chroot);
    files.sort();
    for expected in [
        "vpsc_activity.prom",
        "vpsc_audit.prom",
        "vpsc_breaker.prom",
        "vpsc_cis.prom",
        "vpsc_dora.prom",
        "vpsc_drift.prom",
        "vpsc_health.prom",
        "vpsc_host.prom",
        "vpsc_users.prom",
        "vpsc_verify.prom",
    ] {
        assert!(
            files.iter().any(|f| f == expected),
            "no {expected}: {files:?}"
        );
    }
    let health_prom = read(chroot, &format!("{METRICS_DIR}/vpsc_health.prom")).expect("health");
    assert!(
        health_prom.contains("vpsc_health_check_status{check=\"verify\",status=\"ok\"} 1"),
        "{health_prom}"
    );

    chroot.apt_get_ok(&["install", "promtool"]);
    for f in &files {
        let out = chroot.run(&[
            "sh",
            "-c",
            &format!("promtool check metrics < {METRICS_DIR}/{f}"),
        ]);
        assert!(
            out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
            "promtool check metrics {f}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let rules = "/usr/share/vpsc/prometheus/vpsc-alerts.yml";
    let checked = chroot.run_ok(&["promtool", "check", "rules", rules]);
    assert!(checked.contains("SUCCESS"), "{checked}");
    // The alerts fire on the series vpsc writes, and only then.
    std::fs::copy(
        workspace_root().join("tests/fixtures/prometheus/vpsc-alerts.test.yml"),
        chroot.path("/tmp/vpsc-alerts.test.yml"),
    )
    .expect("copy rule tests");
    chroot.run_ok(&["promtool", "test", "rules", "/tmp/vpsc-alerts.test.yml"]);
    std::fs::remove_file(chroot.path("/tmp/vpsc-alerts.test.yml")).expect("rm");
    chroot.apt_get_ok(&["purge", "promtool"]);

    let dashboard: serde_json::Value = serde_json::from_str(
        &read(chroot, "/usr/share/vpsc/prometheus/vpsc-dashboard.json").expect("dashboard"),
    )
    .expect("the dashboard is JSON");
    let panels = dashboard["panels"].as_array().expect("panels");
    assert!(panels.len() >= 10, "{dashboard}");
    for p in panels {
        let expr = p["targets"][0]["expr"].as_str().unwrap_or_default();
        assert!(expr.contains("vpsc_"), "panel without a vpsc metric: {p}");
    }
}

/// `make e2e-full`: the larger profiles, too slow for every `make test`.
#[test]
#[ignore = "run by `make e2e-full`"]
fn intermediate_profile_round_trip() {
    round_trip("intermediate", None, false, |chroot| {
        inspect_security(chroot, "1h", 22);
        let ruleset = std::fs::read_to_string(chroot.path("/usr/lib/vpsc/nftables.d/caddy.nft"))
            .expect("caddy rule");
        assert!(ruleset.contains("{ 80, 443 }"), "{ruleset}");
        chroot.run_ok(&["nft", "-c", "-f", "/etc/nftables.conf"]);
    });
}

/// `make e2e-full`: every module of the catalogue that a profile holds.
#[test]
#[ignore = "run by `make e2e-full`"]
fn advanced_profile_round_trip() {
    round_trip("advanced", None, false, |chroot| {
        inspect_security(chroot, "1h", 22)
    });
}

fn fixture(name: &str) -> std::path::PathBuf {
    workspace_root().join("tests/fixtures").join(name)
}

fn read(chroot: &Chroot, path: &str) -> Option<String> {
    std::fs::read_to_string(chroot.path(path)).ok()
}

#[test]
fn upgrade_converges_to_the_new_plan_and_remove_restores_everything() {
    require_root();
    let chroot = Chroot::new();
    let (v1, v2) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    build_dist(&fixture("upgrade-v1"), v1.path());
    build_dist(&fixture("upgrade-v2"), v2.path());
    LocalRepo::install_into(&chroot, v1.path());
    chroot.apt_get_ok(&["install", "systemd", "passwd"]);
    let before = Snapshot::take(chroot.root());

    chroot.apt_get_ok(&["install", "vpsc-mod-probe"]);
    assert_eq!(
        read(&chroot, "/etc/vpsc-probe.conf").as_deref(),
        Some("greeting = one\n")
    );
    assert!(read(&chroot, "/etc/vpsc-probe-old.conf").is_some());
    assert!(chroot.path("/usr/lib/sysctl.d/60-vpsc-probe.conf").exists());

    LocalRepo::install_into(&chroot, v2.path());
    chroot.apt_get_ok(&["install", "vpsc-mod-probe"]);
    assert_eq!(dpkg_version(&chroot, "vpsc-mod-probe"), "2.0");
    assert_eq!(
        read(&chroot, "/etc/vpsc-probe.conf").as_deref(),
        Some("greeting = two\n"),
        "changed effect not re-applied"
    );
    assert!(
        read(&chroot, "/etc/vpsc-probe-old.conf").is_none(),
        "effect dropped in v2 was not undone"
    );
    assert_eq!(
        read(&chroot, "/etc/vpsc-probe-new.conf").as_deref(),
        Some("only in version 2\n")
    );
    let sysctl = read(&chroot, "/usr/lib/sysctl.d/60-vpsc-probe.conf").expect("vendor file");
    assert!(
        sysctl.contains("kernel.kptr_restrict = 1") && !sysctl.contains("dmesg"),
        "{sysctl}"
    );
    chroot.run_ok(&["vpsc", "verify", "probe"]);

    chroot.apt_get_ok(&["purge", "vpsc-mod-probe"]);
    chroot.apt_get_ok(&["autoremove", "--purge"]);
    before.assert_same(&Snapshot::take(chroot.root()), ALLOW);
}

fn dpkg_version(chroot: &Chroot, package: &str) -> String {
    chroot.run_ok(&["dpkg-query", "-W", "-f=${Version}", package])
}

#[test]
fn configure_killed_mid_way_converges_after_dpkg_configure_a() {
    require_root();
    let chroot = Chroot::new();
    let dist = tempfile::tempdir().expect("tempdir");
    build_dist(&fixture("crash"), dist.path());
    LocalRepo::install_into(&chroot, dist.path());
    chroot.apt_get_ok(&["install", "systemd", "passwd"]);
    let _ = std::fs::remove_file(chroot.path("/run/vpsc-crash-once"));
    let before = Snapshot::take(chroot.root());

    let out = chroot.apt_get(&["install", "vpsc-mod-crash"]);
    assert!(
        !out.status.success(),
        "the SIGKILL'd postinst must fail the install"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("vpsc-mod-crash"), "{stderr}");
    assert_eq!(
        dpkg_status(&chroot, "vpsc-mod-crash"),
        "iF",
        "package should be half-configured"
    );
    assert!(
        read(&chroot, "/etc/vpsc-crash-first.conf").is_some(),
        "work before the kill was not done"
    );
    assert!(
        read(&chroot, "/etc/vpsc-crash-second.conf").is_none(),
        "the kill came too late to test anything"
    );
    let status = chroot.run_ok(&["vpsc", "status"]);
    assert!(
        status.contains("pending: command:kill_once"),
        "journal lost the step in flight: {status}"
    );

    chroot.run_ok(&["dpkg", "--configure", "-a"]);
    assert_installed(&chroot, "vpsc-mod-crash");
    assert_eq!(
        read(&chroot, "/etc/vpsc-crash-second.conf").as_deref(),
        Some("second\n")
    );
    chroot.run_ok(&["vpsc", "verify", "crash"]);
    let status = chroot.run_ok(&["vpsc", "status"]);
    assert!(!status.contains("pending"), "{status}");

    chroot.apt_get_ok(&["purge", "vpsc-mod-crash"]);
    chroot.apt_get_ok(&["autoremove", "--purge"]);
    before.assert_same(&Snapshot::take(chroot.root()), ALLOW);
}

#[test]
fn fixtures_exist() {
    for name in ["upgrade-v1", "upgrade-v2", "crash"] {
        assert!(Path::new(&fixture(name)).join("modules").is_dir(), "{name}");
    }
}

#[test]
fn shipped_dependencies_resolve_in_trixie_and_every_profile_simulates() {
    require_root();
    let chroot = Chroot::new();
    let dist = tempfile::tempdir().expect("tempdir");
    let profiles = workspace_root().join("profiles");
    build_dist(&profiles, dist.path());
    LocalRepo::install_into(&chroot, dist.path());

    // Every Debian relation of every module, against trixie's own lists.
    let cat = catalogue(&profiles);
    let index =
        vpsc_gen::resolve::Index::from_lists(&chroot.path("/var/lib/apt/lists")).expect("lists");
    vpsc_gen::resolve::check(&cat, &index).unwrap_or_else(|e| panic!("{e}"));

    // Vendor sources install and apt parses their entries (fetching
    // needs the vendor's network, which the chroot lacks).
    let sources: Vec<String> = cat.sources.values().map(|s| s.package()).collect();
    let mut install = vec!["install"];
    install.extend(sources.iter().map(String::as_str));
    chroot.apt_get_ok(&install);
    let uris = chroot.run_ok(&["apt-get", "update", "--print-uris"]);
    for uri in [
        "https://packages.microsoft.com/repos/code/dists/stable/InRelease",
        "https://downloads.cursor.com/aptrepo/dists/stable/InRelease",
        "https://repository.netdata.cloud/repos/stable/debian/trixie/InRelease",
    ] {
        assert!(uris.contains(uri), "{uri} missing:\n{uris}");
    }

    // And apt resolves every profile as a whole.
    assert!(!cat.profiles.is_empty());
    for name in cat.profiles.keys() {
        let package = format!("vpsc-profile-{name}");
        let sim = chroot.apt_get_ok(&["install", "-s", &package]);
        assert!(sim.contains(&format!("Inst {package} ")), "{sim}");
    }
}

/// Conflicts the catalogue resolves by design, each shown on a real
/// install: hardening keeps forwarding for wireguard, and SSH hardening
/// refuses to lock the administrator out. (Hardening next to the desktop
/// and docker is shown inside the beginner round trip, which has both
/// installed already.)
#[test]
fn hardening_keeps_what_other_modules_need_and_ssh_never_locks_out() {
    require_root();
    let chroot = Chroot::with_shipped_repo();
    // IPv6 forwarding (Debian 13's 3.3.2.1, Level 1): its finding.
    let forwarding = |chroot: &Chroot| {
        let out = chroot.run(&["vpsc", "cis", "scan", "--only", "3.3.2.1", "--json"]);
        let first = String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned();
        assert!(first.contains("3.3.2.1"), "{first}");
        first
    };

    // SSH: turning password login off without an administrator key is
    // refused before anything changes; with a key it goes through.
    std::fs::create_dir_all(chroot.path("/etc/vpsc/site.d")).expect("mkdir");
    std::fs::write(
        chroot.path("/etc/vpsc/site.d/50-host.yaml"),
        "security:\n  password_authentication: \"no\"\n",
    )
    .expect("site file");
    let out = chroot.apt_get(&["install", "vpsc-mod-security"]);
    assert!(!out.status.success(), "lock-out was not refused");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("authorized_key root") && stderr.contains("ssh-copy-id"),
        "{stderr}"
    );
    assert!(
        !chroot.path("/etc/ssh/sshd_config.d/50-vpsc.conf").exists(),
        "the refused configure changed sshd"
    );
    std::fs::create_dir_all(chroot.path("/root/.ssh")).expect("mkdir");
    std::fs::write(
        chroot.path("/root/.ssh/authorized_keys"),
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOkZQ8h0gqc6Yf2vYxW2dO1C0xSm7q4f2hS0g0k7n9Jb admin@laptop\n",
    )
    .expect("key");
    chroot.run_ok(&["dpkg", "--configure", "-a"]);
    let effective = chroot.run_ok(&["sshd", "-T"]);
    assert!(
        effective.lines().any(|l| l == "passwordauthentication no"),
        "{effective}"
    );

    // Hardening alone turns forwarding off.
    chroot.apt_get_ok(&["install", "vpsc-mod-cis-hardening"]);
    let report = forwarding(&chroot);
    assert!(report.contains("\"status\":\"pass\""), "{report}");
    assert!(report.contains("55-vpsc-cis-hardening.conf"), "{report}");
    let stat = chroot.run_ok(&["dpkg-statoverride", "--list", "/etc/ssh/sshd_config"]);
    assert!(stat.starts_with("root root 600"), "{stat}");

    // wireguard needs forwarding: it waives the rule, its sysctl file
    // sorts later and wins, and hardening's verify still passes.
    chroot.apt_get_ok(&["install", "vpsc-mod-wireguard"]);
    chroot.run_ok(&["vpsc", "verify"]);
    let report = forwarding(&chroot);
    assert!(report.contains("\"status\":\"waived\""), "{report}");
    assert!(report.contains("needed by module wireguard"), "{report}");
    assert!(report.contains("70-vpsc-wireguard.conf"), "{report}");
    chroot.run_ok(&["nft", "-c", "-f", "/etc/nftables.conf"]);
    let conf = read(&chroot, "/etc/wireguard/wg0.conf").expect("wg0.conf");
    assert!(conf.contains("ListenPort = 51820"), "{conf}");

    // Without wireguard, forwarding is off again; the statoverride and
    // sshd drop-in go with hardening.
    chroot.apt_get_ok(&["purge", "vpsc-mod-wireguard"]);
    let report = forwarding(&chroot);
    assert!(report.contains("\"status\":\"pass\""), "{report}");
    chroot.apt_get_ok(&["purge", "vpsc-mod-cis-hardening"]);
    let stat = chroot.run(&["dpkg-statoverride", "--list", "/etc/ssh/sshd_config"]);
    assert!(!stat.status.success(), "statoverride left behind");
    assert!(
        !chroot
            .path("/etc/ssh/sshd_config.d/40-vpsc-cis-hardening.conf")
            .exists()
    );
}

/// The databases module installs clients; a server is a per-host choice
/// that vpsc refuses until its package is installed, then enables.
#[test]
fn database_server_is_chosen_per_host() {
    require_root();
    let chroot = Chroot::with_shipped_repo();
    std::fs::create_dir_all(chroot.path("/etc/vpsc/site.d")).expect("mkdir");
    // A server vpsc does not offer is refused with the ones it does.
    std::fs::write(
        chroot.path("/etc/vpsc/site.d/50-host.yaml"),
        "databases:\n  server: mysql\n",
    )
    .expect("site file");
    let out = chroot.apt_get(&["install", "--no-install-recommends", "vpsc-mod-databases"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && stderr.contains("to \"mysql\": it must be one of \"\", \"postgresql\", \"mariadb\""),
        "{stderr}"
    );
    std::fs::write(
        chroot.path("/etc/vpsc/site.d/50-host.yaml"),
        "databases:\n  server: postgresql\n",
    )
    .expect("site file");

    let out = chroot.apt_get(&["install", "--no-install-recommends", "vpsc-mod-databases"]);
    assert!(!out.status.success(), "a missing server was not refused");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("apt install postgresql") && stderr.contains("dpkg --configure -a"),
        "{stderr}"
    );
    assert!(
        !is_enabled(&chroot, "postgresql.service"),
        "the refused configure enabled something"
    );

    // apt retries the pending vpsc-mod-databases in the same run, before
    // postgresql is configured, so that run still reports it; postgresql
    // itself is installed and `dpkg --configure -a` finishes the module.
    let _ = chroot.apt_get(&["install", "--no-install-recommends", "postgresql"]);
    assert_installed(&chroot, "postgresql");
    chroot.run_ok(&["dpkg", "--configure", "-a"]);
    assert_installed(&chroot, "vpsc-mod-databases");
    let verify = chroot.run_ok(&["vpsc", "verify", "databases"]);
    assert!(
        verify.contains("unit_enabled postgresql.service") && verify.contains(" 0 failed"),
        "{verify}"
    );
    // Nothing runs in a chroot, so the port cannot be asked: reported
    // apart, never as a pass.
    assert!(
        verify.contains("SKIP databases  port_listening tcp/5432 on loopback")
            && verify.contains("1 not evaluated"),
        "{verify}"
    );
    let control = chroot.run_ok(&["dpkg-query", "-W", "-f=${Suggests}", "vpsc-mod-databases"]);
    assert!(control.contains("postgresql"), "{control}");
}

fn is_enabled(chroot: &Chroot, unit: &str) -> bool {
    let wants = chroot.path("/etc/systemd/system/multi-user.target.wants");
    wants.join(unit).symlink_metadata().is_ok()
}

/// `vpsc report` of a host that has lived (a profile installed, removed,
/// installed again and cut down, a person onboarded), rendered by Debian's
/// Chromium as a phone and a desktop would show it and printed to PDF; the
/// screenshots, the page and the PDF are kept in `target/e2e-artefacts/`
/// (or `$VPSC_E2E_ARTEFACTS`) for a person to look at.
fn report_renders_in_chromium(chroot: &Chroot, hostname: &str) {
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap_or_else(|| {
            panic!(
                "Chromium is missing: install Debian's `chromium` package (`make deps` does) to render the compliance report"
            )
        });
    chroot.apt_get_ok(&["install", "vpsc-mod-rbac"]);
    chroot.ssh_key("/tmp/grace.pub", "grace@laptop");
    chroot.run_ok(&[
        "vpsc-user",
        "create",
        "grace",
        "--full-name",
        "Grace <b>Hopper</b>",
        "--email",
        "grace@example.org",
        "--role",
        "developer",
        "--ssh-key",
        "/tmp/grace.pub",
    ]);
    let out = chroot.run_ok(&["vpsc", "report", "--html", "/root/report.html"]);
    assert!(out.contains("report written to /root/report.html"), "{out}");
    let model: serde_json::Value =
        serde_json::from_str(&chroot.run_ok(&["vpsc", "--json", "report"])).expect("report JSON");
    let cis = &model["cis"]["ok"];
    let score = cis["score"].as_f64().expect("a CIS score");
    let failing = cis["failing"][0]["id"].as_str().expect("a failing rule");
    assert!(
        model["dora"]["ok"]["deployments"]["count"].as_u64() > Some(0),
        "{model}"
    );

    let dir = std::env::var_os("VPSC_E2E_ARTEFACTS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/e2e-artefacts"));
    std::fs::create_dir_all(&dir).expect("artefacts directory");
    let page = dir.join("report.html");
    std::fs::copy(chroot.path("/root/report.html"), &page).expect("copy the report out");
    let profile = tempfile::tempdir().expect("chromium profile");
    let run = |args: &[String]| {
        let out = std::process::Command::new("timeout")
            .arg("120")
            .arg(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(args)
            .arg(format!("file://{}", page.display()))
            .output()
            .expect("run chromium");
        assert!(
            out.status.success(),
            "chromium {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    for (name, size) in [("phone", "390,844"), ("desktop", "1280,1600")] {
        let png = dir.join(format!("report-{name}.png"));
        let _ = std::fs::remove_file(&png);
        run(&[
            format!("--screenshot={}", png.display()),
            format!("--window-size={size}"),
        ]);
        let bytes = std::fs::read(&png).expect("screenshot");
        assert!(
            bytes.starts_with(b"\x89PNG") && bytes.len() > 20_000,
            "{} is no real screenshot ({} bytes)",
            png.display(),
            bytes.len()
        );
        // IHDR: the width the page was laid out at.
        let width = u32::from_be_bytes(bytes[16..20].try_into().expect("IHDR"));
        let want: u32 = size
            .split(',')
            .next()
            .and_then(|w| w.parse().ok())
            .expect("width");
        assert_eq!(width, want, "{}", png.display());
        eprintln!("vpsc-e2e: report screenshot {}", png.display());
    }
    let pdf = dir.join("report.pdf");
    let _ = std::fs::remove_file(&pdf);
    run(&[
        "--no-pdf-header-footer".into(),
        format!("--print-to-pdf={}", pdf.display()),
    ]);
    let bytes = std::fs::read(&pdf).expect("PDF");
    assert!(
        bytes.starts_with(b"%PDF") && bytes.len() > 20_000,
        "{} is no real PDF",
        pdf.display()
    );
    let dom = String::from_utf8(run(&["--dump-dom".into()])).expect("UTF-8 DOM");
    for text in [
        hostname.to_owned(),
        format!("score {score:.1}%"),
        format!("<code>{failing}</code>"),
        "Grace &lt;b&gt;Hopper&lt;/b&gt;".to_owned(),
        "Audit chain intact".to_owned(),
        "Changes (DORA, last 30 days)".to_owned(),
    ] {
        assert!(
            dom.contains(&text),
            "the rendered page lacks {text:?}:\n{dom}"
        );
    }
    assert!(!dom.contains("<b>Hopper"), "a name was not escaped");
}
