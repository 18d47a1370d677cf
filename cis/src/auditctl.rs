//! auditctl's rule syntax, normalized to what the kernel compares, so
//! that a required rule is found among the loaded ones however it is
//! spelled: the list and action (`-a always,exit` = `-a exit,always` =
//! `-A`), the syscalls as a set (`-S a,b` = `-S a -S b`; none or `all`:
//! every syscall), its fields as a set in any order (`-F arch=b64` = `-F
//! arch=x86_64`; `auid!=unset` = `auid!=-1` = `auid!=4294967295`;
//! `exit=-EACCES` = `exit=-13`; `a0=0x0` = `a0=0`; `-C euid!=uid` = `-C
//! uid!=euid`), a watch (`-w P -p wa`) as the `path` field it becomes (with
//! `-F path=`/`-F dir=` alike, a trailing slash and `/var/run` → `/run`
//! ignored), the permissions as a set, and the key however given (`-k`,
//! `-F key=`).

use std::collections::BTreeSet;

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

/// Why auditctl refuses a line, in its words where it has them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyntaxError {
    /// `-F` without a comparison.
    #[error("-F {0}: no operator")]
    NoOperator(String),
    /// `-F` with an empty name or value.
    #[error("-F {0}: a field needs a name and a value")]
    EmptyField(String),
    /// An option given no argument.
    #[error("{0} needs an argument")]
    NoArgument(String),
    /// A word that is no option.
    #[error("`{0}` is no auditctl option")]
    NotAnOption(String),
    /// `-a` not followed by `list,action`.
    #[error("-a {0}: not list,action")]
    NotListAction(String),
    /// `-S` naming something that is no syscall.
    #[error("-S {0}: not a syscall name")]
    NotASyscall(String),
    /// `-C` not comparing two fields.
    #[error("-C {0}: not field=field or field!=field")]
    NotAComparison(String),
    /// An option auditctl has, but not in a rules file.
    #[error("`{0}` is no option of a rules file")]
    NotInRulesFile(String),
    /// `-p` with something other than r, w, x and a.
    #[error("-p {0}: permissions are r, w, x and a")]
    Permissions(String),
    /// A watch that is also a list rule.
    #[error("-w and -a do not go together")]
    WatchAndList,
    /// Neither a rule nor a control line.
    #[error("no -a, -w or control option")]
    Nothing,
}

/// One `-F name<op>value`, normalized; key, perm and watches are returned
/// apart.
enum Field {
    Plain(String),
    Key(String),
    Perm(String),
}

fn field(spec: &str) -> Result<Field, SyntaxError> {
    let at = spec
        .find(|c: char| "!<>=&".contains(c))
        .ok_or_else(|| SyntaxError::NoOperator(spec.to_owned()))?;
    let name = spec[..at].to_ascii_lowercase();
    let rest = &spec[at..];
    let op = OPS
        .iter()
        .find(|o| rest.starts_with(**o))
        .ok_or_else(|| SyntaxError::NoOperator(spec.to_owned()))?;
    let value = &rest[op.len()..];
    if name.is_empty() || value.is_empty() {
        return Err(SyntaxError::EmptyField(spec.to_owned()));
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
pub fn parse_line(text: &str) -> Result<Line, SyntaxError> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut rule = Rule::default();
    let mut list_action: Option<(String, String)> = None;
    let mut watch = false;
    let mut perm: Option<String> = None;
    let mut i = 0;
    // `-Farch=b64` is the same option as `-F arch=b64` (getopt).
    let arg = |i: &mut usize, attached: &str| -> Result<String, SyntaxError> {
        if !attached.is_empty() {
            return Ok(attached.to_owned());
        }
        *i += 1;
        words
            .get(*i)
            .map(|s| (*s).to_owned())
            .ok_or_else(|| SyntaxError::NoArgument(words[*i - 1].to_owned()))
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
            return Err(SyntaxError::NotAnOption(w.to_owned()));
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
                    _ => return Err(SyntaxError::NotListAction(spec)),
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
                        return Err(SyntaxError::NotASyscall(s));
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
                    .ok_or_else(|| SyntaxError::NotAComparison(spec.clone()))?;
                let mut sides = [
                    spec[..at].to_ascii_lowercase(),
                    spec[at + op.len()..].to_ascii_lowercase(),
                ];
                // Equal and not-equal do not care which side is which.
                sides.sort();
                rule.fields
                    .insert(format!("C:{}{op}{}", sides[0], sides[1]));
            }
            _ => return Err(SyntaxError::NotInRulesFile(w.to_owned())),
        }
        i += 1;
    }
    if let Some(p) = perm {
        if p.is_empty() || !p.chars().all(|c| "rwxa".contains(c)) {
            return Err(SyntaxError::Permissions(p));
        }
        rule.perm = p.chars().collect();
    } else if watch {
        // A watch without -p watches every access.
        rule.perm = "rwxa".chars().collect();
    }
    match (list_action, watch) {
        (Some(_), true) => Err(SyntaxError::WatchAndList),
        (None, true) => Ok(Line::Rule(rule)),
        (Some((list, action)), false) if list == "exit" && action == "always" => {
            Ok(Line::Rule(rule))
        }
        (Some(_), false) => Ok(Line::Other),
        (None, false) => Err(SyntaxError::Nothing),
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
}
