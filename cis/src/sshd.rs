//! The sshd configuration as sshd itself resolves it for every
//! connection: `sshd_config` read from the top, `Include` expanded in place
//! (globs in name order, relative paths under `/etc/ssh`), the first value
//! of a keyword winning, and OpenSSH's defaults for what nobody set.
//! Debian's `sshd_config` includes `sshd_config.d/*.conf` on its first
//! line, so a drop-in beats the main file, as `sshd -T` shows.
//!
//! `Match` blocks follow servconf.c: sshd parses the file once at startup
//! (global lines and `Match all` blocks active, first value wins) and again
//! for each connection, where only the Match blocks that match it are
//! active (first value wins among them) and what they set overrides the
//! startup value for the keywords a Match block may carry. `Match all`
//! matches every connection, so its values are the effective ones (`sshd
//! -T` shows them); other criteria (User, Address, ...) match only some
//! connections and are not part of what every connection gets. A Match
//! block lasts to the next Match or the end of its file; a file included
//! from inside a block starts in that block.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use vpsc_contract::Invalid;

use crate::check::Check;
use crate::facts::{Fact, Facts};
use crate::verdict::{CisStatus, Evidence, Verdict, pass_if, verdict};
use vpsc_engine::root::Root;

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The value as written.
    pub value: String,
    /// File it was set in; `None` for OpenSSH's default.
    pub file: Option<String>,
    /// Line in that file.
    pub line: usize,
}

/// The sshd settings every connection gets, keywords in lower case.
#[derive(Debug, Default)]
pub struct SshdConfig {
    /// First value in the global context or a `Match all` block: what
    /// sshd's startup parse keeps.
    startup: BTreeMap<String, Setting>,
    /// First value inside `Match all` blocks: what the per-connection
    /// parse copies over the startup value.
    match_all: BTreeMap<String, Setting>,
    /// Major version of the installed OpenSSH (9 in Debian 12, 10 in
    /// Debian 13), whose compiled-in algorithm lists differ.
    major: u32,
}

/// Which connections the lines being read apply to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// The global context.
    Global,
    /// A `Match all` block.
    All,
    /// A Match block with criteria that only some connections meet.
    Some,
}

/// OpenSSH 9 defaults of the keywords the rules look at (sshd_config(5)).
const DEFAULTS: &[(&str, &str)] = &[
    ("banner", "none"),
    ("clientalivecountmax", "3"),
    ("clientaliveinterval", "0"),
    ("disableforwarding", "no"),
    ("gssapiauthentication", "no"),
    ("hostbasedauthentication", "no"),
    ("ignorerhosts", "yes"),
    ("logingracetime", "120"),
    ("loglevel", "INFO"),
    ("maxauthtries", "6"),
    ("maxsessions", "10"),
    ("maxstartups", "10:30:100"),
    ("permitemptypasswords", "no"),
    ("permitrootlogin", "prohibit-password"),
    ("permituserenvironment", "no"),
    ("usepam", "no"),
    ("x11forwarding", "no"),
];

/// Keywords allowed only in the global context (`SSHCFG_GLOBAL` in
/// servconf.c's keyword table, OpenSSH 9.2): a Match block does not
/// override them for a connection, so inside `Match all` they count only
/// as the startup parse reads them, first value winning.
const GLOBAL_ONLY: &[&str] = &[
    "addressfamily",
    "ciphers",
    "compression",
    "fingerprinthash",
    "gssapicleanupcredentials",
    "gssapistrictacceptorcheck",
    "hostcertificate",
    "hostkey",
    "hostkeyagent",
    "hostkeyalgorithms",
    "ignoreuserknownhosts",
    "kerberosgetafstoken",
    "kerberosorlocalpasswd",
    "kerberosticketcleanup",
    "kexalgorithms",
    "listenaddress",
    "logingracetime",
    "macs",
    "maxstartups",
    "modulifile",
    "permituserenvironment",
    "persourcemaxstartups",
    "persourcenetblocksize",
    "pidfile",
    "port",
    "printlastlog",
    "printmotd",
    "securitykeyprovider",
    "strictmodes",
    "subsystem",
    "syslogfacility",
    "tcpkeepalive",
    "usedns",
    "usepam",
    "versionaddendum",
    "xauthlocation",
];

