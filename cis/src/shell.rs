//! Login shell settings (`umask`, `TMOUT`) as a Debian login shell gets
//! them: pam_umask's `UMASK` from login.defs when pam_umask is in the
//! session stack, then `/etc/profile`, `/etc/bash.bashrc` (which Debian's
//! profile sources for bash) and `/etc/profile.d/*.sh`, in that order, the
//! last setting winning.

use std::os::unix::fs::MetadataExt;

use serde::{Deserialize, Serialize};
use vpsc_contract::Invalid;

use crate::check::Check;
use crate::facts::Facts;
use crate::logindefs::login_defs_value;
use crate::pam;
use crate::verdict::{CisStatus, Evidence, Verdict, pass_if, verdict};
use vpsc_engine::root::Root;

/// One setting found, with where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// File, as seen from the root.
    pub file: String,
    /// Line.
    pub line: usize,
    /// The statement as written.
    pub text: String,
}

/// The files a login shell reads, in order.
pub fn login_files(root: &Root) -> Vec<String> {
    let mut files = vec!["/etc/profile".to_owned(), "/etc/bash.bashrc".to_owned()];
    files.extend(crate::paths::dir_files(root, "/etc/profile.d", ".sh"));
    files
}

/// Statements of `files` (comments and blank lines dropped), each with
/// where it is.
pub fn statements(root: &Root, files: &[String]) -> Vec<Found> {
    let mut out = Vec::new();
    for f in files {
        let Ok(text) = root.read_to_string(f) else {
            continue;
        };
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or_default().trim();
            if !line.is_empty() {
                out.push(Found {
                    file: f.clone(),
                    line: i + 1,
                    text: line.to_owned(),
                });
            }
        }
    }
    out
}

/// The mask `umask ARG` sets: octal (`027`) or symbolic (`u=rwx,g=rx,o=`).
pub fn parse_umask(arg: &str) -> Option<u32> {
    if arg.bytes().all(|b| (b'0'..=b'7').contains(&b)) && !arg.is_empty() {
        return u32::from_str_radix(arg, 8).ok().filter(|m| *m <= 0o777);
    }
    // Symbolic: what each class may do; the mask is what it may not.
    let mut allowed = 0o777;
    for part in arg.split(',') {
        let (who, perms) = part.split_once('=')?;
        let bits = perms.chars().try_fold(0, |acc, c| match c {
            'r' => Some(acc | 4),
            'w' => Some(acc | 2),
            'x' => Some(acc | 1),
            _ => None,
        })?;
        for w in who.chars() {
            let shift = match w {
                'u' => 6,
                'g' => 3,
                'o' => 0,
                _ => return None,
            };
            allowed = (allowed & !(0o7 << shift)) | (bits << shift);
        }
    }
    Some(0o777 & !allowed)
}

/// The `umask` statements among `statements`, with the mask each sets.
pub fn umasks(statements: &[Found]) -> Vec<(Found, Option<u32>)> {
    statements
        .iter()
        .filter_map(|s| {
            let mut words = s.text.split_whitespace();
            (words.next() == Some("umask")).then(|| {
                let arg = words.find(|w| !w.starts_with('-'));
                (s.clone(), arg.and_then(parse_umask))
            })
        })
        .collect()
}

