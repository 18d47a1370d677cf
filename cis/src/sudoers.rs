//! sudoers `Defaults` as sudo applies them: `/etc/sudoers` read from the
//! top with `@include`/`@includedir` (and the old `#include`/`#includedir`
//! spelling) expanded in place, and the value every user and command gets
//! worked out the way sudo's `update_defaults` does.
//!
//! What sudoers(5) and sudo's sources (plugins/sudoers/defaults.c,
//! sudoers.c, toke.l) say, and this module keeps:
//! - a later setting of an option overrides an earlier one: `Defaults
//!   !use_pty` after `Defaults use_pty` leaves it off;
//! - `Defaults@host`, `Defaults:user`, `Defaults>runas` and `Defaults!cmnd`
//!   apply only where their list matches, so they are not global; only a
//!   list that is exactly `ALL` matches everyone. Host, user and runas
//!   entries are applied with the global ones, in file order; command
//!   entries after all of them;
//! - a relative include path is resolved from the directory of the file
//!   that includes it (sudo 1.9.1 and later);
//! - the files of an included directory are read in lexical order, and a
//!   name that ends in `~` or contains a `.` is skipped, as is anything
//!   but a regular file;
//! - a line ending in a backslash continues on the next one, and `#`
//!   outside double quotes starts a comment.
//!
//! Not modelled: `%h` in include paths (the host name), aliases used as a
//! binding (`Defaults:ADMINS`; not global either way), and sudo's
//! built-in defaults (an option no line sets is reported as unset).

use serde::{Deserialize, Serialize};
use vpsc_contract::Invalid;

use crate::check::Check;
use crate::facts::Facts;
use crate::verdict::{CisStatus, Evidence, Verdict, pass_if, verdict};
use vpsc_engine::root::Root;

/// Bound on nested includes; sudo's own is 128.
const MAX_DEPTH: usize = 128;

/// What a `Defaults` entry is bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    /// `Defaults`: everyone.
    Global,
    /// `Defaults@host_list`.
    Host,
    /// `Defaults:user_list`.
    User,
    /// `Defaults>runas_list`.
    Runas,
    /// `Defaults!cmnd_list`.
    Command,
}

impl Binding {
    /// The character that introduces the list, as written.
    fn sigil(self) -> &'static str {
        match self {
            Binding::Global => "",
            Binding::Host => "@",
            Binding::User => ":",
            Binding::Runas => ">",
            Binding::Command => "!",
        }
    }
}

/// What an option does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// A flag turned on: `use_pty`.
    On,
    /// A flag or value turned off: `!use_pty`, `!logfile`.
    Off,
    /// A value given: `logfile=/var/log/sudo.log` (also `+=` and `-=`).
    Set(String),
}

/// One option of a `Defaults` line, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// What the line is bound to.
    pub binding: Binding,
    /// The binding's list as written (`alice`, `ALL`); empty when global.
    pub list: String,
    /// Option name, e.g. `use_pty`.
    pub name: String,
    /// What it does.
    pub op: Op,
    /// The option as written, e.g. `logfile="/var/log/sudo.log"`.
    pub text: String,
    /// File, as seen from the root.
    pub file: String,
    /// Line the entry starts on.
    pub line: usize,
}

impl Entry {
    /// Whether it applies to every user, host, runas user and command.
    pub fn is_global(&self) -> bool {
        self.binding == Binding::Global || self.list == "ALL"
    }

    /// `Defaults:alice !authenticate`, for evidence.
    pub fn shown(&self) -> String {
        format!(
            "Defaults{}{} {}",
            self.binding.sigil(),
            self.list,
            self.text
        )
    }
}

/// Every `Defaults` option of `/etc/sudoers` and what it includes, in the
/// order sudo reads them.
pub fn defaults(root: &Root) -> Vec<Entry> {
    let mut out = Vec::new();
    read(root, "/etc/sudoers", &mut out, &mut Vec::new(), 0);
    out
}

/// A line of sudoers that is neither `Defaults` nor an include: a user
/// specification or an alias, comment stripped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// File, as seen from the root.
    pub file: String,
    /// Line it starts on.
    pub line: usize,
    /// The text, continuation lines joined.
    pub text: String,
}

/// Every user specification and alias line, in the order sudo reads them.
pub fn specs(root: &Root) -> Vec<Spec> {
    let mut out = Vec::new();
    read(root, "/etc/sudoers", &mut Vec::new(), &mut out, 0);
    out
}

/// The entry that decides option `name` for everyone, if any: the last
/// global (or `ALL`-bound) one, command entries counting after the others.
pub fn effective<'a>(entries: &'a [Entry], name: &str) -> Option<&'a Entry> {
    let global = entries.iter().filter(|e| e.name == name && e.is_global());
    let (commands, rest): (Vec<&Entry>, Vec<&Entry>) =
        global.partition(|e| e.binding == Binding::Command);
    commands.last().or(rest.last()).copied()
}

