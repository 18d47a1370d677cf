//! Host firewall facts for CIS section 4: which utility is in use (ufw,
//! nftables, iptables-persistent) from packages and unit enablement, the
//! nftables ruleset the system really gets, ufw's files and the
//! iptables-save files iptables-persistent restores. Nothing here loads a
//! rule into the host: the persisted nftables configuration is loaded only
//! inside a fresh network namespace (`unshare --net`), which vanishes with
//! the process.
//!
//! Unit enablement is read here, small and self-contained: a unit is
//! enabled when a `.wants`/`.requires` directory holds a link of its name
//! and it is not masked (a link to /dev/null in /etc or /run,
//! systemd.unit(5)).

use std::os::unix::fs::MetadataExt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::checks::{CisStatus, Evidence, Verdict};
use vpsc_engine::root::Root;

fn verdict(status: CisStatus, evidence: Vec<Evidence>) -> Verdict {
    Verdict { status, evidence }
}

fn pass_if(ok: bool, evidence: Vec<Evidence>) -> Verdict {
    verdict(if ok { CisStatus::Pass } else { CisStatus::Fail }, evidence)
}

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
fn setting(root: &Root, path: &str, key: &str) -> Option<(usize, String)> {
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

/// Exactly one utility is in use.
pub fn single(root: &Root) -> Verdict {
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

/// `u` is in use (its service enabled, for ufw also switched on).
pub fn active(root: &Root, u: Utility) -> Verdict {
    let (yes, evidence) = in_use(root, u);
    pass_if(yes, evidence)
}

/// `u` cannot get in the way of the firewall in use: ufw not installed,
/// or switched off with ufw.service masked (CIS remediates with `ufw
/// disable` and `systemctl mask ufw`); nftables not installed, or
/// nftables.service not enabled.
pub fn off(root: &Root, u: Utility) -> Verdict {
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

/// ufw's default policy for `d` is deny (DROP) or reject. An unset policy
/// fails: ufw then accepts.
pub fn ufw_default(root: &Root, d: Direction) -> Verdict {
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

/// One `-A` line of an iptables-save file's filter table.
#[derive(Debug)]
struct IptRule {
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
type Filter = (Vec<(String, String, usize)>, Vec<IptRule>);

fn parse_iptables(root: &Root, file: &str) -> Option<Filter> {
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

/// INPUT, FORWARD and OUTPUT default to DROP in the persisted rules. A
/// missing file loads nothing: the kernel's ACCEPT stays.
pub fn iptables_policy(root: &Root, fam: Family) -> Verdict {
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
fn loopback_in(rules: &[IptRule], input: &[&str], output: &[&str], fam: Family) -> Verdict {
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

/// Loopback traffic in the persisted iptables rules of `fam`.
pub fn iptables_loopback(root: &Root, fam: Family) -> Verdict {
    let file = persisted(fam);
    match parse_iptables(root, file) {
        Some((_, rules)) => loopback_in(&rules, &["INPUT"], &["OUTPUT"], fam),
        None => pass_if(false, vec![Evidence::at(file, 0, "does not exist")]),
    }
}

/// Loopback traffic in ufw's files: its `before` rules (Debian's accept lo)
/// and the `user` rules `ufw allow in on lo` and `ufw deny in from
/// 127.0.0.0/8` write, for IPv4 and, unless `IPV6=no`, IPv6.
pub fn ufw_loopback(root: &Root) -> Verdict {
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
        if let (Family::Ipv6, Some((line, v))) = (fam, ipv6)
            && !v.eq_ignore_ascii_case("yes")
        {
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

/// Every port listened on beyond loopback has a rule naming it in the
/// firewall's persisted rules (`--dport`/`--dports`); only a running
/// system knows what listens.
pub fn open_ports(root: &Root, live: bool, u: Utility) -> Verdict {
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

/// What an nftables check asks of a ruleset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NftProperty {
    /// A table exists.
    Table,
    /// Base chains hook input, forward and output.
    BaseChains,
    /// Loopback accepted on lo, 127.0.0.0/8 and ::1 dropped elsewhere.
    Loopback,
    /// Input, forward and output default to drop, for IPv4 and IPv6.
    DefaultDrop,
    /// The persisted configuration (/etc/nftables.conf) has the base
    /// chains, whatever is loaded now.
    Persisted,
}

/// A ruleset as a list of `table`/`chain`/`rule` objects of nft's JSON
/// (libnftables-json(5)), or why it could not be had.
#[derive(Debug, Clone)]
pub enum Nft {
    /// The objects, and where they came from.
    Ruleset(Vec<Value>, String),
    /// Why no ruleset could be read: the check says not-evaluated.
    Unknown(String),
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// The objects of nft's JSON output: `list ruleset` gives them bare, an
/// echo (`-e`) of a load wraps each in `add`/`insert`; anything else in an
/// echo (a delete, a flush of a chain) means the echo is not the result.
fn objects(text: &str) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for doc in serde_json::Deserializer::from_str(text).into_iter::<Value>() {
        let doc = doc.map_err(|e| format!("nft printed no JSON: {e}"))?;
        let Some(items) = doc.get("nftables").and_then(Value::as_array) else {
            continue;
        };
        for item in items {
            let Some((k, v)) = item.as_object().and_then(|o| o.iter().next()) else {
                continue;
            };
            match k.as_str() {
                "add" | "insert" | "create" => {
                    out.extend(v.as_object().into_iter().flat_map(|o| {
                        o.iter()
                            .map(|(k, v)| serde_json::json!({ k.clone(): v.clone() }))
                    }))
                }
                "metainfo" => {}
                "delete" | "destroy" | "flush" | "replace" | "reset" => {
                    return Err(format!(
                        "the configuration does `{k}`: the echo of its load is not its result"
                    ));
                }
                _ => out.push(item.clone()),
            }
        }
    }
    Ok(out)
}

/// The ruleset the running kernel has (`nft -j list ruleset`).
pub fn nft_live(root: &Root) -> Nft {
    let argv = ["nft", "-j", "list", "ruleset"];
    match root.run(&argv) {
        Ok(out) => match objects(&out) {
            Ok(o) => Nft::Ruleset(o, "the running ruleset (nft list ruleset)".into()),
            Err(e) => Nft::Unknown(e),
        },
        Err(e) => Nft::Unknown(e.to_string()),
    }
}

/// The ruleset /etc/nftables.conf loads, as nftables.service would, read
/// in a fresh network namespace inside the root: `unshare --net -- nft -e
/// -j -f /etc/nftables.conf`. Not `list ruleset` after an `include` in one
/// file: nft 1.0.6 lists the batch's own uncommitted cache there, without
/// its rules; the echo of the committed load has them.
pub fn nft_persisted(root: &Root) -> Nft {
    let conf = "/etc/nftables.conf";
    if !root.exists(conf) {
        return Nft::Ruleset(
            Vec::new(),
            format!("{conf} does not exist: nftables.service loads nothing"),
        );
    }
    let find = |c: &[&str]| c.iter().find(|p| root.exists(p)).map(|p| p.to_string());
    let Some(nft) = find(&["/usr/sbin/nft", "/sbin/nft"]) else {
        return Nft::Unknown("nft is not installed in the root".into());
    };
    let Some(unshare) = find(&["/usr/bin/unshare", "/bin/unshare"]) else {
        return Nft::Unknown("unshare is not installed in the root".into());
    };
    if !is_root() {
        return Nft::Unknown("loading the configuration in a network namespace needs root".into());
    }
    let argv = [
        unshare.as_str(),
        "--net",
        "--",
        &nft,
        "-e",
        "-j",
        "-f",
        conf,
    ];
    match root.run(&argv) {
        Ok(out) => match objects(&out) {
            Ok(o) => Nft::Ruleset(o, format!("what {conf} loads")),
            Err(e) => Nft::Unknown(e),
        },
        // An interface other than lo named in the rules does not exist
        // in the fresh namespace, among others: say so, never guess.
        Err(e) => Nft::Unknown(format!("{conf} could not be loaded apart: {e}")),
    }
}

fn chains(objs: &[Value]) -> impl Iterator<Item = &Value> {
    objs.iter().filter_map(|o| o.get("chain"))
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or_default()
}

/// Judges `p` on `ruleset`.
pub fn nft_judge(ruleset: &Nft, p: NftProperty) -> Verdict {
    let (objs, from) = match ruleset {
        Nft::Ruleset(o, from) => (o, from.as_str()),
        Nft::Unknown(why) => {
            return verdict(CisStatus::NotEvaluated, vec![Evidence::said(why.clone())]);
        }
    };
    let from = |msg: String| Evidence::said(format!("{from}: {msg}"));
    let hooks = ["input", "forward", "output"];
    let families = ["inet", "ip", "ip6"];
    let base = |hook: &str| {
        chains(objs)
            .filter(move |c| s(c, "hook") == hook && families.contains(&s(c, "family")))
            .collect::<Vec<_>>()
    };
    match p {
        NftProperty::Table => {
            let tables: Vec<String> = objs
                .iter()
                .filter_map(|o| o.get("table"))
                .map(|t| format!("{} {}", s(t, "family"), s(t, "name")))
                .collect();
            pass_if(
                !tables.is_empty(),
                vec![from(if tables.is_empty() {
                    "no table".into()
                } else {
                    format!("tables {}", tables.join(", "))
                })],
            )
        }
        NftProperty::BaseChains | NftProperty::Persisted => {
            let mut ok = true;
            let mut ev = Vec::new();
            for h in hooks {
                let b = base(h);
                ok &= !b.is_empty();
                ev.push(from(match b.first() {
                    Some(c) => format!(
                        "hook {h}: chain {} {} {}",
                        s(c, "family"),
                        s(c, "table"),
                        s(c, "name")
                    ),
                    None => format!("no base chain hooks {h}"),
                }));
            }
            pass_if(ok, ev)
        }
        NftProperty::DefaultDrop => {
            let mut ok = true;
            let mut ev = Vec::new();
            for h in hooks {
                let b = base(h);
                // A packet passes every base chain of its hook; one that
                // drops by default is enough, per address family.
                let drops = |fam: &str| {
                    b.iter().any(|c| {
                        s(c, "policy") == "drop" && [fam, "inet"].contains(&s(c, "family"))
                    })
                };
                let (v4, v6) = (drops("ip"), drops("ip6"));
                ok &= v4 && v6;
                ev.push(from(format!(
                    "hook {h}: IPv4 {}, IPv6 {}",
                    if v4 { "drop" } else { "not dropped by default" },
                    if v6 { "drop" } else { "not dropped by default" }
                )));
            }
            pass_if(ok, ev)
        }
        NftProperty::Loopback => {
            let input: Vec<(&str, &str, &str)> = base("input")
                .iter()
                .map(|c| (s(c, "family"), s(c, "table"), s(c, "name")))
                .collect();
            let rules: Vec<&Value> = objs
                .iter()
                .filter_map(|o| o.get("rule"))
                .filter(|r| input.contains(&(s(r, "family"), s(r, "table"), s(r, "chain"))))
                .collect();
            let verdict_of = |r: &Value, want: &[&str]| {
                r.get("expr")
                    .and_then(Value::as_array)
                    .is_some_and(|e| e.iter().any(|x| want.iter().any(|w| x.get(w).is_some())))
            };
            let matches = |r: &Value, test: &dyn Fn(&Value, &Value) -> bool| {
                r.get("expr").and_then(Value::as_array).is_some_and(|e| {
                    e.iter().filter_map(|x| x.get("match")).any(|m| {
                        s(m, "op") == "=="
                            && m.get("left")
                                .zip(m.get("right"))
                                .is_some_and(|(l, r)| test(l, r))
                    })
                })
            };
            let lo = rules.iter().any(|r| {
                verdict_of(r, &["accept"])
                    && matches(r, &|l, rt| {
                        l.get("meta")
                            .is_some_and(|m| matches!(s(m, "key"), "iif" | "iifname"))
                            && rt.as_str() == Some("lo")
                    })
            });
            let saddr = |proto: &'static str, want: &'static dyn Fn(&Value) -> bool| {
                rules.iter().any(move |r| {
                    verdict_of(r, &["drop", "reject"])
                        && matches(r, &|l, rt| {
                            l.get("payload").is_some_and(|p| {
                                s(p, "protocol") == proto && s(p, "field") == "saddr"
                            }) && want(rt)
                        })
                })
            };
            let v4 = saddr("ip", &|rt| {
                rt.get("prefix")
                    .is_some_and(|p| s(p, "addr") == "127.0.0.0" && p.get("len") == Some(&8.into()))
            });
            let v6 = saddr("ip6", &|rt| rt.as_str() == Some("::1"));
            let said = |ok: bool, what: &str| {
                from(format!("{what}{}", if ok { "" } else { ": no such rule" }))
            };
            pass_if(
                lo && v4 && v6,
                vec![
                    said(lo, "input accepts iif lo"),
                    said(v4, "input drops ip saddr 127.0.0.0/8"),
                    said(v6, "input drops ip6 saddr ::1"),
                ],
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CIS_RULESET: &str = r#"{"nftables": [{"metainfo": {"version": "1.0.6"}}, {"add": {"table": {"family": "inet", "name": "filter", "handle": 1}}}, {"add": {"chain": {"family": "inet", "table": "filter", "name": "input", "handle": 1, "type": "filter", "hook": "input", "prio": 0, "policy": "drop"}}}, {"add": {"chain": {"family": "inet", "table": "filter", "name": "forward", "handle": 2, "type": "filter", "hook": "forward", "prio": 0, "policy": "drop"}}}, {"add": {"chain": {"family": "inet", "table": "filter", "name": "output", "handle": 3, "type": "filter", "hook": "output", "prio": 0, "policy": "drop"}}}, {"add": {"rule": {"family": "inet", "table": "filter", "chain": "input", "handle": 4, "expr": [{"match": {"op": "==", "left": {"meta": {"key": "iif"}}, "right": "lo"}}, {"accept": null}]}}}, {"add": {"rule": {"family": "inet", "table": "filter", "chain": "input", "handle": 5, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": {"prefix": {"addr": "127.0.0.0", "len": 8}}}}, {"counter": {"packets": 0, "bytes": 0}}, {"drop": null}]}}}, {"add": {"rule": {"family": "inet", "table": "filter", "chain": "input", "handle": 6, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip6", "field": "saddr"}}, "right": "::1"}}, {"counter": {"packets": 0, "bytes": 0}}, {"drop": null}]}}}]}"#;

    fn judged(json: &str, p: NftProperty) -> CisStatus {
        let objs = objects(json).expect("JSON");
        nft_judge(&Nft::Ruleset(objs, "test".into()), p).status
    }

    #[test]
    fn echo_of_the_cis_example_configuration_passes_every_property() {
        for p in [
            NftProperty::Table,
            NftProperty::BaseChains,
            NftProperty::Loopback,
            NftProperty::DefaultDrop,
            NftProperty::Persisted,
        ] {
            assert_eq!(judged(CIS_RULESET, p), CisStatus::Pass, "{p:?}");
        }
    }

    #[test]
    fn an_ip_only_drop_chain_leaves_ipv6_accepted() {
        let json = CIS_RULESET.replace(r#""family": "inet""#, r#""family": "ip""#);
        assert_eq!(judged(&json, NftProperty::DefaultDrop), CisStatus::Fail);
        assert_eq!(judged(&json, NftProperty::BaseChains), CisStatus::Pass);
    }

    #[test]
    fn accept_policy_and_missing_loopback_drop_fail() {
        let json = CIS_RULESET
            .replace(r#""policy": "drop""#, r#""policy": "accept""#)
            .replace(r#""right": "::1""#, r#""right": "::2""#);
        assert_eq!(judged(&json, NftProperty::DefaultDrop), CisStatus::Fail);
        assert_eq!(judged(&json, NftProperty::Loopback), CisStatus::Fail);
    }

    #[test]
    fn the_live_listing_without_add_wrappers_is_read_too() {
        let json = r#"{"nftables": [{"metainfo": {}}, {"table": {"family": "inet", "name": "f", "handle": 1}}]}"#;
        assert_eq!(judged(json, NftProperty::Table), CisStatus::Pass);
        assert_eq!(judged(json, NftProperty::BaseChains), CisStatus::Fail);
        assert_eq!(
            judged(r#"{"nftables": []}"#, NftProperty::Table),
            CisStatus::Fail
        );
    }

    #[test]
    fn an_echo_with_deletes_is_not_taken_for_the_result() {
        let json = r#"{"nftables": [{"delete": {"table": {"family": "inet", "name": "f"}}}]}"#;
        assert!(objects(json).is_err());
    }

    #[test]
    fn unknown_ruleset_is_not_evaluated() {
        let v = nft_judge(&Nft::Unknown("no nft".into()), NftProperty::Table);
        assert_eq!(v.status, CisStatus::NotEvaluated);
    }
}
