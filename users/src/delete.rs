//! `vpsc-user delete`: offboarding. The account is locked for good (so its
//! UID is never handed out again: useradd never reuses an existing one),
//! its sessions ended, its sudoers drop-in and every group membership
//! removed, and with `--archive` its home packed into a root-only archive
//! under /var/lib/vpsc-archive (where purging vpsc-runtime does not reach)
//! and removed.

use serde::Serialize;

use super::store::{self, Status};
use super::sudoers;
use super::tx::Tx;
use vpsc_engine::accounts;
use vpsc_engine::error::{Error, Result};
use vpsc_engine::root::Root;
use vpsc_engine::state::State;

/// Where home archives go (0700, root only).
pub const ARCHIVE_DIR: &str = "/var/lib/vpsc-archive";

/// What offboarding did.
#[derive(Debug, Serialize)]
pub struct Deleted {
    /// Login name.
    pub user: String,
    /// The UID kept from reuse.
    pub uid: u32,
    /// Groups the user was removed from.
    pub groups_left: Vec<String>,
    /// The home archive, if one was made.
    pub archive: Option<String>,
    /// Steps done.
    pub steps: Vec<String>,
}

/// Offboards `name`.
pub fn delete(root: &Root, state: &State, name: &str, archive: bool, now: i64) -> Result<Deleted> {
    super::input::user_name(name).map_err(super::invalid("name a user vpsc-user created"))?;
    let mut record = store::user(state, name)?.ok_or_else(|| Error::Invalid {
        what: format!("`{name}` is not a user vpsc-user created"),
        hint: "`vpsc-user list` shows them; other accounts are managed with deluser(8)".into(),
    })?;
    let account = accounts::account(root, name)?.ok_or_else(|| Error::Precondition {
        what: format!("user `{name}` has a vpsc record but no account in /etc/passwd"),
        hint: "the account was removed by hand; nothing is left to offboard".into(),
    })?;
    let mut tx = Tx::new(root, state, "user.delete", name);

    let shell = account.shell.clone();
    let expiry = accounts::shadow_expiry(root, name)?;
    let was_locked = accounts::password_locked(root, name)?;
    tx.step("lock", || {
        root.shadow_tool(&[
            "usermod",
            "--lock",
            "--expiredate",
            "1",
            "--shell",
            "/usr/sbin/nologin",
            name,
        ])?;
        Ok((
            serde_json::json!({"shell": "/usr/sbin/nologin", "expired": true}),
            Box::new(move || {
                let days = expiry_arg(&expiry);
                let mut argv = vec!["usermod", "--expiredate", &days, "--shell", &shell];
                if !was_locked {
                    argv.push("--unlock");
                }
                argv.push(name);
                root.shadow_tool(&argv)
            }),
        ))
    })?;

    tx.step("sessions", || {
        let ended = end_sessions(root, name);
        Ok((serde_json::json!({"ended": ended}), Box::new(|| Ok(()))))
    })?;

    let before = root.read_to_string(&sudoers::path(name)).ok();
    tx.step("sudoers", || {
        sudoers::install(root, name, None)?;
        Ok((
            serde_json::json!({"removed": before.is_some()}),
            Box::new(move || match &before {
                Some(text) => sudoers::install(root, name, Some(text)),
                None => Ok(()),
            }),
        ))
    })?;

    let groups = accounts::groups_of(root, name)?;
    let groups_left = groups.clone();
    tx.step("groups", || {
        for g in &groups {
            accounts::leave(root, name, g)?;
        }
        Ok((
            serde_json::json!({"groups": groups}),
            Box::new(move || {
                for g in &groups {
                    accounts::join(root, name, g)?;
                }
                Ok(())
            }),
        ))
    })?;

    let home = account.home.clone();
    let mut archive_path = None;
    if archive {
        let stamp: String = vpsc_engine::dates::utc(now)
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        let path = format!("{ARCHIVE_DIR}/{name}-{stamp}.tar.gz");
        let file = format!("{name}-{stamp}.tar.gz");
        tx.step("archive", || {
            let (dir, report) = pack(root, &account, &file)?;
            Ok((
                serde_json::json!({"archive": path, "home": home, "entries": report.stored, "skipped": report.skipped}),
                Box::new(move || dir.remove(&file)),
            ))
        })?;
        archive_path = Some(path);
    }

    let previous = record.clone();
    record.status = Status::Deleted;
    record.archive = archive_path.clone();
    tx.step("record", || {
        store::save_user(state, &record)?;
        Ok((
            serde_json::json!({"status": "deleted"}),
            Box::new(move || store::save_user(state, &previous)),
        ))
    })?;

    tx.step("home", || {
        let (parent, last) = root.parent_dir(&account.home).map_err(|e| match e {
            Error::Invalid { .. } => Error::Precondition {
                what: format!(
                    "home directory `{}` of `{name}` is not an absolute path",
                    account.home
                ),
                hint: "fix the home field of /etc/passwd".into(),
            },
            other => other,
        })?;
        if parent.stat(last)?.is_some() {
            if archive_path.is_some() {
                // Through descriptors: a link inside the home is removed, not followed.
                parent.remove_tree(last)?;
            } else {
                // Kept for a later archive, closed to everyone but root.
                root.user_dir(&account.home, account.uid, "home directory")?
                    .chmod(0o700)?;
            }
        }
        Ok((
            serde_json::json!({"removed": archive_path.is_some()}),
            Box::new(|| Ok(())),
        ))
    })?;

    Ok(Deleted {
        user: name.to_owned(),
        uid: account.uid,
        groups_left,
        archive: archive_path,
        steps: tx.commit(),
    })
}

/// usermod's `--expiredate` value restoring shadow's field 8 (days).
fn expiry_arg(days: &str) -> String {
    match days.parse::<i64>() {
        Ok(d) => vpsc_engine::dates::utc(d * 86_400)[..10].to_owned(),
        Err(_) => String::new(),
    }
}

/// Ends the user's sessions on a live system; elsewhere none can run.
fn end_sessions(root: &Root, name: &str) -> bool {
    if !root.is_live() {
        return false;
    }
    // No session is not an error: both commands then fail harmlessly.
    let _ = root.run(&["loginctl", "terminate-user", name]);
    let _ = root.run(&["pkill", "--signal", "KILL", "--uid", name]);
    true
}

/// Packs the home of `account` into `ARCHIVE_DIR/file`, a gzip'd tar
/// created 0600 in a 0700 directory, owners and modes kept, links stored
/// as links; a file that is only linked into the home is left out.
fn pack(
    root: &Root,
    account: &accounts::Account,
    file: &str,
) -> Result<(
    vpsc_engine::confined::Dir,
    vpsc_engine::confined::ArchiveReport,
)> {
    let home = root.user_dir(&account.home, account.uid, "home directory")?;
    let dir = root.ensure_dir(ARCHIVE_DIR, 0o700)?;
    let out = dir.create_new(file, 0o600)?;
    let top = account
        .home
        .rsplit('/')
        .find(|s| !s.is_empty())
        .unwrap_or("home")
        .to_owned();
    let gz = flate2::write::GzEncoder::new(out, flate2::Compression::default());
    let written = vpsc_engine::confined::archive_dir(&home, &top, account.uid, gz).and_then(
        |(gz, report)| {
            gz.finish()
                .and_then(|f| f.sync_all())
                .map_err(Error::io("write", dir.shown_of(file)))?;
            Ok(report)
        },
    );
    match written {
        Ok(report) => Ok((dir, report)),
        Err(e) => {
            let _ = dir.remove(file);
            Err(e)
        }
    }
}