/// OpenSSH's compiled-in algorithm lists by major version, exactly as
/// `sshd -T` prints them when nothing is configured: Debian 12's 9.2p1
/// (read from its binary) and Debian 13's 10.0p1 (from `sshd -T` in the
/// e2e chroot, which the e2e test compares again).
fn algorithms(key: &str, major: u32) -> Option<&'static str> {
    Some(match (key, major >= 10) {
        ("ciphers", false) => {
            "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com"
        }
        ("ciphers", true) => {
            "chacha20-poly1305@openssh.com,aes128-gcm@openssh.com,aes256-gcm@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr"
        }
        ("macs", _) => {
            "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1"
        }
        ("kexalgorithms", false) => {
            "sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256"
        }
        ("kexalgorithms", true) => {
            "mlkem768x25519-sha256,sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521"
        }
        _ => return None,
    })
}

/// A configured algorithm list as sshd resolves it against the default:
/// `+a,b` appends, `-a*` removes (wildcards allowed), `^a` puts first;
/// anything else replaces it.
fn edit_list(default: &str, value: &str) -> String {
    let items = |v: &str| -> Vec<String> { v.split(',').map(str::to_owned).collect() };
    let base = items(default);
    match value.chars().next() {
        Some('+') => {
            let mut out = base;
            out.extend(
                items(&value[1..])
                    .into_iter()
                    .filter(|a| !default.split(',').any(|d| d == a)),
            );
            out.join(",")
        }
        Some('-') => {
            let drop = items(&value[1..]);
            base.into_iter()
                .filter(|a| !drop.iter().any(|p| wildcard(p, a)))
                .collect::<Vec<_>>()
                .join(",")
        }
        Some('^') => {
            let first = items(&value[1..]);
            let rest: Vec<String> = base.into_iter().filter(|a| !first.contains(a)).collect();
            [first, rest].concat().join(",")
        }
        _ => value.to_owned(),
    }
}

/// `*` and `?` as in ssh's match_pattern.
pub fn wildcard(pattern: &str, text: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some((b'*', rest)) => (0..=t.len()).any(|i| go(rest, &t[i..])),
            Some((b'?', rest)) => !t.is_empty() && go(rest, &t[1..]),
            Some((c, rest)) => t.first() == Some(c) && go(rest, &t[1..]),
        }
    }
    go(pattern.as_bytes(), text.as_bytes())
}

/// Major version of the installed openssh-server (`1:9.2p1-2` → 9), as
/// dpkg-query reports it; 9 when it cannot be told.
fn openssh_major(root: &Root) -> u32 {
    vpsc_engine::checks::package_version(root, "openssh-server")
        .map(|v| {
            v.split_once(':')
                .map_or(v.clone(), |(_, rest)| rest.to_owned())
        })
        .and_then(|v| v.split('.').next().and_then(|m| m.parse().ok()))
        .unwrap_or(9)
}

/// Bound on nested `Include`s, as sshd's own (16).
const MAX_DEPTH: usize = 16;

