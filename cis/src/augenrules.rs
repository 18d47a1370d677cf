//! What the kernel gets at boot: augenrules(8) builds
//! /etc/audit/audit.rules from the files of /etc/audit/rules.d whose names
//! end in `.rules` (`ls -1v`: version order, so `9-a.rules` before
//! `10-b.rules`; hidden files skipped), dropping comments and empty lines;
//! of the `-D`, `-b` and `-f` lines it keeps the last of each at the top,
//! of the `-e` lines the last at the end. Without /etc/audit/rules.d,
//! /etc/audit/audit.rules is loaded as it is. `auditctl -R` then loads the
//! lines in order and stops at the first it cannot parse unless `-c` (or
//! `-i`) came before it; after `-e 2` the kernel takes no more rules. On a
//! running system, `auditctl -l` lists what the kernel has.

use crate::auditctl::{Line, Rule, parse_line};
use crate::verdict::Evidence;
use vpsc_engine::root::Root;

/// The directory augenrules reads.
pub const RULES_D: &str = "/etc/audit/rules.d";

/// The file auditctl loads.
pub const AUDIT_RULES: &str = "/etc/audit/audit.rules";

/// Why the running rules could not be listed.
#[derive(Debug, thiserror::Error)]
#[error("auditctl -l: {0}")]
pub struct ListingFailed(#[source] pub vpsc_engine::error::Error);

/// A line as read, with where it is.
#[derive(Debug, Clone)]
pub struct Entry {
    /// File, as seen from the root (`auditctl -l` when running).
    pub file: String,
    /// Line.
    pub line: usize,
    /// The text.
    pub text: String,
    /// What it is.
    pub parsed: Line,
}

/// The rules a load gives the kernel.
#[derive(Debug, Default)]
pub struct Loaded {
    /// What was read: the rules.d files or audit.rules.
    pub files: Vec<String>,
    /// Rules and controls the kernel gets, in load order.
    pub entries: Vec<Entry>,
    /// Lines that do not load, and why.
    pub problems: Vec<Evidence>,
}

/// ls -v's order: digit runs compared as numbers.
fn version_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let split = |s: &str| -> Vec<(bool, String)> {
        let mut parts: Vec<(bool, String)> = Vec::new();
        for c in s.chars() {
            let digit = c.is_ascii_digit();
            match parts.last_mut() {
                Some((d, p)) if *d == digit => p.push(c),
                _ => parts.push((digit, c.to_string())),
            }
        }
        parts
    };
    let (pa, pb) = (split(a), split(b));
    for (x, y) in pa.iter().zip(pb.iter()) {
        let o = match (x.0, y.0) {
            (true, true) => {
                let (nx, ny) = (x.1.trim_start_matches('0'), y.1.trim_start_matches('0'));
                nx.len()
                    .cmp(&ny.len())
                    .then(nx.cmp(ny))
                    .then(x.1.len().cmp(&y.1.len()))
            }
            _ => x.1.cmp(&y.1),
        };
        if o != std::cmp::Ordering::Equal {
            return o;
        }
    }
    pa.len().cmp(&pb.len())
}

