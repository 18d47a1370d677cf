//! `vpsc rollback PROFILE [--dry-run]`: the exact undo of a profile,
//! Debian packages included (the plan is [`crate::rollback`]'s).
//!
//! Order, so that a refusal changes nothing: read apt's history and
//! dpkg's database, compute the plan and the system users it will leave,
//! refuse what would fail half way (sudo's prerm without a root password),
//! have apt simulate the purge and refuse if it would remove anything
//! outside the plan; only then record the plan in the audit log and run
//! `apt-get purge`. The runtime's lock is not held while apt runs: the
//! modules' prerm scripts take it (`vpsc unconfigure`).
//!
//! Around apt, the host's `/etc` is guarded ([`rollback::collateral`]):
//! recorded after the refusals and before the plan event, restored where
//! the purge's maintainer scripts took what was not theirs, whether apt
//! succeeded or not; what they created and left is reported.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use serde::Serialize;

use super::print_json;
use crate::error::{Error, Result};
use crate::localtime::Zone;
use crate::rollback::claims::{self, Claims};
use crate::rollback::collateral::{self, Left, NotRestored, Restoration, Restored, Watch};
use crate::rollback::{self, LEFTOVER_REASON, Leftover, Packages, Plan};
use crate::root::Root;
use crate::state::State;

/// Variables of the caller that reach apt and the maintainer scripts; the
/// rest of the environment is cleared (`Root::command`). sudo's prerm
/// reads `SUDO_FORCE_REMOVE`; `APT_CONFIG` is the administrator's choice
/// of apt configuration.
const PASSED_ENV: &[&str] = &["SUDO_FORCE_REMOVE", "APT_CONFIG"];

/// What the command prints (`--json`) and records.
#[derive(Debug, Serialize)]
struct Report<'a> {
    #[serde(flatten)]
    plan: &'a Plan,
    dry_run: bool,
    /// Packages of the plan no longer installed after apt ran.
    purged: Vec<String>,
    leftovers: Vec<Leftover>,
    leftover_reason: &'static str,
    /// The entries of /etc guarded during the purge.
    watch: Option<Watch>,
    /// Entries the purge removed that were made again.
    restored: Vec<Restored>,
    /// Entries the purge removed or replaced that were not.
    not_restored: Vec<NotRestored>,
    /// Entries a purged package created and left.
    left: Vec<Left>,
}

