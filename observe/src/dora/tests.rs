//! The keys on a crafted history with answers worked out by hand, and on
//! a `--root` tree read through the files and the audit log.

use super::*;

const S: i64 = 1_793_491_200; // 2026-11-01 00:00:00 UTC
const H: i64 = 3600;
const D: i64 = 86_400;

fn unpack(time: i64, package: &str, old: Option<&str>, new: &str) -> Unpack {
    let (kind, name) = dpkglog::kind_of(package).expect("a vpsc package");
    Unpack {
        time,
        day: vpsc_engine::dates::utc(time)[..10].to_owned(),
        package: package.into(),
        kind,
        name: name.into(),
        old: old.map(str::to_owned),
        new: new.into(),
    }
}

fn event(time: i64, action: &str, target: &str, result: &str) -> Event {
    Event {
        seq: 0,
        time: time * 1_000_000,
        actor: "package:test".into(),
        action: action.into(),
        target: target.into(),
        result: result.into(),
        details: serde_json::json!({}),
        prev: String::new(),
        hash: String::new(),
    }
}

/// Ten unpacks and a dozen events; the comments give each one's part.
fn history() -> Dora {
    let unpacks = [
        // Before the window: not counted.
        unpack(S - D, "vpsc-mod-old", None, "1"),
        // 1: built 2 h before.
        unpack(S + D + 10 * H, "vpsc-mod-ssh", None, "1.0"),
        // 2: built a day before.
        unpack(S + D + 10 * H, "vpsc-profile-server", None, "1.0"),
        // 3: built 4 h before; its configure fails twice, then works.
        unpack(S + 5 * D, "vpsc-mod-ssh", Some("1.0"), "1.1"),
        // A reinstall of the same version is no change.
        unpack(S + 6 * D, "vpsc-mod-git", Some("2.0"), "2.0"),
        // 4: no changelog; unconfigured 2 h later: rolled back.
        unpack(S + 7 * D, "vpsc-mod-docker", None, "3.0"),
        // 5: changelog dated after it; unconfigured 2 days later: fine.
        unpack(S + 9 * D, "vpsc-mod-git", None, "2.1"),
        // 6: built 3 days before; its profile apply fails.
        unpack(S + 10 * D, "vpsc-profile-server", Some("1.0"), "1.1"),
        // 7: built 10 min before; its configure fails and stays failed.
        unpack(S + 12 * D, "vpsc-mod-ssh", Some("1.1"), "1.2"),
    ];
    let built = |package: &str, version: &str| match (package, version) {
        ("vpsc-mod-ssh", "1.0") => Some(S + D + 8 * H),
        ("vpsc-profile-server", "1.0") => Some(S + 10 * H),
        ("vpsc-mod-ssh", "1.1") => Some(S + 5 * D - 4 * H),
        ("vpsc-mod-git", "2.1") => Some(S + 9 * D + 100),
        ("vpsc-profile-server", "1.1") => Some(S + 7 * D),
        ("vpsc-mod-ssh", "1.2") => Some(S + 12 * D - 600),
        _ => None,
    };
    let events = [
        event(S - 10, "module.configure", "ssh", "exit 1"),
        event(S + D + 10 * H + 30, "module.configure", "ssh", "ok"),
        event(S + D + 10 * H + 40, "profile.apply", "server", "ok"),
        event(S + 5 * D + 60, "module.configure", "ssh", "exit 1"),
        event(S + 5 * D + 120, "module.configure", "ssh", "error: boom"),
        event(S + 5 * D + 1860, "module.configure", "ssh", "ok"),
        event(S + 7 * D + 5, "module.configure", "docker", "ok"),
        event(S + 7 * D + 2 * H, "module.unconfigure", "docker", "ok"),
        event(S + 9 * D + 5, "module.configure", "git", "ok"),
        event(S + 11 * D, "module.unconfigure", "git", "ok"),
        event(S + 10 * D + 5, "profile.apply", "server", "exit 2"),
        event(S + 12 * D + 10, "module.configure", "ssh", "exit 1"),
        event(S + 15 * D, "module.configure", "utilities", "exit 1"),
        event(S + 15 * D + 600, "module.configure", "utilities", "ok"),
        // Another module's events never touch ssh's deployments.
        event(S + D + 10 * H + 50, "module.unconfigure", "ssh-extra", "ok"),
    ];
    compute(&unpacks, &built, &events, S, S + 30 * D)
}