/// root's PATH as a login shell builds it: login.defs' `ENV_SUPATH`, then
/// the `PATH=` assignments of /etc/profile.d and root's own dot files in
/// the order they run (`$PATH` standing for the value so far). Debian's
/// /etc/profile sets root's branch to the same value as ENV_SUPATH.
pub fn root_path_entries(root: &Root) -> (Vec<String>, Vec<Found>) {
    let defs = root.read_to_string("/etc/login.defs").unwrap_or_default();
    let mut path: Vec<String> = defs
        .lines()
        .rev()
        .find_map(|l| {
            let mut w = l.split_whitespace();
            (w.next() == Some("ENV_SUPATH")).then(|| w.next().map(str::to_owned))?
        })
        .map(|v| v.trim_start_matches("PATH=").to_owned())
        .unwrap_or_else(|| "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into())
        .split(':')
        .map(str::to_owned)
        .collect();
    let mut files: Vec<String> = login_files(root)
        .into_iter()
        .filter(|f| f.starts_with("/etc/profile.d/"))
        .collect();
    files.extend(["/root/.profile", "/root/.bash_profile", "/root/.bashrc"].map(str::to_owned));
    let mut assignments = Vec::new();
    for s in statements(root, &files) {
        let text = s.text.strip_prefix("export ").unwrap_or(&s.text).trim();
        let Some(value) = text.strip_prefix("PATH=") else {
            continue;
        };
        let value = value.trim_matches(['"', '\'']);
        path = value
            .split(':')
            .flat_map(|p| {
                if p == "$PATH" || p == "${PATH}" {
                    path.clone()
                } else {
                    vec![p.to_owned()]
                }
            })
            .collect();
        assignments.push(s.clone());
    }
    (path, assignments)
}

/// The umask a login shell ends up with masks at least these bits, e.g.
/// `027`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefaultUmask {
    /// Bits that must be masked, octal.
    pub at_least: String,
}

impl Check for DefaultUmask {
    fn validate(&self) -> Result<(), Invalid> {
        umask_valid(&self.at_least)
    }

    fn judge(&self, f: &Facts<'_>) -> Verdict {
        default_umask(f.root(), &self.at_least)
    }
}

/// Whether `at_least` is an umask (`027`).
fn umask_valid(at_least: &str) -> Result<(), Invalid> {
    parse_umask(at_least)
        .map(drop)
        .ok_or_else(|| Invalid::new(format!("umask {at_least:?} is not octal")))
}

fn default_umask(root: &Root, at_least: &str) -> Verdict {
    let want = parse_umask(at_least).unwrap_or(0o027);
    let mut set: Vec<(Evidence, Option<u32>)> = Vec::new();
    // pam_umask applies login.defs' UMASK before any shell file runs.
    let pam_umask = pam::stack(root, "common-session")
        .iter()
        .any(|l| l.kind == "session" && l.module == "pam_umask.so");
    if pam_umask {
        let defs = root.read_to_string("/etc/login.defs").unwrap_or_default();
        if let Some((line, v)) = login_defs_value(&defs, "UMASK") {
            set.push((
                Evidence::at("/etc/login.defs", line, format!("UMASK {v} (pam_umask)")),
                parse_umask(&v),
            ));
        }
    }
    let statements = statements(root, &login_files(root));
    for (s, mask) in umasks(&statements) {
        set.push((Evidence::at(&s.file, s.line, s.text), mask));
    }
    let Some((_, last)) = set.last() else {
        return verdict(
            CisStatus::Fail,
            vec![Evidence::said(
                "no umask is set for login shells: the kernel's 022 applies",
            )],
        );
    };
    let ok = last.is_some_and(|m| m & want == want);
    let mut evidence: Vec<Evidence> = set.iter().map(|(e, _)| e.clone()).collect();
    if !ok {
        evidence.push(Evidence::said(format!(
            "the last one read decides, and masks less than {at_least}"
        )));
    }
    pass_if(ok, evidence)
}

/// No umask in root's `~/.bash_profile` or `~/.bashrc` masks fewer than
/// these bits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RootUmask {
    /// Bits that must be masked, octal.
    pub at_least: String,
}

impl Check for RootUmask {
    fn validate(&self) -> Result<(), Invalid> {
        umask_valid(&self.at_least)
    }

    fn judge(&self, f: &Facts<'_>) -> Verdict {
        root_umask(f.root(), &self.at_least)
    }
}

fn root_umask(root: &Root, at_least: &str) -> Verdict {
    let want = parse_umask(at_least).unwrap_or(0o027);
    let files = ["/root/.bash_profile".to_owned(), "/root/.bashrc".to_owned()];
    let found = umasks(&statements(root, &files));
    let weak: Vec<Evidence> = found
        .iter()
        .filter(|(_, m)| !m.is_some_and(|m| m & want == want))
        .map(|(s, _)| Evidence::at(&s.file, s.line, s.text.clone()))
        .collect();
    if weak.is_empty() {
        verdict(
            CisStatus::Pass,
            vec![Evidence::said(format!(
                "no umask weaker than {at_least} in /root/.bash_profile or /root/.bashrc"
            ))],
        )
    } else {
        verdict(CisStatus::Fail, weak)
    }
}

