//! `vpsc-user`: every subcommand, each change under the runtime's lock
//! and recorded in the audit log (each step, and the command's outcome).

use std::io::IsTerminal;

use super::{open_locked, print_json};
use crate::accounts;
use crate::cli_user::{
    KeyAction, RoleAction, TeamAction, TempAction, TwoFactorAction, UserCli, UserCommand,
};
use crate::error::{Error, Result};
use crate::root::Root;
use crate::state::State;
use crate::users::create::{self, Created, KeySource, Request};
use crate::users::store::{self, UserRecord};
use crate::users::{delete, input, invalid, manage, totp, twofactor};
use std::fs::File;

/// Runs the parsed `vpsc-user` command line; returns the exit status.
pub fn run(cli: UserCli) -> Result<i32> {
    let root = Root::from_arg(cli.root);
    if !root.dir().is_dir() {
        return Err(Error::Invalid {
            what: format!("root {} is not a directory", root.dir().display()),
            hint: "pass an existing directory to --root".into(),
        });
    }
    let json = cli.json;
    let now = crate::dates::now();
    match cli.command {
        UserCommand::Create {
            name,
            full_name,
            email,
            role,
            teams,
            ssh_key,
            generate_ssh_key,
            enable_2fa,
            expires,
            shell,
            dry_run,
        } => {
            let req = Request {
                name: name.clone(),
                full_name,
                email,
                role,
                teams,
                key: match (ssh_key, generate_ssh_key) {
                    (Some(f), _) => KeySource::File(f),
                    (None, true) => KeySource::Generate,
                    (None, false) => KeySource::None,
                },
                totp: enable_2fa,
                expires,
                shell,
            };
            let (state, _lock) = locked(&root)?;
            let result = create::create(&root, &state, &req, now, dry_run);
            if dry_run {
                let created = result?;
                show_created(&created, json);
                return Ok(0);
            }
            audited(&root, &state, "user.create", &name, result, |c| {
                show_created(c, json)
            })
        }
        UserCommand::Delete { name, archive } => {
            let (state, _lock) = locked(&root)?;
            let result = delete::delete(&root, &state, &name, archive, now);
            audited(&root, &state, "user.delete", &name, result, |d| {
                if json {
                    print_json(d);
                } else {
                    outln!("offboarded {} (uid {} kept from reuse)", d.user, d.uid);
                    outln!("  left groups: {}", d.groups_left.join(", "));
                    if let Some(a) = &d.archive {
                        outln!("  home archived to {a} (root only)");
                    }
                }
            })
        }
        UserCommand::List => {
            let state = State::open(&root)?;
            let users = store::users(&state)?;
            if json {
                print_json(&users);
            } else {
                for u in &users {
                    outln!(
                        "{:<20} {:>6} {:<8} {:<24} {}",
                        u.name,
                        u.uid,
                        u.status.to_string(),
                        u.roles_at(now).join(","),
                        u.email
                    );
                }
            }
            Ok(0)
        }
        UserCommand::Show { name } => {
            let state = State::open(&root)?;
            input::user_name(&name).map_err(invalid("name a user vpsc-user created"))?;
            let u = store::user(&state, &name)?.ok_or_else(|| Error::Invalid {
                what: format!("`{name}` is not a user vpsc-user created"),
                hint: "`vpsc-user list` shows them".into(),
            })?;
            let groups = accounts::groups_of(&root, &name)?;
            if json {
                print_json(
                    &serde_json::json!({"user": u, "groups": groups, "roles_now": u.roles_at(now)}),
                );
            } else {
                show_record(&u, &groups, now);
            }
            Ok(0)
        }
        UserCommand::Lock { name } => changing(&root, "user.lock", &name, json, |s| {
            manage::lock(&root, s, &name)
        }),
        UserCommand::Unlock { name } => changing(&root, "user.unlock", &name, json, |s| {
            manage::unlock(&root, s, &name)
        }),
        UserCommand::Role { action } => match action {
            RoleAction::Assign { name, role } => {
                changing(&root, "user.role.assign", &name, json, |s| {
                    manage::role_assign(&root, s, &name, &role, now)
                })
            }
            RoleAction::Revoke { name, role } => {
                changing(&root, "user.role.revoke", &name, json, |s| {
                    manage::role_revoke(&root, s, &name, &role, now)
                })
            }
        },
        UserCommand::SshKey { action } => match action {
            KeyAction::Add { name, file } => {
                changing(&root, "user.ssh_key.add", &name, json, |s| {
                    manage::key_add(&root, s, &name, &file, now)
                })
            }
            KeyAction::Rotate { name, file, grace } => {
                let grace = input::duration(&grace)
                    .map_err(invalid("pass --grace as a duration such as 7d"))?;
                changing(&root, "user.ssh_key.rotate", &name, json, |s| {
                    manage::key_rotate(&root, s, &name, &file, grace, now)
                })
            }
            KeyAction::Revoke { name, fingerprint } => {
                changing(&root, "user.ssh_key.revoke", &name, json, |s| {
                    manage::key_revoke(&root, s, &name, &fingerprint)
                })
            }
        },
        UserCommand::TempAccess { action } => match action {
            TempAction::Grant {
                name,
                role,
                duration,
            } => temp_access(&root, &name, &role, &duration, false, json, now),
            TempAction::Extend {
                name,
                role,
                duration,
            } => temp_access(&root, &name, &role, &duration, true, json, now),
            TempAction::Revoke { name, role } => {
                changing(&root, "user.temp_access.revoke", &name, json, |s| {
                    manage::temp_revoke(&root, s, &name, &role, now)
                })
            }
            TempAction::Sweep => {
                let (state, _lock) = locked(&root)?;
                let result = manage::sweep(&root, &state, now);
                let failed = result.as_ref().map(|s| s.failed.len()).unwrap_or(0);
                let code = audited(&root, &state, "user.sweep", "*", result, |swept| {
                    if json {
                        print_json(swept);
                        return;
                    }
                    if !swept.changed.is_empty() {
                        outln!("expired access removed for: {}", swept.changed.join(", "));
                    }
                    for f in &swept.failed {
                        eprintln!("error: {} was not swept: {}", f.user, f.error);
                    }
                })?;
                // Checked and found wanting: some user still has expired access.
                Ok(if failed > 0 { 1 } else { code })
            }
        },
        UserCommand::Team { action } => match action {
            TeamAction::Create { name } => {
                let (state, _lock) = locked(&root)?;
                let result = manage::team_create(&root, &state, &name, now);
                audited(&root, &state, "team.create", &name, result, |t| {
                    if json {
                        print_json(t);
                    } else {
                        outln!(
                            "team {} created: group {}, shared folder {} (setgid)",
                            t.name,
                            t.name,
                            t.folder
                        );
                    }
                })
            }
            TeamAction::Add { team, user } => changing(&root, "team.add", &user, json, |s| {
                manage::team_member(&root, s, &team, &user, true)
            }),
            TeamAction::Remove { team, user } => changing(&root, "team.remove", &user, json, |s| {
                manage::team_member(&root, s, &team, &user, false)
            }),
            TeamAction::List => {
                let state = State::open(&root)?;
                let teams = store::teams(&state)?;
                let mut out = Vec::new();
                for t in &teams {
                    let members = crate::effects::group_members(&root, &t.name).unwrap_or_default();
                    out.push(
                        serde_json::json!({"team": t.name, "folder": t.folder, "members": members}),
                    );
                    if !json {
                        outln!("{:<20} {:<28} {}", t.name, t.folder, members.join(", "));
                    }
                }
                if json {
                    print_json(&out);
                }
                Ok(0)
            }
        },
        UserCommand::Activity {
            name,
            since,
            file,
            record,
        } => super::activity::run(
            &root,
            name.as_deref(),
            since.as_deref(),
            &file,
            record,
            json,
        ),
        UserCommand::TwoFactor {
            action: TwoFactorAction::Enroll { name },
        } => {
            let (state, _lock) = locked(&root)?;
            let result = twofactor::enroll(&root, &state, &name);
            audited(&root, &state, "user.2fa.enroll", &name, result, |t| {
                if json {
                    print_json(t);
                } else {
                    show_totp(t);
                }
            })
        }
        UserCommand::TwoFactor {
            action: action @ (TwoFactorAction::Enforce | TwoFactorAction::Relax),
        } => {
            let (state, _lock) = locked(&root)?;
            let enforce = matches!(action, TwoFactorAction::Enforce);
            let result = if enforce {
                twofactor::enforce(&root, &state, now)
            } else {
                twofactor::relax(&root, &state)
            };
            let what = if enforce {
                "user.2fa.enforce"
            } else {
                "user.2fa.relax"
            };
            audited(&root, &state, what, "sshd", result, |r| {
                if json {
                    print_json(r);
                } else if enforce {
                    outln!(
                        "SSH logins now need the key and a TOTP code ({} change(s)); `vpsc-user 2fa relax` undoes it",
                        r.applied.len()
                    );
                } else {
                    outln!(
                        "SSH second factor no longer required ({} change(s) undone)",
                        r.undone.len()
                    );
                }
            })
        }
        UserCommand::TwoFactor {
            action: TwoFactorAction::Code { name, at },
        } => {
            let state = State::open(&root)?;
            let secret = read_secret(&root, &state, &name)?;
            let t = at.unwrap_or_else(|| u64::try_from(now).unwrap_or(0));
            let code = totp::totp(&secret, t);
            if json {
                print_json(&serde_json::json!({"user": name, "time": t, "code": code}));
            } else {
                outln!("{code}");
            }
            Ok(0)
        }
        UserCommand::TwoFactor {
            action: TwoFactorAction::Verify { name, code },
        } => {
            let state = State::open(&root)?;
            let secret = read_secret(&root, &state, &name)?;
            let t = u64::try_from(now).unwrap_or(0);
            // One step either side, as pam_google_authenticator's window.
            let ok = [t.saturating_sub(30), t, t + 30]
                .iter()
                .any(|&at| totp::totp(&secret, at) == code);
            if json {
                print_json(&serde_json::json!({"user": name, "valid": ok}));
            } else {
                outln!("{}", if ok { "valid" } else { "invalid" });
            }
            Ok(if ok { 0 } else { 1 })
        }
    }
}

