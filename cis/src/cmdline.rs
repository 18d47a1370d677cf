//! The kernel command line: as GRUB will write it, from `/etc/default/grub`
//! and then `/etc/default/grub.d/*.cfg` in name order (grub-mkconfig
//! sources them as shell, so a later assignment wins and
//! `GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX audit=1"` appends), and on a
//! running system as it booted (`/proc/cmdline`).
//!
//! Debian's 10_linux gives normal entries `GRUB_CMDLINE_LINUX
//! GRUB_CMDLINE_LINUX_DEFAULT` and recovery entries
//! `GRUB_CMDLINE_LINUX_RECOVERY GRUB_CMDLINE_LINUX` (unless
//! `GRUB_DISABLE_RECOVERY=true`), so a parameter only in `..._DEFAULT` is
//! missing from recovery boots. The kernel takes the last occurrence of a
//! parameter, treats `-` and `_` in names alike, and passes what follows
//! ` -- ` to init.
//!
//! The shell is evaluated only as far as plain assignments go (quotes,
//! `$VAR` and `${VAR}`); an assignment inside `if`/`case`/a loop or a
//! function, or one using command substitution, leaves the variable
//! unknown rather than guessed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use vpsc_contract::Invalid;

use crate::check::Check;
use crate::facts::{Fact, Facts};
use crate::verdict::{CisStatus, Evidence, Verdict, verdict};
use vpsc_engine::root::Root;

/// The main file.
pub const GRUB_DEFAULT: &str = "/etc/default/grub";

/// The directory of snippets sourced after it.
const GRUB_D: &str = "/etc/default/grub.d";

/// A variable's value and where it was last assigned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Var {
    /// Known: value, file and line of the last assignment.
    Set(String, String, usize),
    /// Assigned in a way this evaluator does not follow: file, line, why.
    Unknown(String, usize, String),
}

/// Why the value of a shell word is not followed: the shell would decide
/// it at run time, or refuse it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum Unfollowed {
    /// `'` without its end.
    #[error("an unterminated single quote")]
    SingleQuote,
    /// `"` without its end.
    #[error("an unterminated double quote")]
    DoubleQuote,
    /// `` ` `` or `$(`.
    #[error("command substitution")]
    CommandSubstitution,
    /// `${` without its end.
    #[error("an unterminated ${{")]
    Brace,
    /// `${…}` with more than a name in it.
    #[error("the expansion ${{{0}}}")]
    Expansion(String),
    /// A variable whose own value is not followed.
    #[error("${0} is unknown ({1})")]
    UnknownVariable(String, String),
}

/// The variables of GRUB's defaults files.
#[derive(Debug, Default)]
pub struct GrubDefaults {
    /// Whether /etc/default/grub exists.
    pub found: bool,
    vars: BTreeMap<String, Var>,
}

impl GrubDefaults {
    /// Sources /etc/default/grub and /etc/default/grub.d/*.cfg under `root`.
    pub fn load(root: &Root) -> GrubDefaults {
        let mut g = GrubDefaults {
            found: root.is_file(GRUB_DEFAULT),
            ..GrubDefaults::default()
        };
        let mut files = vec![GRUB_DEFAULT.to_owned()];
        if let Ok(entries) = root.read_dir_names(GRUB_D) {
            let mut names: Vec<String> = entries
                .into_iter()
                .filter(|n| n.ends_with(".cfg"))
                .collect();
            names.sort();
            files.extend(names.into_iter().map(|n| format!("{GRUB_D}/{n}")));
        }
        for file in files {
            if let Ok(text) = root.read_to_string(&file) {
                g.source(&file, &text);
            }
        }
        g
    }

    /// The value of `name`; `None` when it is never assigned.
    pub fn get(&self, name: &str) -> Option<&Var> {
        self.vars.get(name)
    }

