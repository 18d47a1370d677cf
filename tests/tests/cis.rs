//! `vpsc cis scan` inside a real Debian 13 chroot, with vpsc-runtime and
//! openssh-server installed by apt: the scanner's view of sshd must be
//! exactly what `sshd -T` reports for every option a rule looks at, with
//! settings spread over sshd_config and a drop-in. And remediation: what
//! vpsc-mod-cis-hardening and `vpsc cis remediate` put right, and that
//! removing them gives back the first scan exactly.

use std::collections::BTreeMap;

use vpsc_e2e::{AllowRule, Chroot, Snapshot, require_root, runtime_deb};

#[test]
fn the_scanner_sees_sshd_as_sshd_does() {
    require_root();
    let chroot = Chroot::new();
    std::fs::copy(runtime_deb(), chroot.path("/tmp/vpsc-runtime.deb")).expect("copy");
    chroot.apt_get_ok(&[
        "install",
        "--no-install-recommends",
        "/tmp/vpsc-runtime.deb",
        "openssh-server",
    ]);
    // Debian's sshd_config includes sshd_config.d/*.conf on its first line:
    // the drop-in's MaxAuthTries wins over the main file's, whose LogLevel
    // and Banner stand; a Match block is not global.
    std::fs::write(
        chroot.path("/etc/ssh/sshd_config.d/60-site.conf"),
        "PermitRootLogin no\nMaxAuthTries 3\nLoginGraceTime 45\nClientAliveInterval 300\n",
    )
    .expect("drop-in");
    let main = std::fs::read_to_string(chroot.path("/etc/ssh/sshd_config")).expect("sshd_config");
    std::fs::write(
        chroot.path("/etc/ssh/sshd_config"),
        format!("{main}\nMaxAuthTries 5\nLogLevel VERBOSE\nBanner /etc/issue.net\nMatch User backup\n  PermitEmptyPasswords yes\n"),
    )
    .expect("sshd_config");
    std::fs::create_dir_all(chroot.path("/run/sshd")).expect("privilege separation directory");

    let truth: BTreeMap<String, String> = chroot
        .run_ok(&["sshd", "-T"])
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let out = chroot.run(&[
        "vpsc",
        "cis",
        "scan",
        "--benchmark",
        "debian12",
        "--level",
        "2",
        "--json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a fresh system fails some rules"
    );
    let findings: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON Lines"))
        .collect();
    let mut compared = 0;
    for f in &findings {
        if !f["title"]
            .as_str()
            .unwrap_or("")
            .starts_with("Ensure sshd ")
        {
            continue;
        }
        for e in f["evidence"].as_array().expect("evidence") {
            let seen = e["value"].as_str().expect("value");
            // Only the effective values (from a file, or OpenSSH's
            // default); notes such as "MACs offers umac-64" explain them.
            if e.get("file").is_none() && !seen.ends_with(" (OpenSSH default)") {
                continue;
            }
            let seen = seen.strip_suffix(" (OpenSSH default)").unwrap_or(seen);
            let (option, value) = seen.split_once(' ').expect("`Option value`");
            let key = option.to_ascii_lowercase();
            assert_eq!(
                Some(&value.to_ascii_lowercase()),
                truth.get(&key).map(|v| v.to_ascii_lowercase()).as_ref(),
                "{} {}: vpsc sees {seen:?}, sshd -T says {:?}",
                f["id"],
                option,
                truth.get(&key)
            );
            compared += 1;
        }
    }
    assert!(compared >= 15, "only {compared} sshd options compared");
    let by_id = |id: &str| findings.iter().find(|f| f["id"] == id).expect(id).clone();
    assert_eq!(
        by_id("5.1.16")["status"],
        "pass",
        "MaxAuthTries 3 from the drop-in"
    );
    assert_eq!(by_id("5.1.20")["status"], "pass");
    assert_eq!(
        by_id("5.1.19")["status"],
        "pass",
        "the Match block is not global"
    );
    assert_eq!(
        by_id("5.2.1")["status"],
        "fail",
        "sudo is not installed here"
    );
    let summary = &findings.last().expect("summary")["summary"];
    assert!(summary["rules"].as_u64().expect("rules") > 80, "{summary}");

    // The daily scan: vpsc-runtime enabled its timer offline, and the
    // service's command line records and exports.
    assert!(
        chroot
            .path("/etc/systemd/system/timers.target.wants/vpsc-cis-scan.timer")
            .symlink_metadata()
            .is_ok(),
        "vpsc-cis-scan.timer is not enabled"
    );
    let service =
        std::fs::read_to_string(chroot.path("/usr/lib/systemd/system/vpsc-cis-scan.service"))
            .expect("service");
    let exec = service
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("ExecStart");
    std::fs::create_dir_all(chroot.path("/var/lib/prometheus/node-exporter")).expect("mkdir");
    let argv: Vec<&str> = exec.split_whitespace().collect();
    let out = chroot.run(&argv);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let prom =
        std::fs::read_to_string(chroot.path("/var/lib/prometheus/node-exporter/vpsc_cis.prom"))
            .expect("metrics");
    assert!(
        prom.contains("vpsc_cis_score_ratio{benchmark=\"debian13\""),
        "{prom}"
    );
    let audit = chroot.run_ok(&["vpsc", "audit", "query", "--action", "cis.scan"]);
    assert!(audit.contains("cis.scan"), "{audit}");
}

/// The Level 1 Server scan as JSON Lines, summary last.
fn scan(chroot: &Chroot) -> Vec<serde_json::Value> {
    let out = chroot.run(&["vpsc", "cis", "scan", "--json"]);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON Lines"))
        .collect()
}

fn status_of(findings: &[serde_json::Value], id: &str) -> String {
    findings
        .iter()
        .find(|f| f["id"] == id)
        .map(|f| f["status"].as_str().unwrap_or_default().to_owned())
        .unwrap_or_else(|| panic!("no finding {id}"))
}

/// What the journal itself may change while remediations come and go.
const JOURNAL: &[AllowRule] = &[AllowRule::new(
    "var/lib/vpsc",
    "the journal and audit log record the remediation and its undo",
)];

#[test]
fn hardening_fixes_what_it_can_and_removal_gives_back_the_first_scan() {
    require_root();
    let chroot = Chroot::with_shipped_repo();
    // What the hardening module stands on, so the first scan judges the
    // same packages as the later ones.
    chroot.apt_get_ok(&["install", "vpsc-mod-security", "sudo"]);
    let first = scan(&chroot);
    let before = Snapshot::take(chroot.root());

    // The security module's firewall, judged as nft would load it: in a
    // fresh network namespace inside the chroot (the host's untouched).
    let out = chroot.run(&[
        "vpsc",
        "cis",
        "scan",
        "--benchmark",
        "debian12",
        "--only",
        "4.1.1,4.3.4,4.3.5,4.3.6,4.3.8,4.3.10",
        "--json",
    ]);
    let firewall: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON Lines"))
        .collect();
    let shown = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        status_of(&firewall, "4.1.1"),
        "pass",
        "nftables alone is in use: {shown}"
    );
    assert_eq!(
        status_of(&firewall, "4.3.4"),
        "pass",
        "the inet vpsc table: {shown}"
    );
    for id in ["4.3.5", "4.3.6", "4.3.8", "4.3.10"] {
        let s = status_of(&firewall, id);
        assert!(
            s == "pass" || s == "fail",
            "{id} was not judged ({s}): {shown}"
        );
    }

    // vpsc cis remediate: a dry run changes nothing and shows diffs.
    let dry = chroot.run_ok(&["vpsc", "cis", "remediate", "--dry-run"]);
    assert!(dry.contains("+install cramfs /bin/false"), "{dry}");
    assert!(dry.contains("+Defaults use_pty"), "{dry}");
    assert!(
        dry.contains("-> root:root 0600 (dpkg-statoverride)"),
        "{dry}"
    );
    before.assert_same(&Snapshot::take(chroot.root()), &[]);
    // Applied, then reverted: the tree is as before.
    chroot.run_ok(&["vpsc", "cis", "remediate"]);
    let remediated = scan(&chroot);
    assert_eq!(status_of(&remediated, "1.1.1.1"), "pass", "cramfs");
    chroot.run_ok(&["vpsc", "cis", "revert"]);
    before.assert_same(&Snapshot::take(chroot.root()), JOURNAL);
    assert_eq!(
        scan(&chroot),
        first,
        "revert did not give back the first scan"
    );

    // The module: every Level 1 Server rule with a remediation that
    // failed now passes, or is waived by a module that needs it.
    chroot.apt_get_ok(&["install", "vpsc-mod-cis-hardening"]);
    let hardened = scan(&chroot);
    let rules = vpsc::cis::rules().expect("rules");
    let mut fixed = 0;
    for f in &first {
        let Some(id) = f["id"].as_str() else { continue };
        let rule = rules
            .iter()
            .find(|r| {
                r.id.get(&vpsc::cis::Benchmark::Debian13)
                    .map(String::as_str)
                    == Some(id)
            })
            .expect("rule of the scan");
        if f["status"] == "fail" && rule.remediation.is_some() {
            let now = status_of(&hardened, id);
            assert!(
                now == "pass" || now == "waived",
                "{id} {}: {now} after hardening",
                rule.title
            );
            fixed += 1;
        }
    }
    assert!(fixed >= 30, "only {fixed} failures had a remediation");
    let failures = |s: &[serde_json::Value]| s.iter().filter(|f| f["status"] == "fail").count();
    assert!(failures(&hardened) < failures(&first));
    chroot.run_ok(&["sshd", "-t"]);
    chroot.run_ok(&["visudo", "-c"]);

    // Removal gives back the first scan, finding for finding.
    chroot.apt_get_ok(&["purge", "vpsc-mod-cis-hardening"]);
    assert_eq!(
        scan(&chroot),
        first,
        "removal did not give back the first scan"
    );
    before.assert_same(&Snapshot::take(chroot.root()), JOURNAL);
}