/// Why sshd's configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `Include`s nest deeper than sshd follows them.
    #[error("{path}: Include nested deeper than {MAX_DEPTH}")]
    TooDeep {
        /// The file that would be read one level too deep.
        path: String,
    },
    /// A file the configuration names could not be read.
    #[error("cannot read {path}: {source}")]
    Unreadable {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

impl SshdConfig {
    /// Reads `/etc/ssh/sshd_config` under `root`; `None` when it is absent.
    pub fn load(root: &Root) -> Result<Option<SshdConfig>, ConfigError> {
        let main = "/etc/ssh/sshd_config";
        if !root.exists(main) {
            return Ok(None);
        }
        let mut config = SshdConfig {
            major: openssh_major(root),
            ..SshdConfig::default()
        };
        config.read(root, main, 0, Scope::Global)?;
        Ok(Some(config))
    }

    /// The effective setting of `keyword` (any case) for every connection.
    pub fn get(&self, keyword: &str) -> Option<Setting> {
        let key = keyword.to_ascii_lowercase();
        let overridden = if GLOBAL_ONLY.contains(&key.as_str()) {
            None
        } else {
            self.match_all.get(&key)
        };
        overridden
            .or_else(|| self.startup.get(&key))
            .cloned()
            .map(|mut s| {
                // `+alg`, `-alg` and `^alg` edit the compiled-in list.
                if let Some(default) = algorithms(&key, self.major) {
                    s.value = edit_list(default, &s.value);
                }
                s
            })
            .or_else(|| {
                DEFAULTS
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| *v)
                    .or_else(|| algorithms(&key, self.major))
                    .map(|v| Setting {
                        value: v.to_owned(),
                        file: None,
                        line: 0,
                    })
            })
    }

    /// Reads `path`, whose first lines are in `scope` (that of the line
    /// that included it).
    fn read(
        &mut self,
        root: &Root,
        path: &str,
        depth: usize,
        outer: Scope,
    ) -> Result<(), ConfigError> {
        if depth > MAX_DEPTH {
            return Err(ConfigError::TooDeep {
                path: path.to_owned(),
            });
        }
        let text = root
            .read_to_string(path)
            .map_err(|source| ConfigError::Unreadable {
                path: path.to_owned(),
                source,
            })?;
        let mut scope = outer;
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (keyword, rest) = split_keyword(line);
            let keyword = keyword.to_ascii_lowercase();
            if keyword == "match" {
                // A file included from a block that does not match is
                // never active, whatever its own Match lines say
                // (SSHCFG_NEVERMATCH in servconf.c).
                scope = if outer == Scope::Some {
                    Scope::Some
                } else if matches_all(rest) {
                    Scope::All
                } else {
                    Scope::Some
                };
                continue;
            }
            if scope == Scope::Some {
                continue;
            }
            if keyword == "include" {
                for pattern in rest.split_whitespace() {
                    let pattern = if pattern.starts_with('/') {
                        pattern.to_owned()
                    } else {
                        format!("/etc/ssh/{pattern}")
                    };
                    for file in expand(root, &pattern) {
                        self.read(root, &file, depth + 1, scope)?;
                    }
                }
                continue;
            }
            let setting = Setting {
                value: unquote(rest).to_owned(),
                file: Some(path.to_owned()),
                line: i + 1,
            };
            if scope == Scope::All {
                self.match_all
                    .entry(keyword.clone())
                    .or_insert_with(|| setting.clone());
            }
            self.startup.entry(keyword).or_insert(setting);
        }
        Ok(())
    }
}

/// Whether a Match line's criteria are `all` (alone, perhaps followed by
/// a comment), any case, as servconf.c's match_cfg_line reads them.
fn matches_all(criteria: &str) -> bool {
    let mut words = criteria.split_whitespace();
    words.next().is_some_and(|w| w.eq_ignore_ascii_case("all"))
        && words.next().is_none_or(|w| w.starts_with('#'))
}

/// `Keyword value`, `Keyword=value` or `Keyword = value`.
fn split_keyword(line: &str) -> (&str, &str) {
    let end = line
        .find(|c: char| c.is_whitespace() || c == '=')
        .unwrap_or(line.len());
    let rest = line[end..].trim_start();
    let rest = rest.strip_prefix('=').unwrap_or(rest).trim();
    (&line[..end], rest)
}

fn unquote(value: &str) -> &str {
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value)
}

/// The files a glob in the last path component names, in name order
/// (glob(3) sorts); a plain path names itself if it exists.
fn expand(root: &Root, pattern: &str) -> Vec<String> {
    let (dir, name) = pattern.rsplit_once('/').unwrap_or(("", pattern));
    if !name.contains(['*', '?', '[']) {
        return if root.is_file(pattern) {
            vec![pattern.to_owned()]
        } else {
            Vec::new()
        };
    }
    let Ok(entries) = root.read_dir_names(if dir.is_empty() { "/" } else { dir }) else {
        return Vec::new();
    };
    let mut found: Vec<String> = entries
        .into_iter()
        .filter(|n| !n.starts_with('.') && glob(name.as_bytes(), n.as_bytes()))
        .map(|n| format!("{dir}/{n}"))
        .filter(|p| root.is_file(p))
        .collect();
    found.sort();
    found
}

/// `*` and `?` as glob(3) matches them in one path component.
fn glob(pattern: &[u8], name: &[u8]) -> bool {
    match (pattern.first(), name.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            glob(&pattern[1..], name) || (!name.is_empty() && glob(pattern, &name[1..]))
        }
        (Some(b'?'), Some(_)) => glob(&pattern[1..], &name[1..]),
        (Some(p), Some(n)) if p == n => glob(&pattern[1..], &name[1..]),
        _ => false,
    }
}

