//! Jobs cron runs (crontab(5), Debian's cron(8)): the system crontab
//! `/etc/crontab` and `/etc/cron.d/*` (with a user field; Debian's cron
//! skips names with anything but letters, digits, `_` and `-`, so
//! `aide.dpkg-old` never runs) and the users' crontabs in
//! `/var/spool/cron/crontabs` (without one). A job counts when its command
//! runs one of the programs with one of the arguments after it.

use serde::{Deserialize, Serialize};
use vpsc_contract::Invalid;

use crate::check::Check;
use crate::facts::Facts;
use crate::verdict::{CisStatus, Evidence, Verdict, verdict};
use vpsc_engine::root::Root;

/// A job's command and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// The command as written.
    pub command: String,
    /// File, as seen from the root.
    pub file: String,
    /// Line.
    pub line: usize,
}

/// Whether cron reads a file of this name in /etc/cron.d.
fn cron_d_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Every job cron runs under `root`.
pub fn jobs(root: &Root) -> Vec<Job> {
    let mut files: Vec<(String, bool)> = vec![("/etc/crontab".into(), true)];
    let listed = |dir: &str, filter: &dyn Fn(&str) -> bool| -> Vec<String> {
        let mut names: Vec<String> = root
            .read_dir_names(dir)
            .unwrap_or_default()
            .into_iter()
            .filter(|n| root.is_file(&format!("{dir}/{n}")))
            .filter(|n| filter(n))
            .collect();
        names.sort();
        names.into_iter().map(|n| format!("{dir}/{n}")).collect()
    };
    files.extend(
        listed("/etc/cron.d", &cron_d_name)
            .into_iter()
            .map(|f| (f, true)),
    );
    files.extend(
        listed("/var/spool/cron/crontabs", &|n: &str| !n.starts_with('.'))
            .into_iter()
            .map(|f| (f, false)),
    );
    let mut out = Vec::new();
    for (file, system) in files {
        let Ok(text) = root.read_to_string(&file) else {
            continue;
        };
        for (i, raw) in text.lines().enumerate() {
            let l = raw.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            let words: Vec<&str> = l.split_whitespace().collect();
            // NAME=value sets the environment of the jobs below.
            if words[0].contains('=')
                && !words[0].starts_with(|c: char| c.is_ascii_digit() || c == '*')
            {
                continue;
            }
            let time = if words[0].starts_with('@') { 1 } else { 5 };
            let skip = time + usize::from(system);
            if words.len() <= skip {
                continue;
            }
            out.push(Job {
                command: words[skip..].join(" "),
                file: file.clone(),
                line: i + 1,
            });
        }
    }
    out
}

/// Whether `command` runs one of `programs` with one of `arguments`.
pub fn runs(command: &str, programs: &[String], arguments: &[String]) -> bool {
    // Each simple command of a list or pipeline on its own.
    command.split([';', '|', '&']).any(|simple| {
        let words: Vec<&str> = simple.split_whitespace().collect();
        words.iter().enumerate().any(|(i, w)| {
            let base = w.rsplit('/').next().unwrap_or(w);
            programs.iter().any(|p| p == base)
                && words[i + 1..]
                    .iter()
                    .any(|a| arguments.iter().any(|x| x == a))
        })
    })
}

/// Some cron job runs a program with one of some arguments.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CronJob {
    /// Program base names.
    pub programs: Vec<String>,
    /// Arguments, one of which must follow the program.
    pub arguments: Vec<String>,
}

impl Check for CronJob {
    fn validate(&self) -> Result<(), Invalid> {
        if self.programs.is_empty() || self.arguments.is_empty() {
            Err("cron_job needs programs and arguments".into())
        } else {
            Ok(())
        }
    }

    fn judge(&self, f: &Facts<'_>) -> Verdict {
        let (programs, arguments) = (&self.programs, &self.arguments);
        let found: Vec<Evidence> = jobs(f.root())
            .into_iter()
            .filter(|j| runs(&j.command, programs, arguments))
            .map(|j| Evidence::at(&j.file, j.line, j.command))
            .collect();
        if found.is_empty() {
            verdict(
                CisStatus::Fail,
                vec![Evidence::said(format!(
                    "no cron job runs {} with {}",
                    programs.join(" or "),
                    arguments.join(" or ")
                ))],
            )
        } else {
            verdict(CisStatus::Pass, found)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_and_user_crontabs_are_read_with_their_fields() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = Root::new(dir.path());
        let write = |p: &str, t: &str| vpsc_engine::testing::write(dir.path(), p, t);
        write(
            "/etc/crontab",
            "SHELL=/bin/sh\n0 5 * * * root /usr/bin/aide.wrapper --config /etc/aide/aide.conf --check\n",
        );
        write("/etc/cron.d/aide.dpkg-old", "0 5 * * * root aide --check\n");
        write(
            "/var/spool/cron/crontabs/root",
            "@daily /usr/bin/aide --update\n",
        );
        let jobs = jobs(&root);
        assert_eq!(jobs.len(), 2, "{jobs:?}");
        let programs = ["aide".to_owned(), "aide.wrapper".to_owned()];
        let args = ["--check".to_owned(), "--update".to_owned()];
        assert!(jobs.iter().all(|j| runs(&j.command, &programs, &args)));
        assert!(!runs("aide --init; echo --check", &programs, &args));
    }
}