/// The state under the runtime's lock, after taking back any create
/// whose process died (see [`crate::users::recover`]).
fn locked(root: &Root) -> Result<(State, nix::fcntl::Flock<File>)> {
    let (state, lock) = open_locked(root)?;
    crate::users::recover::interrupted_creates(root, &state)?;
    Ok((state, lock))
}

/// `temp-access grant|extend`.
fn temp_access(
    root: &Root,
    name: &str,
    role: &str,
    duration: &str,
    extend: bool,
    json: bool,
    now: i64,
) -> Result<i32> {
    let until = input::expiry(duration, now)
        .map_err(invalid("pass --for a duration such as 4h, or YYYY-MM-DD"))?;
    let action = if extend {
        "user.temp_access.extend"
    } else {
        "user.temp_access.grant"
    };
    let code = changing(root, action, name, json, |s| {
        manage::temp_grant(root, s, name, role, until, now, extend)
    })?;
    if code == 0 {
        arm_sweep(root, until);
    }
    Ok(code)
}

/// Has systemd end a grant when it expires: a transient timer runs the
/// sweep at `until`, where vpsc-user-sweep.timer's next tick may be up to
/// 15 minutes later. sudo refuses the rule from `until` on either way; the
/// sweep takes away the group and the rule. A transient timer does not
/// survive a reboot; the persistent timer catches up then.
fn arm_sweep(root: &Root, until: i64) {
    if !root.is_live() {
        return;
    }
    let argv = [
        "systemd-run".to_owned(),
        "--quiet".to_owned(),
        "--collect".to_owned(),
        format!("--unit=vpsc-user-sweep-at-{until}"),
        format!("--on-calendar={} UTC", crate::dates::utc(until)),
        "--timer-property=AccuracySec=1s".to_owned(),
        "--description=End the vpsc-user grants that expire now".to_owned(),
        "/usr/sbin/vpsc-user".to_owned(),
        "temp-access".to_owned(),
        "sweep".to_owned(),
    ];
    // Two grants ending in the same second share one timer: "already
    // exists" is success.
    match root.run(&argv) {
        Err(e) if !e.to_string().contains("already exists") => tracing::warn!(
            error = %e,
            "no timer at the grant's end; vpsc-user-sweep.timer will sweep it"
        ),
        _ => {}
    }
}

