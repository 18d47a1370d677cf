//! Audit rules: what the kernel gets at boot, and a normalizer that tells
//! whether a required rule is among them however it is spelled.
//!
//! What augenrules loads at boot is in [`super::augenrules`].
//!
//! A rule is normalized to what the kernel compares: the list and action
//! (`-a always,exit` = `-a exit,always` = `-A`), the syscalls as a set
//! (`-S a,b` = `-S a -S b`; none or `all`: every syscall), its fields as a
//! set in any order (`-F arch=b64` = `-F arch=x86_64`; `auid!=unset` =
//! `auid!=-1` = `auid!=4294967295`; `exit=-EACCES` = `exit=-13`; `a0=0x0` =
//! `a0=0`; `-C euid!=uid` = `-C uid!=euid`), a watch (`-w P -p wa`) as the
//! `path` field it becomes (with `-F path=`/`-F dir=` alike, a trailing
//! slash and `/var/run` → `/run` ignored), the permissions as a set, and
//! the key however given (`-k`, `-F key=`). A required rule is present
//! when, for each of its syscalls, a loaded rule has the same fields, that
//! syscall (or all), at least its permissions and a key (CIS's audits
//! look for one).

use std::collections::BTreeSet;

use super::augenrules::{AUDIT_RULES, Loaded, RULES_D};
use super::checks::{CisStatus, Evidence, Facts, Verdict, verdict};
use vpsc_engine::root::Root;

/// A rule as the kernel compares it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rule {
    /// Syscalls; empty means all.
    pub syscalls: BTreeSet<String>,
    /// `name op value`, normalized, without key and perm.
    pub fields: BTreeSet<String>,
    /// Permissions (`rwxa`); empty: none given.
    pub perm: BTreeSet<char>,
    /// Keys.
    pub keys: Vec<String>,
}

/// One line of a rules file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// An `always` rule of the exit list (or a watch).
    Rule(Rule),
    /// A control line: `-e 2`, `-c`, `-D`, `-b 8192`, ...
    Control(String, Option<String>),
    /// A rule that audits nothing here: `never`, other lists, deletions.
    Other,
}

/// errno names auditctl accepts in `-F exit=`.
const ERRNOS: &[(&str, &str)] = &[
    ("EPERM", "1"),
    ("ENOENT", "2"),
    ("EINTR", "4"),
    ("EIO", "5"),
    ("EBADF", "9"),
    ("EAGAIN", "11"),
    ("ENOMEM", "12"),
    ("EACCES", "13"),
    ("EFAULT", "14"),
    ("EBUSY", "16"),
    ("EEXIST", "17"),
    ("ENOTDIR", "20"),
    ("EISDIR", "21"),
    ("EINVAL", "22"),
    ("ENOSPC", "28"),
    ("EROFS", "30"),
];

/// Fields holding a user or group ID, where -1 is "unset".
const ID_FIELDS: [&str; 12] = [
    "auid", "uid", "euid", "suid", "fsuid", "loginuid", "gid", "egid", "sgid", "fsgid", "obj_uid",
    "obj_gid",
];

/// Field operators, longest first.
const OPS: [&str; 8] = ["!=", "<=", ">=", "&=", "=", "<", ">", "&"];

/// `/etc/network/` and `/var/run/utmp` as the kernel resolves them.
fn norm_path(p: &str) -> String {
    let mut s = p.trim_end_matches('/').to_owned();
    while s.contains("//") {
        s = s.replace("//", "/");
    }
    match s.strip_prefix("/var/run") {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => format!("/run{rest}"),
        _ if s.is_empty() => "/".to_owned(),
        _ => s,
    }
}

/// One `-F name<op>value`, normalized; key, perm and watches are returned
/// apart.
enum Field {
    Plain(String),
    Key(String),
    Perm(String),
}

