//! Event hooks through the real `vpsc` binary on `--root` trees: run-parts
//! order and naming rules, the context they get, a pre-configure veto that
//! changes nothing, on-error after a failure, and post-install from
//! `vpsc triggered` (what dpkg's trigger runs).

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;

use common::{hook, plan_tree, vpsc_env};

fn vpsc(root: &Path, args: &[&str]) -> Output {
    vpsc_env(root, args, &[("VPSC_LOG", "error")])
}

fn tree() -> tempfile::TempDir {
    plan_tree(
        "demo",
        r#"{"format":1,"module":"demo","version":"1.0","parameters":{},
            "effects":[{"kind":"managed_file","path":"/etc/demo/a.conf","template":"a\n","mode":420}],
            "verify":[{"file_contains":{"path":"/etc/demo/a.conf","text":"a"}}]}"#,
        &["etc/demo"],
    )
}

fn log(root: &Path) -> String {
    std::fs::read_to_string(root.join("hooks.log")).unwrap_or_default()
}

#[test]
fn hooks_run_in_name_order_with_their_context_and_by_run_parts_rules() {
    let dir = tree();
    let root = dir.path();
    let record = r#"echo "$(basename "$0") $VPSC_EVENT $VPSC_MODULE $VPSC_VERSION applied=$VPSC_APPLIED" >> "$VPSC_ROOT/hooks.log""#;
    hook(root, "post-module", "20-second", record);
    hook(root, "post-module", "10-first", record);
    // run-parts skips names with dots and files that are not executable.
    hook(root, "post-module", "30-old.dpkg-old", record);
    hook(root, "post-module", "40-disabled", record);
    std::fs::set_permissions(
        root.join("etc/vpsc/hooks.d/post-module/40-disabled"),
        std::fs::Permissions::from_mode(0o644),
    )
    .expect("chmod");
    hook(
        root,
        "pre-configure",
        "10-check",
        r#"echo "$(basename "$0") $VPSC_EVENT $VPSC_MODULE" >> "$VPSC_ROOT/hooks.log""#,
    );

    let out = vpsc(root, &["configure", "demo"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        log(root),
        "10-check pre-configure demo\n\
         10-first post-module demo 1.0 applied=1\n\
         20-second post-module demo 1.0 applied=1\n"
    );
    let events: Vec<serde_json::Value> = serde_json::from_slice(
        &vpsc(
            root,
            &["--json", "audit", "query", "--action", "hook.post-module"],
        )
        .stdout,
    )
    .expect("audit");
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["details"]["VPSC_APPLIED"], "1");
}

#[test]
fn a_failing_pre_configure_hook_vetoes_and_nothing_changes() {
    let dir = tree();
    let root = dir.path();
    hook(
        root,
        "pre-configure",
        "50-change-window",
        "echo 'outside the change window' >&2; exit 3",
    );
    let out = vpsc(root, &["configure", "demo"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("outside the change window"), "{stderr}");
    assert!(
        stderr.contains("50-change-window (pre-configure) refused: exit 3; nothing was changed"),
        "{stderr}"
    );
    assert!(!root.join("etc/demo/a.conf").exists());
}

#[test]
fn on_error_hooks_learn_what_failed_and_cannot_mask_it() {
    let dir = tree();
    let root = dir.path();
    std::fs::create_dir_all(root.join("etc/demo/a.conf/x")).expect("a directory in the way");
    hook(
        root,
        "on-error",
        "10-page",
        r#"echo "$VPSC_ACTION $VPSC_TARGET: $VPSC_ERROR" >> "$VPSC_ROOT/hooks.log"; exit 1"#,
    );
    let out = vpsc(root, &["configure", "demo"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        log(root).starts_with("module.configure demo: cannot manage /etc/demo/a.conf"),
        "{}",
        log(root)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot manage /etc/demo/a.conf"));
}

#[test]
fn the_trigger_verifies_configured_modules_once_and_runs_post_install() {
    let dir = tree();
    let root = dir.path();
    hook(
        root,
        "post-install",
        "10-report",
        r#"echo "post-install [$VPSC_MODULES] failed=$VPSC_VERIFY_FAILED" >> "$VPSC_ROOT/hooks.log""#,
    );
    // Installed but not configured yet: left to its own configure.
    let out = vpsc(root, &["--json", "triggered", "/usr/share/vpsc/modules"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["pending"], serde_json::json!(["demo"]));
    assert!(vpsc(root, &["configure", "demo"]).status.success());
    // Then broken behind vpsc's back: reported, not fatal.
    std::fs::write(root.join("etc/demo/a.conf"), "b\n").expect("edit");
    let out = vpsc(root, &["triggered", "/usr/share/vpsc/modules"]);
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("WARNING: 1 of 1 checks fail"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        log(root),
        "post-install [] failed=0\npost-install [demo] failed=1\n"
    );
    let events: Vec<serde_json::Value> = serde_json::from_slice(
        &vpsc(
            root,
            &["--json", "audit", "query", "--action", "system.verify"],
        )
        .stdout,
    )
    .expect("audit");
    assert_eq!(events.len(), 2);
    assert_eq!(events[1]["result"], "error: 1 of 1 checks failed");
}

#[test]
fn a_trees_hook_sees_none_of_the_callers_environment() {
    let dir = tree();
    let root = dir.path();
    hook(
        root,
        "post-module",
        "10-env",
        r#"echo "${SECRET_TOKEN:-unset} ${HOME:-unset} $PATH $VPSC_EVENT" >> "$VPSC_ROOT/hooks.log""#,
    );
    let out = vpsc_env(
        root,
        &["configure", "demo"],
        &[("VPSC_LOG", "error"), ("SECRET_TOKEN", "from-the-caller")],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        log(root),
        "unset unset /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin post-module\n"
    );
}
