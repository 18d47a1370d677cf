//! The real `vpsc` binary on `--root` fixture trees: exact restore of
//! managed files, resume after an interrupted configure, and bad input
//! (damaged plan, corrupted state file, bad module name) that changes
//! nothing and says what, why and how.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::vpsc;

use serde::Deserialize;

const PLAN: &str = r#"{"format":1,"module":"demo","version":"1.0",
 "parameters":{"port":2222,"flavour":"plain","bantime":"10m"},"choices":{"flavour":["plain","fancy"]},
 "types":{"bantime":"duration"},
 "effects":[
   {"kind":"managed_file","path":"/etc/demo/new.conf","template":"Port {{ port }}\n","mode":420},
   {"kind":"managed_file","path":"/etc/demo/existing.conf","template":"replaced\n","mode":384}],
 "verify":[{"file_contains":{"path":"/etc/demo/new.conf","text":"Port {{ port }}"}},
   {"port_listening":{"port":"{{ port }}"}}]}"#;

fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    std::fs::create_dir_all(root.join("usr/share/vpsc/modules")).expect("mkdir");
    std::fs::create_dir_all(root.join("etc/demo")).expect("mkdir");
    std::fs::write(root.join("usr/share/vpsc/modules/demo.json"), PLAN).expect("plan");
    std::fs::write(root.join("etc/demo/existing.conf"), "original\n").expect("write");
    std::fs::set_permissions(
        root.join("etc/demo/existing.conf"),
        std::fs::Permissions::from_mode(0o640),
    )
    .expect("chmod");
    dir
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).expect("stat").permissions().mode() & 0o7777
}