/// MaxStartups as sshd reads it: `start:rate:full` (random early drop from
/// `start` unauthenticated connections at `rate` percent, everything from
/// `full`), or a single number N that servconf.c stores as start N and
/// full N with the rate left at its default 30 (`sshd -T` prints
/// `N:30:N`; the rate never applies, every connection from N on is
/// refused). `None` for what sshd refuses to start with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Startups {
    /// Unauthenticated connections from which sshd starts dropping.
    pub start: u64,
    /// Percent dropped at `start`, rising linearly to 100 at `full`.
    pub rate: u64,
    /// Unauthenticated connections from which every new one is dropped.
    pub full: u64,
}

impl Startups {
    /// Parses a MaxStartups value; servconf.c's checks (start ≤ full,
    /// rate 1–100, nothing 0) decide what is valid.
    pub fn parse(value: &str) -> Option<Startups> {
        let number = |s: &str| -> Option<u64> {
            (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse().ok())
                .flatten()
        };
        let fields: Vec<&str> = value.split(':').collect();
        let s = match fields.as_slice() {
            [n] => {
                let n = number(n)?;
                Startups {
                    start: n,
                    rate: 30,
                    full: n,
                }
            }
            [start, rate, full] => Startups {
                start: number(start)?,
                rate: number(rate)?,
                full: number(full)?,
            },
            _ => return None,
        };
        let valid = s.start > 0 && s.full > 0 && s.start <= s.full && (1..=100).contains(&s.rate);
        valid.then_some(s)
    }

    /// Whether these drop connections at least as early as `limit`: start
    /// and full no higher, rate no lower (a higher rate drops more). When
    /// start is full every connection from start on is dropped, whatever
    /// the rate. ComplianceAsCode's sshd_set_maxstartups judges the same
    /// way (5:60:30 passes against 10:30:60, 10:29:60 fails).
    pub fn at_least_as_strict_as(&self, limit: &Startups) -> bool {
        self.start <= limit.start
            && self.full <= limit.full
            && (self.rate >= limit.rate || self.start == self.full)
    }
}

/// Seconds of an sshd time value (`90`, `1m30s`, `2h`).
pub fn seconds(value: &str) -> Option<u64> {
    let mut total = 0;
    let mut number = String::new();
    for c in value.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: u64 = number.parse().ok()?;
        number.clear();
        total += n * match c.to_ascii_lowercase() {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return None,
        };
    }
    if !number.is_empty() {
        total += number.parse::<u64>().ok()?;
    }
    Some(total)
}

/// sshd's configuration, read once per scan: `None` without sshd, or why
/// it could not be read.
struct Effective(Result<Option<SshdConfig>, ConfigError>);

impl Fact for Effective {
    fn read(root: &Root, _live: bool) -> Effective {
        Effective(SshdConfig::load(root))
    }
}

/// An sshd keyword's effective value (not applicable without sshd).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sshd {
    /// Keyword.
    pub option: String,
    /// Allowed values (any case); empty: no such constraint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub one_of: Vec<String>,
    /// Values that fail (any case).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not: Vec<String>,
    /// Largest allowed number (times in seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u64>,
    /// Smallest allowed number (times in seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<u64>,
    /// For MaxStartups: the `start:rate:full` the value must be at least
    /// as strict as in every field (see [`Startups`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_startups: Option<String>,
    /// For algorithm lists: entries none of which may be in the list (`*`
    /// wildcards allowed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excludes: Vec<String>,
    /// For algorithm lists: at least one of these must be in it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub includes_any: Vec<String>,
}

impl Check for Sshd {
    fn validate(&self) -> Result<(), Invalid> {
        let Some(limit) = &self.max_startups else {
            return Ok(());
        };
        let option = &self.option;
        if !option.eq_ignore_ascii_case("MaxStartups") {
            return Err(Invalid::new(format!(
                "max_startups is for MaxStartups, not {option}"
            )));
        }
        Startups::parse(limit)
            .map(drop)
            .ok_or_else(|| Invalid::new(format!("max_startups {limit:?} is not start:rate:full")))
    }

