//! Remediations: what puts a failing rule right, where that is safe, as
//! ordinary journalled effects. `vpsc cis remediate` and the
//! `cis_remediation` effect of vpsc-mod-cis-hardening expand the same way,
//! so `vpsc cis revert` and `apt remove` undo them exactly.
//!
//! The expansion depends only on the rules, the selection, the waivers and
//! which files exist, never on whether a rule passes now: a rule that
//! passes because of our own file must keep that file on the next
//! configure, or the two runs would undo each other.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::MetadataExt;

use serde::Serialize;

use crate::checks::{AllOf, AnyOf, CisCheck};
use crate::files::FileAccess;
use crate::modprobe::KernelModuleUnavailable;
use crate::rule::{Remedy, Rule, benchmark_of, rules};
use crate::scan::{module_waivers, waivers};
use crate::sysctl::Sysctl;
use vpsc_contract::cis::{Benchmark, Profile};
use vpsc_contract::plan::Effect;
use vpsc_engine::accounts::{self, Db};
use vpsc_engine::root::Root;

/// The journal entry of `vpsc cis remediate`; no module may take it.
pub const JOURNAL_NAME: &str = vpsc_contract::names::CIS_JOURNAL;

/// Which rules to put right.
#[derive(Debug, Clone)]
pub struct Selection {
    /// Benchmark whose IDs `only` and the waivers name.
    pub benchmark: Benchmark,
    /// Highest level included.
    pub level: u8,
    /// Server or workstation.
    pub profile: Profile,
    /// Only these IDs (empty: all).
    pub only: Vec<String>,
    /// IDs left alone (waived by the administrator or by a module).
    pub waived: BTreeSet<String>,
    /// Paths whose dpkg stat override is this owner's own (from its
    /// journal); another override (the administrator's, another module's)
    /// is left alone.
    pub ours: BTreeSet<String>,
}

/// Journal steps (key and effect) in the order they are applied.
pub type Steps = Vec<(String, Effect)>;

/// One rule the expansion covers, for reports.
#[derive(Debug, Clone, Serialize)]
pub struct Covered {
    /// ID in the selected benchmark.
    pub id: String,
    /// Title.
    pub title: String,
}

/// The remediation effects of `level` and `profile` for the benchmark of
/// the system under `root`, leaving alone the rules the administrator
/// waived (until the waiver expires) and those installed modules waive.
pub fn expand(
    root: &Root,
    level: u8,
    profile: Profile,
    only: Vec<String>,
    owner: &str,
    ours: BTreeSet<String>,
) -> vpsc_engine::error::Result<(Steps, Vec<Covered>)> {
    let rules = rules().map_err(|e| vpsc_engine::error::Error::Invalid {
        what: e.what,
        hint: "the runtime package is damaged; reinstall vpsc-runtime".into(),
    })?;
    let benchmark = benchmark_of(root);
    let today = vpsc_engine::dates::today();
    let mut waived = BTreeSet::new();
    for w in waivers(root)?
        .into_iter()
        .chain(module_waivers(root, benchmark)?)
    {
        if w.expires.as_str() >= today.as_str() {
            waived.insert(w.rule);
        }
    }
    let selection = Selection {
        benchmark,
        level,
        profile,
        only,
        waived,
        ours,
    };
    Ok(effects(root, &rules, &selection, owner))
}

/// The expander of `cis_remediation` effects, for
/// [`vpsc_engine::converge::configure`].
#[derive(Debug, Default, Clone, Copy)]
pub struct Remediations;

impl vpsc_engine::converge::Expand for Remediations {
    fn expand(
        &self,
        root: &Root,
        effect: &Effect,
        module: &str,
        ours: &BTreeSet<String>,
    ) -> vpsc_engine::error::Result<Option<Steps>> {
        let Effect::CisRemediation {
            level,
            profile,
            only,
        } = effect
        else {
            return Ok(None);
        };
        let (steps, _) = expand(root, *level, *profile, only.clone(), module, ours.clone())?;
        Ok(Some(steps))
    }
}

