//! Every automated CIS rule is pinned by small root trees, kept as data in
//! `profiles/cis/fixtures/<section>-<name>.yaml` (the format is described
//! at the top of each file): at least one tree on which the rule must pass
//! and one on which it must fail, with the traps that tell an effective
//! configuration from the text of one file (an sshd drop-in read before
//! the main file, a later sysctl.d file, /etc/modprobe.d hiding
//! /usr/lib/modprobe.d). A rule added to `profiles/cis/rules.yaml` without
//! both trees fails `every_automated_rule_has_a_passing_and_a_failing_tree`,
//! so no check ships that nobody has seen say both pass and fail. A rule
//! that only a running system can pass (a unit that must be active) has
//! `not_evaluated` trees in place of passing ones: on a tree it must say
//! not-evaluated rather than guess.
//!
//! The scanner is called in-process (all trees take about a second; a
//! process per tree would take several times that), on a tree that is never
//! the live system: the running kernel and `/proc` are not asked, as with
//! `vpsc --root`. Trees are built as root (owners are part of what the
//! file-access rules judge), as the rest of the CLI tests are. Every wrong
//! verdict is reported at once, with its evidence and the tree kept on
//! disk to look at; so is evidence that names the tree's host path instead
//! of the path as seen from the root.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;
use vpsc::cis::checks::CisStatus;
use vpsc::cis::scan::{Options, evidence_text, scan};
use vpsc::cis::{Benchmark, CisCheck, Profile, Rule};
use vpsc::root::Root;

/// Where the fixture files live, from this crate's directory.
const FIXTURES: &str = "../profiles/cis/fixtures";

/// One entry of a fixture file: a rule and the trees it must pass and fail
/// on.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    /// Debian 12 ID, or `debian13:ID` for a rule only Debian 13 has.
    rule: String,
    /// Trees on which the rule must pass.
    #[serde(default)]
    pass: Vec<Tree>,
    /// Trees on which the rule must fail.
    #[serde(default)]
    fail: Vec<Tree>,
    /// Trees on which only a running system could tell: the rule must be
    /// not-evaluated (for a rule no tree can pass, as a unit that must be
    /// active).
    #[serde(default)]
    not_evaluated: Vec<Tree>,
    /// Trees on which the rule does not apply (it is for another logging
    /// system, say): it must be notapplicable.
    #[serde(default)]
    notapplicable: Vec<Tree>,
    /// Why no tree can make the rule fail, for the rare rule that a tree
    /// cannot fail (systemd always mounts /dev/shm); `fail` stays empty.
    #[serde(default)]
    unfailable: Option<String>,
    /// Why the rule is judged on a running system only (the loaded
    /// AppArmor profiles, wireless interfaces): its `not_evaluated` trees
    /// take the place of `pass` and `fail`, and show it never guesses.
    #[serde(default)]
    live_only: Option<String>,
}

/// A small root tree, laid over the base every tree has (see [`base`]).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Tree {
    /// Why this tree is the trap it is.
    #[serde(default)]
    note: Option<String>,
    /// Regular files and their content; new ones get mode 0644, a base
    /// file keeps its mode and owner.
    #[serde(default)]
    files: BTreeMap<String, String>,
    /// Directories (mode 0755), empty or not.
    #[serde(default)]
    dirs: Vec<String>,
    /// Octal modes, applied after everything is written.
    #[serde(default)]
    modes: BTreeMap<String, String>,
    /// Numeric `uid:gid` owners, applied last.
    #[serde(default)]
    owners: BTreeMap<String, String>,
    /// Symbolic links and their targets, written as given.
    #[serde(default)]
    symlinks: BTreeMap<String, String>,
}

/// An entry with the rule it names resolved.
#[derive(Debug)]
struct Fixture {
    /// File name, for messages.
    file: String,
    /// The entry as written.
    entry: Entry,
    /// Benchmark its ID belongs to, and so the one it is scanned with.
    benchmark: Benchmark,
    /// ID in that benchmark.
    id: String,
    /// Index into the shipped rules.
    rule: usize,
}

/// The shipped rules; they are compiled in, so failing to parse is a bug.
fn shipped_rules() -> Vec<Rule> {
    vpsc::cis::rules().expect("the compiled-in CIS rules parse")
}

