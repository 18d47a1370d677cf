//! journald's effective configuration, as systemd-journald reads it
//! (journald.conf(5), systemd.syntax(7)): `/etc/systemd/journald.conf`,
//! then the `*.conf` drop-ins of `journald.conf.d` under `/usr/lib`,
//! `/usr/local/lib`, `/run` and `/etc` (and `/lib` of a Debian 12 without
//! merged /usr), where a drop-in in a higher-priority directory hides one
//! of the same name in a lower one, all drop-ins applied in the lexical
//! order of their names, a later assignment winning.
//!
//! Only the `[Journal]` section counts. A value journald cannot parse is
//! ignored with a warning, so the previous one stays. What nobody sets is
//! the compile-time default of Debian's build, which differs from
//! upstream's in one place the rules judge: Debian's systemd re-enables
//! forwarding to syslog (its shipped journald.conf lists
//! `#ForwardToSyslog=yes`), so ForwardToSyslog defaults to yes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use vpsc_contract::Invalid;

use crate::check::Check;
use crate::facts::{Fact, Facts};
use crate::verdict::{Evidence, Verdict, pass_if};
use vpsc_engine::root::Root;

/// The main file.
const MAIN: &str = "/etc/systemd/journald.conf";

/// Drop-in directories, highest priority first (systemd.conf.d(5)).
const DROP_IN_DIRS: [&str; 5] = [
    "/etc/systemd/journald.conf.d",
    "/run/systemd/journald.conf.d",
    "/usr/local/lib/systemd/journald.conf.d",
    "/usr/lib/systemd/journald.conf.d",
    "/lib/systemd/journald.conf.d",
];

/// How journald parses a key's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A boolean (parse_boolean: 1/yes/y/true/t/on, 0/no/n/false/f/off).
    Bool,
    /// `Compress=`: a boolean or a size threshold (which means yes); an
    /// empty value resets it to yes.
    Compress,
    /// `Storage=`: volatile, persistent, auto or none.
    Storage,
}

/// The keys the rules judge, their kinds and Debian's defaults.
const KEYS: &[(&str, Kind, &str)] = &[
    ("Compress", Kind::Compress, "yes"),
    ("ForwardToSyslog", Kind::Bool, "yes"),
    ("Storage", Kind::Storage, "auto"),
];

/// Where a value was set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The value as journald understands it (`yes`/`no` for booleans).
    pub value: String,
    /// The line as written.
    pub written: String,
    /// File, as seen from the root.
    pub file: String,
    /// Line.
    pub line: usize,
}

/// The effective settings of the keys the rules judge, and the lines
/// journald ignores among them.
#[derive(Debug, Default)]
pub struct Journald {
    settings: BTreeMap<&'static str, Setting>,
    /// Assignments journald rejects, for evidence.
    pub ignored: Vec<Setting>,
}

/// Whether the scanner knows how journald reads `key`.
pub fn known(key: &str) -> bool {
    KEYS.iter().any(|(k, _, _)| *k == key)
}

/// Whether `value` is a canonical value of `key` (what rules compare with).
pub fn valid_value(key: &str, value: &str) -> bool {
    match KEYS
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, kind, _)| kind)
    {
        Some(Kind::Bool | Kind::Compress) => matches!(value, "yes" | "no"),
        Some(Kind::Storage) => matches!(value, "volatile" | "persistent" | "auto" | "none"),
        None => false,
    }
}

impl Journald {
    /// Reads the main file and the drop-ins under `root`.
    pub fn load(root: &Root) -> Journald {
        let mut dropins: BTreeMap<String, String> = BTreeMap::new();
        for dir in DROP_IN_DIRS.iter().rev() {
            let Ok(entries) = root.read_dir_names(dir) else {
                continue;
            };
            for name in entries {
                if name.ends_with(".conf") {
                    // Higher-priority directories come later and replace.
                    dropins.insert(name.clone(), format!("{dir}/{name}"));
                }
            }
        }
        let mut j = Journald::default();
        for file in std::iter::once(MAIN.to_owned()).chain(dropins.into_values()) {
            // A drop-in linked to /dev/null reads as empty, as it should.
            let Ok(text) = root.read_to_string(&file) else {
                continue;
            };
            j.read(&file, &text);
        }
        j
    }

