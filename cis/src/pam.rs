//! PAM as Linux-PAM reads it: the stacks in `/etc/pam.d` (Debian's
//! `common-*` files, which every service includes), and the settings of
//! pam_pwquality, pam_faillock and pam_pwhistory as they take effect: the
//! module's configuration file, then its arguments on the stack line,
//! which override the file.

use serde::{Deserialize, Serialize};
use vpsc_contract::Invalid;

use crate::check::Check;
use crate::facts::Facts;
use crate::verdict::{CisStatus, Evidence, Verdict, pass_if, verdict};
use vpsc_engine::accounts::{self, Db};
use vpsc_engine::root::Root;

/// One module line of a stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PamLine {
    /// File, as seen from the root.
    pub file: String,
    /// Line number.
    pub line: usize,
    /// auth, account, password or session (without a leading `-`).
    pub kind: String,
    /// Control: `required` or `[success=1 default=ignore]`.
    pub control: String,
    /// Module file name (`pam_unix.so`), whatever directory was written.
    pub module: String,
    /// Arguments as written.
    pub args: Vec<String>,
}

impl PamLine {
    /// The value of `key=value`, or `Some("")` for a bare `key`.
    pub fn arg(&self, key: &str) -> Option<&str> {
        self.args
            .iter()
            .rev()
            .find_map(|a| match a.split_once('=') {
                Some((k, v)) if k == key => Some(v),
                None if a == key => Some(""),
                _ => None,
            })
    }
}

/// The module lines of `/etc/pam.d/<file>`, with `@include`d files in
/// place (as libpam reads them). A missing file has none.
pub fn stack(root: &Root, file: &str) -> Vec<PamLine> {
    let mut out = Vec::new();
    read(root, file, &mut out, 0);
    out
}

fn read(root: &Root, file: &str, out: &mut Vec<PamLine>, depth: usize) {
    let path = format!("/etc/pam.d/{file}");
    let Ok(text) = root.read_to_string(&path) else {
        return;
    };
    // Continuation lines end in a backslash.
    let joined = text.replace("\\\n", " ");
    for (i, raw) in joined.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        if let Some(inc) = line.strip_prefix("@include") {
            if depth < 8 {
                read(root, inc.trim(), out, depth + 1);
            }
            continue;
        }
        let (kind, rest) = split_word(line);
        let rest = rest.trim_start();
        // A bracketed control may hold spaces.
        let (control, rest) = if rest.starts_with('[') {
            match rest.find(']') {
                Some(end) => (rest[..=end].to_owned(), &rest[end + 1..]),
                None => continue,
            }
        } else {
            let (c, r) = split_word(rest);
            (c.to_owned(), r)
        };
        let mut words = bracket_words(rest.trim_start());
        if words.is_empty() {
            continue;
        }
        let module = words.remove(0);
        out.push(PamLine {
            file: path.clone(),
            line: i + 1,
            kind: kind.trim_start_matches('-').to_ascii_lowercase(),
            control,
            module: module.rsplit('/').next().unwrap_or_default().to_owned(),
            args: words,
        });
    }
}

fn split_word(s: &str) -> (&str, &str) {
    match s.find(char::is_whitespace) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, ""),
    }
}

/// Words, where `[a b]` is one word with its brackets removed
/// (pam.conf(5)).
fn bracket_words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut word = String::new();
        let mut depth = 0;
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() && depth == 0 {
                break;
            }
            match c {
                '[' => depth += 1,
                ']' if depth > 0 => depth -= 1,
                _ => word.push(c),
            }
            chars.next();
        }
        out.push(word);
    }
    out
}

/// A PAM module whose settings come from a file and its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PamModule {
    /// pam_pwquality: `/etc/security/pwquality.conf` and `.conf.d`.
    Pwquality,
    /// pam_faillock: `/etc/security/faillock.conf`.
    Faillock,
    /// pam_pwhistory: `/etc/security/pwhistory.conf`.
    Pwhistory,
}