#[test]
fn configure_then_unconfigure_restores_files_exactly() {
    let dir = tree();
    let root = dir.path();
    let out = vpsc(root, &["configure", "demo"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(root.join("etc/demo/new.conf")).expect("new"),
        "Port 2222\n"
    );
    assert_eq!(
        std::fs::read_to_string(root.join("etc/demo/existing.conf")).expect("x"),
        "replaced\n"
    );
    assert_eq!(mode(&root.join("etc/demo/existing.conf")), 0o600);

    // A second configure is a no-op.
    let out = vpsc(root, &["--json", "configure", "demo"]);
    let report: Report = serde_json::from_slice(&out.stdout).expect("json report");
    assert!(
        report.applied.is_empty() && report.undone.is_empty(),
        "{report:?}"
    );
    assert_eq!(report.unchanged.len(), 2);

    let out = vpsc(root, &["unconfigure", "demo"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!root.join("etc/demo/new.conf").exists());
    assert_eq!(
        std::fs::read_to_string(root.join("etc/demo/existing.conf")).expect("x"),
        "original\n"
    );
    assert_eq!(mode(&root.join("etc/demo/existing.conf")), 0o640);
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Report {
    applied: Vec<String>,
    undone: Vec<String>,
    unchanged: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyJson {
    passed: usize,
    failed: usize,
    not_evaluated: usize,
    results: Vec<VerifyResult>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyResult {
    module: String,
    check: String,
    status: String,
    detail: String,
}

#[test]
fn verify_reports_failures_as_json_with_exit_1() {
    let dir = tree();
    let root = dir.path();
    let out = vpsc(root, &["--json", "verify", "demo"]);
    assert_eq!(out.status.code(), Some(1));
    let v: VerifyJson = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!((v.passed, v.failed, v.not_evaluated), (0, 1, 1));
    assert_eq!(v.results[0].module, "demo");
    assert_eq!(v.results[0].status, "fail");
    // A port on a --root tree has no answer: neither a pass nor a failure.
    assert_eq!(v.results[1].status, "not-evaluated", "{:?}", v.results[1]);
    assert_eq!(v.results[1].check, "port_listening tcp/2222");
    assert!(
        v.results[0].check.contains("/etc/demo/new.conf"),
        "{:?}",
        v.results[0]
    );
    assert!(
        v.results[0].detail.contains("cannot read"),
        "{:?}",
        v.results[0]
    );
}

#[test]
fn drift_is_reported_by_status() {
    let dir = tree();
    let root = dir.path();
    assert!(vpsc(root, &["configure", "demo"]).status.success());
    std::fs::write(root.join("etc/demo/new.conf"), "Port 1\n").expect("edit by hand");
    let out = vpsc(root, &["--json", "status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("\"drift\": [\n        \"/etc/demo/new.conf\"\n      ]"),
        "{text}"
    );
    assert_eq!(out.status.code(), Some(1), "drift is found wanting");
}

#[test]
fn damaged_plan_is_refused_and_nothing_changes() {
    let dir = tree();
    let root = dir.path();
    std::fs::write(
        root.join("usr/share/vpsc/modules/demo.json"),
        PLAN.replace("/etc/demo/new.conf", "/etc/../root/x"),
    )
    .expect("write");
    let out = vpsc(root, &["configure", "demo"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("the plan of module `demo`") && stderr.contains("`..`"),
        "{stderr}"
    );
    assert!(stderr.contains("hint: reinstall"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(root.join("etc/demo/existing.conf")).expect("x"),
        "original\n"
    );
}

#[test]
fn corrupted_state_file_is_refused_and_nothing_changes() {
    let dir = tree();
    let root = dir.path();
    std::fs::create_dir_all(root.join("var/lib/vpsc")).expect("mkdir");
    std::fs::write(
        root.join("var/lib/vpsc/state.db"),
        b"this is not an SQLite database, it is garbage of sufficient length to fill a header",
    )
    .expect("write");
    let out = vpsc(root, &["configure", "demo"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("state database") && stderr.contains("cannot be used"),
        "{stderr}"
    );
    assert!(
        stderr.contains("caused by:") && stderr.contains("hint:"),
        "{stderr}"
    );
    assert!(!root.join("etc/demo/new.conf").exists());
    assert_eq!(
        std::fs::read_to_string(root.join("etc/demo/existing.conf")).expect("x"),
        "original\n"
    );
}

#[test]
fn bad_module_names_are_refused() {
    let dir = tree();
    for name in ["../demo", "Demo", "demo;rm", ""] {
        let out = vpsc(dir.path(), &["configure", name]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert!(
            stderr.contains("not a valid module name"),
            "{name}: {stderr}"
        );
    }
}

#[test]
fn interrupted_configure_resumes_from_the_journal() {
    let dir = tree();
    let root = dir.path();
    // First run fails half-way: the second file's directory is missing.
    std::fs::write(
        root.join("usr/share/vpsc/modules/demo.json"),
        PLAN.replace("/etc/demo/existing.conf", "/etc/later/existing.conf"),
    )
    .expect("write");
    let out = vpsc(root, &["configure", "demo"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
    assert!(
        root.join("etc/demo/new.conf").exists(),
        "first step should have been applied"
    );
    // Fix the cause, rerun: converges; unconfigure then removes both.
    std::fs::create_dir_all(root.join("etc/later")).expect("mkdir");
    assert!(vpsc(root, &["configure", "demo"]).status.success());
    assert_eq!(
        std::fs::read_to_string(root.join("etc/later/existing.conf")).expect("x"),
        "replaced\n"
    );
    assert!(vpsc(root, &["unconfigure", "demo"]).status.success());
    assert!(!root.join("etc/demo/new.conf").exists());
    assert!(!root.join("etc/later/existing.conf").exists());
}

fn write_site(root: &Path, name: &str, text: &str) {
    std::fs::create_dir_all(root.join("etc/vpsc/site.d")).expect("mkdir");
    std::fs::write(root.join("etc/vpsc/site.d").join(name), text).expect("write site file");
}

#[test]
fn site_files_override_parameters_without_a_rebuild() {
    let dir = tree();
    let root = dir.path();
    write_site(root, "10-defaults.yaml", "demo:\n  port: 2200\n");
    write_site(
        root,
        "50-host.yaml",
        "demo: {port: 2201}\nother-module: {anything: 1}\n",
    );
    assert!(vpsc(root, &["configure", "demo"]).status.success());
    assert_eq!(
        std::fs::read_to_string(root.join("etc/demo/new.conf")).expect("new"),
        "Port 2201\n",
        "the later site file wins"
    );
    // Dropping the override and reconfiguring converges back to the default.
    std::fs::remove_file(root.join("etc/vpsc/site.d/50-host.yaml")).expect("rm");
    std::fs::remove_file(root.join("etc/vpsc/site.d/10-defaults.yaml")).expect("rm");
    let out = vpsc(root, &["--json", "configure", "demo"]);
    let report: Report = serde_json::from_slice(&out.stdout).expect("json report");
    assert_eq!(report.applied, ["file:/etc/demo/new.conf"]);
    assert_eq!(
        std::fs::read_to_string(root.join("etc/demo/new.conf")).expect("new"),
        "Port 2222\n"
    );
}

#[test]
fn site_file_with_an_unknown_parameter_is_refused() {
    let dir = tree();
    let root = dir.path();
    write_site(root, "50-host.yaml", "demo:\n  prot: 2200\n");
    let out = vpsc(root, &["configure", "demo"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("50-host.yaml sets parameter `prot` of module `demo`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: module `demo` takes: bantime, flavour, port"),
        "{stderr}"
    );
    assert!(!root.join("etc/demo/new.conf").exists());
}

#[test]
fn site_values_of_the_wrong_type_or_outside_the_choices_are_refused() {
    for (text, expected) in [
        (
            "demo:\n  port: \"22x\"\n",
            "sets parameter `port` of module `demo` to \"22x\": it is a string but must be a number, like the default 2222",
        ),
        (
            "demo:\n  flavour: spicy\n",
            "sets parameter `flavour` of module `demo` to \"spicy\": it must be one of \"plain\", \"fancy\"",
        ),
        (
            // A line break would add a line of the site's choosing to the file.
            "demo:\n  bantime: \"1h\\nignoreip = 0.0.0.0/0\"\n",
            "sets parameter `bantime` of module `demo` to \"1h\\nignoreip = 0.0.0.0/0\": it holds a line break",
        ),
        (
            "demo:\n  bantime: 1y\n",
            "sets parameter `bantime` of module `demo` to \"1y\": `1y` is not a duration",
        ),
    ] {
        let dir = tree();
        let root = dir.path();
        write_site(root, "50-host.yaml", text);
        let out = vpsc(root, &["configure", "demo"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
        assert!(!root.join("etc/demo/new.conf").exists());
    }
}

#[test]
fn malformed_site_file_is_refused_with_its_position() {
    let dir = tree();
    let root = dir.path();
    write_site(root, "50-host.yaml", "demo:\n  port: [2200\n");
    let out = vpsc(root, &["configure", "demo"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("50-host.yaml:3:1"), "{stderr}");
    assert!(!root.join("etc/demo/new.conf").exists());
}

const CONDITIONAL: &str = r#"{"format":1,"module":"tz","version":"1.0",
 "parameters":{"timezone":"","admin_user":"admin","password_login":"yes"},
 "require":[{"authorized_key":{"user":"{{ admin_user }}"},"when":"password_login == 'no'",
             "hint":"give {{ admin_user }} a key first"}],
 "effects":[
   {"kind":"symlink","path":"/etc/localtime","target":"/usr/share/zoneinfo/{{ timezone }}",
    "when":"timezone != ''"}],
 "verify":[{"symlink":{"path":"/etc/localtime","target":"/usr/share/zoneinfo/{{ timezone }}"},
            "when":"timezone != ''"}]}"#;

fn tz_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    for d in ["usr/share/vpsc/modules", "usr/share/zoneinfo/Etc", "etc"] {
        std::fs::create_dir_all(root.join(d)).expect("mkdir");
    }
    std::fs::write(root.join("usr/share/vpsc/modules/tz.json"), CONDITIONAL).expect("plan");
    std::fs::write(root.join("usr/share/zoneinfo/Etc/UTC"), "TZif utc").expect("tz");
    std::fs::write(root.join("usr/share/zoneinfo/Europe"), "TZif paris").expect("tz");
    std::os::unix::fs::symlink("/usr/share/zoneinfo/Etc/UTC", root.join("etc/localtime"))
        .expect("link");
    std::fs::write(
        root.join("etc/passwd"),
        "admin:x:1000:1000::/home/admin:/bin/sh\n",
    )
    .expect("passwd");
    dir
}

#[test]
fn conditions_follow_site_files_and_symlinks_come_back() {
    let dir = tz_tree();
    let root = dir.path();
    let link = || std::fs::read_link(root.join("etc/localtime")).expect("link");

    // Condition false: nothing is done.
    let out = vpsc(root, &["--json", "configure", "tz"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Report = serde_json::from_slice(&out.stdout).expect("json");
    assert!(report.applied.is_empty(), "{report:?}");

    // A site file turns it on.
    write_site(root, "tz.yaml", "tz:\n  timezone: Europe\n");
    let out = vpsc(root, &["configure", "tz"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(link(), Path::new("/usr/share/zoneinfo/Europe"));

    // A zone that does not exist is refused and the link is kept.
    write_site(root, "tz.yaml", "tz:\n  timezone: Mars/Olympus\n");
    let out = vpsc(root, &["configure", "tz"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
    assert_eq!(link(), Path::new("/usr/share/zoneinfo/Europe"));

    // Turning it off again undoes it: the old link is back.
    std::fs::remove_file(root.join("etc/vpsc/site.d/tz.yaml")).expect("rm");
    let out = vpsc(root, &["configure", "tz"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(link(), Path::new("/usr/share/zoneinfo/Etc/UTC"));
}

#[test]
fn unmet_requirement_refuses_and_changes_nothing() {
    let dir = tz_tree();
    let root = dir.path();
    write_site(
        root,
        "tz.yaml",
        "tz:\n  timezone: Europe\n  password_login: \"no\"\n",
    );
    let out = vpsc(root, &["configure", "tz"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("authorized_key admin"), "{stderr}");
    assert!(stderr.contains("give admin a key first"), "{stderr}");
    assert_eq!(
        std::fs::read_link(root.join("etc/localtime")).expect("link"),
        Path::new("/usr/share/zoneinfo/Etc/UTC")
    );
    assert!(
        !root.join("var/lib/vpsc/state.db").exists() || {
            let out = vpsc(root, &["--json", "status"]);
            !String::from_utf8_lossy(&out.stdout).contains("\"tz\"")
        }
    );

    // With a key the same configure goes through.
    std::fs::create_dir_all(root.join("home/admin/.ssh")).expect("mkdir");
    std::fs::write(
        root.join("home/admin/.ssh/authorized_keys"),
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBbV admin@laptop\n",
    )
    .expect("key");
    let out = vpsc(root, &["configure", "tz"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn forget_refuses_by_hand_and_while_changes_are_in_force() {
    let dir = tree();
    let root = dir.path();
    let configured = vpsc(root, &["configure", "demo"]);
    assert!(configured.status.success());
    let refused = vpsc(root, &["forget", "demo"]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("could never be undone") && stderr.contains("--force"),
        "{stderr}"
    );
    // As the package's postrm runs it: still refused, the changes are live.
    let in_postrm = common::vpsc_env(
        root,
        &["forget", "demo"],
        &[("DPKG_MAINTSCRIPT_NAME", "postrm")],
    );
    let stderr = String::from_utf8_lossy(&in_postrm.stderr);
    assert_eq!(in_postrm.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("still has 2 change(s) in force"),
        "{stderr}"
    );
    assert!(vpsc(root, &["unconfigure", "demo"]).status.success());
    let purged = common::vpsc_env(
        root,
        &["forget", "demo"],
        &[("DPKG_MAINTSCRIPT_NAME", "postrm")],
    );
    assert!(
        purged.status.success(),
        "{}",
        String::from_utf8_lossy(&purged.stderr)
    );
}

#[test]
fn plumbing_commands_are_hidden_from_help() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vpsc"))
        .arg("--help")
        .output()
        .expect("vpsc --help");
    let help = String::from_utf8_lossy(&out.stdout);
    for shown in ["verify", "status", "cis", "audit", "rbac", "breaker"] {
        assert!(
            help.contains(&format!("  {shown} ")),
            "{shown} missing from {help}"
        );
    }
    for hidden in ["configure", "unconfigure", "forget", "triggered", "profile"] {
        assert!(
            !help.contains(&format!("  {hidden} ")),
            "{hidden} shown in {help}"
        );
    }
}

#[test]
fn a_reader_that_goes_away_ends_the_output_quietly() {
    // Far more audit events than a pipe holds (64 KiB).
    let dir = tree();
    let root = dir.path();
    for _ in 0..100 {
        assert!(vpsc(root, &["configure", "demo"]).status.success());
        assert!(vpsc(root, &["unconfigure", "demo"]).status.success());
    }
    let all = vpsc(root, &["audit", "export"]);
    assert!(all.stdout.len() > 192 * 1024, "{} bytes", all.stdout.len());
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_vpsc"))
        .arg("--root")
        .arg(root)
        .args(["audit", "export"])
        .env("VPSC_LOG", "error")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("vpsc audit export");
    let mut first = String::new();
    {
        use std::io::BufRead;
        let stdout = child.stdout.take().expect("stdout");
        std::io::BufReader::new(stdout)
            .read_line(&mut first)
            .expect("one line");
        // Dropped here: the pipe closes, as `| head -1` closes it.
    }
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(first.starts_with('{'), "{first}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}