fn field(spec: &str) -> Result<Field, String> {
    let at = spec
        .find(|c: char| "!<>=&".contains(c))
        .ok_or_else(|| format!("-F {spec}: no operator"))?;
    let name = spec[..at].to_ascii_lowercase();
    let rest = &spec[at..];
    let op = OPS
        .iter()
        .find(|o| rest.starts_with(**o))
        .ok_or_else(|| format!("-F {spec}: no operator"))?;
    let value = &rest[op.len()..];
    if name.is_empty() || value.is_empty() {
        return Err(format!("-F {spec}: a field needs a name and a value"));
    }
    let value = match name.as_str() {
        "key" if *op == "=" => return Ok(Field::Key(value.to_owned())),
        "perm" if *op == "=" => return Ok(Field::Perm(value.to_owned())),
        "path" | "dir" => return Ok(Field::Plain(format!("path={}", norm_path(value)))),
        "arch" => match value {
            "b64" | "x86_64" | "aarch64" | "ppc64le" | "s390x" | "riscv64" => "b64".to_owned(),
            "b32" | "i386" | "i686" | "armv7l" | "armhf" => "b32".to_owned(),
            other => other.to_owned(),
        },
        n if ID_FIELDS.contains(&n) => match value {
            "-1" | "4294967295" | "unset" => "unset".to_owned(),
            other => other.to_owned(),
        },
        "exit" => {
            let (sign, body) = value.strip_prefix('-').map_or(("", value), |b| ("-", b));
            let number = ERRNOS
                .iter()
                .find(|(e, _)| *e == body)
                .map(|(_, n)| *n)
                .unwrap_or(body);
            format!("{sign}{number}")
        }
        "a0" | "a1" | "a2" | "a3" => number(value).unwrap_or_else(|| value.to_owned()),
        _ => value.to_owned(),
    };
    Ok(Field::Plain(format!("{name}{op}{value}")))
}

/// `0x0` and `0` as `0`.
fn number(text: &str) -> Option<String> {
    let n = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok()?,
        None => text.parse::<u64>().ok()?,
    };
    Some(n.to_string())
}

/// Parses one line of a rules file (or of `auditctl -l`).
pub fn parse_line(text: &str) -> Result<Line, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut rule = Rule::default();
    let mut list_action: Option<(String, String)> = None;
    let mut watch = false;
    let mut perm: Option<String> = None;
    let mut i = 0;
    // `-Farch=b64` is the same option as `-F arch=b64` (getopt).
    let arg = |i: &mut usize, attached: &str| -> Result<String, String> {
        if !attached.is_empty() {
            return Ok(attached.to_owned());
        }
        *i += 1;
        words
            .get(*i)
            .map(|s| (*s).to_owned())
            .ok_or_else(|| format!("{} needs an argument", words[*i - 1]))
    };
    while i < words.len() {
        let w = words[i];
        if let Some(long) = w.strip_prefix("--") {
            let value = match long {
                "backlog_wait_time" | "reset_backlog_wait_time_actual" => Some(arg(&mut i, "")?),
                _ => None,
            };
            return Ok(Line::Control(format!("--{long}"), value));
        }
        let (opt, attached) = if w.starts_with('-') && w.len() >= 2 {
            (&w[..2], &w[2..])
        } else {
            return Err(format!("`{w}` is no auditctl option"));
        };
        match opt {
            "-D" | "-c" | "-i" => return Ok(Line::Control(opt.to_owned(), None)),
            "-e" | "-b" | "-f" | "-r" => {
                let value = arg(&mut i, attached)?;
                return Ok(Line::Control(opt.to_owned(), Some(value)));
            }
            "-d" | "-W" => return Ok(Line::Other),
            "-a" | "-A" => {
                let spec = arg(&mut i, attached)?.to_ascii_lowercase();
                let parts: Vec<&str> = spec.split(',').collect();
                let action = parts.iter().find(|p| matches!(**p, "always" | "never"));
                let list = parts.iter().find(|p| !matches!(**p, "always" | "never"));
                match (parts.len(), action, list) {
                    (2, Some(a), Some(l)) => list_action = Some(((*l).to_owned(), (*a).to_owned())),
                    _ => return Err(format!("-a {spec}: not list,action")),
                }
            }
            "-w" => {
                let path = arg(&mut i, attached)?;
                rule.fields.insert(format!("path={}", norm_path(&path)));
                watch = true;
            }
            "-p" => perm = Some(arg(&mut i, attached)?),
            "-k" => rule.keys.push(arg(&mut i, attached)?),
            "-S" => {
                for s in arg(&mut i, attached)?.split(',') {
                    let s = s.trim().to_ascii_lowercase();
                    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                        return Err(format!("-S {s}: not a syscall name"));
                    }
                    if s != "all" {
                        rule.syscalls.insert(s);
                    }
                }
            }
            "-F" => match field(&arg(&mut i, attached)?)? {
                Field::Plain(f) => {
                    rule.fields.insert(f);
                }
                Field::Key(k) => rule.keys.push(k),
                Field::Perm(p) => perm = Some(p),
            },
            "-C" => {
                let spec = arg(&mut i, attached)?;
                let (op, at) = ["!=", "="]
                    .iter()
                    .find_map(|o| spec.find(o).map(|at| (*o, at)))
                    .ok_or_else(|| format!("-C {spec}: not field=field or field!=field"))?;
                let mut sides = [
                    spec[..at].to_ascii_lowercase(),
                    spec[at + op.len()..].to_ascii_lowercase(),
                ];
                // Equal and not-equal do not care which side is which.
                sides.sort();
                rule.fields
                    .insert(format!("C:{}{op}{}", sides[0], sides[1]));
            }
            _ => return Err(format!("`{w}` is no option of a rules file")),
        }
        i += 1;
    }
    if let Some(p) = perm {
        if p.is_empty() || !p.chars().all(|c| "rwxa".contains(c)) {
            return Err(format!("-p {p}: permissions are r, w, x and a"));
        }
        rule.perm = p.chars().collect();
    } else if watch {
        // A watch without -p watches every access.
        rule.perm = "rwxa".chars().collect();
    }
    match (list_action, watch) {
        (Some(_), true) => Err("-w and -a do not go together".into()),
        (None, true) => Ok(Line::Rule(rule)),
        (Some((list, action)), false) if list == "exit" && action == "always" => {
            Ok(Line::Rule(rule))
        }
        (Some(_), false) => Ok(Line::Other),
        (None, false) => Err("no -a, -w or control option".into()),
    }
}