impl PamModule {
    /// The module's file name.
    pub fn so(self) -> &'static str {
        match self {
            PamModule::Pwquality => "pam_pwquality.so",
            PamModule::Faillock => "pam_faillock.so",
            PamModule::Pwhistory => "pam_pwhistory.so",
        }
    }

    /// Stack file and type whose line carries the module's arguments.
    fn stack(self) -> (&'static str, &'static str) {
        match self {
            PamModule::Pwquality | PamModule::Pwhistory => ("common-password", "password"),
            PamModule::Faillock => ("common-auth", "auth"),
        }
    }

    /// Configuration files in the order read, later values winning.
    fn files(self, root: &Root) -> Vec<String> {
        match self {
            PamModule::Pwquality => {
                let mut files = vec!["/etc/security/pwquality.conf".to_owned()];
                // libpwquality reads the directory after the file, in
                // name order.
                files.extend(crate::paths::dir_files(
                    root,
                    "/etc/security/pwquality.conf.d",
                    ".conf",
                ));
                files
            }
            PamModule::Faillock => vec!["/etc/security/faillock.conf".to_owned()],
            PamModule::Pwhistory => vec!["/etc/security/pwhistory.conf".to_owned()],
        }
    }

    /// The module's built-in value of `key` (its manual page), if any;
    /// `None` for a flag that is off unless given.
    fn default(self, key: &str) -> Option<&'static str> {
        let table: &[(&str, &str)] = match self {
            PamModule::Pwquality => &[
                ("difok", "1"),
                ("minlen", "8"),
                ("dcredit", "0"),
                ("ucredit", "0"),
                ("lcredit", "0"),
                ("ocredit", "0"),
                ("minclass", "0"),
                ("maxrepeat", "0"),
                ("maxsequence", "0"),
                ("maxclassrepeat", "0"),
                ("dictcheck", "1"),
                ("usercheck", "1"),
                ("enforcing", "1"),
                ("retry", "1"),
            ],
            PamModule::Faillock => &[
                ("deny", "3"),
                ("fail_interval", "900"),
                ("unlock_time", "600"),
            ],
            PamModule::Pwhistory => &[("remember", "10"), ("retry", "1")],
        };
        table.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }
}

/// A module whose settings have no effect: it is not in its stack.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{module} is not in the {kind} stack of /etc/pam.d/{file}, so its settings have no effect")]
pub struct NotInStack {
    module: &'static str,
    kind: &'static str,
    file: &'static str,
}

/// Where an effective setting came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A line of a configuration or stack file.
    At(String, usize),
    /// The module's built-in default.
    Default,
}

/// The effective value of `key` for `module`: `Some("")` for a flag that
/// is set, `None` when unset with no default. `Err` names why the setting
/// has no effect at all (the module is not in its stack).
pub fn setting(
    root: &Root,
    module: PamModule,
    key: &str,
) -> Result<Option<(String, Source)>, NotInStack> {
    let (file, kind) = module.stack();
    let lines: Vec<PamLine> = stack(root, file)
        .into_iter()
        .filter(|l| l.kind == kind && l.module == module.so())
        .collect();
    if lines.is_empty() {
        return Err(NotInStack {
            module: module.so(),
            kind,
            file,
        });
    }
    // Arguments override the file; of several lines, the last one read
    // decides for the checks CIS makes (pam_faillock's authfail line).
    for l in lines.iter().rev() {
        if let Some(v) = l.arg(key) {
            return Ok(Some((v.to_owned(), Source::At(l.file.clone(), l.line))));
        }
    }
    let mut found = None;
    for f in module.files(root) {
        let Ok(text) = root.read_to_string(&f) else {
            continue;
        };
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or_default().trim();
            let (k, v) = match line.split_once('=') {
                Some((k, v)) => (k.trim(), v.trim()),
                None => (line, ""),
            };
            if k == key {
                found = Some((v.to_owned(), Source::At(f.clone(), i + 1)));
            }
        }
    }
    Ok(found.or_else(|| module.default(key).map(|v| (v.to_owned(), Source::Default))))
}

/// A module line of a PAM stack in `/etc/pam.d` (`@include`s followed):
/// some line of this type and module carries every `with` argument, and
/// no such line carries a `without` one.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pam {
    /// Stack file, e.g. `common-auth`.
    pub file: String,
    /// auth, account, password or session.
    #[serde(rename = "type")]
    pub kind: String,
    /// Module file name, e.g. `pam_unix.so`.
    pub module: String,
    /// Arguments required (`sha512|yescrypt` for either; `remember`
    /// matches `remember=5`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub with: Vec<String>,
    /// Arguments forbidden.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub without: Vec<String>,
}