/// The TOTP secret of `name` from `~/.google_authenticator`.
fn read_secret(root: &Root, state: &State, name: &str) -> Result<Vec<u8>> {
    let record = manage::active(state, name)?;
    let account = accounts::account(root, &record.name)?.ok_or_else(|| Error::Precondition {
        what: format!("user `{name}` has no account"),
        hint: "the account was removed by hand".into(),
    })?;
    let home = root.user_dir(&account.home, account.uid, "home directory")?;
    let path = home.shown_of(crate::users::enrol::SECRET_FILE);
    let (content, _) = home
        .read(crate::users::enrol::SECRET_FILE)?
        .ok_or_else(|| Error::Precondition {
            what: format!("{path} does not exist: `{name}` has no second factor"),
            hint: format!("enrol them: `vpsc-user 2fa enroll {name}`"),
        })?;
    let text = String::from_utf8_lossy(&content);
    totp::parse_google_authenticator(&text).map_err(|e| Error::Invalid {
        what: format!("{path}: {e}"),
        hint: format!("enrol again: remove the file and run `vpsc-user create` for a new user, or re-run google-authenticator as {name}"),
    })
}

/// Runs a changing command on a user record under the lock, audited.
fn changing(
    root: &Root,
    action: &str,
    target: &str,
    json: bool,
    f: impl FnOnce(&State) -> Result<UserRecord>,
) -> Result<i32> {
    let (state, _lock) = locked(root)?;
    let result = f(&state);
    let now = crate::dates::now();
    audited(root, &state, action, target, result, |r| {
        if json {
            print_json(r);
        } else {
            let groups = accounts::groups_of(root, &r.name).unwrap_or_default();
            show_record(r, &groups, now);
        }
    })
}