/// Whether every required rule is loaded; missing ones (and, with
/// `covered`, the lines that cover the others) as evidence, prefixed with
/// `label`.
fn compare(
    loaded: &Loaded,
    wanted: &[(String, Rule)],
    label: &str,
    covered: bool,
    evidence: &mut Vec<Evidence>,
) -> bool {
    let mut ok = true;
    let mut shown = BTreeSet::new();
    for (text, want) in wanted {
        let atoms: Vec<Option<&str>> = if want.syscalls.is_empty() {
            vec![None]
        } else {
            want.syscalls.iter().map(|s| Some(s.as_str())).collect()
        };
        let mut missing = Vec::new();
        for atom in atoms {
            match loaded.cover(want, atom) {
                Some((e, true)) => {
                    if covered && shown.insert((e.file.clone(), e.line)) {
                        evidence.push(Evidence::at(&e.file, e.line, e.text.clone()));
                    }
                }
                Some((e, false)) => {
                    ok = false;
                    evidence.push(Evidence::at(
                        &e.file,
                        e.line,
                        format!("{label}{}: covers `{text}` but has no key (-k)", e.text),
                    ));
                }
                None => missing.push(atom.unwrap_or("")),
            }
        }
        if !missing.is_empty() {
            ok = false;
            let which = if want.syscalls.is_empty() || missing.len() == want.syscalls.len() {
                String::new()
            } else {
                format!(" (for {})", missing.join(","))
            };
            evidence.push(Evidence::said(format!("{label}missing: `{text}`{which}")));
        }
    }
    ok
}

/// The values `{uid_min}` and `{sudo_logfile}` stand for, or the verdict
/// that makes the check moot.
fn placeholders(f: &Facts<'_>, texts: &[String]) -> Result<Vec<(String, String)>, Verdict> {
    let mut out = vec![("{uid_min}".to_owned(), f.uid_min().to_string())];
    if texts.iter().any(|t| t.contains("{sudo_logfile}")) {
        let root = f.root();
        if !root.exists("/etc/sudoers") {
            return Err(verdict(
                CisStatus::Notapplicable,
                vec![Evidence::said("no /etc/sudoers: sudo is not installed")],
            ));
        }
        let entries = super::sudoers::defaults(root);
        match super::sudoers::effective(&entries, "logfile") {
            Some(e) => match &e.op {
                super::sudoers::Op::Set(path) if path.starts_with('/') => {
                    out.push(("{sudo_logfile}".to_owned(), path.clone()));
                }
                _ => {
                    return Err(verdict(
                        CisStatus::Fail,
                        vec![Evidence::at(
                            &e.file,
                            e.line,
                            format!("{}: sudo writes no log file to watch", e.shown()),
                        )],
                    ));
                }
            },
            None => {
                return Err(verdict(
                    CisStatus::Fail,
                    vec![Evidence::at(
                        "/etc/sudoers",
                        0,
                        "no global Defaults logfile: sudo writes no log file to watch",
                    )],
                ));
            }
        }
    }
    Ok(out)
}

