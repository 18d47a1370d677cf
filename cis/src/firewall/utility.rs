//! Which firewall utility is in use, from packages and unit enablement.
//! Unit enablement is read here, small and self-contained: a unit is
//! enabled when a `.wants`/`.requires` directory holds a link of its name
//! and it is not masked (a link to /dev/null in /etc or /run,
//! systemd.unit(5)).

use serde::{Deserialize, Serialize};

use crate::check::Check;
use crate::facts::Facts;
use crate::verdict::{Evidence, Verdict, pass_if};
use vpsc_engine::root::Root;

/// A host firewall configuration utility CIS Debian 12 names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Utility {
    /// Uncomplicated Firewall.
    Ufw,
    /// nftables loaded by nftables.service.
    Nftables,
    /// iptables rules restored by iptables-persistent.
    Iptables,
}

impl Utility {
    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Utility::Ufw => "ufw",
            Utility::Nftables => "nftables",
            Utility::Iptables => "iptables",
        }
    }
}

/// Where enablement links live: the administrator's, then packages'
/// (Debian 12 packages still install into /lib/systemd/system).
const LINK_DIRS: [&str; 3] = [
    "/etc/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
];

/// The `.wants`/`.requires` link that enables `unit`, if any.
fn enablement_link(root: &Root, unit: &str) -> Option<String> {
    for dir in LINK_DIRS {
        let Ok(entries) = root.read_dir_names(dir) else {
            continue;
        };
        let mut names: Vec<String> = entries
            .into_iter()
            .filter(|n| n.ends_with(".wants") || n.ends_with(".requires"))
            .collect();
        names.sort();
        for n in names {
            let link = format!("{dir}/{n}/{unit}");
            if root.symlink_metadata(&link).is_ok() {
                return Some(link);
            }
        }
    }
    None
}

/// The mask of `unit` (a link to /dev/null), if any.
fn mask(root: &Root, unit: &str) -> Option<String> {
    ["/etc/systemd/system", "/run/systemd/system"]
        .into_iter()
        .map(|d| format!("{d}/{unit}"))
        .find(|p| {
            root.read_link(p)
                .is_ok_and(|t| t == std::path::Path::new("/dev/null"))
        })
}

/// Whether `unit` starts at boot, with the evidence.
fn unit_enabled(root: &Root, unit: &str) -> (bool, Evidence) {
    if let Some(m) = mask(root, unit) {
        return (false, Evidence::at(&m, 0, format!("{unit} is masked")));
    }
    match enablement_link(root, unit) {
        Some(link) => (true, Evidence::at(&link, 0, format!("{unit} is enabled"))),
        None => (
            false,
            Evidence::said(format!("{unit} is not enabled (no .wants link)")),
        ),
    }
}

fn installed(root: &Root, name: &str) -> bool {
    vpsc_engine::checks::package_status(root, name).is_some_and(|s| {
        !matches!(
            s.rsplit(' ').next(),
            Some("not-installed" | "config-files") | None
        )
    })
}

/// The last `KEY=value` of a shell-style settings file, quotes stripped,
/// with its line; ufw reads /etc/ufw/ufw.conf and /etc/default/ufw so.
pub(super) fn setting(root: &Root, path: &str, key: &str) -> Option<(usize, String)> {
    let text = root.read_to_string(path).ok()?;
    text.lines()
        .enumerate()
        .filter_map(|(i, l)| {
            let (k, v) = l.trim().split_once('=')?;
            (k.trim() == key).then(|| (i + 1, v.trim().trim_matches(['"', '\'']).to_owned()))
        })
        .last()
}

/// Whether ufw's own switch is on (`ENABLED=yes` in /etc/ufw/ufw.conf).
fn ufw_switched_on(root: &Root) -> (bool, Evidence) {
    let conf = "/etc/ufw/ufw.conf";
    match setting(root, conf, "ENABLED") {
        Some((line, v)) => (
            v.eq_ignore_ascii_case("yes"),
            Evidence::at(conf, line, format!("ENABLED={v}")),
        ),
        None => (false, Evidence::at(conf, 0, "ENABLED=yes is not set")),
    }
}