    fn judge(&self, f: &Facts<'_>) -> Verdict {
        let effective = f.get::<Effective>();
        let config = match &effective.0 {
            Ok(Some(c)) => c,
            Ok(None) => {
                return verdict(
                    CisStatus::Notapplicable,
                    vec![Evidence::said(
                        "no /etc/ssh/sshd_config: sshd is not installed",
                    )],
                );
            }
            Err(e) => return verdict(CisStatus::Error, vec![Evidence::said(e.to_string())]),
        };
        let mut v = self.value(config);
        if v.status == CisStatus::Pass
            && (!self.excludes.is_empty() || !self.includes_any.is_empty())
        {
            self.algorithm_list(config, &mut v);
        }
        v
    }
}

impl Sshd {
    /// Judges the value against `one_of`, `not`, `max`, `min` and
    /// `max_startups`.
    fn value(&self, config: &SshdConfig) -> Verdict {
        let option = &self.option;
        let Some(setting) = config.get(option) else {
            return verdict(
                CisStatus::Fail,
                vec![Evidence::said(format!("{option} is not set"))],
            );
        };
        let value = setting.value.clone();
        let mut evidence = vec![match &setting.file {
            Some(file) => Evidence::at(file, setting.line, format!("{option} {value}")),
            None => Evidence::said(format!("{option} {value} (OpenSSH default)")),
        }];
        let lower = value.to_ascii_lowercase();
        let mut ok =
            self.one_of.is_empty() || self.one_of.iter().any(|v| v.eq_ignore_ascii_case(&lower));
        ok &= !self.not.iter().any(|v| v.eq_ignore_ascii_case(&lower));
        let (max, min) = (self.max, self.min);
        if max.is_some() || min.is_some() {
            match seconds(&lower) {
                Some(n) => {
                    ok &= max.is_none_or(|m| n <= m) && min.is_none_or(|m| n >= m);
                }
                None => ok = false,
            }
        }
        if let Some(limit) = self.max_startups.as_deref().and_then(Startups::parse) {
            // Every field counts: 10:30:100, OpenSSH's default, starts
            // dropping at 10 but lets 100 unauthenticated connections in.
            match Startups::parse(&value) {
                Some(s) if s.at_least_as_strict_as(&limit) => {}
                Some(s) => {
                    ok = false;
                    evidence.push(Evidence::said(format!(
                        "start {} (at most {}), rate {}% (at least {}% unless start is full), full {} (at most {})",
                        s.start, limit.start, s.rate, limit.rate, s.full, limit.full
                    )));
                }
                None => {
                    ok = false;
                    evidence.push(Evidence::said(format!(
                        "{value:?} is not a MaxStartups value sshd accepts"
                    )));
                }
            }
        }
        pass_if(ok, evidence)
    }

