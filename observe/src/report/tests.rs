//! The page from a gathered `--root` tree: every part renders, the
//! parts that cannot be read say why, and data written by users comes out
//! escaped.

use super::model::*;
use super::*;
use vpsc_engine::root::Root;
use vpsc_engine::state::State;

fn write(root: &std::path::Path, path: &str, text: &str) {
    let p = root.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, text).expect("write");
}

fn gathered() -> (tempfile::TempDir, Report) {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "/etc/hostname", "web-1\n");
    write(dir.path(), "/etc/debian_version", "13.2\n");
    write(
        dir.path(),
        "/etc/os-release",
        "PRETTY_NAME=\"Debian GNU/Linux 13 (trixie)\"\nID=debian\n",
    );
    write(
        dir.path(),
        "/etc/passwd",
        "root:x:0:0:root:/root:/bin/bash\n",
    );
    write(dir.path(), "/etc/group", "root:x:0:\n");
    write(
        dir.path(),
        "/etc/vpsc/cis-waivers.yaml",
        "- {rule: 1.1.1.1, reason: \"<b>kept</b> for the <script>old</script> app\", expires: 2099-01-31}\n- {rule: 5.1.1, reason: gone, expires: 2000-01-01}\n",
    );
    let root = Root::new(dir.path());
    let state = State::open(&root).expect("state");
    let report = gather(&root, &state, 1_796_126_400).expect("gather");
    (dir, report)
}

#[test]
fn every_part_of_a_tree_is_gathered() {
    let (_dir, r) = gathered();
    assert_eq!(r.host.hostname, "web-1");
    assert_eq!(r.host.debian_version.as_deref(), Some("13.2"));
    assert_eq!(r.host.os.as_deref(), Some("Debian GNU/Linux 13 (trixie)"));
    assert_eq!(r.host.kernel, None, "a tree has no kernel of its own");
    assert_eq!(r.generated_utc, "2026-12-01 12:00:00");
    let Part::Ok(cis) = &r.cis else {
        panic!("no scan: {:?}", r.cis)
    };
    assert!(cis.rules > 0 && !cis.sections.is_empty(), "{cis:?}");
    assert_eq!(cis.sections[0].number, "1");
    assert_eq!(cis.sections[0].title, "Initial Setup");
    assert!(!cis.failing.is_empty());
    let Part::Ok(waivers) = &r.waivers else {
        panic!("{:?}", r.waivers)
    };
    assert_eq!(waivers.len(), 2);
    assert!(!waivers[0].expired && waivers[1].expired);
    assert!(matches!(&r.verify, Part::Ok(v) if v.modules.is_empty()));
    assert!(matches!(&r.people, Part::Ok(p) if p.is_empty()));
    assert!(r.audit.intact);
    assert!(matches!(&r.dora, Part::Ok(d) if d.is_empty()));
}

#[test]
fn user_written_text_is_escaped() {
    let (_dir, mut r) = gathered();
    if let Part::Ok(cis) = &mut r.cis {
        cis.failing[0].title = "<script>alert('rule')</script>".into();
        cis.failing[0].evidence = vec!["/etc/x:1: <img src=x onerror=alert(1)>".into()];
    }
    r.host.hostname = "<script>alert('host')</script>".into();
    r.people = Part::Ok(vec![Person {
        name: "mallory".into(),
        full_name: "<script>alert('name')</script> & Co".into(),
        email: "m@example.org\"><b>".into(),
        status: "active".into(),
        roles: vec!["developer".into()],
        grants: vec![GrantRow {
            role: "admin".into(),
            until: "2026-12-31 00:00:00".into(),
            expired: false,
        }],
        teams: vec![],
        two_factor: false,
        expires: None,
        keys: vec![KeyRow {
            fingerprint: "SHA256:abc".into(),
            kind: "ssh-ed25519".into(),
            added: "2026-01-01 00:00:00".into(),
            age_days: 334,
        }],
    }]);
    let page = render(&r).expect("render");
    assert!(!page.contains("<script"), "an unescaped tag:\n{page}");
    assert!(!page.contains("<img"), "{page}");
    assert!(!page.contains("<b>"), "{page}");
    assert!(page.contains("&lt;script&gt;alert("), "{page}");
    assert!(page.contains("&amp; Co"), "{page}");
    assert!(page.contains("334 days"), "{page}");
}

#[test]
fn the_page_is_self_contained_and_says_what_it_checked() {
    let (_dir, r) = gathered();
    let page = render(&r).expect("render");
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.contains("<meta name=\"viewport\""));
    assert!(page.contains("@media print"));
    for external in [
        "<script", "<link", "src=", "http://", "https://", "@import", "url(",
    ] {
        assert!(!page.contains(external), "{external} in the page");
    }
    for text in [
        "web-1",
        "Audit chain intact",
        "1 Initial Setup",
        "No deployments",
    ] {
        assert!(page.contains(text), "no {text:?}");
    }
    assert!(page.contains("expired 2000-01-01"), "{page}");
}

#[test]
fn parts_that_cannot_be_read_say_why() {
    let (_dir, mut r) = gathered();
    let why = || "cannot <read> it".to_owned();
    r.cis = Part::Unavailable(why());
    r.waivers = Part::Unavailable(why());
    r.verify = Part::Unavailable(why());
    r.people = Part::Unavailable(why());
    r.dora = Part::Unavailable(why());
    r.audit = AuditChain {
        intact: false,
        events: 0,
        anchored: None,
        head: None,
        problem: Some("event 3 was edited".into()),
    };
    let page = render(&r).expect("render");
    assert_eq!(page.matches("cannot &lt;read&gt; it").count(), 5, "{page}");
    assert!(page.contains("Audit chain broken</strong>: event 3 was edited"));
}
