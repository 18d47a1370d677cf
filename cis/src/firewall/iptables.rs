//! The iptables-save files iptables-persistent restores (and ufw keeps
//! its rules in): chain policies, loopback rules, and the ports rules name.

use serde::{Deserialize, Serialize};

use super::utility::Utility;
use crate::check::Check;
use crate::facts::Facts;
use crate::verdict::{CisStatus, Evidence, Verdict, pass_if, verdict};
use vpsc_engine::root::Root;

/// One `-A` line of an iptables-save file's filter table.
#[derive(Debug)]
pub(super) struct IptRule {
    file: String,
    line: usize,
    chain: String,
    /// Options as (negated, option, value).
    opts: Vec<(bool, String, String)>,
    text: String,
}

impl IptRule {
    fn has(&self, opt: &str, val: &str) -> bool {
        self.opts.iter().any(|(n, o, v)| !n && o == opt && v == val)
    }

    fn has_opt(&self, opt: &str) -> bool {
        self.opts.iter().any(|(n, o, _)| !n && o == opt)
    }

    fn target(&self) -> &str {
        self.opts
            .iter()
            .find(|(_, o, _)| o == "-j")
            .map_or("", |(_, _, v)| v.as_str())
    }
}

/// The filter table of an iptables-save file: chain policies and rules;
/// `None` when the file does not exist.
pub(super) type Filter = (Vec<(String, String, usize)>, Vec<IptRule>);

pub(super) fn parse_iptables(root: &Root, file: &str) -> Option<Filter> {
    let text = root.read_to_string(file).ok()?;
    let mut in_filter = false;
    let mut policies = Vec::new();
    let mut rules = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let l = raw.trim();
        if let Some(t) = l.strip_prefix('*') {
            in_filter = t == "filter";
        } else if !in_filter || l.starts_with('#') {
        } else if let Some(p) = l.strip_prefix(':') {
            let mut f = p.split_whitespace();
            if let (Some(c), Some(pol)) = (f.next(), f.next()) {
                policies.push((c.to_owned(), pol.to_owned(), i + 1));
            }
        } else if let Some(r) = l.strip_prefix("-A ") {
            let mut words = r.split_whitespace();
            let chain = words.next().unwrap_or_default().to_owned();
            let mut opts = Vec::new();
            let mut neg = false;
            let words: Vec<&str> = words.collect();
            let mut k = 0;
            while k < words.len() {
                let w = words[k];
                if w == "!" {
                    neg = true;
                } else if w.starts_with('-') {
                    let val = words
                        .get(k + 1)
                        .filter(|v| !v.starts_with('-') && **v != "!")
                        .copied()
                        .unwrap_or_default();
                    if !val.is_empty() {
                        k += 1;
                    }
                    opts.push((neg, w.to_owned(), val.to_owned()));
                    neg = false;
                }
                k += 1;
            }
            rules.push(IptRule {
                file: file.to_owned(),
                line: i + 1,
                chain,
                opts,
                text: l.to_owned(),
            });
        }
    }
    Some((policies, rules))
}

/// Address family of an ip(6)tables check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// iptables, /etc/iptables/rules.v4.
    Ipv4,
    /// ip6tables, /etc/iptables/rules.v6.
    Ipv6,
}

/// The file iptables-persistent restores for `fam`.
fn persisted(fam: Family) -> &'static str {
    match fam {
        Family::Ipv4 => "/etc/iptables/rules.v4",
        Family::Ipv6 => "/etc/iptables/rules.v6",
    }
}

/// The persisted ip(6)tables rules default to DROP.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IptablesPolicy {
    /// IPv4 (rules.v4) or IPv6 (rules.v6).
    pub family: Family,
}

impl Check for IptablesPolicy {
    fn judge(&self, f: &Facts<'_>) -> Verdict {
        iptables_policy(f.root(), self.family)
    }
}

/// INPUT, FORWARD and OUTPUT default to DROP in the persisted rules. A
/// missing file loads nothing: the kernel's ACCEPT stays.
fn iptables_policy(root: &Root, fam: Family) -> Verdict {
    let file = persisted(fam);
    let Some((policies, _)) = parse_iptables(root, file) else {
        return pass_if(
            false,
            vec![Evidence::at(
                file,
                0,
                "does not exist: the policies stay ACCEPT",
            )],
        );
    };
    let mut ok = true;
    let mut evidence = Vec::new();
    for chain in ["INPUT", "FORWARD", "OUTPUT"] {
        match policies.iter().rev().find(|(c, _, _)| c == chain) {
            Some((_, p, line)) => {
                ok &= p == "DROP";
                evidence.push(Evidence::at(file, *line, format!("{chain} policy {p}")));
            }
            None => {
                ok = false;
                evidence.push(Evidence::at(
                    file,
                    0,
                    format!("{chain} policy not set: ACCEPT"),
                ));
            }
        }
    }
    pass_if(ok, evidence)
}

