//! ufw's own files: the default policies `ufw default` writes to
//! /etc/default/ufw and the loopback rules of its iptables-save files.

use serde::{Deserialize, Serialize};

use super::iptables::{Family, IptRule, loopback_in, parse_iptables};
use super::utility::setting;
use crate::check::Check;
use crate::facts::Facts;
use crate::verdict::{CisStatus, Evidence, Verdict, pass_if};
use vpsc_engine::root::Root;

/// A default policy of ufw, as `ufw default` writes it to /etc/default/ufw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// DEFAULT_INPUT_POLICY.
    Incoming,
    /// DEFAULT_OUTPUT_POLICY.
    Outgoing,
    /// DEFAULT_FORWARD_POLICY.
    Routed,
}

/// A ufw default policy (/etc/default/ufw) is deny or reject.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UfwDefault {
    /// Incoming, outgoing or routed.
    pub direction: Direction,
}

impl Check for UfwDefault {
    fn judge(&self, f: &Facts<'_>) -> Verdict {
        ufw_default(f.root(), self.direction)
    }
}

/// ufw's default policy for `d` is deny (DROP) or reject. An unset policy
/// fails: ufw then accepts.
fn ufw_default(root: &Root, d: Direction) -> Verdict {
    let file = "/etc/default/ufw";
    let key = match d {
        Direction::Incoming => "DEFAULT_INPUT_POLICY",
        Direction::Outgoing => "DEFAULT_OUTPUT_POLICY",
        Direction::Routed => "DEFAULT_FORWARD_POLICY",
    };
    match setting(root, file, key) {
        Some((line, v)) => pass_if(
            v.eq_ignore_ascii_case("drop") || v.eq_ignore_ascii_case("reject"),
            vec![Evidence::at(file, line, format!("{key}=\"{v}\""))],
        ),
        None => pass_if(
            false,
            vec![Evidence::at(file, 0, format!("{key} is not set"))],
        ),
    }
}

/// ufw accepts loopback traffic on lo and drops 127.0.0.0/8 and ::1
/// elsewhere.
#[derive(Debug, Clone, Copy)]
pub struct UfwLoopback;

impl Check for UfwLoopback {
    fn judge(&self, f: &Facts<'_>) -> Verdict {
        ufw_loopback(f.root())
    }
}

/// Loopback traffic in ufw's files: its `before` rules (Debian's accept lo)
/// and the `user` rules `ufw allow in on lo` and `ufw deny in from
/// 127.0.0.0/8` write, for IPv4 and, unless `IPV6=no`, IPv6.
fn ufw_loopback(root: &Root) -> Verdict {
    let mut all = Vec::new();
    for (fam, files, pre) in [
        (
            Family::Ipv4,
            ["/etc/ufw/before.rules", "/etc/ufw/user.rules"],
            "ufw",
        ),
        (
            Family::Ipv6,
            ["/etc/ufw/before6.rules", "/etc/ufw/user6.rules"],
            "ufw6",
        ),
    ] {
        let ipv6 = setting(root, "/etc/default/ufw", "IPV6");
        if let (Family::Ipv6, Some((line, v))) = (fam, ipv6) {
            if !v.eq_ignore_ascii_case("yes") {
                all.push(pass_if(
                    false,
                    vec![Evidence::at(
                        "/etc/default/ufw",
                        line,
                        format!("IPV6={v}: ufw filters no IPv6, ::1 is not dropped"),
                    )],
                ));
                continue;
            }
        }
        let rules: Vec<IptRule> = files
            .iter()
            .filter_map(|f| parse_iptables(root, f))
            .flat_map(|(_, r)| r)
            .collect();
        let input = [format!("{pre}-before-input"), format!("{pre}-user-input")];
        let output = [format!("{pre}-before-output"), format!("{pre}-user-output")];
        let input: Vec<&str> = input.iter().map(String::as_str).collect();
        let output: Vec<&str> = output.iter().map(String::as_str).collect();
        all.push(loopback_in(&rules, &input, &output, fam));
    }
    let ok = all.iter().all(|v| v.status == CisStatus::Pass);
    pass_if(ok, all.into_iter().flat_map(|v| v.evidence).collect())
}
