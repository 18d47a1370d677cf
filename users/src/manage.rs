//! Changes to an onboarded user after `create`: lock and unlock, roles
//! (lasting and temporary), SSH keys, and teams. Access (role groups and
//! the sudoers drop-in) is always re-derived from the record and the roles
//! file by [`sync_access`], so the system and the record cannot drift.

use super::create::{key_record, read_key};
use super::store::{self, Grant, Status, TeamRecord, UserRecord};
use super::sudoers;
use super::tx::Tx;
use super::{input, invalid};
use crate::rbac::Roles;
use vpsc_engine::accounts;
use vpsc_engine::error::{Error, Result};
use vpsc_engine::root::Root;
use vpsc_engine::state::State;

/// Where team folders live.
pub const TEAM_DIR: &str = "/srv/teams";

/// The record of an onboarded, not offboarded, user.
pub fn active(state: &State, name: &str) -> Result<UserRecord> {
    input::user_name(name).map_err(invalid("name a user vpsc-user created"))?;
    let r = store::user(state, name)?.ok_or_else(|| Error::Invalid {
        what: format!("`{name}` is not a user vpsc-user created"),
        hint: "`vpsc-user list` shows them".into(),
    })?;
    if r.status == Status::Deleted {
        return Err(Error::Invalid {
            what: format!("user `{name}` was offboarded"),
            hint: "an offboarded account stays locked; onboard the person under a new name".into(),
        });
    }
    Ok(r)
}

/// Makes role groups and the sudoers drop-in match `record` at `now`:
/// joins the groups of the roles in force, leaves role groups no longer
/// held, rewrites (or removes) the drop-in. Returns the groups in force.
pub fn sync_access(root: &Root, record: &UserRecord, now: i64) -> Result<Vec<String>> {
    let roles = Roles::load(root)?;
    let mut wanted = Vec::new();
    let mut entries = Vec::new();
    let mut resolved = Vec::new();
    for role in &record.roles {
        resolved.push((roles.resolve(role)?, None));
    }
    for g in &record.grants {
        if g.until > now {
            resolved.push((roles.resolve(&g.role)?, Some(g.until)));
        }
    }
    for (r, _) in &resolved {
        for g in &r.groups {
            if !wanted.contains(g) {
                wanted.push(g.clone());
            }
        }
    }
    let mut role_groups = Vec::new();
    for name in roles.names() {
        role_groups.extend(roles.resolve(name)?.groups);
    }
    for g in accounts::groups_of(root, &record.name)? {
        if role_groups.contains(&g) && !wanted.contains(&g) && !record.teams.contains(&g) {
            accounts::leave(root, &record.name, &g)?;
        }
    }
    for g in &wanted {
        accounts::join(root, &record.name, g)?;
    }
    for (r, until) in &resolved {
        entries.push(sudoers::Entry {
            role: r,
            until: *until,
        });
    }
    let text = sudoers::render(&record.name, &entries);
    sudoers::install(root, &record.name, text.as_deref())?;
    Ok(wanted)
}

/// Runs `change` on the record of `name`, then syncs access, as one step
/// `action` whose undo puts record and access back.
fn change_access(
    root: &Root,
    state: &State,
    name: &str,
    action: &str,
    now: i64,
    change: impl FnOnce(&mut UserRecord) -> Result<()>,
) -> Result<UserRecord> {
    let before = active(state, name)?;
    let mut after = before.clone();
    change(&mut after)?;
    let mut tx = Tx::new(root, state, action, name);
    tx.step("access", || {
        let groups = sync_access(root, &after, now)?;
        store::save_user(state, &after)?;
        Ok((
            serde_json::json!({"roles": after.roles, "grants": after.grants, "groups": groups}),
            Box::new(move || {
                sync_access(root, &before, now)?;
                store::save_user(state, &before)
            }),
        ))
    })?;
    tx.commit();
    Ok(after)
}

/// Gives `name` a lasting role.
pub fn role_assign(
    root: &Root,
    state: &State,
    name: &str,
    role: &str,
    now: i64,
) -> Result<UserRecord> {
    let roles = Roles::load(root)?;
    if !roles.contains(role) {
        return Err(roles.unknown(role));
    }
    change_access(root, state, name, "user.role.assign", now, |r| {
        if !r.roles.iter().any(|x| x == role) {
            r.roles.push(role.to_owned());
        }
        Ok(())
    })
}

/// Takes a lasting role (and any temporary grant of it) from `name`.
pub fn role_revoke(
    root: &Root,
    state: &State,
    name: &str,
    role: &str,
    now: i64,
) -> Result<UserRecord> {
    change_access(root, state, name, "user.role.revoke", now, |r| {
        let held = r.roles.len() + r.grants.len();
        r.roles.retain(|x| x != role);
        r.grants.retain(|g| g.role != role);
        if r.roles.len() + r.grants.len() == held {
            return Err(Error::Invalid {
                what: format!("user `{name}` does not hold role `{role}`"),
                hint: format!("`vpsc-user show {name}` lists the roles held"),
            });
        }
        Ok(())
    })
}