    /// Judges an algorithm list (Ciphers, MACs, KexAlgorithms) entry by
    /// entry.
    fn algorithm_list(&self, config: &SshdConfig, v: &mut Verdict) {
        let option = &self.option;
        let Some(setting) = config.get(option) else {
            return;
        };
        let list: Vec<&str> = setting.value.split(',').collect();
        let weak: Vec<&str> = list
            .iter()
            .copied()
            .filter(|a| self.excludes.iter().any(|p| wildcard(p, a)))
            .collect();
        if !weak.is_empty() {
            v.status = CisStatus::Fail;
            v.evidence.push(Evidence::said(format!(
                "{option} offers {}",
                weak.join(", ")
            )));
        }
        let includes_any = &self.includes_any;
        if !includes_any.is_empty() && !list.iter().any(|a| includes_any.iter().any(|w| w == a)) {
            v.status = CisStatus::Fail;
            v.evidence.push(Evidence::said(format!(
                "{option} offers none of {}",
                includes_any.join(", ")
            )));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use vpsc_engine::testing::tree;

    #[test]
    fn drop_ins_win_over_the_main_file_and_match_blocks_are_not_global() {
        let dir = tree(&[
            (
                "/etc/ssh/sshd_config",
                "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin yes\nMaxAuthTries 3\nMatch User backup\n  PasswordAuthentication yes\n",
            ),
            (
                "/etc/ssh/sshd_config.d/50-vpsc.conf",
                "permitrootlogin=no\n",
            ),
            (
                "/etc/ssh/sshd_config.d/10-first.conf",
                "LoginGraceTime 1m\n",
            ),
            ("/etc/ssh/sshd_config.d/README", "MaxAuthTries 99\n"),
        ]);
        let c = SshdConfig::load(&Root::new(dir.path()))
            .expect("parse")
            .expect("present");
        let root_login = c.get("PermitRootLogin").expect("set");
        assert_eq!(root_login.value, "no");
        assert_eq!(
            root_login.file.as_deref(),
            Some("/etc/ssh/sshd_config.d/50-vpsc.conf")
        );
        assert_eq!(c.get("maxauthtries").expect("set").value, "3");
        assert_eq!(
            seconds(&c.get("LoginGraceTime").expect("set").value),
            Some(60)
        );
        assert_eq!(c.get("PasswordAuthentication"), None, "only inside Match");
        assert_eq!(c.get("IgnoreRhosts").expect("default").file, None);
    }

    #[test]
    fn match_all_overrides_the_global_value_where_a_match_block_may() {
        let dir = tree(&[
            (
                "/etc/ssh/sshd_config",
                "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin no\nLoginGraceTime 60\n\
                 Match User backup\n  X11Forwarding yes\n\
                 Match all # every connection\n  PermitRootLogin yes\n  PermitRootLogin no\n  LoginGraceTime 300\n  Include /etc/ssh/extra.conf\n",
            ),
            (
                "/etc/ssh/sshd_config.d/50-match.conf",
                "Match all\n  MaxAuthTries 3\n",
            ),
            (
                "/etc/ssh/sshd_config.d/60-global.conf",
                "MaxAuthTries 9\nMaxSessions 10\n",
            ),
            (
                "/etc/ssh/extra.conf",
                "MaxSessions 2\nMatch Address 10.0.0.0/8\n  Banner /etc/issue.net\n",
            ),
        ]);
        let c = SshdConfig::load(&Root::new(dir.path()))
            .expect("parse")
            .expect("present");
        let root_login = c.get("PermitRootLogin").expect("set");
        assert_eq!(root_login.value, "yes", "the first value in Match all");
        assert_eq!(root_login.line, 7);
        // A drop-in's Match all ends with the drop-in; the next file's
        // line is global, and Match all still overrides it.
        assert_eq!(c.get("MaxAuthTries").expect("set").value, "3");
        // Included from inside Match all: part of the block.
        assert_eq!(c.get("MaxSessions").expect("set").value, "2");
        // A keyword Match may not carry keeps the startup value.
        assert_eq!(c.get("LoginGraceTime").expect("set").value, "60");
        assert_eq!(c.get("X11Forwarding").expect("default").file, None);
        assert_eq!(c.get("Banner").expect("default").file, None);
        assert!(matches_all("ALL"));
        assert!(!matches_all("all User x"));
        assert!(!matches_all("User all"));
    }

    #[test]
    fn max_startups_is_read_as_sshd_reads_it() {
        let cis = Startups::parse("10:30:60").expect("valid");
        let strict = |v: &str| {
            Startups::parse(v)
                .expect("valid")
                .at_least_as_strict_as(&cis)
        };
        assert!(strict("10:30:60"));
        assert!(strict("5:60:30"), "stricter in every field");
        assert!(!strict("10:30:100"), "OpenSSH's default lets 100 in");
        assert!(!strict("10:20:60"), "drops fewer at start");
        assert!(!strict("20:30:60"));
        assert_eq!(
            Startups::parse("5"),
            Some(Startups {
                start: 5,
                rate: 30,
                full: 5
            })
        );
        assert!(strict("5"), "a single number drops everything from 5 on");
        assert!(!strict("11"));
        for invalid in ["", "10:30", "60:30:10", "10:0:60", "10:101:60", "0", "ten"] {
            assert_eq!(Startups::parse(invalid), None, "{invalid}");
        }
    }

    #[test]
    fn times_and_globs() {
        assert_eq!(seconds("1m30s"), Some(90));
        assert_eq!(seconds("120"), Some(120));
        assert_eq!(seconds("2x"), None);
        assert!(glob(b"*.conf", b"50-vpsc.conf"));
        assert!(!glob(b"*.conf", b"README"));
    }
}