impl Loaded {
    /// What augenrules would load at boot from the files under `root`.
    pub fn from_disk(root: &Root) -> Loaded {
        let mut raw: Vec<(String, usize, String)> = Vec::new();
        let mut loaded = Loaded::default();
        let augenrules = root.is_dir(RULES_D);
        if augenrules {
            let mut names: Vec<String> = root
                .read_dir_names(RULES_D)
                .unwrap_or_default()
                .into_iter()
                .filter(|n| n.ends_with(".rules") && !n.starts_with('.'))
                .collect();
            names.sort_by(|a, b| version_cmp(a, b));
            for n in names {
                let file = format!("{RULES_D}/{n}");
                if let Ok(text) = root.read_to_string(&file) {
                    loaded.files.push(file.clone());
                    for (i, l) in text.lines().enumerate() {
                        let l = l.trim_end_matches('\r');
                        let t = l.trim_start();
                        if !t.is_empty() && !t.starts_with('#') {
                            raw.push((file.clone(), i + 1, l.to_owned()));
                        }
                    }
                }
            }
            // augenrules' awk: the last -D (alone), -b and -f first, the
            // last -e at the end.
            let last = |raw: &[(String, usize, String)], test: &dyn Fn(&str) -> bool| {
                raw.iter().rposition(|(_, _, l)| test(l.trim_start()))
            };
            let is_d = |l: &str| l.trim_end() == "-D";
            let mut head = Vec::new();
            for test in [
                &is_d as &dyn Fn(&str) -> bool,
                &|l: &str| l.starts_with("-b"),
                &|l: &str| l.starts_with("-f"),
            ] {
                if let Some(p) = last(&raw, test) {
                    head.push(raw[p].clone());
                }
            }
            let tail = last(&raw, &|l: &str| l.starts_with("-e")).map(|p| raw[p].clone());
            let body: Vec<(String, usize, String)> = raw
                .into_iter()
                .filter(|(_, _, l)| {
                    let t = l.trim_start();
                    !(is_d(t) || t.starts_with("-b") || t.starts_with("-f") || t.starts_with("-e"))
                })
                .collect();
            raw = head.into_iter().chain(body).chain(tail).collect();
        } else if let Ok(text) = root.read_to_string(AUDIT_RULES) {
            loaded.files.push(AUDIT_RULES.to_owned());
            for (i, l) in text.lines().enumerate() {
                let t = l.trim();
                if !t.is_empty() && !t.starts_with('#') {
                    raw.push((AUDIT_RULES.to_owned(), i + 1, l.to_owned()));
                }
            }
        }
        loaded.load(raw);
        loaded
    }

    /// The rules `auditctl -l` lists on the running system.
    pub fn running(root: &Root) -> Result<Loaded, ListingFailed> {
        let text = root.run(&["auditctl", "-l"]).map_err(ListingFailed)?;
        Ok(Loaded::listed(&text))
    }

    /// The rules of an `auditctl -l` listing ("No rules" lists none).
    pub fn listed(text: &str) -> Loaded {
        let mut loaded = Loaded {
            files: vec!["auditctl -l".into()],
            ..Loaded::default()
        };
        let raw = text
            .lines()
            .enumerate()
            .filter(|(_, l)| l.trim_start().starts_with('-'))
            .map(|(i, l)| ("auditctl -l".to_owned(), i + 1, l.to_owned()))
            .collect();
        loaded.load(raw);
        loaded
    }

    /// auditctl -R over the lines in order.
    pub(super) fn load(&mut self, raw: Vec<(String, usize, String)>) {
        let mut keep_going = false;
        let mut immutable = false;
        let mut stopped: Option<String> = None;
        for (file, line, text) in raw {
            if let Some(at) = &stopped {
                self.problems.push(Evidence::at(
                    &file,
                    line,
                    format!("not loaded: auditctl stopped at {at}"),
                ));
                continue;
            }
            match parse_line(&text) {
                Ok(parsed) => {
                    if let Line::Control(opt, _) = &parsed {
                        if opt == "-c" || opt == "-i" {
                            keep_going = true;
                        }
                    }
                    if immutable && matches!(parsed, Line::Rule(_)) {
                        self.problems.push(Evidence::at(
                            &file,
                            line,
                            "not loaded: the rules are immutable (-e 2) by then",
                        ));
                        continue;
                    }
                    if let Line::Control(opt, Some(v)) = &parsed {
                        if opt == "-e" && v == "2" {
                            immutable = true;
                        }
                    }
                    self.entries.push(Entry {
                        file,
                        line,
                        text: text.trim().to_owned(),
                        parsed,
                    });
                }
                Err(why) => {
                    self.problems.push(Evidence::at(
                        &file,
                        line,
                        format!("auditctl rejects `{}`: {why}", text.trim()),
                    ));
                    if !keep_going {
                        stopped = Some(format!("{file}:{line}"));
                    }
                }
            }
        }
    }

    pub(super) fn rules(&self) -> impl Iterator<Item = (&Entry, &Rule)> {
        self.entries.iter().filter_map(|e| match &e.parsed {
            Line::Rule(r) => Some((e, r)),
            _ => None,
        })
    }