impl Check for Pam {
    fn validate(&self) -> Result<(), Invalid> {
        let (kind, module) = (&self.kind, &self.module);
        if !["auth", "account", "password", "session"].contains(&kind.as_str()) {
            return Err(Invalid::new(format!(
                "PAM type {kind:?} is not auth, account, password or session"
            )));
        }
        if module.ends_with(".so") {
            Ok(())
        } else {
            Err(Invalid::new(format!(
                "PAM module {module:?} is not a .so file name"
            )))
        }
    }

    fn judge(&self, f: &Facts<'_>) -> Verdict {
        pam_line(
            f.root(),
            &self.file,
            &self.kind,
            &self.module,
            &self.with,
            &self.without,
        )
    }
}

fn pam_line(
    root: &Root,
    file: &str,
    kind: &str,
    module: &str,
    with: &[String],
    without: &[String],
) -> Verdict {
    let lines: Vec<PamLine> = stack(root, file)
        .into_iter()
        .filter(|l| l.kind == kind && l.module == module)
        .collect();
    let has = |l: &PamLine, arg: &str| arg.split('|').any(|a| l.arg(a).is_some());
    let show = |l: &PamLine| {
        Evidence::at(
            &l.file,
            l.line,
            format!("{} {} {} {}", l.kind, l.control, l.module, l.args.join(" "))
                .trim_end()
                .to_owned(),
        )
    };
    if lines.is_empty() {
        return verdict(
            CisStatus::Fail,
            vec![Evidence::said(format!(
                "no {kind} line of {module} in /etc/pam.d/{file}"
            ))],
        );
    }
    let mut evidence: Vec<Evidence> = lines.iter().map(show).collect();
    let mut ok = lines.iter().any(|l| with.iter().all(|a| has(l, a)));
    if !ok {
        evidence.push(Evidence::said(format!(
            "no such line carries {}",
            with.join(" ")
        )));
    }
    for l in &lines {
        for a in without.iter().filter(|a| has(l, a)) {
            ok = false;
            evidence.push(Evidence::at(&l.file, l.line, format!("carries {a}")));
        }
    }
    pass_if(ok, evidence)
}

/// A setting of pam_pwquality, pam_faillock or pam_pwhistory as it takes
/// effect (its file, overridden by its arguments in the stack, else its
/// default); fails when the module is not in its stack.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PamSetting {
    /// Which module.
    pub module: PamModule,
    /// Setting name, e.g. `minlen`.
    pub key: String,
    /// Smallest allowed number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<i64>,
    /// Largest allowed number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
    /// Allowed values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub one_of: Vec<String>,
    /// Values that fail.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not: Vec<String>,
    /// A flag (`enforce_for_root`) that must be set.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub flag: bool,
}

impl Check for PamSetting {
    fn judge(&self, f: &Facts<'_>) -> Verdict {
        pam_setting(
            f.root(),
            self.module,
            &self.key,
            (self.min, self.max),
            &self.one_of,
            &self.not,
            self.flag,
        )
    }
}

fn pam_setting(
    root: &Root,
    module: PamModule,
    key: &str,
    (min, max): (Option<i64>, Option<i64>),
    one_of: &[String],
    not: &[String],
    flag: bool,
) -> Verdict {
    let found = match setting(root, module, key) {
        Ok(found) => found,
        Err(why) => return verdict(CisStatus::Fail, vec![Evidence::said(why.to_string())]),
    };
    let Some((value, source)) = found else {
        return verdict(
            CisStatus::Fail,
            vec![Evidence::said(format!("{} {key} is not set", module.so()))],
        );
    };
    let said = if value.is_empty() {
        key.to_owned()
    } else {
        format!("{key}={value}")
    };
    let evidence = vec![match &source {
        Source::At(file, line) => Evidence::at(file, *line, said),
        Source::Default => Evidence::said(format!("{said} ({} default)", module.so())),
    }];
    let mut ok = true;
    if !flag {
        let n = value.parse::<i64>().ok();
        ok &= min.is_none_or(|m| n.is_some_and(|n| n >= m));
        ok &= max.is_none_or(|m| n.is_some_and(|n| n <= m));
        ok &= one_of.is_empty() || one_of.contains(&value);
        ok &= !not.contains(&value);
    }
    pass_if(ok, evidence)
}