    fn source(&mut self, file: &str, text: &str) {
        let is_name =
            |n: &str| !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        // Depth of compound commands: assignments inside are conditional.
        let mut depth = 0usize;
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let l = raw.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            let words: Vec<&str> = l
                .split(|c: char| c.is_whitespace() || c == ';')
                .filter(|w| !w.is_empty())
                .collect();
            let opens = words
                .iter()
                .filter(|w| matches!(**w, "if" | "case" | "for" | "while" | "until"))
                .count()
                + usize::from(l.ends_with('{'));
            let closes = words
                .iter()
                .filter(|w| matches!(**w, "fi" | "esac" | "done" | "}"))
                .count();
            let inside = depth > 0 || opens > 0;
            depth = (depth + opens).saturating_sub(closes);
            let body = l.strip_prefix("export ").unwrap_or(l).trim_start();
            match body.split_once('=') {
                Some((name, value)) if !inside && is_name(name) => {
                    let var = match self.word(value) {
                        Ok(v) => Var::Set(v, file.to_owned(), line),
                        Err(why) => Var::Unknown(file.to_owned(), line, why.to_string()),
                    };
                    self.vars.insert(name.to_owned(), var);
                }
                _ => {
                    // An assignment inside a compound command or after
                    // `&&` happens only when the shell decides so.
                    for w in &words {
                        if let Some((name, _)) = w.split_once('=') {
                            if is_name(name) {
                                self.vars.insert(
                                name.to_owned(),
                                Var::Unknown(
                                    file.to_owned(),
                                    line,
                                    "assigned conditionally (inside a compound command or after && or ||)"
                                        .into(),
                                ),
                            );
                            }
                        }
                    }
                }
            }
        }
    }

    /// The value of a shell word: quotes removed, variables expanded, up
    /// to the first unquoted blank, `;` or comment.
    fn word(&self, text: &str) -> Result<String, Unfollowed> {
        let chars: Vec<char> = text.chars().collect();
        let mut out = String::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                ' ' | '\t' | ';' => break,
                '\'' => {
                    let end = chars[i + 1..]
                        .iter()
                        .position(|&c| c == '\'')
                        .ok_or(Unfollowed::SingleQuote)?;
                    out.extend(&chars[i + 1..i + 1 + end]);
                    i += end + 2;
                }
                '"' => {
                    i += 1;
                    loop {
                        match chars.get(i) {
                            None => return Err(Unfollowed::DoubleQuote),
                            Some('"') => break,
                            Some('\\')
                                if matches!(chars.get(i + 1), Some('"' | '\\' | '$' | '`')) =>
                            {
                                out.push(chars[i + 1]);
                                i += 2;
                            }
                            Some('$') => i = self.expand(&chars, i, &mut out)?,
                            Some('`') => return Err(Unfollowed::CommandSubstitution),
                            Some(c) => {
                                out.push(*c);
                                i += 1;
                            }
                        }
                    }
                    i += 1;
                }
                '$' => i = self.expand(&chars, i, &mut out)?,
                '`' => return Err(Unfollowed::CommandSubstitution),
                '\\' if i + 1 < chars.len() => {
                    out.push(chars[i + 1]);
                    i += 2;
                }
                c => {
                    out.push(c);
                    i += 1;
                }
            }
        }
        Ok(out)
    }

    /// Expands `$NAME` or `${NAME}` at `i` into `out`; the index after it.
    fn expand(&self, chars: &[char], i: usize, out: &mut String) -> Result<usize, Unfollowed> {
        let (name, next) = match chars.get(i + 1) {
            Some('{') => {
                let end = chars[i + 2..]
                    .iter()
                    .position(|&c| c == '}')
                    .ok_or(Unfollowed::Brace)?;
                (
                    chars[i + 2..i + 2 + end].iter().collect::<String>(),
                    i + 3 + end,
                )
            }
            Some('(') => return Err(Unfollowed::CommandSubstitution),
            _ => {
                let len = chars[i + 1..]
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
                    .count();
                if len == 0 {
                    out.push('$');
                    return Ok(i + 1);
                }
                (chars[i + 1..i + 1 + len].iter().collect(), i + 1 + len)
            }
        };
        if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(Unfollowed::Expansion(name));
        }
        match self.vars.get(&name) {
            Some(Var::Set(v, _, _)) => out.push_str(v),
            Some(Var::Unknown(_, _, why)) => {
                return Err(Unfollowed::UnknownVariable(name, why.clone()));
            }
            // An unset variable expands to nothing.
            None => {}
        }
        Ok(next)
    }
}