/// `vpsc rollback PROFILE`.
pub fn rollback(root: &Root, profile: &str, dry_run: bool, json: bool) -> Result<i32> {
    crate::names::module(profile).map_err(|what| Error::Invalid {
        what: what.what.replace("module name", "profile name"),
        hint: "profile names are those of the vpsc-profile-* packages without the prefix (`dpkg-query -W 'vpsc-profile-*'`)".into(),
    })?;
    if std::env::var_os("DPKG_MAINTSCRIPT_PACKAGE").is_some() {
        return Err(Error::Precondition {
            what:
                "vpsc rollback cannot run inside a maintainer script: dpkg holds the lock apt needs"
                    .into(),
            hint: "run it from a shell once apt or dpkg has finished".into(),
        });
    }
    let db = Packages::read(root)?;
    let history = crate::aptlog::read_history(root)?;
    let plan = rollback::plan(profile, &history, &db)?;
    let purge: BTreeSet<String> = plan.purge.iter().cloned().collect();
    let leftovers = rollback::leftovers(root, &db, &purge)?;
    let since = first_start(root, &plan)?;
    let staying = Claims::read(
        root,
        &db,
        db.map.keys().filter(|k| !purge.contains(*k)),
        false,
    );
    let owned = claims::owned_by_purge(root, &db, &purge, &staying);
    let watch_etc = |content: bool| -> Result<Option<Watch>> {
        let Some((text, zone, start)) = &since else {
            return Ok(None);
        };
        collateral::record(root, &owned, &staying.declared, text, zone, *start, content).map(Some)
    };
    if dry_run {
        let watch = watch_etc(false)?;
        let report = Report {
            plan: &plan,
            dry_run,
            purged: Vec::new(),
            leftovers,
            leftover_reason: LEFTOVER_REASON,
            watch,
            restored: Vec::new(),
            not_restored: Vec::new(),
            left: Vec::new(),
        };
        show(&report, json);
        return Ok(0);
    }

    // The names come from dpkg's database; one that is not a package name
    // (a leading `-`) would be read by apt as an option.
    for key in &plan.purge {
        let name = key.split(':').next().unwrap_or(key);
        crate::names::package(name).map_err(|what| Error::Invalid {
            what: format!("{}: {what}; nothing was changed", rollback::dpkg::STATUS),
            hint: "`dpkg --audit` checks dpkg's database".into(),
        })?;
    }
    refuse_sudo_lockout(root, profile, &purge)?;
    simulate(root, &plan, &db)?;
    let watch = watch_etc(true)?;
    record(
        root,
        "profile.rollback.plan",
        profile,
        "ok".into(),
        serde_json::json!({
            "purge": plan.purge,
            "kept": plan.kept,
            "leftovers": leftovers,
            "watch": watch,
        }),
        None,
    )?;
    if !json {
        outln!(
            "vpsc rollback {profile}: purging {} package(s), keeping {} (`--dry-run` lists them); apt's output follows",
            plan.purge.len(),
            plan.kept.len()
        );
    }
    let result = purge_with_apt(root, &plan);
    // Whatever apt did, even half of it: what its scripts took goes back.
    let now = collateral::survey(root);
    let restoration = match (&watch, &now) {
        (None, _) => Restoration::default(),
        (Some(watch), Ok(now)) => {
            collateral::restore(root, watch, now).unwrap_or_else(|e| unrestorable(&e))
        }
        (Some(_), Err(e)) => unrestorable(e),
    };

    let after = Packages::read(root)?;
    let left = match (&since, &now) {
        (Some((_, _, start)), Ok(now)) => {
            let installed =
                Claims::read(root, &after, after.map.keys(), true).with_alternatives(root);
            collateral::left(now, &installed, *start)
        }
        _ => Vec::new(),
    };
    let purged: Vec<String> = plan
        .purge
        .iter()
        .filter(|k| !after.installed(k))
        .cloned()
        .collect();
    let existing = rollback::existing_accounts(root)?;
    let leftovers: Vec<Leftover> = leftovers
        .into_iter()
        .filter(|l| existing.contains(&(l.kind, l.name.clone())))
        .collect();
    // Purging vpsc-runtime deletes its journal, audit log included (as
    // `apt purge vpsc-runtime` does): on a running system the plan event
    // went to the system log too, and apt's history records the run. A journal still
    // there (the runtime stayed, or apt failed) gets the outcome.
    if root.exists(&format!("{}/state.db", crate::state::STATE_DIR)) {
        let outcome = match &result {
            Ok(()) => "ok".to_owned(),
            Err(e) => format!("error: {e}"),
        };
        record(
            root,
            "profile.rollback",
            profile,
            outcome,
            serde_json::json!({
                "purged": purged,
                "leftovers": leftovers,
                "restored": restoration.restored,
                "not_restored": restoration.not_restored,
                "left": left,
            }),
            result.as_ref().err(),
        )?;
    }
    if result.is_err() {
        // apt's error ends the command; what the restore did is still said.
        for r in &restoration.restored {
            tracing::warn!(path = %r.path, "restored: {}", r.why);
        }
        for r in &restoration.not_restored {
            tracing::error!(path = %r.path, "not restored: {}", r.why);
        }
    }
    result?;
    let not_restored = restoration.not_restored.clone();
    let report = Report {
        plan: &plan,
        dry_run,
        purged,
        leftovers,
        leftover_reason: LEFTOVER_REASON,
        watch,
        restored: restoration.restored,
        not_restored: restoration.not_restored,
        left,
    };
    show(&report, json);
    if not_restored.is_empty() {
        return Ok(0);
    }
    Err(Error::Precondition {
        what: format!(
            "the purge removed or replaced {} entr{} of /etc that predate vpsc and the rollback did not restore: {}",
            not_restored.len(),
            if not_restored.len() == 1 { "y" } else { "ies" },
            not_restored
                .iter()
                .map(|r| format!("{} ({})", r.path, r.why))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        hint: "the packages are purged; restore these from a backup, and look at any link named: vpsc never follows one".into(),
    })
}

/// The outcome of a restore that could not run at all.
fn unrestorable(e: &Error) -> Restoration {
    Restoration {
        restored: Vec::new(),
        not_restored: vec![NotRestored {
            path: collateral::WATCHED.into(),
            kind: collateral::Kind::Dir,
            why: format!("the restore could not run: {e}"),
        }],
    }
}

/// The Start-Date of the first transaction the plan undoes, with the
/// root's zone and the moment as Unix seconds; `None` without one.
fn first_start(root: &Root, plan: &Plan) -> Result<Option<(String, Zone, i64)>> {
    let Some(first) = plan.transactions.first() else {
        return Ok(None);
    };
    let zone = Zone::of_root(root)?;
    let wall = crate::localtime::parse_wall(&first.start).ok_or_else(|| Error::Invalid {
        what: format!(
            "{}:{}: `Start-Date: {}` is not apt's `YYYY-MM-DD  HH:MM:SS`; nothing was changed",
            first.file, first.line, first.start
        ),
        hint:
            "the rollback guards what of /etc predates that moment; repair the line from a backup"
                .into(),
    })?;
    let start = zone.to_unix(wall);
    Ok(Some((first.start.clone(), zone, start)))
}

/// Appends an event, anchors it, and on an error runs the on-error hooks.
fn record(
    root: &Root,
    action: &str,
    profile: &str,
    outcome: String,
    details: serde_json::Value,
    error: Option<&Error>,
) -> Result<()> {
    let state = State::open(root)?;
    super::record_event(root, &state, action, profile, outcome, details, error)
}

/// sudo's prerm refuses removal while root's password is locked or unset
/// (`*` or `!…`), unless SUDO_FORCE_REMOVE=yes: it keeps an administrator
/// from losing the only way in. Found before apt starts, not half way.
fn refuse_sudo_lockout(root: &Root, profile: &str, purge: &BTreeSet<String>) -> Result<()> {
    if !purge.contains("sudo") && !purge.contains("sudo-ldap") {
        return Ok(());
    }
    if std::env::var("SUDO_FORCE_REMOVE").is_ok_and(|v| v == "yes") {
        return Ok(());
    }
    let locked = crate::accounts::shadow_password(root, "root")?
        .is_some_and(|p| p == "*" || p.starts_with('!'));
    if !locked {
        return Ok(());
    }
    Err(Error::Precondition {
        what: "the rollback purges sudo, and sudo's prerm refuses while root has no password (you could lock yourself out); nothing was changed".into(),
        hint: format!(
            "set a root password first (`passwd root`), or, if you have another way in as root, run `SUDO_FORCE_REMOVE=yes vpsc rollback {profile}`"
        ),
    })
}

/// `apt-get ARGS…` on the root, non-interactive, with [`PASSED_ENV`].
fn apt_get(root: &Root, args: &[String]) -> Command {
    let mut argv = vec!["apt-get".to_owned()];
    if !super::colour(&std::io::stdout()) {
        // apt and dpkg colour and draw a progress bar on a terminal only,
        // but their logs (term.log) keep the escapes: none when not asked.
        for o in ["APT::Color=0", "Dpkg::Progress-Fancy=0"] {
            argv.extend(["-o".to_owned(), o.to_owned()]);
        }
    }
    argv.extend(args.iter().cloned());
    let mut cmd = root.command(&argv);
    // Root::command passes dpkg's variables for maintainer scripts; here
    // a caller's DPKG_ROOT would aim the dpkg apt starts at another tree.
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("DPKG_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("DEBIAN_FRONTEND", "noninteractive")
        .env("HOME", "/root")
        // needrestart's apt hook would ask which services to restart.
        .env("NEEDRESTART_MODE", "l");
    for k in PASSED_ENV {
        if let Some(v) = std::env::var_os(k) {
            cmd.env(k, v);
        }
    }
    cmd
}

/// The options of both apt runs: no autoremove beyond the plan, whatever
/// the host's apt.conf says.
fn purge_args(plan: &Plan, first: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = first.iter().map(|s| (*s).to_owned()).collect();
    args.extend(
        ["-o", "APT::Get::AutomaticRemove=false", "purge"]
            .iter()
            .map(|s| (*s).to_owned()),
    );
    args.extend(plan.purge.iter().cloned());
    args
}

/// Has apt simulate the purge; refuses unless it removes only the plan.
fn simulate(root: &Root, plan: &Plan, db: &Packages) -> Result<()> {
    let args = purge_args(plan, &["-s"]);
    let out = apt_get(root, &args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .map_err(|source| Error::Spawn {
            argv: "apt-get -s purge …".into(),
            source,
        })?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(Error::Precondition {
            what: format!(
                "apt refuses the purge in its simulation ({}): {}; nothing was changed",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            hint: "fix what apt names (`apt-get check`, `dpkg --configure -a`), then run the rollback again".into(),
        });
    }
    let planned: BTreeSet<&str> = plan.purge.iter().map(String::as_str).collect();
    let mut extra = Vec::new();
    for line in stdout.lines() {
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some("Purg" | "Remv"), Some(name)) => {
                let key = match name.split_once(':') {
                    Some((n, a)) => db.key(n, Some(a)),
                    None => name.to_owned(),
                };
                if !planned.contains(key.as_str()) {
                    extra.push(key);
                }
            }
            (Some("Inst"), Some(name)) => extra.push(format!("{name} (to be installed)")),
            _ => {}
        }
    }
    if extra.is_empty() {
        return Ok(());
    }
    Err(Error::Precondition {
        what: format!(
            "apt would also change {} package(s) outside the plan: {}; nothing was changed",
            extra.len(),
            extra.join(", ")
        ),
        hint: format!(
            "something that stays needs them in a way the plan does not see (a versioned alternative, another architecture); `vpsc rollback {} --dry-run` shows the plan, `apt-cache rdepends --installed NAME` who needs a package",
            plan.profile
        ),
    })
}

/// Runs the purge; apt's output goes to stderr (stdout may be JSON).
fn purge_with_apt(root: &Root, plan: &Plan) -> Result<()> {
    let tag = format!("{}={}", rollback::TAG, plan.profile);
    let args = purge_args(plan, &["-y", "-o", &tag]);
    let mut child = apt_get(root, &args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| Error::Spawn {
            argv: "apt-get -y purge …".into(),
            source,
        })?;
    let forward = |stream: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut seen = String::new();
            let Some(stream) = stream else {
                return seen;
            };
            for line in BufReader::new(stream).lines().map_while(|l| l.ok()) {
                let _ = writeln!(std::io::stderr(), "{line}");
                seen.push_str(&line);
                seen.push('\n');
            }
            seen
        })
    };
    let stdout = forward(child.stdout.take().map(|s| Box::new(s) as _));
    let stderr = forward(child.stderr.take().map(|s| Box::new(s) as _));
    let status = child.wait().map_err(|source| Error::Spawn {
        argv: "apt-get -y purge …".into(),
        source,
    })?;
    let said = format!(
        "{}{}",
        stdout.join().unwrap_or_default(),
        stderr.join().unwrap_or_default()
    );
    if status.success() {
        return Ok(());
    }
    let again = format!(
        "run `vpsc rollback {}` again: it finishes an interrupted rollback",
        plan.profile
    );
    if said.contains("Refusing to remove sudo") {
        return Err(Error::Precondition {
            what: "sudo's prerm refused its removal: root has no password".into(),
            hint: format!(
                "set a root password (`passwd root`), or, if you have another way in as root, export SUDO_FORCE_REMOVE=yes; then {again}"
            ),
        });
    }
    let last = said
        .lines()
        .rev()
        .find(|l| l.starts_with("E:"))
        .unwrap_or("see apt's output above");
    Err(Error::Precondition {
        what: format!("apt-get purge failed ({status}): {last}"),
        hint: format!("fix what apt names (`dpkg --configure -a` resumes dpkg), then {again}"),
    })
}

