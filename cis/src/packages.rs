//! Debian packages as dpkg reports them, for the rules about what is
//! installed, its version, and services that must not be in use.

use serde::{Deserialize, Serialize};
use vpsc_contract::Invalid;

use crate::check::Check;
use crate::facts::Facts;
use crate::units;
use crate::verdict::{CisStatus, Evidence, Verdict, pass_if, verdict};
use vpsc_engine::root::Root;

/// dpkg's status of an installed (or half-installed) package.
/// dpkg's status of a package whose files are on the system: every state
/// but `not-installed` and `config-files` (triggers-pending and
/// triggers-awaiting are installed packages waiting for a trigger).
pub(crate) fn installed(root: &Root, name: &str) -> Option<String> {
    vpsc_engine::checks::package_status(root, name).filter(|s| {
        !matches!(
            s.rsplit(' ').next(),
            Some("not-installed" | "config-files") | None
        )
    })
}

/// A Debian package is not installed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageAbsent {
    /// Package name.
    pub name: String,
}

impl Check for PackageAbsent {
    fn validate(&self) -> Result<(), Invalid> {
        vpsc_contract::names::package(&self.name)
    }

    fn judge(&self, f: &Facts<'_>) -> Verdict {
        let name = &self.name;
        match installed(f.root(), name) {
            Some(s) => verdict(
                CisStatus::Fail,
                vec![Evidence::said(format!("{name}: {s}"))],
            ),
            None => verdict(
                CisStatus::Pass,
                vec![Evidence::said(format!("{name} is not installed"))],
            ),
        }
    }
}

/// A Debian package is installed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageInstalled {
    /// Package name.
    pub name: String,
}

impl Check for PackageInstalled {
    fn validate(&self) -> Result<(), Invalid> {
        vpsc_contract::names::package(&self.name)
    }

    fn judge(&self, f: &Facts<'_>) -> Verdict {
        let name = &self.name;
        match installed(f.root(), name) {
            Some(s) => verdict(
                CisStatus::Pass,
                vec![Evidence::said(format!("{name}: {s}"))],
            ),
            None => verdict(
                CisStatus::Fail,
                vec![Evidence::said(format!("{name} is not installed"))],
            ),
        }
    }
}

/// An installed package is at least this version (`dpkg
/// --compare-versions`); fails when it is not installed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageVersion {
    /// Package name.
    pub name: String,
    /// Lowest acceptable version.
    pub min: String,
}

impl Check for PackageVersion {
    fn judge(&self, f: &Facts<'_>) -> Verdict {
        let (name, min) = (&self.name, &self.min);
        let Some(version) = vpsc_engine::checks::package_version(f.root(), name) else {
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
        pass_if(
            newer,
            vec![Evidence::said(format!(
                "{name} {version} (at least {min} wanted)"
            ))],
        )
    }
}

/// A service is not in use: its packages are absent, or its units are
/// masked where a package is needed by something else.
///
/// Not in use: no package of the service installed, or every unit of it
/// that exists masked. A unit with no unit file is not counted: the rule
/// lists the units of every package that provides the service (apache2's
/// and nginx's), and one whose package is absent cannot be started, nor
/// masked without inventing it. An installed package none of whose units
/// exists is not shown to be unused, and fails.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotInUse {
    /// Packages that provide the service.
    pub packages: Vec<String>,
    /// Its systemd units.
    #[serde(default)]
    pub units: Vec<String>,
}

impl Check for NotInUse {
    fn validate(&self) -> Result<(), Invalid> {
        self.packages
            .iter()
            .try_for_each(|p| vpsc_contract::names::package(p))?;
        self.units
            .iter()
            .try_for_each(|u| vpsc_contract::names::unit(u))
    }

    fn judge(&self, f: &Facts<'_>) -> Verdict {
        not_in_use(f, &self.packages, &self.units)
    }
}

fn not_in_use(f: &Facts<'_>, packages: &[String], units: &[String]) -> Verdict {
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
    pass_if(ok, evidence)
}
