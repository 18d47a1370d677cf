//! `vpsc-user delete`: offboarding. The account is locked for good (so its
//! UID is never handed out again: useradd never reuses an existing one),
//! its sessions ended, its sudoers drop-in and every group membership
//! removed, and with `--archive` its home packed into a root-only archive
//! under /var/lib/vpsc/archive and removed.

use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};

use serde::Serialize;

use super::store::{self, Status};
use super::sudoers;
use super::tx::Tx;
use crate::accounts;
use crate::error::{Error, Result};
use crate::root::Root;
use crate::state::State;

/// Where home archives go (0700, root only).
pub const ARCHIVE_DIR: &str = "/var/lib/vpsc/archive";

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

    let drop_in = root.path(&sudoers::path(name));
    let before = std::fs::read_to_string(&drop_in).ok();
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
        let stamp: String = crate::dates::utc(now)
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        let path = format!("{ARCHIVE_DIR}/{name}-{stamp}.tar.gz");
        let host = root.path(&path);
        let host_home = root.path(&home);
        tx.step("archive", || {
            pack(root, &host_home, &host)?;
            Ok((
                serde_json::json!({"archive": path, "home": home}),
                Box::new(move || {
                    let _ = std::fs::remove_file(&host);
                    Ok(())
                }),
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

    let host_home = root.path(&account.home);
    tx.step("home", || {
        if archive_path.is_some() {
            if host_home.exists() {
                std::fs::remove_dir_all(&host_home).map_err(Error::io("remove", &host_home))?;
            }
        } else if host_home.exists() {
            // Kept for a later archive, closed to everyone but root.
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&host_home, std::fs::Permissions::from_mode(0o700))
                .map_err(Error::io("set permissions of", &host_home))?;
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
        Ok(d) => crate::dates::utc(d * 86_400)[..10].to_owned(),
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

/// Packs `home` into a gzip'd tar at `archive`, created 0600 in a 0700
/// directory, owners and modes kept, links stored as links.
fn pack(root: &Root, home: &std::path::Path, archive: &std::path::Path) -> Result<()> {
    let dir = root.path(ARCHIVE_DIR);
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .map_err(Error::io("create", &dir))?;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(archive)
        .map_err(Error::io("create", archive))?;
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    tar.follow_symlinks(false);
    let name = home
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "home".into());
    let written = tar
        .append_dir_all(&name, home)
        .and_then(|()| tar.into_inner())
        .and_then(|gz| gz.finish())
        .and_then(|f| f.sync_all());
    if let Err(e) = written {
        let _ = std::fs::remove_file(archive);
        return Err(Error::io("write", archive)(e));
    }
    Ok(())
}