/// Prints the plan or the outcome.
fn show(report: &Report, json: bool) {
    if json {
        print_json(report);
        return;
    }
    let plan = report.plan;
    let profile = &plan.profile;
    if report.dry_run {
        outln!("vpsc rollback {profile} --dry-run: the plan; nothing is changed");
    }
    if plan.resumed {
        outln!("(finishing an interrupted rollback: vpsc-profile-{profile} is already gone)");
    }
    outln!("from apt's history, vpsc's transactions:");
    for t in &plan.transactions {
        outln!(
            "  {}:{}  {}  {}  ({} installed)",
            t.file,
            t.line,
            t.start,
            t.commandline,
            t.installed
        );
    }
    if report.dry_run {
        outln!("would purge {} package(s):", plan.purge.len());
        wrapped(&plan.purge);
    } else {
        outln!(
            "purged {} of {} package(s)",
            report.purged.len(),
            plan.purge.len()
        );
    }
    if !plan.kept.is_empty() {
        outln!(
            "keeps {} package(s) those transactions installed:",
            plan.kept.len()
        );
        for k in &plan.kept {
            outln!("  {}: {}", k.package, k.reason);
        }
    }
    if !plan.upgraded.is_empty() {
        outln!("stay upgraded (the host had them; apt does not downgrade):");
        wrapped(&plan.upgraded);
    }
    if !plan.removed.is_empty() {
        outln!("removed by those transactions, not reinstalled:");
        wrapped(&plan.removed);
    }
    if !report.leftovers.is_empty() {
        outln!("system users and groups left behind ({LEFTOVER_REASON}):");
        for l in &report.leftovers {
            let kind = match l.kind {
                rollback::Kind::User => "user ",
                rollback::Kind::Group => "group",
            };
            outln!("  {kind} {:<24} from {} ({})", l.name, l.package, l.source);
        }
        outln!("  once no file belongs to them: `deluser --system NAME`, `delgroup --system NAME`");
    }
    show_etc(report);
}