/// Records the command's outcome in the audit log, shows a success.
fn audited<T>(
    root: &Root,
    state: &State,
    action: &str,
    target: &str,
    result: Result<T>,
    show: impl FnOnce(&T),
) -> Result<i32> {
    let outcome = match &result {
        Ok(_) => "ok".to_owned(),
        Err(e) => format!("error: {e}"),
    };
    super::record_outcome(root, state, action, target, outcome, result.as_ref().err())?;
    let value = result?;
    show(&value);
    Ok(0)
}

fn show_record(u: &UserRecord, groups: &[String], now: i64) {
    outln!("{} (uid {}): {} <{}>", u.name, u.uid, u.full_name, u.email);
    outln!("  status:  {}", u.status);
    outln!("  roles:   {}", u.roles_at(now).join(", "));
    for g in &u.grants {
        outln!("  grant:   {} until {}", g.role, crate::dates::utc(g.until));
    }
    outln!("  groups:  {}", groups.join(", "));
    outln!("  teams:   {}", u.teams.join(", "));
    for k in &u.keys {
        let exp = k
            .expires
            .map(|t| format!(" (until {})", crate::dates::utc(t)))
            .unwrap_or_default();
        outln!("  key:     {} {} {}{exp}", k.kind, k.fingerprint, k.comment);
    }
    outln!("  2fa:     {}", if u.totp { "TOTP" } else { "none" });
    if let Some(e) = u.expires {
        outln!("  expires: {}", crate::dates::utc(e));
    }
}

fn show_created(c: &Created, json: bool) {
    if json {
        print_json(c);
        return;
    }
    let what = if c.dry_run { "would create" } else { "created" };
    let uid = c.uid.map(|u| format!(" (uid {u})")).unwrap_or_default();
    outln!("{what} user {}{uid}, role {}", c.user, c.roles.join(", "));
    outln!("  home:    {}", c.home);
    outln!("  groups:  {}", c.groups.join(", "));
    if let Some(s) = &c.sudoers {
        outln!("  sudo:    {s}: {}", c.sudo_rules.join(", "));
    }
    if let Some(k) = &c.ssh_key {
        outln!("  ssh key: {} {} {}", k.kind, k.fingerprint, k.comment);
    }
    if let Some(e) = &c.expires {
        outln!("  expires: {e}");
    }
    if c.dry_run {
        outln!("  steps:   {}", c.steps.join(", "));
        return;
    }
    if let Some(t) = &c.totp {
        show_totp(t);
    }
    if let Some(p) = &c.private_key {
        outln!("\nPrivate key (shown once; hand it over securely, then forget it):\n{p}");
    }
}

fn show_totp(t: &crate::users::enrol::TotpEnrolment) {
    outln!(
        "\nTOTP: add this account to an authenticator app:\n  {}",
        t.uri
    );
    if std::io::stdout().is_terminal() {
        if let Ok(qr) = crate::users::qr::terminal(&t.uri) {
            outln!("{qr}");
        }
    }
    outln!("Scratch codes (shown once, each works once):");
    for s in &t.scratch_codes {
        outln!("  {s}");
    }
}
