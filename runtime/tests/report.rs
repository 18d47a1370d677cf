//! `vpsc report` through the real binary on a `--root` tree: a module
//! configured by `vpsc configure`, a person in the user store, a waiver, a
//! deployment in dpkg's log. The page's text and the JSON are checked
//! here; the e2e tests render the page in Chromium.

mod common;

use std::path::Path;

use common::{plan_tree, vpsc_env};

const PLAN: &str = r#"{"format":1,"module":"demo","version":"1.0","parameters":{},
 "effects":[{"kind":"managed_file","path":"/etc/demo/a.conf","template":"a\n","mode":420}],
 "verify":[]}"#;

fn vpsc(root: &Path, args: &[&str]) -> std::process::Output {
    vpsc_env(root, args, &[("DPKG_MAINTSCRIPT_PACKAGE", "vpsc-mod-demo")])
}

fn write(root: &Path, path: &str, text: &str) {
    let p = root.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, text).expect("write");
}

fn tree() -> tempfile::TempDir {
    let dir = plan_tree("demo", PLAN, &["etc/demo"]);
    let root = dir.path();
    write(root, "/etc/hostname", "audit-me\n");
    write(root, "/etc/debian_version", "13.2\n");
    write(root, "/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n");
    write(root, "/etc/group", "root:x:0:\n");
    write(
        root,
        "/etc/vpsc/cis-waivers.yaml",
        "- {rule: 1.1.2.1.1, reason: one disk <only>, expires: 2099-12-31}\n",
    );
    let now = vpsc::dates::now();
    write(
        root,
        "/var/log/dpkg.log",
        &format!(
            "{} install vpsc-mod-demo:all <none> 1.0\n",
            vpsc::dates::utc(now - 3600)
        ),
    );
    let out = vpsc(root, &["configure", "demo"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let state = vpsc::state::State::open(&vpsc::root::Root::new(root)).expect("state");
    vpsc::users::store::save_user(
        &state,
        &vpsc::users::store::UserRecord {
            name: "ada".into(),
            uid: 1001,
            full_name: "Ada <script>alert(1)</script> Lovelace".into(),
            email: "ada@example.org".into(),
            roles: vec!["developer".into()],
            grants: vec![vpsc::users::store::Grant {
                role: "admin".into(),
                granted: now - 86_400,
                until: now + 86_400,
            }],
            teams: vec!["web".into()],
            created: now - 10 * 86_400,
            expires: None,
            status: vpsc::users::store::Status::Active,
            keys: vec![vpsc::users::store::KeyRecord {
                fingerprint: "SHA256:8f3Jc0AbCdEfGhIjKlMnOpQrStUvWxYz0123456789a".into(),
                kind: "ssh-ed25519".into(),
                comment: "ada@laptop".into(),
                line: "ssh-ed25519 AAAA ada@laptop".into(),
                added: now - 40 * 86_400 - 60,
                expires: None,
            }],
            totp: true,
            archive: None,
        },
    )
    .expect("save user");
    dir
}

#[test]
fn the_page_holds_every_part_escaped() {
    let dir = tree();
    let root = dir.path();
    let page_path = root.join("report.html");
    let out = vpsc(
        root,
        &["report", "--html", page_path.to_str().expect("utf-8")],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("report written to "));
    let page = std::fs::read_to_string(&page_path).expect("page");
    for want in [
        "<title>Compliance report: audit-me,",
        "Debian version</dt><dd>13.2</dd>",
        "<h2>CIS benchmark</h2>",
        "1 Initial Setup",
        "<code>1.1.1.1</code> Ensure cramfs kernel module is not available",
        "one disk &lt;only&gt;",
        "<td>demo</td>",
        "Ada &lt;script&gt;alert(1)&lt;&#x2f;script&gt; Lovelace",
        "admin until ",
        "40 days (added ",
        "Audit chain intact</strong>: ",
        "1 deployments (1 module, 0 profile)",
    ] {
        assert!(page.contains(want), "no {want:?} in the page");
    }
    assert!(!page.contains("<script"), "unescaped script");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&page_path).expect("meta").permissions(),
    );
    assert_eq!(mode & 0o777, 0o640);
}

#[test]
fn json_is_the_same_model() {
    let dir = tree();
    let out = vpsc(dir.path(), &["--json", "report"]);
    assert_eq!(out.status.code(), Some(0));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(r["host"]["hostname"], "audit-me");
    assert!(r["cis"]["ok"]["score"].as_f64().is_some(), "{r}");
    assert_eq!(r["waivers"]["ok"][0]["rule"], "1.1.2.1.1");
    assert_eq!(r["verify"]["ok"]["modules"][0]["module"], "demo");
    assert_eq!(r["people"]["ok"][0]["name"], "ada");
    assert_eq!(r["people"]["ok"][0]["two_factor"], true);
    assert_eq!(r["people"]["ok"][0]["keys"][0]["age_days"], 40);
    assert_eq!(r["audit"]["intact"], true);
    assert_eq!(r["dora"]["ok"]["deployments"]["count"], 1);
    let keys: Vec<&str> = r
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "audit",
            "cis",
            "dora",
            "generated",
            "generated_utc",
            "host",
            "people",
            "verify",
            "vpsc_version",
            "waivers"
        ]
    );
}

#[test]
fn a_broken_chain_is_reported_not_hidden() {
    let dir = tree();
    let root = dir.path();
    let db = rusqlite::Connection::open(root.join("var/lib/vpsc/state.db")).expect("db");
    db.execute("UPDATE audit SET result = 'forged' WHERE seq = 1", [])
        .expect("edit");
    drop(db);
    let out = vpsc(root, &["report"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("audit      chain BROKEN: "), "{text}");
    assert!(text.contains("compliance report of audit-me"), "{text}");
}

#[test]
fn an_unwritable_file_is_an_error_with_a_hint() {
    let dir = tree();
    let out = vpsc(dir.path(), &["report", "--html", "/nonexistent-dir/r.html"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot write the report to /nonexistent-dir/r.html")
            && err.contains("hint: "),
        "{err}"
    );
}