/// Grants `role` to `name` until `until`, or extends the grant to it.
pub fn temp_grant(
    root: &Root,
    state: &State,
    name: &str,
    role: &str,
    until: i64,
    now: i64,
    extend: bool,
) -> Result<UserRecord> {
    let roles = Roles::load(root)?;
    if !roles.contains(role) {
        return Err(roles.unknown(role));
    }
    let action = if extend {
        "user.temp_access.extend"
    } else {
        "user.temp_access.grant"
    };
    change_access(root, state, name, action, now, |r| {
        match r
            .grants
            .iter_mut()
            .find(|g| g.role == role && g.until > now)
        {
            Some(g) if extend => {
                if until <= g.until {
                    return Err(Error::Invalid {
                        what: format!(
                            "the grant of `{role}` to `{name}` already runs until {}",
                            vpsc_engine::dates::utc(g.until)
                        ),
                        hint: "extend to a later time".into(),
                    });
                }
                g.until = until;
            }
            Some(_) => {
                return Err(Error::Invalid {
                    what: format!("`{name}` already holds `{role}` temporarily"),
                    hint: format!(
                        "use `vpsc-user temp-access extend {name} --role {role} --for …`"
                    ),
                });
            }
            None if extend => {
                return Err(Error::Invalid {
                    what: format!("`{name}` holds no temporary `{role}` to extend"),
                    hint: format!("use `vpsc-user temp-access grant {name} --role {role} --for …`"),
                });
            }
            None => {
                r.grants.retain(|g| g.until > now);
                r.grants.push(Grant {
                    role: role.to_owned(),
                    granted: now,
                    until,
                });
            }
        }
        Ok(())
    })
}

/// Ends the temporary grant of `role` to `name` now.
pub fn temp_revoke(
    root: &Root,
    state: &State,
    name: &str,
    role: &str,
    now: i64,
) -> Result<UserRecord> {
    change_access(root, state, name, "user.temp_access.revoke", now, |r| {
        let before = r.grants.len();
        r.grants.retain(|g| g.role != role);
        if r.grants.len() == before {
            return Err(Error::Invalid {
                what: format!("`{name}` holds no temporary `{role}`"),
                hint: format!("`vpsc-user show {name}` lists the grants"),
            });
        }
        Ok(())
    })
}

/// What a sweep did: users whose expired access was removed, and users
/// it could not sweep, each with the reason.
#[derive(Debug, Default, serde::Serialize)]
pub struct Swept {
    /// Users whose expired grants or keys were removed.
    pub changed: Vec<String>,
    /// Users left as they were, with why.
    pub failed: Vec<SweepFailure>,
}

/// One user the sweep could not finish.
#[derive(Debug, serde::Serialize)]
pub struct SweepFailure {
    /// Login name.
    pub user: String,
    /// The error, as one line.
    pub error: String,
}

/// Removes expired grants and expired rotated keys of every user, each
/// user on their own: one that fails (a damaged home, a record that no
/// longer matches the system) is reported and audited, and the others are
/// still swept.
pub fn sweep(root: &Root, state: &State, now: i64) -> Result<Swept> {
    let mut out = Swept::default();
    for r in store::users(state)? {
        if r.status == Status::Deleted {
            continue;
        }
        match sweep_one(root, state, &r, now) {
            Ok(true) => out.changed.push(r.name.clone()),
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(user = %r.name, error = %e, "not swept");
                let event = vpsc_engine::audit::append(
                    state,
                    vpsc_engine::audit::NewEvent {
                        actor: vpsc_engine::audit::actor(root),
                        action: "user.temp_access.sweep.user".into(),
                        target: r.name.clone(),
                        result: format!("error: {e}"),
                        details: serde_json::json!({"hint": e.hint()}),
                    },
                )?;
                vpsc_engine::audit::forward(root, &event);
                out.failed.push(SweepFailure {
                    user: r.name.clone(),
                    error: e.to_string(),
                });
            }
        }
    }
    Ok(out)
}

/// Sweeps one user; says whether anything expired was removed.
fn sweep_one(root: &Root, state: &State, r: &UserRecord, now: i64) -> Result<bool> {
    let expired_grants = r.grants.iter().any(|g| g.until <= now);
    let expired_keys = r.keys.iter().any(|k| k.expires.is_some_and(|t| t <= now));
    if expired_grants {
        change_access(root, state, &r.name, "user.temp_access.sweep", now, |rec| {
            rec.grants.retain(|g| g.until > now);
            Ok(())
        })?;
    }
    if expired_keys {
        let mut rec = active(state, &r.name)?;
        rec.keys.retain(|k| k.expires.is_none_or(|t| t > now));
        write_keys(root, state, &rec, "user.ssh_key.sweep")?;
    }
    Ok(expired_grants || expired_keys)
}