/// Reads every fixture file and resolves its entries, or says everything
/// that is wrong with them, each with its file and entry.
fn load(rules: &[Rule]) -> Result<Vec<Fixture>, Vec<String>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURES);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| {
            e.expect("directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    let mut errors = Vec::new();
    let mut fixtures = Vec::new();
    let mut seen: BTreeMap<(Benchmark, String), String> = BTreeMap::new();
    for name in names {
        let Some(section) = section_of_file(&name) else {
            errors.push(format!(
                "{name}: fixture files are named `<section>-<name>.yaml`, e.g. `1-initial-setup.yaml`"
            ));
            continue;
        };
        let text = std::fs::read_to_string(dir.join(&name))
            .unwrap_or_else(|e| panic!("cannot read {name}: {e}"));
        let entries: Vec<Entry> = match serde_norway::from_str(&text) {
            Ok(entries) => entries,
            Err(e) => {
                // The error names the line and column, and the entry as
                // `[index]` counted from 0.
                errors.push(format!("{name}: {e}"));
                continue;
            }
        };
        for (i, entry) in entries.into_iter().enumerate() {
            let at = format!("{name}: entry {} (rule {})", i + 1, entry.rule);
            let (benchmark, id, rule) = match resolve(rules, &entry.rule) {
                Ok(found) => found,
                Err(why) => {
                    errors.push(format!("{at}: {why}"));
                    continue;
                }
            };
            let rule_section = id.split('.').next().unwrap_or_default();
            if rule_section != section {
                errors.push(format!(
                    "{at}: a section {rule_section} rule belongs in {rule_section}-*.yaml"
                ));
            }
            if let Some(first) = seen.insert((benchmark, id.clone()), at.clone()) {
                errors.push(format!(
                    "{at}: the rule already has an entry ({first}); give it one entry with all its trees"
                ));
            }
            match &entry.unfailable {
                Some(why) if why.trim().is_empty() => {
                    errors.push(format!("{at}: `unfailable` needs the reason"));
                }
                Some(_) if !entry.fail.is_empty() => errors.push(format!(
                    "{at}: `unfailable` and `fail` trees contradict each other"
                )),
                _ => {}
            }
            match &entry.live_only {
                Some(why) if why.trim().is_empty() => {
                    errors.push(format!("{at}: `live_only` needs the reason"));
                }
                Some(_) if entry.not_evaluated.is_empty() => errors.push(format!(
                    "{at}: a `live_only` rule needs a `not_evaluated` tree"
                )),
                _ => {}
            }
            for (kind, trees) in [
                ("pass", &entry.pass),
                ("fail", &entry.fail),
                ("not_evaluated", &entry.not_evaluated),
                ("notapplicable", &entry.notapplicable),
            ] {
                for (n, tree) in trees.iter().enumerate() {
                    if let Err(why) = check_tree(tree) {
                        errors.push(format!("{at}: {kind} tree {}: {why}", n + 1));
                    }
                }
            }
            fixtures.push(Fixture {
                file: name.clone(),
                entry,
                benchmark,
                id,
                rule,
            });
        }
    }
    if fixtures.is_empty() && errors.is_empty() {
        errors.push(format!("no fixtures in {}", dir.display()));
    }
    if errors.is_empty() {
        Ok(fixtures)
    } else {
        Err(errors)
    }
}

/// [`load`], failing the test with every error at once.
fn load_or_fail(rules: &[Rule]) -> Vec<Fixture> {
    load(rules).unwrap_or_else(|errors| {
        panic!(
            "{} problem(s) in profiles/cis/fixtures:\n  {}",
            errors.len(),
            errors.join("\n  ")
        )
    })
}

/// The section number of `1-initial-setup.yaml`.
fn section_of_file(name: &str) -> Option<&str> {
    let stem = name.strip_suffix(".yaml")?;
    let (section, rest) = stem.split_once('-')?;
    let valid = !section.is_empty()
        && section.bytes().all(|b| b.is_ascii_digit())
        && !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    valid.then_some(section)
}

/// The benchmark, ID and index of the rule `key` names: a Debian 12 ID, or
/// `debian13:ID` for a rule only Debian 13 has (a rule with both IDs is
/// written once, under its Debian 12 ID).
fn resolve(rules: &[Rule], key: &str) -> Result<(Benchmark, String, usize), String> {
    let (benchmark, id) = match key.strip_prefix("debian13:") {
        Some(id) => (Benchmark::Debian13, id),
        None => (Benchmark::Debian12, key),
    };
    let found = rules
        .iter()
        .position(|r| r.id.get(&benchmark).map(String::as_str) == Some(id));
    let Some(index) = found else {
        let only13 = rules.iter().find(|r| {
            r.id.get(&Benchmark::Debian13).map(String::as_str) == Some(id)
                && !r.id.contains_key(&Benchmark::Debian12)
        });
        return Err(match (benchmark, only13) {
            (Benchmark::Debian12, Some(r)) => format!(
                "no rule has Debian 12 ID {id}; `{}` is only in Debian 13: write it `debian13:{id}`",
                r.title
            ),
            _ => format!("no rule has {} ID {id}", benchmark.title()),
        });
    };
    let rule = &rules[index];
    if let (Benchmark::Debian13, Some(d12)) = (benchmark, rule.id.get(&Benchmark::Debian12)) {
        return Err(format!(
            "`{}` is also in Debian 12: write it under its Debian 12 ID {d12}",
            rule.title
        ));
    }
    if matches!(rule.check, CisCheck::Manual) {
        return Err(format!(
            "`{}` is manual: a person judges it, no tree can",
            rule.title
        ));
    }
    Ok((benchmark, id.to_owned(), index))
}

/// Paths absolute and inside the tree, modes octal, owners numeric.
fn check_tree(tree: &Tree) -> Result<(), String> {
    let paths = tree
        .files
        .keys()
        .chain(&tree.dirs)
        .chain(tree.modes.keys())
        .chain(tree.owners.keys())
        .chain(tree.symlinks.keys());
    for p in paths {
        let inside = Path::new(p)
            .components()
            .all(|c| matches!(c, Component::RootDir | Component::Normal(_)));
        if !p.starts_with('/') || p == "/" || !inside {
            return Err(format!("{p:?}: paths are absolute, below /, without `..`"));
        }
    }
    for (p, m) in &tree.modes {
        parse_mode(m).ok_or_else(|| format!("mode of {p}: {m:?} is not octal like \"0640\""))?;
    }
    for (p, o) in &tree.owners {
        parse_owner(o).ok_or_else(|| format!("owner of {p}: {o:?} is not numeric \"uid:gid\""))?;
    }
    if tree.note.as_deref().is_some_and(|n| n.trim().is_empty()) {
        return Err("an empty note says nothing; drop it or say why".into());
    }
    Ok(())
}

/// `0640` or `640`; `None` for anything else.
fn parse_mode(mode: &str) -> Option<u32> {
    let valid = (3..=4).contains(&mode.len()) && mode.bytes().all(|b| (b'0'..=b'7').contains(&b));
    valid.then(|| u32::from_str_radix(mode, 8).ok()).flatten()
}

/// `0:42`; names are not accepted, the tree's account databases are the
/// fixture's own and may not hold them.
fn parse_owner(owner: &str) -> Option<(u32, u32)> {
    let (u, g) = owner.split_once(':')?;
    Some((u.parse().ok()?, g.parse().ok()?))
}

/// The base every tree starts from: a release file naming the benchmark,
/// and account databases holding root alone (the shadow group too, which
/// owns /etc/shadow and /etc/gshadow), with Debian's modes and owners.
/// Path, content, mode, uid, gid.
fn base(benchmark: Benchmark) -> [(&'static str, &'static str, u32, u32, u32); 5] {
    [
        (
            "/etc/debian_version",
            match benchmark {
                Benchmark::Debian12 => "12.11\n",
                Benchmark::Debian13 => "13.0\n",
            },
            0o644,
            0,
            0,
        ),
        (
            "/etc/passwd",
            "root:x:0:0:root:/root:/bin/bash\n",
            0o644,
            0,
            0,
        ),
        ("/etc/group", "root:x:0:\nshadow:x:42:\n", 0o644, 0, 0),
        ("/etc/shadow", "root:*:19900:0:99999:7:::\n", 0o640, 0, 42),
        ("/etc/gshadow", "root:*::\nshadow:*::\n", 0o640, 0, 42),
    ]
}

/// `abs` under `root`.
fn host(root: &Path, abs: &str) -> PathBuf {
    root.join(abs.trim_start_matches('/'))
}

/// Creates the directories of `abs` that are missing, mode 0755 whatever
/// the umask.
fn mkdirs(root: &Path, abs: &str) -> Result<(), String> {
    let mut path = root.to_path_buf();
    for c in Path::new(abs).components().skip(1) {
        path.push(c);
        if std::fs::symlink_metadata(&path).is_err() {
            std::fs::create_dir(&path).map_err(|e| format!("mkdir {}: {e}", path.display()))?;
            chmod(&path, 0o755)?;
        }
    }
    Ok(())
}

/// Sets `mode` exactly, whatever the umask gave.
fn chmod(path: &Path, mode: u32) -> Result<(), String> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("chmod {mode:o} {}: {e}", path.display()))
}