/// The last value of kernel parameter `param` in `cmdline` (`Some("")`
/// for a bare flag), names compared with `-` and `_` alike, stopping at
/// ` -- `.
pub fn param(cmdline: &str, param: &str) -> Option<String> {
    let want = param.replace('-', "_");
    let mut found = None;
    for word in cmdline.split_whitespace() {
        if word == "--" {
            break;
        }
        let (name, value) = word.split_once('=').unwrap_or((word, ""));
        if name.replace('-', "_") == want {
            found = Some(value.trim_matches('"').to_owned());
        }
    }
    found
}

/// Whether `value` satisfies `one_of` (any case) and `min`.
fn satisfies(value: &str, one_of: &[String], min: Option<u64>) -> bool {
    (one_of.is_empty() || one_of.iter().any(|v| v.eq_ignore_ascii_case(value)))
        && min.is_none_or(|m| value.parse::<u64>().is_ok_and(|n| n >= m))
}

impl Fact for GrubDefaults {
    fn read(root: &Root, _live: bool) -> GrubDefaults {
        GrubDefaults::load(root)
    }
}

/// A kernel parameter on the command line GRUB boots with (and, on a
/// running system, /proc/cmdline).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KernelCmdline {
    /// Parameter name.
    pub param: String,
    /// Allowed values (any case).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub one_of: Vec<String>,
    /// Smallest allowed number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<u64>,
}

impl Check for KernelCmdline {
    fn validate(&self) -> Result<(), Invalid> {
        let param = &self.param;
        let name = !param.is_empty()
            && param
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
        if !name {
            Err(Invalid::new(format!(
                "{param:?} is not a kernel parameter name"
            )))
        } else if self.one_of.is_empty() && self.min.is_none() {
            Err(Invalid::new(format!(
                "kernel parameter {param}: say one_of or min"
            )))
        } else {
            Ok(())
        }
    }

    fn judge(&self, f: &Facts<'_>) -> Verdict {
        judge(f, &self.param, &self.one_of, self.min)
    }
}