/// Parses the required rule texts of a check (placeholders filled in).
pub fn required(texts: &[String]) -> Result<Vec<(String, Rule)>, String> {
    texts
        .iter()
        .map(|t| match parse_line(t)? {
            Line::Rule(r) => Ok((t.clone(), r)),
            _ => Err(format!("`{t}` is not an always,exit rule or a watch")),
        })
        .collect()
}

/// Checks the rule texts of a rule file, with dummy placeholder values.
pub fn validate(rules: &[String], each: Option<&str>) -> Result<(), String> {
    let filled: Vec<String> = rules
        .iter()
        .map(String::as_str)
        .chain(each)
        .map(|t| {
            t.replace("{uid_min}", "1000")
                .replace("{sudo_logfile}", "/var/log/sudo.log")
                .replace("{path}", "/usr/bin/x")
        })
        .collect();
    if let Some(t) = filled.iter().find(|t| t.contains(['{', '}'])) {
        return Err(format!(
            "`{t}`: the placeholders are {{uid_min}}, {{sudo_logfile}} and, in for_each_setid_file, {{path}}"
        ));
    }
    required(&filled).map(drop)
}

/// Judges an audit_rules check.
pub fn judge(
    f: &Facts<'_>,
    rules: &[String],
    each: Option<&str>,
    immutable: bool,
    continue_on_error: bool,
) -> Verdict {
    let mut texts: Vec<String> = rules.to_vec();
    let mut evidence = Vec::new();
    if let Some(template) = each {
        let setid = &f.walk().setid;
        if setid.is_empty() {
            evidence.push(Evidence::said(
                "no setuid or setgid file on the local filesystems",
            ));
        }
        texts.extend(setid.iter().map(|p| template.replace("{path}", p)));
    }
    let values = match placeholders(f, &texts) {
        Ok(v) => v,
        Err(v) => return v,
    };
    let texts: Vec<String> = texts
        .iter()
        .map(|t| values.iter().fold(t.clone(), |t, (k, v)| t.replace(k, v)))
        .collect();
    let wanted = match required(&texts) {
        Ok(w) => w,
        Err(e) => return verdict(CisStatus::Error, vec![Evidence::said(e)]),
    };
    let disk = f.audit_rules();
    if disk.files.is_empty() {
        return verdict(
            CisStatus::Fail,
            vec![Evidence::said(format!(
                "no {RULES_D}/*.rules and no {AUDIT_RULES}: no audit rules are loaded at boot"
            ))],
        );
    }
    let mut ok = compare(disk, &wanted, "", true, &mut evidence);
    if immutable {
        ok &= enable_is_2(disk, &mut evidence);
    }
    if continue_on_error {
        let first_rule = disk
            .entries
            .iter()
            .position(|e| matches!(e.parsed, Line::Rule(_)));
        let c = disk
            .entries
            .iter()
            .position(|e| matches!(&e.parsed, Line::Control(o, _) if o == "-c"));
        match (c, first_rule) {
            (Some(c), Some(r)) if c > r => {
                ok = false;
                let e = &disk.entries[c];
                evidence.push(Evidence::at(
                    &e.file,
                    e.line,
                    "-c comes after the first rule: an error before it still stops the load",
                ));
            }
            (Some(c), _) => {
                let e = &disk.entries[c];
                evidence.push(Evidence::at(&e.file, e.line, "-c"));
            }
            (None, _) => {
                ok = false;
                evidence.push(Evidence::said(format!(
                    "no -c in {RULES_D}/*.rules: auditctl stops loading at the first error"
                )));
            }
        }
    }
    evidence.extend(disk.problems.iter().cloned());
    let mut status = if ok { CisStatus::Pass } else { CisStatus::Fail };
    if f.live() {
        match f.running_rules() {
            Ok(running) => {
                let label = "running (auditctl -l): ";
                let mut live_ok = compare(running, &wanted, label, false, &mut evidence);
                if immutable {
                    live_ok &= enable_is_2_live(f.root(), &mut evidence);
                }
                if !live_ok {
                    status = CisStatus::Fail;
                }
            }
            Err(why) => {
                if status == CisStatus::Pass {
                    status = CisStatus::NotEvaluated;
                }
                evidence.push(Evidence::said(format!(
                    "the running rules could not be read: {why}"
                )));
            }
        }
    } else {
        evidence.push(Evidence::said(
            "the running rules (auditctl -l) are not evaluated on a --root tree",
        ));
    }
    verdict(status, evidence)
}