#[test]
fn deployment_frequency_counts_installs_and_upgrades_of_vpsc_packages() {
    let d = history();
    assert_eq!(d.deployments.count, 7);
    assert_eq!(d.deployments.modules, 5);
    assert_eq!(d.deployments.profiles, 2);
    assert_eq!(d.deployments.per_day, 7.0 / 30.0);
    assert_eq!(d.deployments.per_week, 49.0 / 30.0);
    assert_eq!(d.deployments.by_day.get("2026-11-02"), Some(&2));
    assert_eq!(d.deployments.by_day.values().sum::<usize>(), 7);
}

#[test]
fn lead_time_is_median_and_p90_by_nearest_rank() {
    let d = history();
    // [600, 7200, 14400, 86400, 259200]: ranks 3 and 5.
    assert_eq!(d.lead_time.measured, 5);
    assert_eq!(d.lead_time.unmeasured, 2);
    assert_eq!(d.lead_time.median_seconds, Some(14_400));
    assert_eq!(d.lead_time.p90_seconds, Some(259_200));
}

#[test]
fn change_failure_counts_failed_configures_and_rollbacks_within_the_watch() {
    let d = history();
    assert_eq!(d.change_failure.failed, 4);
    assert_eq!(d.change_failure.deployments, 7);
    assert_eq!(d.change_failure.ratio, Some(4.0 / 7.0));
    let failed: Vec<(&str, &str)> = d
        .changes
        .iter()
        .filter(|c| c.failure.is_some())
        .map(|c| (c.package.as_str(), c.version.as_str()))
        .collect();
    assert_eq!(
        failed,
        [
            ("vpsc-mod-ssh", "1.1"),
            ("vpsc-mod-docker", "3.0"),
            ("vpsc-profile-server", "1.1"),
            ("vpsc-mod-ssh", "1.2"),
        ]
    );
    assert_eq!(
        d.changes[2].failure.as_deref(),
        Some("module.configure ssh: exit 1")
    );
    assert_eq!(
        d.changes[3].failure.as_deref(),
        Some("rolled back: module.unconfigure docker")
    );
}

#[test]
fn time_to_restore_runs_from_the_first_failure_to_the_next_good_configure() {
    let d = history();
    assert_eq!(d.time_to_restore.failures, 3);
    assert_eq!(d.time_to_restore.restored, 2);
    assert_eq!(d.time_to_restore.unrestored, 1);
    // [600, 1800]: rank 1.
    assert_eq!(d.time_to_restore.median_seconds, Some(600));
    let ssh = &d.incidents[0];
    assert_eq!((ssh.module.as_str(), ssh.seconds), ("ssh", Some(1800)));
    assert_eq!(ssh.result, "exit 1");
    assert_eq!(d.incidents[1].restored, None);
}

#[test]
fn an_empty_window_has_counts_of_zero_and_no_rates() {
    let d = compute(&[], &|_, _| None, &[], S, S + D);
    assert!(d.is_empty());
    assert_eq!(d.deployments.count, 0);
    assert_eq!(d.change_failure.ratio, None);
    assert_eq!(d.lead_time.median_seconds, None);
    assert_eq!(d.time_to_restore.median_seconds, None);
}

#[test]
fn nearest_rank_percentiles() {
    assert_eq!(nearest_rank(&[], 50), None);
    assert_eq!(nearest_rank(&[7], 90), Some(7));
    assert_eq!(nearest_rank(&[1, 2], 50), Some(1));
    assert_eq!(nearest_rank(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90), Some(9));
    assert_eq!(
        nearest_rank(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 90),
        Some(10)
    );
}

#[test]
fn families_are_gauges_with_conventional_names() {
    let text = crate::exposition::render(&families(&history()));
    for line in [
        "# TYPE vpsc_dora_deployments gauge",
        "vpsc_dora_deployments{kind=\"module\"} 5",
        "vpsc_dora_deployments{kind=\"profile\"} 2",
        "vpsc_dora_failed_deployments 4",
        "vpsc_dora_lead_time_median_seconds 14400",
        "vpsc_dora_lead_time_p90_seconds 259200",
        "vpsc_dora_time_to_restore_seconds 600",
        "vpsc_dora_unrestored_failures 1",
        "vpsc_dora_window_seconds 2592000",
    ] {
        assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
    }
    assert!(
        text.contains("vpsc_dora_change_failure_ratio 0.571428"),
        "{text}"
    );
    let empty = compute(&[], &|_, _| None, &[], S, S + D);
    let text = crate::exposition::render(&families(&empty));
    assert!(
        text.contains("vpsc_dora_change_failure_ratio NaN"),
        "{text}"
    );
}