/// Login shells time out: `TMOUT` set between 1 and `max` seconds
/// wherever it is set, read-only and exported.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShellTimeout {
    /// Longest allowed timeout, seconds.
    pub max: u64,
}

impl Check for ShellTimeout {
    fn judge(&self, f: &Facts<'_>) -> Verdict {
        shell_timeout(f.root(), self.max)
    }
}

fn shell_timeout(root: &Root, max: u64) -> Verdict {
    let statements = statements(root, &login_files(root));
    let mut evidence = Vec::new();
    let (mut ok, mut assigned, mut readonly, mut exported) = (true, false, false, false);
    for s in &statements {
        let words: Vec<&str> = s.text.split_whitespace().collect();
        let Some(pos) = words
            .iter()
            .position(|w| *w == "TMOUT" || w.starts_with("TMOUT="))
        else {
            continue;
        };
        let (head, flags) = (words.first().copied().unwrap_or_default(), &words[..pos]);
        let flag = |c: char| flags.iter().any(|f| f.starts_with('-') && f.contains(c));
        readonly |= head == "readonly" || (matches!(head, "declare" | "typeset") && flag('r'));
        exported |= head == "export" || (matches!(head, "declare" | "typeset") && flag('x'));
        if let Some(v) = words[pos].strip_prefix("TMOUT=") {
            assigned = true;
            let good = v
                .trim_matches(['"', '\''])
                .parse::<u64>()
                .is_ok_and(|n| (1..=max).contains(&n));
            ok &= good;
        }
        evidence.push(Evidence::at(&s.file, s.line, s.text.clone()));
    }
    if !assigned {
        evidence.push(Evidence::said("TMOUT is not set: shells never time out"));
    }
    if assigned && !readonly {
        evidence.push(Evidence::said(
            "TMOUT is not read-only: a user can unset it",
        ));
    }
    if assigned && !exported {
        evidence.push(Evidence::said("TMOUT is not exported"));
    }
    pass_if(ok && assigned && readonly && exported, evidence)
}

/// root's PATH has no empty, `.` or relative entry, and every directory in
/// it exists, is root's and writable by nobody else.
#[derive(Debug, Clone, Copy)]
pub struct RootPath;

impl Check for RootPath {
    fn judge(&self, f: &Facts<'_>) -> Verdict {
        root_path(f.root())
    }
}

fn root_path(root: &Root) -> Verdict {
    let (path, assignments) = root_path_entries(root);
    let mut evidence: Vec<Evidence> = assignments
        .iter()
        .map(|a| Evidence::at(&a.file, a.line, a.text.clone()))
        .collect();
    let mut ok = true;
    for dir in &path {
        let problem = if dir.is_empty() || dir == "." || !dir.starts_with('/') {
            Some(format!("{dir:?}: the current directory is searched"))
        } else {
            match root.metadata(dir) {
                Err(_) => Some(format!("{dir} does not exist")),
                Ok(m) if !m.is_dir() => Some(format!("{dir} is not a directory")),
                Ok(m) if m.uid() != 0 => Some(format!("{dir} is not owned by root")),
                Ok(m) if m.mode() & 0o022 != 0 => Some(format!(
                    "{dir} is writable by group or others ({:04o})",
                    m.mode() & 0o7777
                )),
                Ok(_) => None,
            }
        };
        if let Some(p) = problem {
            ok = false;
            evidence.push(Evidence::said(p));
        }
    }
    evidence.insert(
        0,
        Evidence::said(format!("root's PATH: {}", path.join(":"))),
    );
    pass_if(ok, evidence)
}

#[cfg(test)]
mod tests {
    use super::parse_umask;

    #[test]
    fn octal_and_symbolic_masks() {
        assert_eq!(parse_umask("027"), Some(0o027));
        assert_eq!(parse_umask("0077"), Some(0o077));
        assert_eq!(parse_umask("u=rwx,g=rx,o="), Some(0o027));
        assert_eq!(parse_umask("u=rwx,go="), Some(0o077));
        assert_eq!(parse_umask("999"), None);
        assert_eq!(parse_umask("u+x"), None);
    }
}