/// Sets the owner of `path` itself, a symlink included.
fn chown(path: &Path, uid: u32, gid: u32) -> Result<(), String> {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid)).map_err(|e| {
        format!(
            "chown {uid}:{gid} {}: {e} (the fixture tests run as root, as make test does)",
            path.display()
        )
    })
}

/// Writes a file: a new one gets 0644, an existing (base) one keeps its
/// mode and owner, so a fixture can replace /etc/shadow's content without
/// also changing what the file-access rules see.
fn write(root: &Path, abs: &str, text: &str) -> Result<(), String> {
    let path = host(root, abs);
    let parent = Path::new(abs)
        .parent()
        .map_or("/".into(), |p| p.display().to_string());
    mkdirs(root, &parent)?;
    let existed = std::fs::symlink_metadata(&path).is_ok();
    std::fs::write(&path, text).map_err(|e| format!("write {}: {e}", path.display()))?;
    if existed { Ok(()) } else { chmod(&path, 0o644) }
}

/// Builds `tree` over the base of `benchmark` in a new temporary directory.
fn build(tree: &Tree, benchmark: Benchmark) -> Result<tempfile::TempDir, String> {
    let dir = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
    let root = dir.path();
    for (path, text, mode, uid, gid) in base(benchmark) {
        write(root, path, text)?;
        chmod(&host(root, path), mode)?;
        chown(&host(root, path), uid, gid)?;
    }
    for d in &tree.dirs {
        mkdirs(root, d)?;
    }
    for (path, text) in &tree.files {
        write(root, path, text)?;
    }
    for (path, target) in &tree.symlinks {
        let parent = Path::new(path)
            .parent()
            .map_or("/".into(), |p| p.display().to_string());
        mkdirs(root, &parent)?;
        let link = host(root, path);
        if std::fs::symlink_metadata(&link).is_ok() {
            std::fs::remove_file(&link).map_err(|e| format!("rm {}: {e}", link.display()))?;
        }
        std::os::unix::fs::symlink(target, &link)
            .map_err(|e| format!("ln -s {target} {}: {e}", link.display()))?;
    }
    for (path, mode) in &tree.modes {
        let mode = parse_mode(mode).expect("modes checked when the fixtures were loaded");
        chmod(&host(root, path), mode)?;
    }
    for (path, owner) in &tree.owners {
        let (uid, gid) = parse_owner(owner).expect("owners checked when the fixtures were loaded");
        chown(&host(root, path), uid, gid)?;
    }
    Ok(dir)
}