/// Judges a parameter on GRUB's normal and recovery entries and, on a
/// running system, /proc/cmdline.
fn judge(f: &Facts<'_>, name: &str, one_of: &[String], min: Option<u64>) -> Verdict {
    let g = f.get::<GrubDefaults>();
    let mut evidence = Vec::new();
    let mut status = CisStatus::Pass;
    let wanted = [
        (!one_of.is_empty()).then(|| one_of.join(" or ")),
        min.map(|m| format!("at least {m}")),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(", ");
    if !g.found {
        if !f.live() {
            return verdict(
                CisStatus::NotEvaluated,
                vec![Evidence::said(format!(
                    "no {GRUB_DEFAULT}: the kernel command line is not GRUB's; only /proc/cmdline of a running system tells"
                ))],
            );
        }
    } else {
        // The text of a variable, or the verdict that it is unknown.
        let text = |var: &str, default: &str| -> Result<String, Evidence> {
            match g.get(var) {
                Some(Var::Set(v, _, _)) => Ok(v.clone()),
                Some(Var::Unknown(file, line, why)) => {
                    Err(Evidence::at(file, *line, format!("{var}: {why}")))
                }
                None => Ok(default.to_owned()),
            }
        };
        let recovery_off =
            matches!(g.get("GRUB_DISABLE_RECOVERY"), Some(Var::Set(v, _, _)) if v == "true");
        let parts = (
            text("GRUB_CMDLINE_LINUX", ""),
            text("GRUB_CMDLINE_LINUX_DEFAULT", ""),
            text("GRUB_CMDLINE_LINUX_RECOVERY", "single"),
        );
        match parts {
            (Ok(linux), Ok(default), Ok(recovery)) => {
                if let Some(Var::Set(v, file, line)) = g.get("GRUB_CMDLINE_LINUX") {
                    evidence.push(Evidence::at(
                        file,
                        *line,
                        format!("GRUB_CMDLINE_LINUX=\"{v}\""),
                    ));
                }
                if let Some(Var::Set(v, file, line)) = g.get("GRUB_CMDLINE_LINUX_DEFAULT") {
                    evidence.push(Evidence::at(
                        file,
                        *line,
                        format!("GRUB_CMDLINE_LINUX_DEFAULT=\"{v}\""),
                    ));
                }
                let mut entries = vec![("normal", format!("{linux} {default}"))];
                if !recovery_off {
                    entries.push(("recovery", format!("{recovery} {linux}")));
                }
                for (kind, line) in entries {
                    match param(&line, name) {
                        Some(v) if satisfies(&v, one_of, min) => {}
                        found => {
                            status = CisStatus::Fail;
                            evidence.push(Evidence::said(format!(
                                "{kind} boot entries get {}, wanted {name}={wanted}",
                                found.map_or(format!("no {name}"), |v| format!("{name}={v}"))
                            )));
                        }
                    }
                }
            }
            (a, b, c) => {
                evidence.extend([a.err(), b.err(), c.err()].into_iter().flatten());
                status = CisStatus::NotEvaluated;
            }
        }
    }
    if f.live() {
        let running = std::fs::read_to_string("/proc/cmdline").unwrap_or_default();
        match param(&running, name) {
            Some(v) if satisfies(&v, one_of, min) => {
                evidence.push(Evidence::at(
                    "/proc/cmdline",
                    0,
                    format!("running {name}={v}"),
                ));
            }
            found => {
                status = CisStatus::Fail;
                evidence.push(Evidence::at(
                    "/proc/cmdline",
                    0,
                    format!(
                        "the running kernel booted with {}, wanted {name}={wanted}",
                        found.map_or(format!("no {name}"), |v| format!("{name}={v}"))
                    ),
                ));
            }
        }
    }
    verdict(status, evidence)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grub(files: &[(&str, &str)]) -> GrubDefaults {
        let dir = tempfile::tempdir().expect("tempdir");
        for (p, t) in files {
            let path = dir.path().join(p.trim_start_matches('/'));
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, t).expect("write");
        }
        GrubDefaults::load(&Root::new(dir.path()))
    }

    #[test]
    fn snippets_are_sourced_after_the_main_file() {
        let g = grub(&[
            (
                GRUB_DEFAULT,
                "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\nGRUB_CMDLINE_LINUX=\"\"\n",
            ),
            (
                "/etc/default/grub.d/50-audit.cfg",
                "GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX audit=1\"\n",
            ),
            (
                "/etc/default/grub.d/60-backlog.cfg",
                "export GRUB_CMDLINE_LINUX=\"${GRUB_CMDLINE_LINUX} audit_backlog_limit=8192\"\n",
            ),
            (
                "/etc/default/grub.d/70-ignored.txt",
                "GRUB_CMDLINE_LINUX=\"\"\n",
            ),
        ]);
        assert_eq!(
            g.get("GRUB_CMDLINE_LINUX"),
            Some(&Var::Set(
                " audit=1 audit_backlog_limit=8192".into(),
                "/etc/default/grub.d/60-backlog.cfg".into(),
                1
            ))
        );
    }

    #[test]
    fn what_the_shell_would_decide_at_run_time_is_unknown() {
        let g = grub(&[(
            GRUB_DEFAULT,
            "if [ -e /x ]; then\n  GRUB_CMDLINE_LINUX=\"audit=1\"\nfi\nGRUB_CMDLINE_LINUX_DEFAULT=\"$(cat /y)\"\n",
        )]);
        assert!(matches!(
            g.get("GRUB_CMDLINE_LINUX"),
            Some(Var::Unknown(..))
        ));
        assert!(matches!(
            g.get("GRUB_CMDLINE_LINUX_DEFAULT"),
            Some(Var::Unknown(..))
        ));
    }

    #[test]
    fn the_kernel_takes_the_last_occurrence() {
        assert_eq!(
            param("audit=1 quiet audit=0", "audit").as_deref(),
            Some("0")
        );
        assert_eq!(
            param("audit-backlog-limit=8192", "audit_backlog_limit").as_deref(),
            Some("8192")
        );
        assert_eq!(
            param("quiet -- audit=1", "audit"),
            None,
            "init's, not the kernel's"
        );
    }
}