/// Locks `name`: password locked and account expired, so neither a
/// password nor an SSH key lets them in.
pub fn lock(root: &Root, state: &State, name: &str) -> Result<UserRecord> {
    let mut record = active(state, name)?;
    let mut tx = Tx::new(root, state, "user.lock", name);
    tx.step("account", || {
        root.shadow_tool(&["usermod", "--lock", "--expiredate", "1", name])?;
        record.status = Status::Locked;
        store::save_user(state, &record)?;
        Ok((serde_json::json!({}), Box::new(|| Ok(()))))
    })?;
    tx.commit();
    Ok(record)
}

/// Unlocks `name`, restoring the account's own expiry.
pub fn unlock(root: &Root, state: &State, name: &str) -> Result<UserRecord> {
    let mut record = active(state, name)?;
    let expiry = record
        .expires
        .map(|t| vpsc_engine::dates::utc(t)[..10].to_owned())
        .unwrap_or_default();
    let mut tx = Tx::new(root, state, "user.unlock", name);
    tx.step("account", || {
        let mut argv = vec!["usermod", "--expiredate", &expiry];
        if accounts::password_locked(root, name)? {
            argv.push("--unlock");
        }
        argv.push(name);
        root.shadow_tool(&argv)?;
        record.status = Status::Active;
        store::save_user(state, &record)?;
        Ok((serde_json::json!({}), Box::new(|| Ok(()))))
    })?;
    tx.commit();
    Ok(record)
}

/// Rewrites `~/.ssh/authorized_keys` from the record's keys, a rotated
/// key with OpenSSH's `expiry-time` so sshd itself refuses it after the
/// grace period (sshd(8), AUTHORIZED_KEYS FILE FORMAT).
fn write_keys(root: &Root, state: &State, record: &UserRecord, action: &str) -> Result<()> {
    let account = accounts::account(root, &record.name)?.ok_or_else(|| Error::Precondition {
        what: format!("user `{}` has no account", record.name),
        hint: "the account was removed by hand".into(),
    })?;
    let lines = authorized_keys(record);
    let home = root.user_dir(&account.home, account.uid, "home directory")?;
    let existing = match home.stat(".ssh")? {
        Some(_) => Some(home.parent_of_file("write", ".ssh/authorized_keys")?),
        None => None,
    };
    let before = match &existing {
        Some(ssh) => ssh.read("authorized_keys")?.map(|(b, _)| b),
        None => None,
    };
    let mut tx = Tx::new(root, state, action, &record.name);
    tx.step("authorized_keys", || {
        let ssh = match existing {
            Some(ssh) => ssh,
            None => home.ensure_subdir(".ssh", 0o700, account.uid, account.gid)?.0,
        };
        ssh.write("authorized_keys", lines.as_bytes(), 0o600, account.uid, account.gid)?;
        store::save_user(state, record)?;
        Ok((
            serde_json::json!({"keys": record.keys.iter().map(|k| &k.fingerprint).collect::<Vec<_>>()}),
            Box::new(move || match &before {
                Some(b) => ssh.write("authorized_keys", b, 0o600, account.uid, account.gid),
                None => Ok(()),
            }),
        ))
    })?;
    tx.commit();
    Ok(())
}

/// The authorized_keys text of `record`; sshd reads `expiry-time` as
/// local time, so it is written in UTC with the `Z` OpenSSH 8.8+ accepts.
pub fn authorized_keys(record: &UserRecord) -> String {
    record
        .keys
        .iter()
        .map(|k| match k.expires {
            Some(t) => {
                let digits: String = vpsc_engine::dates::utc(t)
                    .chars()
                    .filter(char::is_ascii_digit)
                    .collect();
                format!("expiry-time=\"{}Z\" {}\n", &digits[..12], k.line)
            }
            None => format!("{}\n", k.line),
        })
        .collect()
}

/// The key in `file`, refused when `record` has it already.
fn new_key(record: &UserRecord, file: &std::path::Path) -> Result<super::sshkey::PublicKey> {
    let key = read_key(file)?;
    if record
        .keys
        .iter()
        .any(|k| k.fingerprint == key.fingerprint())
    {
        return Err(Error::Invalid {
            what: format!("`{}` already has key {}", record.name, key.fingerprint()),
            hint: "pass a key the user does not have yet (`vpsc-user show` lists them)".into(),
        });
    }
    Ok(key)
}