/// Scans `root` for the one rule of `fixture`, in a profile and at a level
/// that include it.
fn judge(
    root: &Path,
    rules: &[Rule],
    fixture: &Fixture,
) -> Result<(CisStatus, Vec<String>), String> {
    let rule = &rules[fixture.rule];
    let profile = if rule.level.server.is_some() {
        Profile::Server
    } else {
        Profile::Workstation
    };
    let options = Options {
        benchmark: fixture.benchmark,
        level: rule.level_in(profile).unwrap_or(2),
        profile,
        only: vec![fixture.id.clone()],
        skip: Vec::new(),
        today: "2025-01-01".into(),
    };
    let (findings, _) =
        scan(&Root::new(root), rules, &options).map_err(|e| format!("scan: {e}"))?;
    match findings.as_slice() {
        [f] => Ok((f.status, f.evidence.iter().map(evidence_text).collect())),
        other => Err(format!(
            "scan found {} findings, not one (is the rule in no profile?)",
            other.len()
        )),
    }
}

/// A typo in a fixture must not pass silently: every field is known, every
/// entry names a rule that exists and is judged by a check.
#[test]
fn fixtures_parse_and_name_automated_rules() {
    load_or_fail(&shipped_rules());
}

/// A check nobody has seen both pass and fail may judge nothing; a rule
/// added without both trees fails here.
#[test]
fn every_automated_rule_has_a_passing_and_a_failing_tree() {
    let rules = shipped_rules();
    let fixtures = load_or_fail(&rules);
    let by_rule: BTreeMap<usize, &Fixture> = fixtures.iter().map(|f| (f.rule, f)).collect();
    let mut missing = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        if matches!(rule.check, CisCheck::Manual) {
            continue;
        }
        let key = match rule.id.get(&Benchmark::Debian12) {
            Some(id) => id.clone(),
            None => format!(
                "debian13:{}",
                rule.id.get(&Benchmark::Debian13).expect("a rule has an ID")
            ),
        };
        let (pass, fail) = by_rule.get(&i).map_or((false, false), |f| {
            let live = f.entry.live_only.is_some() && !f.entry.not_evaluated.is_empty();
            (
                !f.entry.pass.is_empty() || !f.entry.not_evaluated.is_empty(),
                !f.entry.fail.is_empty() || f.entry.unfailable.is_some() || live,
            )
        });
        let lacks: Vec<&str> = [(pass, "pass (or not_evaluated)"), (fail, "fail")]
            .into_iter()
            .filter(|(has, _)| !has)
            .map(|(_, kind)| kind)
            .collect();
        if !lacks.is_empty() {
            missing.push(format!(
                "{key} `{}`: no {} tree",
                rule.title,
                lacks.join(" and no ")
            ));
        }
    }
    assert!(
        missing.is_empty(),
        "{} automated rule(s) lack fixtures in profiles/cis/fixtures/<section>-*.yaml:\n  {}",
        missing.len(),
        missing.join("\n  ")
    );
}

