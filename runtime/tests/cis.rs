//! `vpsc cis scan` on `--root` trees: effective configuration rather than
//! one file's text (an sshd drop-in beats sshd_config, a later sysctl.d file
//! beats an earlier one, /etc/modprobe.d hides /usr/lib/modprobe.d), the
//! statuses and their evidence, waivers (active and expired), the output
//! formats, exit codes, and bad input. The same scanner against a real
//! sshd's `sshd -T` is in the e2e tests.

mod common;

use std::path::Path;

use common::vpsc;

fn write(root: &Path, path: &str, text: &str) {
    let p = root.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, text).expect("write");
}

fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    write(root, "/etc/debian_version", "12.11\n");
    write(root, "/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n");
    write(root, "/etc/group", "root:x:0:\n");
    write(
        root,
        "/etc/ssh/sshd_config",
        "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin yes\nMaxAuthTries 6\n",
    );
    write(
        root,
        "/etc/ssh/sshd_config.d/50-hardening.conf",
        "PermitRootLogin no\n",
    );
    write(
        root,
        "/usr/lib/sysctl.d/50-default.conf",
        "net.ipv4.tcp_syncookies = 0\n",
    );
    write(
        root,
        "/etc/sysctl.d/90-cis.conf",
        "net.ipv4.tcp_syncookies = 1\n",
    );
    write(
        root,
        "/lib/modules/6.1.0-9-amd64/kernel/fs/cramfs/cramfs.ko.xz",
        "",
    );
    write(
        root,
        "/usr/lib/modprobe.d/cis.conf",
        "install cramfs /bin/false\nblacklist cramfs\n",
    );
    dir
}

fn scan(root: &Path, extra: &[&str]) -> (Option<i32>, Vec<serde_json::Value>) {
    let mut args = vec!["cis", "scan", "--json"];
    args.extend(extra);
    let out = vpsc(root, &args);
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON Lines"))
        .collect();
    (out.status.code(), lines)
}

fn finding<'a>(lines: &'a [serde_json::Value], id: &str) -> &'a serde_json::Value {
    lines
        .iter()
        .find(|l| l["id"] == id)
        .unwrap_or_else(|| panic!("no finding {id}"))
}

#[test]
fn the_effective_configuration_is_judged_with_evidence() {
    let dir = tree();
    let root = dir.path();
    let only = "--only=5.1.20,5.1.16,5.1.11,3.3.10,1.1.1.1,1.1.1.4,1.2.1.1";
    let (code, lines) = scan(root, &[only]);
    assert_eq!(code, Some(1), "5.1.16 fails: {lines:?}");
    // The drop-in wins over the later line of sshd_config.
    let root_login = finding(&lines, "5.1.20");
    assert_eq!(root_login["status"], "pass");
    assert_eq!(
        root_login["evidence"][0],
        serde_json::json!({"file": "/etc/ssh/sshd_config.d/50-hardening.conf", "line": 1, "value": "PermitRootLogin no"})
    );
    let tries = finding(&lines, "5.1.16");
    assert_eq!(tries["status"], "fail");
    assert_eq!(tries["evidence"][0]["file"], "/etc/ssh/sshd_config");
    assert_eq!(tries["evidence"][0]["line"], 3);
    // Unset: OpenSSH's default, said so.
    assert_eq!(
        finding(&lines, "5.1.11")["evidence"][0]["value"],
        "IgnoreRhosts yes (OpenSSH default)"
    );
    // /etc/sysctl.d/90-cis.conf sorts after 50-default.conf and wins.
    let syncookies = finding(&lines, "3.3.10");
    assert_eq!(syncookies["status"], "pass");
    assert_eq!(
        syncookies["evidence"][0]["file"],
        "/etc/sysctl.d/90-cis.conf"
    );
    assert_eq!(finding(&lines, "1.1.1.1")["status"], "pass");
    // No kernel ships hfsplus here: not available.
    assert_eq!(finding(&lines, "1.1.1.4")["status"], "pass");
    assert_eq!(finding(&lines, "1.2.1.1")["status"], "manual");
    let summary = &lines.last().expect("summary")["summary"];
    assert_eq!(summary["rules"], 7);
    assert_eq!(summary["counts"]["fail"], 1);
    assert_eq!(summary["score"], 83.3);

    // An /etc/modprobe.d file of the same name hides the /usr/lib one.
    write(root, "/etc/modprobe.d/cis.conf", "# emptied by hand\n");
    let (_, lines) = scan(root, &["--only", "1.1.1.1"]);
    assert_eq!(finding(&lines, "1.1.1.1")["status"], "fail");
}