/// Adds a key from `file`.
pub fn key_add(
    root: &Root,
    state: &State,
    name: &str,
    file: &std::path::Path,
    now: i64,
) -> Result<UserRecord> {
    let mut record = active(state, name)?;
    let key = new_key(&record, file)?;
    record.keys.push(key_record(&key, now));
    write_keys(root, state, &record, "user.ssh_key.add")?;
    Ok(record)
}

/// Revokes the key with `fingerprint` at once.
pub fn key_revoke(root: &Root, state: &State, name: &str, fingerprint: &str) -> Result<UserRecord> {
    let mut record = active(state, name)?;
    let before = record.keys.len();
    record.keys.retain(|k| k.fingerprint != fingerprint);
    if record.keys.len() == before {
        return Err(Error::Invalid {
            what: format!("`{name}` has no key {fingerprint}"),
            hint: format!("`vpsc-user show {name}` lists the fingerprints"),
        });
    }
    write_keys(root, state, &record, "user.ssh_key.revoke")?;
    Ok(record)
}

/// Adds the key in `file` and lets every older key work `grace` seconds more.
pub fn key_rotate(
    root: &Root,
    state: &State,
    name: &str,
    file: &std::path::Path,
    grace: u64,
    now: i64,
) -> Result<UserRecord> {
    let mut record = active(state, name)?;
    let key = new_key(&record, file)?;
    let until = now + i64::try_from(grace).unwrap_or(i64::MAX / 2);
    for k in &mut record.keys {
        k.expires = Some(k.expires.map_or(until, |t| t.min(until)));
    }
    record.keys.push(key_record(&key, now));
    write_keys(root, state, &record, "user.ssh_key.rotate")?;
    Ok(record)
}

/// Creates team `name`: a group and a setgid folder the team shares.
pub fn team_create(root: &Root, state: &State, name: &str, now: i64) -> Result<TeamRecord> {
    input::team_name(name).map_err(invalid("pick another team name"))?;
    if store::team(state, name)?.is_some() || accounts::group_exists(root, name)? {
        return Err(Error::Invalid {
            what: format!("a team or group named `{name}` already exists"),
            hint: "pick another team name".into(),
        });
    }
    let folder = format!("{TEAM_DIR}/{name}");
    let record = TeamRecord {
        name: name.to_owned(),
        folder: folder.clone(),
        created: now,
    };
    let mut tx = Tx::new(root, state, "team.create", name);
    tx.step("group", || {
        root.shadow_tool(&["groupadd", name])?;
        Ok((
            serde_json::json!({}),
            Box::new(move || root.shadow_tool(&["groupdel", name])),
        ))
    })?;
    tx.step("folder", || {
        let gid = accounts::gid(root, name)?.ok_or_else(|| Error::Precondition {
            what: format!("groupadd succeeded but group `{name}` is missing"),
            hint: "check /etc/group".into(),
        })?;
        let teams = root.ensure_dir(TEAM_DIR, 0o755)?;
        let (dir, made) = teams.ensure_subdir(name, 0o770, 0, gid)?;
        if !made {
            return Err(Error::Precondition {
                what: format!("{folder} exists already, so it cannot become the team's folder"),
                hint: format!(
                    "move {folder} away (it was not made by vpsc-user), then create the team again"
                ),
            });
        }
        // setgid: files made inside belong to the team, not to their author.
        dir.chmod(0o2770)?;
        Ok((
            serde_json::json!({"folder": folder, "mode": "2770"}),
            Box::new(move || {
                let _ = teams.remove_dir(name);
                Ok(())
            }),
        ))
    })?;
    tx.step("record", || {
        store::save_team(state, &record)?;
        Ok((
            serde_json::json!({}),
            Box::new(move || store::remove_team(state, name)),
        ))
    })?;
    tx.commit();
    Ok(record)
}

/// Adds (`join`) or removes `user` from team `team`.
pub fn team_member(
    root: &Root,
    state: &State,
    team: &str,
    user: &str,
    join: bool,
) -> Result<UserRecord> {
    input::team_name(team).map_err(invalid("name an existing team"))?;
    if store::team(state, team)?.is_none() {
        return Err(Error::Invalid {
            what: format!("team `{team}` does not exist"),
            hint: format!("create it first: `vpsc-user team create {team}`"),
        });
    }
    let mut record = active(state, user)?;
    let mut tx = Tx::new(
        root,
        state,
        if join { "team.add" } else { "team.remove" },
        team,
    );
    tx.step("member", || {
        if join {
            accounts::join(root, user, team)?;
            if !record.teams.iter().any(|t| t == team) {
                record.teams.push(team.to_owned());
            }
        } else {
            accounts::leave(root, user, team)?;
            record.teams.retain(|t| t != team);
        }
        store::save_user(state, &record)?;
        Ok((serde_json::json!({"user": user}), Box::new(|| Ok(()))))
    })?;
    tx.commit();
    Ok(record)
}