    fn read(&mut self, file: &str, text: &str) {
        let mut section = String::new();
        for (line, content) in logical_lines(text) {
            let l = content.trim();
            if l.is_empty() || l.starts_with('#') || l.starts_with(';') {
                continue;
            }
            if let Some(name) = l.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
                section = name.to_owned();
                continue;
            }
            let Some((key, value)) = l.split_once('=') else {
                continue;
            };
            let (key, value) = (key.trim(), value.trim());
            let Some((name, kind, default)) = KEYS.iter().find(|(k, _, _)| *k == key) else {
                continue;
            };
            let at = Setting {
                value: String::new(),
                written: l.to_owned(),
                file: file.to_owned(),
                line,
            };
            if section != "Journal" {
                // "Assignment outside of section" or in another section.
                self.ignored.push(at);
                continue;
            }
            match parse(*kind, value, default) {
                Some(v) => {
                    self.settings.insert(name, Setting { value: v, ..at });
                }
                None => self.ignored.push(at),
            }
        }
    }

    /// The value of `key` and the assignment that decides it; `None` for
    /// the assignment when it is Debian's default.
    pub fn get(&self, key: &str) -> (String, Option<&Setting>) {
        match self.settings.get(key) {
            Some(s) => (s.value.clone(), Some(s)),
            None => (
                KEYS.iter()
                    .find(|(k, _, _)| *k == key)
                    .map(|(_, _, d)| (*d).to_owned())
                    .unwrap_or_default(),
                None,
            ),
        }
    }
}

impl Fact for Journald {
    fn read(root: &Root, _live: bool) -> Journald {
        Journald::load(root)
    }
}

/// A journald setting's effective value across journald.conf and its
/// drop-ins is one of some values.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournaldValue {
    /// Key, e.g. `Storage`.
    pub key: String,
    /// Allowed values (`yes`/`no` for booleans).
    pub one_of: Vec<String>,
}

impl Check for JournaldValue {
    fn validate(&self) -> Result<(), Invalid> {
        let (key, one_of) = (&self.key, &self.one_of);
        if !known(key) {
            Err(Invalid::new(format!(
                "journald key {key} is not one the scanner reads"
            )))
        } else if one_of.is_empty() || !one_of.iter().all(|v| valid_value(key, v)) {
            Err(Invalid::new(format!(
                "journald {key}: one_of {one_of:?} are not values of it"
            )))
        } else {
            Ok(())
        }
    }

    fn judge(&self, f: &Facts<'_>) -> Verdict {
        judge(&f.get::<Journald>(), &self.key, &self.one_of)
    }
}

/// The effective value of `key` is one of `one_of`.
fn judge(j: &Journald, key: &str, one_of: &[String]) -> Verdict {
    let (value, at) = j.get(key);
    let mut evidence = vec![match at {
        Some(s) => Evidence::at(&s.file, s.line, s.written.clone()),
        None => Evidence::said(format!(
            "{key}={value}: not set in {MAIN} or a journald.conf.d drop-in; Debian's systemd default"
        )),
    }];
    for i in j.ignored.iter().filter(|i| i.written.starts_with(key)) {
        evidence.push(Evidence::at(
            &i.file,
            i.line,
            format!(
                "{}: journald ignores it (no [Journal] section, or not a value of {key})",
                i.written
            ),
        ));
    }
    let ok = one_of.contains(&value);
    if !ok {
        evidence.push(Evidence::said(format!(
            "{key} is {value}, wanted {}",
            one_of.join(" or ")
        )));
    }
    pass_if(ok, evidence)
}

/// Lines with a trailing backslash joined to the next (systemd.syntax(7)),
/// each with the number of the line it starts on.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let (start, mut acc) = pending.take().unwrap_or((i + 1, String::new()));
        // A comment line inside a continuation is skipped, as systemd does.
        let t = raw.trim_start();
        if !acc.is_empty() && (t.starts_with('#') || t.starts_with(';')) {
            pending = Some((start, acc));
            continue;
        }
        match raw.strip_suffix('\\') {
            Some(head) => {
                acc.push_str(head);
                acc.push(' ');
                pending = Some((start, acc));
            }
            None => {
                acc.push_str(raw);
                out.push((start, acc));
            }
        }
    }
    out.extend(pending);
    out
}