#[test]
fn levels_and_profiles_select_rules() {
    let dir = tree();
    let root = dir.path();
    let ids = |extra: &[&str]| -> Vec<String> {
        let (_, lines) = scan(root, extra);
        lines
            .iter()
            .filter_map(|l| l["id"].as_str().map(str::to_owned))
            .collect()
    };
    let l1 = ids(&[]);
    let l2 = ids(&["--level", "2"]);
    // overlayfs (1.1.1.6) is Level 2; X server removal (2.1.20) is for servers only.
    assert!(!l1.contains(&"1.1.1.6".to_owned()) && l2.contains(&"1.1.1.6".to_owned()));
    assert!(l2.contains(&"2.1.20".to_owned()));
    assert!(!ids(&["--level", "2", "--profile", "workstation"]).contains(&"2.1.20".to_owned()));
    assert!(!ids(&["--skip", "5.1.20"]).contains(&"5.1.20".to_owned()));
}

#[test]
fn waivers_show_as_waived_until_they_expire() {
    let dir = tree();
    let root = dir.path();
    write(
        root,
        "/etc/vpsc/cis-waivers.yaml",
        "- {rule: 5.1.16, reason: \"jump host needs 6 tries (ticket OPS-12)\", expires: 2999-12-31}\n- {rule: 3.3.10, reason: old, expires: 2000-01-01}\n",
    );
    let (code, lines) = scan(root, &["--only", "5.1.16"]);
    assert_eq!(
        code,
        Some(0),
        "a waived failure is not a failure of the scan"
    );
    let f = finding(&lines, "5.1.16");
    assert_eq!(f["status"], "waived");
    assert_eq!(
        f["waiver"],
        "jump host needs 6 tries (ticket OPS-12) (until 2999-12-31)"
    );
    assert_eq!(
        lines.last().expect("summary")["summary"]["score"],
        0.0,
        "waived is never passed"
    );
    // An expired waiver no longer covers a failure.
    write(
        root,
        "/etc/sysctl.d/90-cis.conf",
        "net.ipv4.tcp_syncookies = 0\n",
    );
    let (code, lines) = scan(root, &["--only", "3.3.10"]);
    assert_eq!(code, Some(1));
    let f = finding(&lines, "3.3.10");
    assert_eq!(f["status"], "fail");
    assert_eq!(f["waiver"], "expired 2000-01-01: old");
}

#[test]
fn table_and_junit_formats() {
    let dir = tree();
    let root = dir.path();
    let out = vpsc(root, &["cis", "scan", "--only", "5.1.16,5.1.20"]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("FAIL           5.1.16     L1 Ensure sshd MaxAuthTries is configured"),
        "{table}"
    );
    assert!(
        table.contains("/etc/ssh/sshd_config:3: MaxAuthTries 6"),
        "{table}"
    );
    assert!(table.contains("CIS Debian Linux 12 Benchmark v1.1.0 (Level 1 Server): 2 rules, 1 pass, 1 fail; score 50.0%"), "{table}");
    let out = vpsc(
        root,
        &[
            "cis",
            "scan",
            "--only",
            "5.1.16,1.2.1.1",
            "--format",
            "junit",
        ],
    );
    let xml = String::from_utf8_lossy(&out.stdout);
    assert!(
        xml.contains("tests=\"2\" failures=\"1\" errors=\"0\" skipped=\"1\""),
        "{xml}"
    );
    assert!(
        xml.contains("<failure message=\"/etc/ssh/sshd_config:3: MaxAuthTries 6\"/>"),
        "{xml}"
    );
}