fn read(root: &Root, path: &str, out: &mut Vec<Entry>, specs: &mut Vec<Spec>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    let Ok(text) = root.read_to_string(path) else {
        return;
    };
    let dir = path.rsplit_once('/').map_or("/", |(d, _)| d);
    for (line_no, line) in logical_lines(&text) {
        let line = line.trim();
        if let Some(target) = directive(line, "includedir") {
            let target = resolve(dir, &target);
            let Ok(entries) = root.read_dir_names(&target) else {
                continue;
            };
            let mut names: Vec<String> = entries
                .into_iter()
                .filter(|n| root.is_file(&format!("{}/{n}", target.trim_end_matches('/'))))
                .filter(|n| !n.contains('.') && !n.ends_with('~'))
                .collect();
            names.sort();
            for n in names {
                read(root, &resolve(&target, &n), out, specs, depth + 1);
            }
        } else if let Some(target) = directive(line, "include") {
            read(root, &resolve(dir, &target), out, specs, depth + 1);
        } else if let Some(rest) = line.strip_prefix("Defaults") {
            parse_defaults(rest, path, line_no, out);
        } else {
            let text = strip_comment(line).trim();
            if !text.is_empty() {
                specs.push(Spec {
                    file: path.to_owned(),
                    line: line_no,
                    text: text.to_owned(),
                });
            }
        }
    }
}

/// The lines of a file with backslash continuations joined, each with the
/// number of the line it starts on.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let (start, mut joined) = pending.take().unwrap_or((i + 1, String::new()));
        match raw.strip_suffix('\\') {
            Some(head) => {
                joined.push_str(head);
                pending = Some((start, joined));
            }
            None => {
                joined.push_str(raw);
                out.push((start, joined));
            }
        }
    }
    out.extend(pending);
    out
}

/// The path of an `@include`/`#include` (`word` "include") or
/// `@includedir`/`#includedir` line, quotes removed.
fn directive(line: &str, word: &str) -> Option<String> {
    let rest = line
        .strip_prefix('@')
        .or_else(|| line.strip_prefix('#'))?
        .strip_prefix(word)?;
    // `#includedir` is not `#include` of a file named `dir…`, and
    // `#including` is a comment.
    if !rest.starts_with(char::is_whitespace) {
        return None;
    }
    let target = rest.trim();
    let target = target
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(target);
    (!target.is_empty()).then(|| target.to_owned())
}

/// An include path: absolute as written, relative from `dir`; `.` and
/// `..` are resolved so evidence names the file as sudo finds it and the
/// path cannot climb out of the root.
fn resolve(dir: &str, target: &str) -> String {
    let joined = if target.starts_with('/') {
        target.to_owned()
    } else {
        format!("{dir}/{target}")
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Parses what follows `Defaults` on a line into `out`.
fn parse_defaults(rest: &str, file: &str, line: usize, out: &mut Vec<Entry>) {
    let binding = match rest.chars().next() {
        Some('@') => Binding::Host,
        Some(':') => Binding::User,
        Some('>') => Binding::Runas,
        Some('!') => Binding::Command,
        Some(c) if c.is_whitespace() => Binding::Global,
        // `Defaultsfoo` is no Defaults line.
        _ => return,
    };
    let (list, options) = if binding == Binding::Global {
        (String::new(), rest)
    } else {
        split_list(&rest[1..])
    };
    for text in split_options(strip_comment(options)) {
        let negations = text.chars().take_while(|&c| c == '!').count();
        let body = text[negations..].trim_start();
        let (name, value) = match body.find(['=', '+', '-']) {
            Some(at) => {
                let value = body[at..]
                    .trim_start_matches(['+', '-'])
                    .trim_start_matches('=')
                    .trim();
                (body[..at].trim(), Some(unquote(value)))
            }
            None => (body.trim(), None),
        };
        if name.is_empty() {
            continue;
        }
        let op = match value {
            // `!!flag` is the flag turned on again.
            _ if negations % 2 == 1 => Op::Off,
            Some(v) => Op::Set(v.to_owned()),
            None => Op::On,
        };
        out.push(Entry {
            binding,
            list: list.clone(),
            name: name.to_owned(),
            op,
            text: text.to_owned(),
            file: file.to_owned(),
            line,
        });
    }
}

/// A binding's list (`alice`, `alice, bob`, `ALL`) and the options after
/// it: items joined by commas, with blanks allowed after a comma.
fn split_list(rest: &str) -> (String, &str) {
    let mut end = 0;
    let bytes = rest.as_bytes();
    loop {
        while end < bytes.len() && !bytes[end].is_ascii_whitespace() && bytes[end] != b',' {
            end += 1;
        }
        let mut next = end;
        while next < bytes.len() && bytes[next].is_ascii_whitespace() {
            next += 1;
        }
        if next < bytes.len() && bytes[next] == b',' {
            end = next + 1;
            while end < bytes.len() && bytes[end].is_ascii_whitespace() {
                end += 1;
            }
            continue;
        }
        break;
    }
    let list: String = rest[..end].split_whitespace().collect();
    (list, &rest[end..])
}

/// The text before a `#` that is outside double quotes and not escaped.
fn strip_comment(text: &str) -> &str {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            '#' if !quoted => return &text[..i],
            _ => {}
        }
    }
    text
}