/// Each tree is judged as its fixture says, the one rule scanned with the
/// benchmark of its ID.
#[test]
fn every_tree_gets_its_verdict() {
    let rules = shipped_rules();
    let fixtures = load_or_fail(&rules);
    let mut wrong = Vec::new();
    let mut trees = 0;
    for fixture in &fixtures {
        let title = &rules[fixture.rule].title;
        let cases = (fixture.entry.pass.iter().map(|t| (CisStatus::Pass, t)))
            .chain(fixture.entry.fail.iter().map(|t| (CisStatus::Fail, t)))
            .chain((fixture.entry.not_evaluated.iter()).map(|t| (CisStatus::NotEvaluated, t)))
            .chain((fixture.entry.notapplicable.iter()).map(|t| (CisStatus::Notapplicable, t)));
        let mut counts: BTreeMap<CisStatus, usize> = BTreeMap::new();
        for (want, tree) in cases {
            trees += 1;
            let n = counts.entry(want).or_insert(0);
            *n += 1;
            let what = format!(
                "{}: {} `{title}`, {} tree {}{}",
                fixture.file,
                fixture.entry.rule,
                name(want),
                n,
                tree.note
                    .as_deref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default()
            );
            let dir = match build(tree, fixture.benchmark) {
                Ok(dir) => dir,
                Err(e) => {
                    wrong.push(format!("{what}: cannot build the tree: {e}"));
                    continue;
                }
            };
            // Evidence names paths as seen from the root, as `vpsc
            // --root` users read them, never the host path of the tree.
            let host_path = dir.path().display().to_string();
            match judge(dir.path(), &rules, fixture) {
                Ok((got, evidence)) if evidence.iter().any(|e| e.contains(&host_path)) => {
                    let kept = dir.keep();
                    wrong.push(format!(
                        "{what}: got {}, but the evidence names the host path {}\n      evidence: {}",
                        name(got),
                        kept.display(),
                        evidence.join("\n                ")
                    ));
                }
                Ok((got, _)) if got == want => {}
                Ok((got, evidence)) => {
                    let kept = dir.keep();
                    wrong.push(format!(
                        "{what}: got {}, want {}\n      evidence: {}\n      tree kept at {}",
                        name(got),
                        name(want),
                        evidence.join("\n                "),
                        kept.display()
                    ));
                }
                Err(e) => wrong.push(format!("{what}: {e}")),
            }
        }
    }
    let distinct: BTreeSet<usize> = fixtures.iter().map(|f| f.rule).collect();
    assert!(
        wrong.is_empty(),
        "{} of {trees} fixture trees ({} rules) got the wrong verdict:\n\n  {}",
        wrong.len(),
        distinct.len(),
        wrong.join("\n\n  ")
    );
}

/// A status as the JSON output spells it.
fn name(status: CisStatus) -> String {
    serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{status:?}"))
}