/// systemd's parse_boolean.
fn boolean(value: &str) -> Option<bool> {
    let v = value.to_ascii_lowercase();
    match v.as_str() {
        "1" | "yes" | "y" | "true" | "t" | "on" => Some(true),
        "0" | "no" | "n" | "false" | "f" | "off" => Some(false),
        _ => None,
    }
}

/// A size as parse_size reads it: digits with an optional K/M/G/T/P/E
/// suffix (and `B`).
fn size(value: &str) -> bool {
    let digits = value.trim_end_matches(|c: char| "KMGTPEB".contains(c.to_ascii_uppercase()));
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && value.len() - digits.len() <= 2
}

/// The value journald takes from `value`, or `None` when it ignores it.
fn parse(kind: Kind, value: &str, default: &str) -> Option<String> {
    let yes_no = |b: bool| if b { "yes" } else { "no" }.to_owned();
    match kind {
        Kind::Bool => boolean(value).map(yes_no),
        Kind::Compress if value.is_empty() => Some(default.to_owned()),
        Kind::Compress => boolean(value)
            .map(yes_no)
            .or_else(|| size(value).then(|| "yes".to_owned())),
        // The names are matched exactly (storage_from_string).
        Kind::Storage => {
            matches!(value, "volatile" | "persistent" | "auto" | "none").then(|| value.to_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &std::path::Path, p: &str, t: &str) {
        let path = dir.join(p.trim_start_matches('/'));
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, t).expect("write");
    }

    #[test]
    fn drop_ins_override_in_name_order_and_etc_hides_usr_lib() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = Root::new(dir.path());
        let j = Journald::load(&root);
        assert_eq!(j.get("ForwardToSyslog").0, "yes", "Debian's default");
        assert_eq!(j.get("Storage").0, "auto");
        write(
            dir.path(),
            MAIN,
            "[Journal]\nStorage=persistent\nForwardToSyslog=no\nCompress=no\n",
        );
        write(
            dir.path(),
            "/usr/lib/systemd/journald.conf.d/10-vendor.conf",
            "[Journal]\nStorage=volatile\n",
        );
        write(
            dir.path(),
            "/etc/systemd/journald.conf.d/10-vendor.conf",
            "# hides the vendor file\n",
        );
        write(
            dir.path(),
            "/run/systemd/journald.conf.d/20-run.conf",
            "[Journal]\nForwardToSyslog=yes\nCompress=4M\n",
        );
        write(
            dir.path(),
            "/etc/systemd/journald.conf.d/30-late.conf",
            "[Journal]\nStorage=Persistent\n[Other]\nForwardToSyslog=no\n",
        );
        let j = Journald::load(&root);
        let (storage, at) = j.get("Storage");
        assert_eq!(storage, "persistent", "Persistent is no Storage value");
        assert_eq!(at.map(|s| s.file.as_str()), Some(MAIN));
        assert_eq!(j.get("ForwardToSyslog").0, "yes");
        assert_eq!(j.get("Compress").0, "yes", "a threshold means yes");
        assert_eq!(j.ignored.len(), 2);
    }

    #[test]
    fn values_are_parsed_as_systemd_does() {
        assert_eq!(parse(Kind::Bool, "On", "no").as_deref(), Some("yes"));
        assert_eq!(parse(Kind::Bool, "", "no"), None);
        assert_eq!(parse(Kind::Compress, "", "yes").as_deref(), Some("yes"));
        assert_eq!(parse(Kind::Compress, "0", "yes").as_deref(), Some("no"));
        assert_eq!(parse(Kind::Compress, "512K", "yes").as_deref(), Some("yes"));
        assert_eq!(parse(Kind::Storage, "\"persistent\"", "auto"), None);
        assert_eq!(
            logical_lines("[Journal]\nStorage=\\\npersistent\n"),
            vec![(1, "[Journal]".into()), (2, "Storage= persistent".into())]
        );
    }
}