#[test]
fn bad_input_is_refused_with_exit_2() {
    let dir = tree();
    let root = dir.path();
    write(
        root,
        "/etc/vpsc/cis-waivers.yaml",
        "- {rule: 5.1.16, reason: later}\n",
    );
    let out = vpsc(root, &["cis", "scan"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cis-waivers.yaml") && stderr.contains("missing field `expires`"),
        "{stderr}"
    );
    std::fs::remove_file(root.join("etc/vpsc/cis-waivers.yaml")).expect("rm");
    let out = vpsc(root, &["cis", "scan", "--profile", "desktop"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    // clap refuses it, naming the value and the ones allowed.
    assert!(
        stderr.contains("'desktop'")
            && stderr.contains("--profile")
            && stderr.contains("server, workstation"),
        "{stderr}"
    );
}

#[test]
fn each_benchmark_has_its_own_numbering() {
    let dir = tree();
    let root = dir.path();
    write(
        root,
        "/lib/modules/6.12.0/kernel/drivers/usb/storage/usb-storage.ko.xz",
        "",
    );
    // usb-storage is 1.1.1.9 in the Debian 12 benchmark, 1.1.1.10 in 13's.
    let (_, d12) = scan(root, &["--only", "1.1.1.9"]);
    assert_eq!(
        finding(&d12, "1.1.1.9")["title"],
        "Ensure usb-storage kernel module is not available"
    );
    write(root, "/etc/debian_version", "13.2\n");
    let (_, d13) = scan(root, &["--only", "1.1.1.10"]);
    assert_eq!(
        finding(&d13, "1.1.1.10")["title"],
        "Ensure usb-storage kernel module is not available"
    );
    assert_eq!(
        d13.last().expect("summary")["summary"]["benchmark"],
        "CIS Debian Linux 13 Benchmark v1.0.0"
    );
    // Debian 13 splits 3.3.1 of Debian 12 into one rule per parameter.
    let (_, split) = scan(root, &["--level", "2", "--only", "3.3.1.1"]);
    assert_eq!(
        finding(&split, "3.3.1.1")["title"],
        "Ensure net.ipv4.ip_forward is configured"
    );
}

#[test]
fn sudoers_includes_login_defs_and_account_databases() {
    let dir = tree();
    let root = dir.path();
    write(
        root,
        "/etc/sudoers",
        "Defaults env_reset\n@includedir /etc/sudoers.d\n",
    );
    write(
        root,
        "/etc/sudoers.d/10-pty",
        "Defaults use_pty, logfile=\"/var/log/sudo.log\"\n",
    );
    // sudo skips names with a dot: this file does not count.
    write(
        root,
        "/etc/sudoers.d/20-lazy.disabled",
        "Defaults !authenticate\n",
    );
    write(
        root,
        "/etc/login.defs",
        "PASS_MAX_DAYS 99999\nPASS_MAX_DAYS 365\nENCRYPT_METHOD MD5\n",
    );
    write(
        root,
        "/etc/passwd",
        "root:x:0:0:root:/root:/bin/bash\ntoor:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/bash\nbob:x:1000:4242::/home/bob:/bin/bash\n",
    );
    write(
        root,
        "/etc/group",
        "root:x:0:\nalice:x:1000:\nshadow:x:42:alice\n",
    );
    let (_, lines) = scan(
        root,
        &[
            "--only",
            "5.2.2,5.2.3,5.2.5,5.4.1.1,5.4.1.4,5.4.2.1,7.2.3,7.2.4,7.2.5",
        ],
    );
    let status = |id: &str| {
        finding(&lines, id)["status"]
            .as_str()
            .expect("status")
            .to_owned()
    };
    assert_eq!(status("5.2.2"), "pass");
    assert_eq!(
        finding(&lines, "5.2.2")["evidence"][0]["file"],
        "/etc/sudoers.d/10-pty"
    );
    assert_eq!(status("5.2.3"), "pass");
    assert_eq!(
        status("5.2.5"),
        "pass",
        "the .disabled file is not read by sudo"
    );
    assert_eq!(status("5.4.1.1"), "pass", "the last PASS_MAX_DAYS wins");
    assert_eq!(finding(&lines, "5.4.1.1")["evidence"][0]["line"], 2);
    assert_eq!(status("5.4.1.4"), "fail");
    assert_eq!(status("5.4.2.1"), "fail");
    assert_eq!(
        finding(&lines, "5.4.2.1")["evidence"][0]["value"],
        "toor has UID 0"
    );
    assert_eq!(status("7.2.3"), "fail", "bob's group 4242 does not exist");
    assert_eq!(status("7.2.4"), "fail", "alice is in shadow");
    assert_eq!(
        finding(&lines, "7.2.5")["evidence"][0]["value"],
        "UID 0 also on line 1"
    );
}

#[test]
fn one_walk_finds_world_writable_and_unowned_files() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tree();
    let root = dir.path();
    let (_, lines) = scan(root, &["--only", "7.1.11,7.1.12"]);
    assert_eq!(finding(&lines, "7.1.11")["status"], "pass", "{lines:?}");
    write(root, "/srv/share/open.txt", "x");
    std::fs::set_permissions(
        root.join("srv/share/open.txt"),
        std::fs::Permissions::from_mode(0o666),
    )
    .expect("chmod");
    std::fs::set_permissions(
        root.join("srv/share"),
        std::fs::Permissions::from_mode(0o777),
    )
    .expect("chmod");
    write(root, "/srv/orphan", "x");
    std::os::unix::fs::chown(root.join("srv/orphan"), Some(4242), Some(0))
        .expect("chown (tests run as root)");
    let (_, lines) = scan(root, &["--only", "7.1.11,7.1.12"]);
    let ww = finding(&lines, "7.1.11");
    assert_eq!(ww["status"], "fail");
    let said: Vec<&str> = ww["evidence"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|e| e["value"].as_str())
        .collect();
    assert_eq!(
        said,
        [
            "/srv/share/open.txt: file writable by anyone",
            "/srv/share: directory writable by anyone, no sticky bit"
        ]
    );
    assert_eq!(
        finding(&lines, "7.1.12")["evidence"][0]["value"],
        "/srv/orphan: owner is no account"
    );
}

#[test]
fn mounts_are_judged_as_the_system_would_mount_them() {
    let dir = tree();
    let root = dir.path();
    write(
        root,
        "/usr/lib/systemd/system/tmp.mount",
        "[Mount]\nWhat=tmpfs\nWhere=/tmp\nType=tmpfs\nOptions=mode=1777,strictatime,nosuid,nodev,size=50%%\n",
    );
    write(
        root,
        "/etc/fstab",
        "# <fs> <mp> <type> <opts>\nUUID=1 /home ext4 defaults,nodev 0 2\n",
    );
    let ids = "1.1.2.1.1,1.1.2.1.4,1.1.2.3.1,1.1.2.3.2,1.1.2.3.3,1.1.2.4.2";
    let (_, lines) = scan(root, &["--level", "2", "--only", ids]);
    let status = |id: &str| {
        finding(&lines, id)["status"]
            .as_str()
            .expect("status")
            .to_owned()
    };
    assert_eq!(
        status("1.1.2.1.1"),
        "pass",
        "systemd's tmp.mount mounts /tmp"
    );
    assert_eq!(status("1.1.2.1.4"), "fail", "without noexec");
    assert_eq!(status("1.1.2.3.1"), "pass");
    assert_eq!(
        finding(&lines, "1.1.2.3.1")["evidence"][0]["value"],
        "/home is mounted: /etc/fstab:2"
    );
    assert_eq!(status("1.1.2.3.2"), "pass");
    assert_eq!(status("1.1.2.3.3"), "fail");
    assert_eq!(status("1.1.2.4.2"), "notapplicable", "/var is not separate");
    // Masking tmp.mount leaves /tmp on the root filesystem.
    std::fs::create_dir_all(root.join("etc/systemd/system")).expect("mkdir");
    std::os::unix::fs::symlink("/dev/null", root.join("etc/systemd/system/tmp.mount"))
        .expect("mask");
    let (_, lines) = scan(root, &["--only", "1.1.2.1.1"]);
    assert_eq!(finding(&lines, "1.1.2.1.1")["status"], "fail");
}

#[test]
fn a_recorded_scan_goes_to_the_audit_log_and_to_prometheus() {
    let dir = tree();
    let root = dir.path();
    std::fs::create_dir_all(root.join("var/lib/prometheus/node-exporter")).expect("mkdir");
    let out = vpsc(
        root,
        &[
            "cis",
            "scan",
            "--only",
            "5.1.16,5.1.20",
            "--record",
            "--textfile",
            "/var/lib/prometheus/node-exporter/vpsc_cis.prom",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let prom = std::fs::read_to_string(root.join("var/lib/prometheus/node-exporter/vpsc_cis.prom"))
        .expect("metrics written");
    assert!(
        prom.contains(
            "vpsc_cis_score_ratio{benchmark=\"debian12\",level=\"1\",profile=\"server\"} 0.5"
        ),
        "{prom}"
    );
    assert!(prom.contains("vpsc_cis_rules{benchmark=\"debian12\",level=\"1\",profile=\"server\",status=\"fail\"} 1"), "{prom}");
    assert!(
        prom.contains("id=\"5.1.16\",title=\"Ensure sshd MaxAuthTries is configured\"} 1"),
        "{prom}"
    );
    let events: Vec<serde_json::Value> = serde_json::from_slice(
        &vpsc(root, &["--json", "audit", "query", "--action", "cis.scan"]).stdout,
    )
    .expect("audit");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["result"], "error: 1 rule(s) fail");
    assert_eq!(
        events[0]["details"]["failing"],
        serde_json::json!(["5.1.16"])
    );
    // Without node-exporter's directory the metrics are skipped, not an error.
    let other = tree();
    let out = vpsc(
        other.path(),
        &[
            "cis",
            "scan",
            "--only",
            "5.1.20",
            "--textfile",
            "/var/lib/prometheus/node-exporter/vpsc_cis.prom",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
}