/// The same reading through the files of a root and its audit log: a
/// rotated, compressed dpkg log, a generated changelog, a hostile line.
#[test]
fn gathered_from_a_root_tree() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().expect("tempdir");
    let root = Root::new(dir.path());
    let now = vpsc_engine::dates::now();
    let line = |t: i64, rest: &str| format!("{} {rest}\n", vpsc_engine::dates::utc(t));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(line(now - 3 * H, "install vpsc-mod-ssh:all <none> 1.0.0").as_bytes())
        .expect("gzip");
    write(dir.path(), "/var/log/dpkg.log", "");
    std::fs::write(
        dir.path().join("var/log/dpkg.log.2.gz"),
        gz.finish().expect("gzip"),
    )
    .expect("write");
    let recent = line(now - 2 * H, "upgrade vpsc-mod-ssh:all 1.0.0 1.1.0")
        + "2026-12-01 10:00:00 upgrade vpsc-mod-ssh:all 1.0.0 <script>alert(1)</script>\n"
        + &line(now - H, "install vpsc-profile-server:all <none> 1.3.0")
        + &line(now - 40 * D, "install vpsc-mod-git:all <none> 1.0");
    write(dir.path(), "/var/log/dpkg.log.1", &recent);
    // As vpsc-gen writes it: one entry, gzipped.
    let changelog = |package: &str, version: &str, built: i64| {
        let text = format!(
            "{package} ({version}) trixie; urgency=medium\n\n  * Generated.\n\n -- vpsc developers <vpsc@example.org>  {}\n",
            rfc2822(built)
        );
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(text.as_bytes()).expect("gzip");
        let path = dir.path().join(format!("usr/share/doc/{package}"));
        std::fs::create_dir_all(&path).expect("mkdir");
        std::fs::write(path.join("changelog.gz"), gz.finish().expect("gzip")).expect("write");
    };
    changelog("vpsc-mod-ssh", "1.1.0", now - 2 * H - 5 * D);
    // Not gzip at all: skipped, the deployment has no lead time.
    let bad = dir.path().join("usr/share/doc/vpsc-profile-server");
    std::fs::create_dir_all(&bad).expect("mkdir");
    std::fs::write(bad.join("changelog.gz"), b"\x1f\x8bgarbage").expect("write");

    let state = State::open(&root).expect("state");
    for (action, target, result) in [
        ("module.configure", "ssh", "ok"),
        ("module.configure", "ssh", "exit 1"),
        ("module.configure", "ssh", "ok"),
    ] {
        audit::append(
            &state,
            audit::NewEvent {
                actor: "user:root".into(),
                action: action.into(),
                target: target.into(),
                result: result.into(),
                details: serde_json::json!({}),
            },
        )
        .expect("append");
    }
    let d = gather(&root, &state, now - 30 * D, now).expect("gather");
    assert_eq!(d.deployments.count, 3, "{d:#?}");
    assert_eq!(d.lead_time.measured, 1);
    assert_eq!(d.lead_time.median_seconds, Some(5 * D));
    // The failed configure lies within the watch of both ssh
    // deployments, but the first one's ended at the second.
    assert_eq!(d.change_failure.failed, 1);
    assert_eq!(d.changes[1].version, "1.1.0");
    assert!(d.changes[1].failure.is_some());
    assert_eq!(d.time_to_restore.restored, 1);
    assert_eq!(d.time_to_restore.median_seconds, Some(0));
}

/// `Thu, 01 Jan 1970 00:00:00 +0000`, as generator/src/doc.rs writes it.
fn rfc2822(t: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let text = vpsc_engine::dates::utc(t);
    let month: usize = text[5..7].parse().expect("month");
    format!(
        "{}, {} {} {} {} +0000",
        DAYS[t.div_euclid(D).rem_euclid(7) as usize],
        &text[8..10],
        MONTHS[month - 1],
        &text[..4],
        &text[11..]
    )
}

fn write(root: &std::path::Path, path: &str, text: &str) {
    let p = root.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, text).expect("write");
}

#[test]
fn durations_read_as_people_say_them() {
    assert_eq!(human(0), "0s");
    assert_eq!(human(725), "12m 5s");
    assert_eq!(human(14_400), "4h 0m");
    assert_eq!(human(259_200 + 7200), "3d 2h");
}
