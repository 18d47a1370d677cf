//! The aide module in a Debian 13 chroot: AIDE's database made at
//! installation, a daily check (the script aide-common's service runs)
//! that finds planted changes, its report in vpsc's audit log and
//! metrics once, and a removal that takes the database and leaves the
//! system as it was.

use vpsc_e2e::{AllowRule, Chroot, Snapshot, require_root};

const ALLOW: &[AllowRule] = &[
    AllowRule::new(
        "etc/group-",
        "shadow-utils' backup of the previous /etc/group, rewritten by every groupadd",
    ),
    AllowRule::new(
        "etc/gshadow-",
        "backup of the previous /etc/gshadow, as etc/group-",
    ),
];

const METRICS_DIR: &str = "/var/lib/prometheus/node-exporter";

/// AIDE reads every file of the chroot twice (its database, its check):
/// about three minutes, so `make e2e-full` (CI: nightly and on tags).
#[test]
#[ignore = "run by `make e2e-full`"]
fn aide_module_records_each_check_once_and_purges_its_database() {
    require_root();
    let chroot = Chroot::with_shipped_repo();
    // AIDE's configuration reads the machine ID, which mmdebstrap leaves
    // empty; a booted system has one. The textfile directory stands for
    // node-exporter's (the monitoring module is tested with the server
    // profile).
    std::fs::write(
        chroot.path("/etc/machine-id"),
        "0123456789abcdef0123456789abcdef\n",
    )
    .expect("machine-id");
    std::fs::create_dir_all(chroot.path(METRICS_DIR)).expect("metrics dir");
    chroot.apt_get_ok(&["install", "systemd", "passwd", "aide", "aide-common"]);
    let before = Snapshot::take_also(chroot.root(), &["var/lib/aide"]);

    chroot.apt_get_ok(&["install", "vpsc-mod-aide"]);
    let db = chroot.path("/var/lib/aide/aide.db");
    assert!(db.is_file(), "aideinit made no database");
    let verify = chroot.run_ok(&["vpsc", "verify", "aide"]);
    assert!(verify.contains(" 0 failed"), "{verify}");
    let dropin = std::fs::read_to_string(
        chroot.path("/usr/lib/systemd/system/dailyaidecheck.service.d/50-vpsc.conf"),
    )
    .expect("drop-in");
    assert!(
        dropin.contains("ExecStopPost=+/usr/bin/vpsc integrity record"),
        "{dropin}"
    );

    // What an intruder would do: a new cron job, a changed file.
    let planted = "/etc/cron.d/vpsc-e2e-planted";
    std::fs::write(chroot.path(planted), "* * * * * root /tmp/x\n").expect("plant");
    let motd = std::fs::read(chroot.path("/etc/motd")).expect("motd");
    std::fs::write(chroot.path("/etc/motd"), b"owned\n").expect("change");
    // The service runs this script as _aide with CAP_DAC_READ_SEARCH;
    // in a chroot, root does the same reading.
    chroot.run_ok(&["/usr/share/aide/bin/dailyaidecheck"]);

    let out = chroot.run_ok(&["vpsc", "integrity", "record", "--json"]);
    let rec: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(rec["new"], true, "{rec}");
    let added: Vec<&str> = rec["check"]["added"]
        .as_array()
        .expect("added")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    let changed: Vec<&str> = rec["check"]["changed"]
        .as_array()
        .expect("changed")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(added.contains(&planted), "{rec}");
    assert!(changed.contains(&"/etc/motd"), "{rec}");
    // AIDE's exit code is a bit mask: 1 added, 2 removed, 4 changed
    // (dpkg's own files come and go too).
    let code = rec["check"]["exit_code"].as_i64().expect("exit code");
    assert_eq!(code & 5, 5, "added and changed: {rec}");
    // The same check is recorded once, however often the hook runs.
    let again = chroot.run_ok(&["vpsc", "integrity", "record", "--json"]);
    assert!(again.contains("\"new\": false"), "{again}");
    let events = chroot.run_ok(&[
        "vpsc",
        "audit",
        "query",
        "--action",
        "integrity.check",
        "--json",
    ]);
    assert_eq!(events.matches("\"integrity.check\"").count(), 1, "{events}");
    assert!(events.contains(planted), "{events}");
    let status = chroot.run(&["vpsc", "integrity", "status"]);
    assert_eq!(status.status.code(), Some(1), "{status:?}");
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains(&format!("added    {planted}")), "{text}");
    let prom = std::fs::read_to_string(chroot.path(format!("{METRICS_DIR}/vpsc_integrity.prom")))
        .expect("metrics");
    let n_added = added.len();
    assert!(
        prom.contains(&format!(
            "vpsc_integrity_entries{{change=\"added\"}} {n_added}"
        )),
        "{prom}"
    );
    // vpsc health does not judge AIDE's findings: the module's own
    // verify still passes, and drift is vpsc's files only.
    std::fs::remove_file(chroot.path(planted)).expect("unplant");
    std::fs::write(chroot.path("/etc/motd"), motd).expect("restore");

    chroot.apt_get_ok(&["purge", "vpsc-mod-aide"]);
    assert!(!db.exists(), "the database outlived the module");
    assert!(!chroot.path("/var/lib/aide/aide.db.new").exists());
    chroot.apt_get_ok(&["purge", "vpsc-runtime"]);
    assert!(
        !chroot
            .path(format!("{METRICS_DIR}/vpsc_integrity.prom"))
            .exists(),
        "purging vpsc-runtime left its metrics"
    );
    before.assert_same(
        &Snapshot::take_also(chroot.root(), &["var/lib/aide"]),
        ALLOW,
    );
}