/// The /etc part of the outcome: what was watched, restored and left.
fn show_etc(report: &Report) {
    let Some(watch) = &report.watch else {
        return;
    };
    // apt's local time, and UTC too where they differ.
    let zone = if crate::localtime::parse_wall(&watch.since) == Some(watch.since_unix) {
        String::new()
    } else {
        format!(" {}, {}", watch.zone, watch.since_utc)
    };
    outln!(
        "{} {} entries of /etc that predate the first transaction ({}{zone}) or that a package staying declares in tmpfiles.d, and that no purged package owns{}",
        if report.dry_run {
            "would watch"
        } else {
            "watched"
        },
        watch.count,
        watch.since,
        if report.dry_run {
            ": any the purge removes is restored"
        } else {
            ""
        }
    );
    if watch.by_ctime > 0 {
        outln!(
            "  ({} judged by ctime: the file system keeps no birth time)",
            watch.by_ctime
        );
    }
    if !watch.too_large.is_empty() {
        outln!(
            "  larger than {} MiB, recorded but not restorable:",
            collateral::CONTENT_LIMIT / 1024 / 1024
        );
        wrapped(&watch.too_large);
    }
    if !report.restored.is_empty() {
        outln!(
            "restored {} ({}):",
            report.restored.len(),
            collateral::RESTORED_WHY
        );
        for r in &report.restored {
            outln!("  {} ({})", r.path, r.kind.name());
        }
    }
    if !report.not_restored.is_empty() {
        outln!("not restored:");
        for r in &report.not_restored {
            outln!("  {}: {}", r.path, r.why);
        }
    }
    if !report.left.is_empty() {
        outln!("left {} ({}):", report.left.len(), collateral::LEFT_WHY);
        for l in &report.left {
            let below = if l.entries > 0 {
                format!(", and {} entries in it", l.entries)
            } else {
                String::new()
            };
            outln!("  {} ({}{below})", l.path, l.kind.name());
        }
    }
}

/// Names on lines of about 100 columns, indented.
fn wrapped(items: &[String]) {
    let mut line = String::new();
    for item in items {
        if !line.is_empty() && line.len() + item.len() > 96 {
            outln!("  {line}");
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(item);
    }
    if !line.is_empty() {
        outln!("  {line}");
    }
}
