//! The nftables ruleset the system really gets: the running one on a
//! live system, else what /etc/nftables.conf loads, read in a fresh
//! network namespace, never the host's.

use std::os::unix::fs::MetadataExt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::check::Check;
use crate::facts::{Fact, Facts};
use crate::verdict::{CisStatus, Evidence, Verdict, pass_if, verdict};
use vpsc_engine::root::Root;

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

/// Why nft's output is no ruleset to judge.
#[derive(Debug, thiserror::Error)]
enum Unreadable {
    /// Not JSON at all.
    #[error("nft printed no JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    /// An echo that does more than add: not the ruleset that results.
    #[error("the configuration does `{0}`: the echo of its load is not its result")]
    NotTheResult(String),
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// The objects of nft's JSON output: `list ruleset` gives them bare, an
/// echo (`-e`) of a load wraps each in `add`/`insert`; anything else in an
/// echo (a delete, a flush of a chain) means the echo is not the result.
fn objects(text: &str) -> Result<Vec<Value>, Unreadable> {
    let mut out = Vec::new();
    for doc in serde_json::Deserializer::from_str(text).into_iter::<Value>() {
        let doc = doc.map_err(Unreadable::NotJson)?;
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
                    return Err(Unreadable::NotTheResult(k.clone()));
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
            Err(e) => Nft::Unknown(e.to_string()),
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
            Err(e) => Nft::Unknown(e.to_string()),
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

/// The running ruleset, read once per scan.
struct Running(Nft);

impl Fact for Running {
    fn read(root: &Root, _live: bool) -> Running {
        Running(nft_live(root))
    }
}

/// What /etc/nftables.conf loads, read once per scan.
struct Persisted(Nft);

impl Fact for Persisted {
    fn read(root: &Root, _live: bool) -> Persisted {
        Persisted(nft_persisted(root))
    }
}

/// A property of the nftables ruleset: the running one on a live system,
/// else what /etc/nftables.conf loads (in a fresh network namespace, never
/// the host's).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Nftables {
    /// The property.
    pub property: NftProperty,
}

impl Check for Nftables {
    fn judge(&self, f: &Facts<'_>) -> Verdict {
        if self.property == NftProperty::Persisted || !f.live() {
            nft_judge(&f.get::<Persisted>().0, self.property)
        } else {
            nft_judge(&f.get::<Running>().0, self.property)
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