/// Whether the last `-e` loaded is `-e 2`.
fn enable_is_2(loaded: &Loaded, evidence: &mut Vec<Evidence>) -> bool {
    match loaded.last_enable() {
        Some((e, "2")) => {
            evidence.push(Evidence::at(&e.file, e.line, e.text.clone()));
            true
        }
        Some((e, v)) => {
            evidence.push(Evidence::at(
                &e.file,
                e.line,
                format!(
                    "{}: the last -e is {v}, not 2 (augenrules keeps only the last)",
                    e.text
                ),
            ));
            false
        }
        None => {
            evidence.push(Evidence::said(
                "no -e 2: the rules can be changed until reboot",
            ));
            false
        }
    }
}

/// Whether the running audit system is immutable (`auditctl -s`: enabled 2).
fn enable_is_2_live(root: &Root, evidence: &mut Vec<Evidence>) -> bool {
    match root.run(&["auditctl", "-s"]) {
        Ok(out) => {
            let enabled = out
                .lines()
                .find_map(|l| l.strip_prefix("enabled "))
                .map(str::trim)
                .unwrap_or("?")
                .to_owned();
            let ok = enabled == "2";
            evidence.push(Evidence::said(format!("running: enabled {enabled}")));
            ok
        }
        Err(e) => {
            evidence.push(Evidence::said(format!("auditctl -s: {e}")));
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(t: &str) -> Rule {
        match parse_line(t) {
            Ok(Line::Rule(r)) => r,
            other => panic!("{t}: {other:?}"),
        }
    }

    #[test]
    fn spellings_of_one_rule_normalize_alike() {
        let a = rule(
            "-a always,exit -F arch=b64 -C euid!=uid -F auid!=unset -S execve -k user_emulation",
        );
        let b = rule(
            "-a exit,always -S execve -F auid!=4294967295 -C uid!=euid -F arch=x86_64 -F key=x",
        );
        assert_eq!(
            (a.fields.clone(), a.syscalls.clone()),
            (b.fields, b.syscalls)
        );
        let w = rule("-w /etc/sudoers.d/ -p aw -k scope");
        let f = rule("-a always,exit -F dir=/etc/sudoers.d -F perm=wa -F key=scope");
        assert_eq!(w, f);
        assert_eq!(
            rule("-a always,exit -F arch=b64 -S open -F exit=-EACCES").fields,
            rule("-Aalways,exit -Farch=b64 -Sopen -F exit=-13").fields
        );
        assert_eq!(
            rule("-w /var/run/utmp -p wa").fields,
            rule("-w /run/utmp -p wa").fields
        );
        assert_eq!(parse_line("-a never,exit -S all"), Ok(Line::Other));
        assert_eq!(
            parse_line("-e 2"),
            Ok(Line::Control("-e".into(), Some("2".into())))
        );
        assert!(parse_line("-a always,exit -F arch").is_err());
        assert!(parse_line("-w /etc/x -p q").is_err());
    }

    #[test]
    fn a_required_rule_is_covered_syscall_by_syscall() {
        let loaded = {
            let mut l = Loaded::default();
            l.load(vec![
                (
                    "/r".into(),
                    1,
                    "-a always,exit -F arch=b64 -S adjtimex -k t".into(),
                ),
                (
                    "/r".into(),
                    2,
                    "-a always,exit -S settimeofday -F arch=b64 -k t".into(),
                ),
                (
                    "/r".into(),
                    3,
                    "-a always,exit -F arch=b32 -S adjtimex,settimeofday".into(),
                ),
            ]);
            l.files.push("/r".into());
            l
        };
        let want = required(&[
            "-a always,exit -F arch=b64 -S adjtimex,settimeofday -k time-change".into(),
        ])
        .expect("parses");
        let mut ev = Vec::new();
        assert!(compare(&loaded, &want, "", true, &mut ev), "{ev:?}");
        let want32 = required(&[
            "-a always,exit -F arch=b32 -S adjtimex,settimeofday -k time-change".into(),
        ])
        .expect("parses");
        assert!(
            !compare(&loaded, &want32, "", true, &mut Vec::new()),
            "no key"
        );
        let extra = required(&["-a always,exit -F arch=b64 -S adjtimex -F auid>=1000 -k x".into()])
            .expect("parses");
        assert!(
            !compare(&loaded, &extra, "", true, &mut Vec::new()),
            "other fields"
        );
    }
}