/// Options separated by commas outside double quotes and not escaped.
fn split_options(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut quoted = false;
    let mut escaped = false;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(text[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(text[start..].trim());
    out.retain(|o| !o.is_empty());
    out
}

fn unquote(value: &str) -> &str {
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value)
}

/// A `Defaults` option across `/etc/sudoers` and what it includes
/// (`@includedir /etc/sudoers.d`), as sudo applies it to everyone: the
/// last global setting wins, scoped ones (`Defaults:alice`) do not count.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sudoers {
    /// Option name (`use_pty`; `logfile` is set by `logfile=…`), or
    /// `!name` for the option turned off (`!authenticate`).
    pub option: String,
    /// Whether it must hold (true) or must not (false).
    pub present: bool,
}

impl Check for Sudoers {
    fn validate(&self) -> Result<(), Invalid> {
        let option = &self.option;
        let name = option.strip_prefix('!').unwrap_or(option);
        if !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            Ok(())
        } else {
            Err(Invalid::new(format!(
                "sudoers option {option:?} is not a Defaults name or !name"
            )))
        }
    }

    fn judge(&self, f: &Facts<'_>) -> Verdict {
        defaults_option(f.root(), &self.option, self.present)
    }
}

/// Whether `Defaults OPTION` holds for everyone (`!name`: is off), with
/// the entry that decides it; scoped entries are shown but do not count.
fn defaults_option(root: &Root, option: &str, present: bool) -> Verdict {
    if !root.exists("/etc/sudoers") {
        return verdict(
            CisStatus::Notapplicable,
            vec![Evidence::said("no /etc/sudoers: sudo is not installed")],
        );
    }
    let entries = defaults(root);
    let (negated, name) = match option.strip_prefix('!') {
        Some(name) => (true, name),
        None => (false, option),
    };
    let decided = effective(&entries, name);
    let holds = match decided.map(|e| &e.op) {
        Some(Op::Off) => negated,
        Some(Op::On) => !negated,
        Some(Op::Set(v)) => !negated && !v.is_empty(),
        None => false,
    };
    let mut evidence: Vec<Evidence> = match decided {
        Some(e) => vec![Evidence::at(&e.file, e.line, e.shown())],
        None => vec![Evidence::at(
            "/etc/sudoers",
            0,
            format!("no global Defaults {name}"),
        )],
    };
    for e in entries.iter().filter(|e| e.name == name && !e.is_global()) {
        evidence.push(Evidence::at(
            &e.file,
            e.line,
            format!("{} (only where {} matches: not global)", e.shown(), e.list),
        ));
    }
    pass_if(holds == present, evidence)
}

/// No user specification in sudoers (with its includes) carries this
/// tag, e.g. `NOPASSWD`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SudoersTagAbsent {
    /// Tag name, without the colon.
    pub tag: String,
}

impl Check for SudoersTagAbsent {
    fn judge(&self, f: &Facts<'_>) -> Verdict {
        sudoers_tag_absent(f.root(), &self.tag)
    }
}

fn sudoers_tag_absent(root: &Root, tag: &str) -> Verdict {
    if !root.exists("/etc/sudoers") {
        return verdict(
            CisStatus::Notapplicable,
            vec![Evidence::said("no /etc/sudoers: sudo is not installed")],
        );
    }
    let needle = format!("{tag}:");
    let found: Vec<Evidence> = specs(root)
        .into_iter()
        .filter(|s| {
            // A tag starts a word or follows another tag or `)`:
            // `NOPASSWD: /bin/x`, `(root) NOPASSWD:ALL`, `SETENV:NOPASSWD:`.
            s.text.match_indices(&needle).any(|(i, _)| {
                s.text[..i]
                    .chars()
                    .next_back()
                    .is_none_or(|c| c.is_whitespace() || matches!(c, ',' | '=' | ')' | ':'))
            })
        })
        .map(|s| Evidence::at(&s.file, s.line, s.text))
        .collect();
    if found.is_empty() {
        verdict(
            CisStatus::Pass,
            vec![Evidence::said(format!(
                "no user specification carries {tag}"
            ))],
        )
    } else {
        verdict(CisStatus::Fail, found)
    }
}