/// The effects that remediate the selected rules, keyed as journal steps,
/// named after `owner` (the module, or `cis` for `vpsc cis remediate`), in
/// the order they are applied: files first, then running kernel values,
/// then file modes.
pub fn effects(
    root: &Root,
    rules: &[Rule],
    selection: &Selection,
    owner: &str,
) -> (Vec<(String, Effect)>, Vec<Covered>) {
    let mut modules = BTreeSet::new();
    let mut sysctl: Vec<(String, String)> = Vec::new();
    let mut sshd: BTreeMap<String, String> = BTreeMap::new();
    let mut sudoers: Vec<String> = Vec::new();
    let mut modes: BTreeMap<String, (String, String, u32)> = BTreeMap::new();
    let mut covered = Vec::new();
    // dpkg's overrides, asked of dpkg (its database is its own business).
    let mut argv = root.dpkg_tool("dpkg-statoverride");
    argv.push("--list".into());
    let foreign: BTreeSet<String> = Root::new("/")
        .run(&argv)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().nth(3).map(str::to_owned))
        .filter(|p| !selection.ours.contains(p))
        .collect();
    for rule in rules {
        let (Some(id), Some(level), Some(remedy)) = (
            rule.id.get(&selection.benchmark),
            rule.level_in(selection.profile),
            rule.remediation.as_ref(),
        ) else {
            continue;
        };
        if level > selection.level
            || selection.waived.contains(id)
            || (!selection.only.is_empty() && !selection.only.contains(id))
        {
            continue;
        }
        let before = (
            modules.len(),
            sysctl.len(),
            sshd.len(),
            sudoers.len(),
            modes.len(),
        );
        match remedy {
            Remedy::Auto => {
                auto(root, &rule.check, &mut modules, &mut sysctl, &mut modes);
                modes.retain(|path, _| !foreign.contains(path));
            }
            Remedy::Sshd(map) => {
                for (k, v) in map {
                    sshd.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
            Remedy::Sudoers(lines) => {
                for l in lines {
                    if !sudoers.contains(l) {
                        sudoers.push(l.clone());
                    }
                }
            }
        }
        if before
            != (
                modules.len(),
                sysctl.len(),
                sshd.len(),
                sudoers.len(),
                modes.len(),
            )
        {
            covered.push(Covered {
                id: id.clone(),
                title: rule.title.clone(),
            });
        }
    }

    let header = |what: &str| {
        format!(
            "# Written by vpsc ({what}, {}); removed with {}.\n",
            if owner == "cis" {
                "vpsc cis remediate".to_owned()
            } else {
                format!("module {owner}")
            },
            if owner == "cis" {
                "vpsc cis revert".to_owned()
            } else {
                format!("vpsc-mod-{owner}")
            }
        )
    };
    let mut out = Vec::new();
    let mut file = |path: String, content: String, mode: u32, validate: Option<Vec<String>>| {
        let effect = Effect::ManagedFile {
            path,
            template: content,
            mode,
            validate,
        };
        out.push((effect.key(), effect));
    };
    // A directory no package has made is not vpsc's to create (kmod owns
    // /etc/modprobe.d, procps /etc/sysctl.d): without it there is no
    // remediation of that kind, and the scan keeps saying so.
    let dir_exists = |dir: &str| {
        let there = root.is_dir(dir);
        if !there {
            tracing::warn!(dir, "not remediated: the directory does not exist");
        }
        there
    };
    if !modules.is_empty() && dir_exists("/etc/modprobe.d") {
        let mut text = header("CIS kernel modules");
        for m in &modules {
            text.push_str(&format!("install {m} /bin/false\nblacklist {m}\n"));
        }
        file(
            format!("/etc/modprobe.d/vpsc-{owner}.conf"),
            text,
            0o644,
            None,
        );
    }
    if !sysctl.is_empty() && !dir_exists("/etc/sysctl.d") {
        sysctl.clear();
    }
    if !sysctl.is_empty() {
        // 55- sorts before the 60- files of modules that need another
        // value (forwarding for docker and wireguard), which therefore win.
        let mut text = header("CIS kernel parameters");
        for (k, v) in &sysctl {
            text.push_str(&format!("{k} = {v}\n"));
        }
        file(
            format!("/etc/sysctl.d/55-vpsc-{owner}.conf"),
            text,
            0o644,
            None,
        );
    }
    // Only where the program that reads the file is installed: sshd and
    // visudo must accept the file before it is kept.
    if !sshd.is_empty() && root.exists("/usr/sbin/sshd") {
        let mut text = header("CIS SSH server settings");
        text.push_str("# sshd takes the first value it reads; this file sorts early.\n");
        for (k, v) in &sshd {
            text.push_str(&format!("{k} {v}\n"));
        }
        file(
            format!("/etc/ssh/sshd_config.d/40-vpsc-{owner}.conf"),
            text,
            0o600,
            Some(vec!["sshd".into(), "-t".into()]),
        );
    }
    if !sudoers.is_empty() && root.exists("/usr/sbin/visudo") {
        let mut text = header("CIS sudo defaults");
        for l in &sudoers {
            text.push_str(l);
            text.push('\n');
        }
        file(
            format!("/etc/sudoers.d/vpsc-{owner}"),
            text,
            0o440,
            Some(vec!["visudo".into(), "-c".into(), "-q".into()]),
        );
    }
    for (key, value) in sysctl {
        let effect = Effect::Sysctl { key, value };
        out.push((effect.key(), effect));
    }
    for (path, (owner, group, mode)) in modes {
        let effect = Effect::StatOverride {
            path,
            owner,
            group,
            mode,
        };
        out.push((effect.key(), effect));
    }
    (out, covered)
}

fn auto(
    root: &Root,
    check: &CisCheck,
    modules: &mut BTreeSet<String>,
    sysctl: &mut Vec<(String, String)>,
    modes: &mut BTreeMap<String, (String, String, u32)>,
) {
    match check {
        CisCheck::KernelModuleUnavailable(KernelModuleUnavailable { name }) => {
            modules.insert(name.clone());
        }
        CisCheck::Sysctl(Sysctl { key, value }) if !sysctl.iter().any(|(k, _)| k == key) => {
            sysctl.push((key.clone(), value.clone()));
        }
        CisCheck::FileAccess(FileAccess {
            path,
            max_mode,
            owner,
            group,
        }) => {
            for path in crate::paths::expand(root, path) {
                // Nothing to override on a file that is not there; the
                // rule is not applicable to it.
                let Ok(meta) = root.symlink_metadata(&path) else {
                    continue;
                };
                // A link's mode is not its own (chmod follows it), and
                // dpkg-statoverride would change the target: the rule
                // judges the target where it is listed itself.
                if meta.file_type().is_symlink() {
                    continue;
                }
                let max = vpsc_contract::plan::parse_mode(max_mode).unwrap_or(0);
                let pick = |allowed: &str, db: Db, id: u32| {
                    let now = accounts::name_of(root, db, id);
                    if allowed.split('|').any(|a| a == now) {
                        now
                    } else {
                        allowed.split('|').next().unwrap_or("root").to_owned()
                    }
                };
                // Only bits are taken away: a stricter mode stays as it is.
                let mode = meta.mode() & 0o7777 & max;
                modes.insert(
                    path.clone(),
                    (
                        pick(owner, Db::Passwd, meta.uid()),
                        pick(group, Db::Group, meta.gid()),
                        mode,
                    ),
                );
            }
        }
        CisCheck::AnyOf(AnyOf(list)) => {
            if let Some(first) = list.first() {
                auto(root, first, modules, sysctl, modes);
            }
        }
        CisCheck::AllOf(AllOf(list)) => {
            for c in list {
                auto(root, c, modules, sysctl, modes);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_modes_are_overridden_on_files_never_through_links() {
        let dir = tempfile::tempdir().expect("tempdir");
        let keys = dir.path().join("usr/share/keyrings");
        std::fs::create_dir_all(&keys).expect("mkdir");
        std::fs::write(keys.join("a.pgp"), "k").expect("write");
        std::os::unix::fs::symlink("a.pgp", keys.join("a.gpg")).expect("link");
        let check = CisCheck::FileAccess(FileAccess {
            path: "/usr/share/keyrings/*".into(),
            max_mode: "0644".into(),
            owner: "root".into(),
            group: "root".into(),
        });
        let mut modes = BTreeMap::new();
        auto(
            &Root::new(dir.path()),
            &check,
            &mut BTreeSet::new(),
            &mut Vec::new(),
            &mut modes,
        );
        let paths: Vec<&String> = modes.keys().collect();
        assert_eq!(paths, ["/usr/share/keyrings/a.pgp"]);
    }

    #[test]
    fn no_directory_is_created_that_no_package_made() {
        let rule = |check| Rule {
            id: [(Benchmark::Debian13, "1.1.1.1".to_owned())].into(),
            title: "t".into(),
            level: vpsc_contract::cis::Levels {
                server: Some(1),
                workstation: None,
            },
            check,
            remediation: Some(Remedy::Auto),
        };
        let rules = vec![
            rule(CisCheck::KernelModuleUnavailable(KernelModuleUnavailable {
                name: "cramfs".into(),
            })),
            rule(CisCheck::Sysctl(Sysctl {
                key: "kernel.randomize_va_space".into(),
                value: "2".into(),
            })),
        ];
        let selection = Selection {
            benchmark: Benchmark::Debian13,
            level: 1,
            profile: Profile::Server,
            only: Vec::new(),
            waived: BTreeSet::new(),
            ours: BTreeSet::new(),
        };
        let dir = vpsc_engine::testing::tree(&[("/etc/sysctl.d/README", "")]);
        let (steps, _) = effects(&Root::new(dir.path()), &rules, &selection, "cis");
        let keys: Vec<&str> = steps.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "file:/etc/sysctl.d/55-vpsc-cis.conf",
                "sysctl:kernel.randomize_va_space"
            ],
            "no /etc/modprobe.d: no modprobe file"
        );
    }
}