/// Loopback in the rules of `input`/`output` chains: accepted in on lo,
/// accepted out on lo, and the loopback source dropped (or rejected)
/// elsewhere. Judged by presence, as CIS's audit reads `iptables -L`.
pub(super) fn loopback_in(
    rules: &[IptRule],
    input: &[&str],
    output: &[&str],
    fam: Family,
) -> Verdict {
    let source = match fam {
        Family::Ipv4 => ["127.0.0.0/8", "127.0.0.0/8"],
        Family::Ipv6 => ["::1", "::1/128"],
    };
    let plain = |r: &IptRule| !r.has_opt("-s") && !r.has_opt("-d") && !r.has_opt("-p");
    let lo_in = rules.iter().find(|r| {
        input.contains(&r.chain.as_str()) && r.has("-i", "lo") && r.target() == "ACCEPT" && plain(r)
    });
    let lo_out = rules.iter().find(|r| {
        output.contains(&r.chain.as_str())
            && r.has("-o", "lo")
            && r.target() == "ACCEPT"
            && plain(r)
    });
    let drop = rules.iter().find(|r| {
        input.contains(&r.chain.as_str())
            && source.iter().any(|s| r.has("-s", s))
            && !r.has_opt("-i")
            && matches!(r.target(), "DROP" | "REJECT")
    });
    let mut evidence = Vec::new();
    for (found, what) in [
        (lo_in, "traffic in on lo accepted"),
        (lo_out, "traffic out on lo accepted"),
        (drop, "loopback source dropped on other interfaces"),
    ] {
        evidence.push(match found {
            Some(r) => Evidence::at(&r.file, r.line, r.text.clone()),
            None => Evidence::said(format!("no rule: {what} ({})", source[0])),
        });
    }
    pass_if(
        lo_in.is_some() && lo_out.is_some() && drop.is_some(),
        evidence,
    )
}

/// The persisted ip(6)tables rules accept loopback traffic on lo and drop
/// its addresses elsewhere.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IptablesLoopback {
    /// IPv4 (rules.v4) or IPv6 (rules.v6).
    pub family: Family,
}

impl Check for IptablesLoopback {
    fn judge(&self, f: &Facts<'_>) -> Verdict {
        iptables_loopback(f.root(), self.family)
    }
}

/// Loopback traffic in the persisted iptables rules of `fam`.
fn iptables_loopback(root: &Root, fam: Family) -> Verdict {
    let file = persisted(fam);
    match parse_iptables(root, file) {
        Some((_, rules)) => loopback_in(&rules, &["INPUT"], &["OUTPUT"], fam),
        None => pass_if(false, vec![Evidence::at(file, 0, "does not exist")]),
    }
}

/// Every port listened on beyond loopback has a rule of `utility`; not
/// evaluated off a running system.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirewallOpenPorts {
    /// The utility.
    pub utility: Utility,
}

impl Check for FirewallOpenPorts {
    fn judge(&self, f: &Facts<'_>) -> Verdict {
        open_ports(f.root(), f.live(), self.utility)
    }
}

/// Every port listened on beyond loopback has a rule naming it in the
/// firewall's persisted rules (`--dport`/`--dports`); only a running
/// system knows what listens.
fn open_ports(root: &Root, live: bool, u: Utility) -> Verdict {
    if !live {
        return verdict(
            CisStatus::NotEvaluated,
            vec![Evidence::said(
                "listening ports are known to a running system only",
            )],
        );
    }
    let files: &[&str] = match u {
        Utility::Ufw => &["/etc/ufw/user.rules", "/etc/ufw/user6.rules"],
        Utility::Iptables => &["/etc/iptables/rules.v4", "/etc/iptables/rules.v6"],
        Utility::Nftables => &[],
    };
    let rules: Vec<IptRule> = files
        .iter()
        .filter_map(|f| parse_iptables(root, f))
        .flat_map(|(_, r)| r)
        .collect();
    let covered = |port: u16| {
        rules.iter().any(|r| {
            r.opts.iter().any(|(n, o, v)| {
                !n && (o == "--dport" || o == "--dports")
                    && v.split(',').any(|p| match p.split_once(':') {
                        Some((a, b)) => {
                            a.parse::<u16>().is_ok_and(|a| a <= port)
                                && b.parse::<u16>().is_ok_and(|b| port <= b)
                        }
                        None => p.parse::<u16>() == Ok(port),
                    })
            })
        })
    };
    let mut bad = Vec::new();
    for proto in [
        vpsc_contract::plan::Protocol::Tcp,
        vpsc_contract::plan::Protocol::Udp,
    ] {
        let addrs =
            match vpsc_engine::sockets::all_listeners(std::path::Path::new("/proc/net"), proto) {
                Ok(a) => a,
                Err(e) => {
                    return verdict(
                        CisStatus::Error,
                        vec![Evidence::said(format!("/proc/net: {e}"))],
                    );
                }
            };
        for a in addrs {
            if !vpsc_engine::sockets::is_loopback(&a) && !covered(a.port()) {
                bad.push(Evidence::said(format!(
                    "{proto} {a}: listening, no firewall rule names port {}",
                    a.port()
                )));
            }
        }
    }
    if bad.is_empty() {
        pass_if(
            true,
            vec![Evidence::said(
                "every port listened on beyond loopback has a rule",
            )],
        )
    } else {
        pass_if(false, bad)
    }
}