/// A numeric `Defaults` option as it applies to everyone (the last global
/// setting, else sudo's built-in default).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SudoersValue {
    /// Option name, e.g. `timestamp_timeout`.
    pub option: String,
    /// Value when no line sets it (sudo's built-in default).
    pub default: i64,
    /// Largest allowed value.
    pub max: i64,
    /// Values that fail whatever `max` says (`-1`: never times out).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not: Vec<i64>,
}

impl Check for SudoersValue {
    fn judge(&self, f: &Facts<'_>) -> Verdict {
        sudoers_value(f.root(), &self.option, self.default, self.max, &self.not)
    }
}

fn sudoers_value(root: &Root, option: &str, default: i64, max: i64, not: &[i64]) -> Verdict {
    if !root.exists("/etc/sudoers") {
        return verdict(
            CisStatus::Notapplicable,
            vec![Evidence::said("no /etc/sudoers: sudo is not installed")],
        );
    }
    let entries = defaults(root);
    let decided = effective(&entries, option);
    let (value, evidence) = match decided {
        Some(e) => {
            let v = match &e.op {
                Op::Set(v) => v.trim_matches('"').parse::<f64>().ok(),
                // `!timestamp_timeout` means 0 for a number.
                Op::Off => Some(0.0),
                Op::On => None,
            };
            (v, Evidence::at(&e.file, e.line, e.shown()))
        }
        None => (
            Some(default as f64),
            Evidence::said(format!("{option} = {default} (sudo's default)")),
        ),
    };
    let ok = value.is_some_and(|v| v <= max as f64 && !not.iter().any(|n| *n as f64 == v));
    pass_if(ok, vec![evidence])
}

#[cfg(test)]
mod tests {
    use super::*;

    use vpsc_engine::testing::tree;

    #[test]
    fn the_last_global_setting_wins_and_scoped_ones_are_not_global() {
        let dir = tree(&[
            (
                "/etc/sudoers",
                "Defaults use_pty, logfile = \"/var/log/sudo, main.log\" # comment, !use_pty\n\
                 Defaults:alice, bob !authenticate\n\
                 Defaults@db1 !use_pty\n\
                 Defaults>root !logfile\n\
                 @includedir sudoers.d\n",
            ),
            (
                "/etc/sudoers.d/10-later",
                "Defaults\\\n  !use_pty\n@include ../extra\n",
            ),
            ("/etc/sudoers.d/20-skip.conf", "Defaults use_pty\n"),
            ("/etc/sudoers.d/30-skip~", "Defaults use_pty\n"),
            (
                "/etc/extra",
                "Defaults!ALL !!use_pty\nDefaults:ALL !authenticate\n",
            ),
        ]);
        let entries = defaults(&Root::new(dir.path()));
        let logfile = effective(&entries, "logfile").expect("set");
        assert_eq!(logfile.op, Op::Set("/var/log/sudo, main.log".into()));
        let alice = entries
            .iter()
            .find(|e| e.binding == Binding::User && e.list == "alice,bob")
            .expect("scoped entry");
        assert!(!alice.is_global());
        assert_eq!(alice.shown(), "Defaults:alice,bob !authenticate");
        // `!use_pty` in 10-later (continued line, relative includedir)
        // overrides sudoers; the command-bound ALL entry comes last of all.
        let pty = effective(&entries, "use_pty").expect("set");
        assert_eq!(
            (pty.file.as_str(), pty.line, &pty.op),
            ("/etc/extra", 1, &Op::On)
        );
        let without = &entries[..entries.len() - 2];
        let pty = effective(without, "use_pty").expect("set");
        assert_eq!(
            (pty.file.as_str(), pty.line, &pty.op),
            ("/etc/sudoers.d/10-later", 1, &Op::Off)
        );
        let auth = effective(&entries, "authenticate").expect("ALL is everyone");
        assert_eq!(auth.op, Op::Off);
        assert!(!entries.iter().any(|e| e.file.contains("skip")));
    }

    #[test]
    fn include_lines_are_told_from_comments() {
        assert_eq!(
            directive("#includedir /etc/sudoers.d", "includedir").as_deref(),
            Some("/etc/sudoers.d")
        );
        assert_eq!(
            directive("@include \"my file\"", "include").as_deref(),
            Some("my file")
        );
        assert_eq!(directive("#includedir /etc/sudoers.d", "include"), None);
        assert_eq!(directive("#including this", "include"), None);
        assert_eq!(resolve("/etc", "sudoers.d"), "/etc/sudoers.d");
        assert_eq!(resolve("/etc/sudoers.d", "/etc/x"), "/etc/x");
        assert_eq!(resolve("/etc/sudoers.d", "../../../x"), "/x");
    }
}