    /// The loaded rule that covers `want` for `syscall` (`None`: a rule
    /// with no syscalls), preferring one with a key; and whether it has one.
    pub(super) fn cover(&self, want: &Rule, syscall: Option<&str>) -> Option<(&Entry, bool)> {
        let fits = |r: &Rule| {
            r.fields == want.fields
                && if want.perm.is_empty() {
                    r.perm.is_empty()
                } else {
                    want.perm.is_subset(&r.perm)
                }
                && match syscall {
                    Some(s) => r.syscalls.is_empty() || r.syscalls.contains(s),
                    None => r.syscalls.is_empty(),
                }
        };
        let mut fitting = self.rules().filter(|(_, r)| fits(r));
        let first = fitting.next()?;
        if !first.1.keys.is_empty() {
            return Some((first.0, true));
        }
        Some(
            fitting
                .find(|(_, r)| !r.keys.is_empty())
                .map_or((first.0, false), |(e, _)| (e, true)),
        )
    }

    /// The last `-e` control and its entry.
    pub(super) fn last_enable(&self) -> Option<(&Entry, &str)> {
        self.entries.iter().rev().find_map(|e| match &e.parsed {
            Line::Control(o, Some(v)) if o == "-e" => Some((e, v.as_str())),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_running_listing_is_read_as_its_rules() {
        // What auditctl -l prints for CIS's rules: watches with a slash
        // kept, `-S all` for path rules, auid!=-1, keys as -F key=.
        let l = Loaded::listed(
            "-w /etc/sudoers.d/ -p wa -k scope\n\
             -a always,exit -F arch=b64 -S clock_settime -F a0=0x0 -F key=time-change\n\
             -a always,exit -F arch=b64 -S execve -C uid!=euid -F auid!=-1 -F key=user_emulation\n\
             -a always,exit -S all -F path=/usr/bin/chcon -F perm=x -F auid>=1000 -F auid!=-1 -F key=perm_chng\n",
        );
        for want in [
            "-w /etc/sudoers.d -p wa -k scope",
            "-a always,exit -F arch=b64 -S clock_settime -F a0=0 -k time-change",
            "-a always,exit -F arch=b64 -C euid!=uid -F auid!=unset -S execve -k user_emulation",
            "-a always,exit -F path=/usr/bin/chcon -F perm=x -F auid>=1000 -F auid!=unset -k perm_chng",
        ] {
            let Ok(Line::Rule(r)) = parse_line(want) else {
                panic!("{want} parses");
            };
            let syscall = r.syscalls.iter().next().map(String::as_str);
            assert!(
                matches!(l.cover(&r, syscall), Some((_, true))),
                "{want} in {:?}",
                l.entries
            );
        }
        assert!(Loaded::listed("No rules\n").entries.is_empty());
    }

    #[test]
    fn augenrules_order_and_the_stop_at_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = Root::new(dir.path());
        let write = |p: &str, t: &str| vpsc_engine::testing::write(dir.path(), p, t);
        write("/etc/audit/rules.d/10-base.rules", "-D\n-b 8192\n-e 1\n");
        write(
            "/etc/audit/rules.d/9-first.rules",
            "-e 2\n-w /etc/passwd -p wa -k identity\n",
        );
        write(
            "/etc/audit/rules.d/20-bad.rules",
            "-w /etc/group -p wa -k identity\n-x oops\n",
        );
        write(
            "/etc/audit/rules.d/30-after.rules",
            "-w /etc/shadow -p wa -k identity\n",
        );
        write("/etc/audit/rules.d/99-skipped.rules.bak", "-e 2\n");
        let l = Loaded::from_disk(&root);
        let texts: Vec<&str> = l.entries.iter().map(|e| e.text.as_str()).collect();
        assert_eq!(
            texts,
            vec![
                "-D",
                "-b 8192",
                "-w /etc/passwd -p wa -k identity",
                "-w /etc/group -p wa -k identity"
            ]
        );
        assert!(
            l.last_enable().is_none(),
            "the -e 1 line comes after the error"
        );
        assert_eq!(l.problems.len(), 3, "{:?}", l.problems);
        assert_eq!(
            version_cmp("9-first.rules", "10-base.rules"),
            std::cmp::Ordering::Less
        );
    }
}
