//! Debian packages as dpkg reports them, for the rules about what is
//! installed, its version, and services that must not be in use.

use super::checks::{CisStatus, Evidence, Facts, Verdict, verdict};
use super::units;
use vpsc_engine::root::Root;

/// dpkg's status of an installed (or half-installed) package.
/// dpkg's status of a package whose files are on the system: every state
/// but `not-installed` and `config-files` (triggers-pending and
/// triggers-awaiting are installed packages waiting for a trigger).
pub(super) fn installed(root: &Root, name: &str) -> Option<String> {
    vpsc_engine::checks::package_status(root, name).filter(|s| {
        !matches!(
            s.rsplit(' ').next(),
            Some("not-installed" | "config-files") | None
        )
    })
}

pub(super) fn package_version(root: &Root, name: &str, min: &str) -> Verdict {
    let Some(version) = vpsc_engine::checks::package_version(root, name) else {
        return verdict(
            CisStatus::Fail,
            vec![Evidence::said(format!("{name} is not installed"))],
        );
    };
    // dpkg's own comparison, so epochs and tildes sort as apt sorts them.
    let newer = Root::new("/")
        .command(&["dpkg", "--compare-versions", version.as_str(), "ge", min])
        .status()
        .is_ok_and(|s| s.success());
    verdict(
        if newer {
            CisStatus::Pass
        } else {
            CisStatus::Fail
        },
        vec![Evidence::said(format!(
            "{name} {version} (at least {min} wanted)"
        ))],
    )
}

/// Not in use: no package of the service installed, or every unit of it
/// that exists masked. A unit with no unit file is not counted: the rule
/// lists the units of every package that provides the service (apache2's
/// and nginx's), and one whose package is absent cannot be started, nor
/// masked without inventing it. An installed package none of whose units
/// exists is not shown to be unused, and fails.
pub(super) fn not_in_use(f: &Facts<'_>, packages: &[String], units: &[String]) -> Verdict {
    let present: Vec<(String, String)> = packages
        .iter()
        .filter_map(|p| installed(f.root(), p).map(|s| (p.clone(), s)))
        .collect();
    if present.is_empty() {
        return verdict(
            CisStatus::Pass,
            vec![Evidence::said(format!(
                "not installed: {}",
                packages.join(", ")
            ))],
        );
    }
    let mut evidence: Vec<Evidence> = present
        .iter()
        .map(|(p, s)| Evidence::said(format!("{p}: {s}")))
        .collect();
    let mut ok = true;
    let mut existing = 0;
    for u in units {
        let Some(source) = units::unit_source(f.root(), u) else {
            evidence.push(Evidence::said(format!(
                "{u}: no unit file (its package is not installed)"
            )));
            continue;
        };
        existing += 1;
        let mask = format!("/etc/systemd/system/{u}");
        let masked = f
            .root()
            .read_link(&mask)
            .is_ok_and(|t| t == std::path::Path::new("/dev/null"));
        ok &= masked;
        evidence.push(if masked {
            Evidence::at(&mask, 0, format!("{u} is masked"))
        } else {
            Evidence::at(&source, 0, format!("{u} is not masked"))
        });
    }
    if existing == 0 {
        ok = false;
        evidence.push(Evidence::said(format!(
            "none of {} has a unit file: nothing shows the installed service is not in use",
            units.join(", ")
        )));
    }
    verdict(if ok { CisStatus::Pass } else { CisStatus::Fail }, evidence)
}