/// Whether `u` is the firewall this system loads at boot: ufw installed,
/// switched on and its service enabled; nftables.service enabled;
/// iptables-persistent (or netfilter-persistent) installed and
/// netfilter-persistent.service enabled.
pub fn in_use(root: &Root, u: Utility) -> (bool, Vec<Evidence>) {
    match u {
        Utility::Ufw => {
            if !installed(root, "ufw") {
                return (false, vec![Evidence::said("ufw is not installed")]);
            }
            let (on, e1) = ufw_switched_on(root);
            let (enabled, e2) = unit_enabled(root, "ufw.service");
            (on && enabled, vec![e1, e2])
        }
        Utility::Nftables => {
            let (enabled, e) = unit_enabled(root, "nftables.service");
            (enabled, vec![e])
        }
        Utility::Iptables => {
            let pkg = ["iptables-persistent", "netfilter-persistent"]
                .into_iter()
                .find(|p| installed(root, p));
            let Some(pkg) = pkg else {
                return (
                    false,
                    vec![Evidence::said(
                        "neither iptables-persistent nor netfilter-persistent is installed",
                    )],
                );
            };
            let (enabled, e) = unit_enabled(root, "netfilter-persistent.service");
            (
                enabled,
                vec![Evidence::said(format!("{pkg} is installed")), e],
            )
        }
    }
}

/// Exactly one of ufw, nftables and iptables-persistent is the firewall
/// in use (see [`in_use`]).
#[derive(Debug, Clone, Copy)]
pub struct FirewallSingle;

impl Check for FirewallSingle {
    fn judge(&self, f: &Facts<'_>) -> Verdict {
        single(f.root())
    }
}

/// Exactly one utility is in use.
fn single(root: &Root) -> Verdict {
    let mut using = Vec::new();
    let mut evidence = Vec::new();
    for u in [Utility::Ufw, Utility::Nftables, Utility::Iptables] {
        let (yes, e) = in_use(root, u);
        if yes {
            using.push(u.name());
            evidence.extend(e);
        }
    }
    match using.len() {
        1 => evidence.push(Evidence::said(format!(
            "{} is the only firewall in use",
            using[0]
        ))),
        0 => evidence.push(Evidence::said(
            "no firewall utility is in use (ufw, nftables or iptables-persistent)",
        )),
        _ => evidence.push(Evidence::said(format!(
            "more than one firewall utility is in use: {}",
            using.join(", ")
        ))),
    }
    pass_if(using.len() == 1, evidence)
}

/// `utility` is in use: enabled at boot (ufw also switched on).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirewallActive {
    /// The utility.
    pub utility: Utility,
}

impl Check for FirewallActive {
    fn judge(&self, f: &Facts<'_>) -> Verdict {
        active(f.root(), self.utility)
    }
}

/// `u` is in use (its service enabled, for ufw also switched on).
fn active(root: &Root, u: Utility) -> Verdict {
    let (yes, evidence) = in_use(root, u);
    pass_if(yes, evidence)
}

/// `utility` is not installed, or turned off.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirewallOff {
    /// The utility.
    pub utility: Utility,
}

impl Check for FirewallOff {
    fn judge(&self, f: &Facts<'_>) -> Verdict {
        off(f.root(), self.utility)
    }
}

/// `u` cannot get in the way of the firewall in use: ufw not installed,
/// or switched off with ufw.service masked (CIS remediates with `ufw
/// disable` and `systemctl mask ufw`); nftables not installed, or
/// nftables.service not enabled.
fn off(root: &Root, u: Utility) -> Verdict {
    match u {
        Utility::Ufw => {
            if !installed(root, "ufw") {
                return pass_if(true, vec![Evidence::said("ufw is not installed")]);
            }
            let (on, e1) = ufw_switched_on(root);
            let masked = mask(root, "ufw.service");
            let e2 = match &masked {
                Some(m) => Evidence::at(m, 0, "ufw.service is masked"),
                None => Evidence::said("ufw.service is not masked"),
            };
            pass_if(!on && masked.is_some(), vec![e1, e2])
        }
        Utility::Nftables => {
            if !installed(root, "nftables") {
                return pass_if(true, vec![Evidence::said("nftables is not installed")]);
            }
            let (enabled, e) = unit_enabled(root, "nftables.service");
            pass_if(!enabled, vec![e])
        }
        Utility::Iptables => {
            let (yes, e) = in_use(root, u);
            pass_if(!yes, e)
        }
    }
}