/// `su` is limited to the members of an empty group: pam_wheel.so with
/// `use_uid` and `group=` in `/etc/pam.d/su` (required or requisite), and
/// nobody in that group.
#[derive(Debug, Clone, Copy)]
pub struct SuRestricted;

impl Check for SuRestricted {
    fn judge(&self, f: &Facts<'_>) -> Verdict {
        su_restricted(f.root())
    }
}

fn su_restricted(root: &Root) -> Verdict {
    let lines: Vec<PamLine> = stack(root, "su")
        .into_iter()
        .filter(|l| {
            l.kind == "auth"
                && l.module == "pam_wheel.so"
                && (l.control == "required" || l.control == "requisite")
        })
        .collect();
    let Some(line) = lines
        .iter()
        .find(|l| l.arg("use_uid").is_some() && l.arg("group").is_some_and(|g| !g.is_empty()))
    else {
        return verdict(
            CisStatus::Fail,
            vec![Evidence::said(
                "no `auth required pam_wheel.so use_uid group=…` in /etc/pam.d/su",
            )],
        );
    };
    let group = line.arg("group").unwrap_or_default().to_owned();
    let mut evidence = vec![Evidence::at(
        &line.file,
        line.line,
        format!("pam_wheel.so {}", line.args.join(" ")),
    )];
    let groups = accounts::table_or_empty(root, Db::Group);
    let Some((gid, members)) = groups.iter().find_map(|r| {
        (r.field(0) == group && r.fields.len() > 3)
            .then(|| (r.field(2).to_owned(), r.field(3).to_owned()))
    }) else {
        evidence.push(Evidence::at(
            "/etc/group",
            0,
            format!("group {group} does not exist"),
        ));
        return verdict(CisStatus::Fail, evidence);
    };
    let primary: Vec<String> = accounts::table_or_empty(root, Db::Passwd)
        .iter()
        .filter(|r| r.fields.len() > 3 && r.field(3) == gid)
        .map(|r| r.field(0).to_owned())
        .collect();
    if members.is_empty() && primary.is_empty() {
        evidence.push(Evidence::at(
            "/etc/group",
            0,
            format!("group {group} has no members"),
        ));
        verdict(CisStatus::Pass, evidence)
    } else {
        let who: Vec<String> = members
            .split(',')
            .filter(|m| !m.is_empty())
            .map(str::to_owned)
            .chain(primary)
            .collect();
        evidence.push(Evidence::at(
            "/etc/group",
            0,
            format!("group {group} has {}", who.join(", ")),
        ));
        verdict(CisStatus::Fail, evidence)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use vpsc_engine::testing::tree;

    #[test]
    fn stacks_follow_includes_and_bracketed_controls() {
        let dir = tree(&[
            (
                "/etc/pam.d/common-auth",
                "auth [success=1 default=ignore] /lib/x86_64-linux-gnu/security/pam_unix.so nullok\n-auth optional pam_systemd_home.so\n",
            ),
            (
                "/etc/pam.d/sshd",
                "@include common-auth\nauth required pam_env.so [envfile=/x y]\n",
            ),
        ]);
        let lines = stack(&Root::new(dir.path()), "sshd");
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].module, "pam_unix.so");
        assert_eq!(lines[0].control, "[success=1 default=ignore]");
        assert_eq!(lines[0].arg("nullok"), Some(""));
        assert_eq!(lines[1].kind, "auth");
        assert_eq!(lines[2].args, vec!["envfile=/x y".to_owned()]);
    }

    #[test]
    fn arguments_beat_the_file_which_beats_the_default() {
        let dir = tree(&[
            (
                "/etc/pam.d/common-password",
                "password requisite pam_pwquality.so retry=3 minlen=15\n",
            ),
            ("/etc/security/pwquality.conf", "minlen = 9\ndifok = 4\n"),
            ("/etc/security/pwquality.conf.d/50-a.conf", "difok = 5\n"),
        ]);
        let root = Root::new(dir.path());
        let get = |k| setting(&root, PamModule::Pwquality, k).expect("in the stack");
        assert_eq!(get("minlen").expect("set").0, "15");
        assert_eq!(get("difok").expect("set").0, "5");
        assert_eq!(get("maxrepeat").expect("set").1, Source::Default);
        assert_eq!(get("enforce_for_root"), None);
        assert!(setting(&root, PamModule::Faillock, "deny").is_err());
    }
}
