//! `vpsc-user create`: onboarding one person. Everything is validated
//! before the first change; then each step runs with its undo, so a
//! failure at any step leaves the system as it was (see [`super::tx`]).

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use serde::Serialize;

use super::enrol::TotpEnrolment;
use super::sshkey::PublicKey;
use super::store::{self, KeyRecord, Status, UserRecord};
use super::sudoers;
use super::totp;
use super::tx::Tx;
use super::{input, invalid};
use crate::rbac::{ResolvedRole, Roles};
use vpsc_engine::accounts;
use vpsc_engine::error::{Error, Result};
use vpsc_engine::root::Root;
use vpsc_engine::state::State;

/// Where the public key comes from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// No key.
    None,
    /// A `.pub` file.
    File(PathBuf),
    /// Generate an ed25519 pair and hand the private half over once.
    Generate,
}

/// What `vpsc-user create` was asked for.
#[derive(Debug, Clone)]
pub struct Request {
    /// Login name.
    pub name: String,
    /// Full name.
    pub full_name: String,
    /// Email address.
    pub email: String,
    /// Role.
    pub role: String,
    /// Teams to join.
    pub teams: Vec<String>,
    /// SSH key.
    pub key: KeySource,
    /// Set up TOTP.
    pub totp: bool,
    /// `YYYY-MM-DD` or a duration.
    pub expires: Option<String>,
    /// Login shell.
    pub shell: Option<String>,
}

/// What a new user needs to know, and what was done.
#[derive(Debug, Serialize)]
pub struct Created {
    /// Login name.
    pub user: String,
    /// User ID (absent in a dry run).
    pub uid: Option<u32>,
    /// Home directory.
    pub home: String,
    /// Roles.
    pub roles: Vec<String>,
    /// Supplementary groups joined.
    pub groups: Vec<String>,
    /// Teams joined.
    pub teams: Vec<String>,
    /// The sudoers drop-in, if the role has sudo rules.
    pub sudoers: Option<String>,
    /// sudo rules granted.
    pub sudo_rules: Vec<String>,
    /// The authorized key.
    pub ssh_key: Option<KeyRecord>,
    /// A generated private key, shown this once.
    pub private_key: Option<String>,
    /// TOTP enrolment, shown this once.
    pub totp: Option<TotpEnrolment>,
    /// Account expiry (`YYYY-MM-DD`).
    pub expires: Option<String>,
    /// Login shell.
    pub shell: String,
    /// Steps done (or, in a dry run, to do).
    pub steps: Vec<String>,
    /// Whether nothing was changed.
    pub dry_run: bool,
}

/// Everything checked, nothing changed yet.
struct Checked {
    role: ResolvedRole,
    shell: String,
    expires: Option<i64>,
    key: Option<PublicKey>,
    private_key: Option<String>,
}

/// Standard folders every home gets, with their modes.
const FOLDERS: &[(&str, u32)] = &[(".ssh", 0o700), ("projects", 0o750)];

/// Checks `req` against the root without changing anything.
fn check(root: &Root, state: &State, req: &Request, now: i64) -> Result<Checked> {
    input::user_name(&req.name).map_err(invalid("pick another login name"))?;
    if let Some(r) = store::user(state, &req.name)? {
        if r.status == Status::Deleted {
            return Err(Error::Invalid {
                what: format!(
                    "user `{}` was offboarded; the account is kept locked so its UID {} is never reused",
                    req.name, r.uid
                ),
                hint: "pick another login name".into(),
            });
        }
    }
    if accounts::account(root, &req.name)?.is_some() {
        return Err(Error::Invalid {
            what: format!("user `{}` already exists", req.name),
            hint:
                "pick another login name, or manage the existing one with `vpsc-user role assign`"
                    .into(),
        });
    }
    if accounts::group_exists(root, &req.name)? {
        return Err(Error::Invalid {
            what: format!(
                "a group named `{}` already exists, and the user's own group would take that name",
                req.name
            ),
            hint: "pick another login name".into(),
        });
    }
    // A drop-in of that name would be overwritten: `vpsc cis remediate`
    // and modules' CIS remediation write /etc/sudoers.d/vpsc-<owner> too.
    if root.exists(&sudoers::path(&req.name)) {
        return Err(Error::Invalid {
            what: format!(
                "{} exists already, and user `{}` would take over its name",
                sudoers::path(&req.name),
                req.name
            ),
            hint: "pick another login name".into(),
        });
    }
    input::full_name(&req.full_name).map_err(invalid("pass --full-name \"First Last\""))?;
    input::email(&req.email).map_err(invalid("pass --email user@example.org"))?;
    let roles = Roles::load(root)?;
    if !roles.contains(&req.role) {
        return Err(roles.unknown(&req.role));
    }
    let role = roles.resolve(&req.role)?;
    for g in &role.groups {
        if !accounts::group_exists(root, g)? {
            return Err(Error::Precondition {
                what: format!("group `{g}` of role `{}` does not exist", req.role),
                hint: "install vpsc-mod-rbac, which creates the role groups (`apt install vpsc-mod-rbac`)".into(),
            });
        }
    }
    for t in &req.teams {
        input::team_name(t).map_err(invalid("name an existing team"))?;
        if store::team(state, t)?.is_none() {
            return Err(Error::Invalid {
                what: format!("team `{t}` does not exist"),
                hint: format!("create it first: `vpsc-user team create {t}`"),
            });
        }
    }
    if !role.sudo.is_empty() && !root.is_dir("/etc/sudoers.d") {
        return Err(Error::Precondition {
            what: format!(
                "role `{}` has sudo rules, but /etc/sudoers.d does not exist: sudo is not installed",
                req.role
            ),
            hint: "install vpsc-mod-rbac, which depends on sudo (`apt install vpsc-mod-rbac`)"
                .into(),
        });
    }
    let shell = req.shell.clone().unwrap_or_else(|| "/bin/bash".into());
    let shells = root.read_to_string("/etc/shells").unwrap_or_default();
    input::shell(&shells, &shell).map_err(invalid("pass --shell with a shell from /etc/shells"))?;
    if !root.exists(&shell) {
        return Err(Error::Invalid {
            what: format!("shell {shell} is listed in /etc/shells but not installed"),
            hint: "install its package or pass another --shell".into(),
        });
    }
    let expires = req
        .expires
        .as_deref()
        .map(|e| input::expiry(e, now))
        .transpose()
        .map_err(invalid(
            "pass --expires YYYY-MM-DD or a duration such as 90d",
        ))?;
    let (key, private_key) = match &req.key {
        KeySource::None => (None, None),
        KeySource::File(path) => (Some(read_key(path)?), None),
        KeySource::Generate => {
            let (public, private) = generate_key(&req.name)?;
            (Some(public), Some(private))
        }
    };
    Ok(Checked {
        role,
        shell,
        expires,
        key,
        private_key,
    })
}

/// Reads and checks a public key file given on the command line.
pub fn read_key(path: &Path) -> Result<PublicKey> {
    let meta = std::fs::metadata(path).map_err(|e| Error::Invalid {
        what: format!("cannot read the public key file {}: {e}", path.display()),
        hint: "pass the .pub file of the key, e.g. ~/.ssh/id_ed25519.pub".into(),
    })?;
    if !meta.is_file() || meta.len() > 16 * 1024 {
        return Err(Error::Invalid {
            what: format!(
                "{} is not a public key file (a regular file of at most 16 KiB)",
                path.display()
            ),
            hint: "pass the .pub file of the key, e.g. ~/.ssh/id_ed25519.pub".into(),
        });
    }
    let text = std::fs::read_to_string(path).map_err(Error::io("read", path))?;
    PublicKey::parse_file(&text).map_err(|e| Error::Invalid {
        what: format!("{}: {e}", path.display()),
        hint: "pass an OpenSSH public key (ssh-ed25519, ecdsa, or RSA of 3072 bits or more)".into(),
    })
}

/// Makes an ed25519 pair with ssh-keygen in a private temporary folder
/// that is removed again: the private half exists only in the output.
fn generate_key(user: &str) -> Result<(PublicKey, String)> {
    // Unpredictable, and mkdir fails on anything planted at the name.
    let dir = std::env::temp_dir().join(format!(
        "vpsc-user-{user}-{:016x}",
        vpsc_engine::confined::random_u64()
    ));
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .map_err(Error::io("create", &dir))?;
    let file = dir.join("id_ed25519");
    let argv = [
        "ssh-keygen".to_owned(),
        "-q".into(),
        "-t".into(),
        "ed25519".into(),
        "-N".into(),
        String::new(),
        "-C".into(),
        format!("{user}@vpsc"),
        "-f".into(),
        file.to_string_lossy().into_owned(),
    ];
    let made = Root::new("/").run(&argv).map_err(|e| match e {
        Error::Spawn { .. } => Error::Precondition {
            what: "ssh-keygen is not installed, so no key can be generated".into(),
            hint: "install openssh-client, or pass the user's own key with --ssh-key FILE".into(),
        },
        other => other,
    });
    let read = made.and_then(|_| {
        let public = std::fs::read_to_string(dir.join("id_ed25519.pub"))
            .map_err(Error::io("read", dir.join("id_ed25519.pub")))?;
        let private = std::fs::read_to_string(&file).map_err(Error::io("read", &file))?;
        Ok((public, private))
    });
    let _ = std::fs::remove_dir_all(&dir);
    let (public, private) = read?;
    let key = PublicKey::parse_file(&public).map_err(|e| Error::Precondition {
        what: format!("ssh-keygen made a key vpsc cannot read: {e}"),
        hint: "report this as a bug".into(),
    })?;
    Ok((key, private))
}

/// Creates the user, or in a dry run says what would be done.
pub fn create(
    root: &Root,
    state: &State,
    req: &Request,
    now: i64,
    dry_run: bool,
) -> Result<Created> {
    let checked = check(root, state, req, now)?;
    let sudoers_text = sudoers::render(
        &req.name,
        &[sudoers::Entry {
            role: &checked.role,
            until: None,
        }],
    );
    let mut out = Created {
        user: req.name.clone(),
        uid: None,
        home: format!("/home/{}", req.name),
        roles: vec![req.role.clone()],
        groups: checked.role.groups.clone(),
        teams: req.teams.clone(),
        sudoers: sudoers_text.as_ref().map(|_| sudoers::path(&req.name)),
        sudo_rules: checked.role.sudo.clone(),
        ssh_key: checked.key.as_ref().map(|k| key_record(k, now)),
        private_key: None,
        totp: None,
        expires: checked
            .expires
            .map(|t| vpsc_engine::dates::utc(t)[..10].to_owned()),
        shell: checked.shell.clone(),
        steps: Vec::new(),
        dry_run,
    };
    let mut steps = vec!["account", "folders", "groups"];
    if !req.teams.is_empty() {
        steps.push("teams");
    }
    if sudoers_text.is_some() {
        steps.push("sudoers");
    }
    if checked.key.is_some() {
        steps.push("ssh_key");
    }
    if req.totp {
        steps.push("totp");
    }
    steps.extend(["git", "record"]);
    if dry_run {
        out.steps = steps.iter().map(|s| (*s).to_owned()).collect();
        return Ok(out);
    }

    store::begin_create(state, &req.name, now)?;
    let result = run_steps(
        root,
        state,
        req,
        now,
        &checked,
        sudoers_text.as_deref(),
        &mut out,
    );
    // Done or rolled back: either way nothing is left half-made.
    store::end_create(state, &req.name)?;
    result?;
    Ok(out)
}

/// The steps of a create, each with its undo.
fn run_steps(
    root: &Root,
    state: &State,
    req: &Request,
    now: i64,
    checked: &Checked,
    sudoers_text: Option<&str>,
    out: &mut Created,
) -> Result<()> {
    let mut tx = Tx::new(root, state, "user.create", &req.name);
    let name = req.name.as_str();

    tx.step("account", || {
        let gecos = format!("{},,,,{}", req.full_name, req.email);
        let mut argv = vec![
            "useradd",
            "--create-home",
            "--skel",
            "/etc/skel",
            "--user-group",
            "--shell",
            &checked.shell,
            "--comment",
            &gecos,
        ];
        let day;
        if let Some(e) = &out.expires {
            day = e.clone();
            argv.extend(["--expiredate", &day]);
        }
        argv.push(name);
        root.shadow_tool(&argv)?;
        Ok((
            serde_json::json!({"shell": checked.shell, "expires": out.expires}),
            Box::new(move || {
                if accounts::account(root, name)?.is_some() {
                    root.shadow_tool(&["userdel", "--remove", name])?;
                }
                Ok(())
            }),
        ))
    })?;
    let account = accounts::account(root, name)?.ok_or_else(|| Error::Precondition {
        what: format!("useradd succeeded but `{name}` is not in /etc/passwd"),
        hint: "check /etc/nsswitch.conf and /etc/login.defs of the root".into(),
    })?;
    out.uid = Some(account.uid);
    out.home = account.home.clone();
    let (uid, gid) = (account.uid, account.gid);
    // Everything below the home is the new user's: no link in it is followed.
    let home = Rc::new(root.user_dir(&account.home, uid, "home directory")?);

    let dirs = Rc::clone(&home);
    tx.step("folders", || {
        let mut made = Vec::new();
        for (folder, mode) in FOLDERS {
            if dirs.ensure_subdir(folder, *mode, uid, gid)?.1 {
                made.push(*folder);
            }
        }
        Ok((
            serde_json::json!({"folders": FOLDERS.iter().map(|f| f.0).collect::<Vec<_>>()}),
            Box::new(move || {
                for folder in made.iter().rev() {
                    dirs.remove_tree(folder)?;
                }
                Ok(())
            }),
        ))
    })?;

    let role_groups = checked.role.groups.clone();
    tx.step("groups", || {
        let joined = join_all(root, name, &role_groups)?;
        Ok((
            serde_json::json!({"groups": role_groups}),
            Box::new(move || leave_all(root, name, &joined)),
        ))
    })?;

    if !req.teams.is_empty() {
        let teams = req.teams.clone();
        tx.step("teams", || {
            let joined = join_all(root, name, &teams)?;
            Ok((
                serde_json::json!({"teams": teams}),
                Box::new(move || leave_all(root, name, &joined)),
            ))
        })?;
    }

    if let Some(text) = sudoers_text {
        tx.step("sudoers", || {
            sudoers::install(root, name, Some(text))?;
            Ok((
                serde_json::json!({"path": sudoers::path(name), "rules": checked.role.sudo}),
                Box::new(move || sudoers::install(root, name, None)),
            ))
        })?;
    }

    if let Some(key) = &checked.key {
        let keys = Rc::clone(&home);
        tx.step("ssh_key", || {
            let ssh = keys.subdir(".ssh")?;
            ssh.write(
                "authorized_keys",
                format!("{}\n", key.to_line()).as_bytes(),
                0o600,
                uid,
                gid,
            )?;
            Ok((
                serde_json::json!({"fingerprint": key.fingerprint(), "type": key.kind()}),
                Box::new(move || ssh.remove("authorized_keys")),
            ))
        })?;
        out.private_key = checked.private_key.clone();
    }

    if req.totp {
        let secret = totp::Secret::generate().map_err(Error::io("read", "/dev/urandom"))?;
        let factor = Rc::clone(&home);
        tx.step("totp", || {
            super::enrol::write_secret(&factor, uid, gid, &secret)?;
            Ok((
                serde_json::json!({"file": factor.shown_of(super::enrol::SECRET_FILE)}),
                Box::new(move || factor.remove(super::enrol::SECRET_FILE)),
            ))
        })?;
        out.totp = Some(super::enrol::enrolment(root, name, &secret));
    }

    let git = Rc::clone(&home);
    tx.step("git", || {
        let text = format!(
            "[user]\n\tname = {}\n\temail = {}\n",
            req.full_name, req.email
        );
        git.write(".gitconfig", text.as_bytes(), 0o644, uid, gid)?;
        Ok((
            serde_json::json!({"name": req.full_name, "email": req.email}),
            Box::new(move || git.remove(".gitconfig")),
        ))
    })?;

    let record = UserRecord {
        name: name.to_owned(),
        uid,
        full_name: req.full_name.clone(),
        email: req.email.clone(),
        roles: vec![req.role.clone()],
        grants: Vec::new(),
        teams: req.teams.clone(),
        created: now,
        expires: checked.expires,
        status: Status::Active,
        keys: out.ssh_key.iter().cloned().collect(),
        totp: req.totp,
        archive: None,
    };
    tx.step("record", || {
        store::save_user(state, &record)?;
        Ok((
            serde_json::json!({"uid": uid}),
            Box::new(move || store::remove_user(state, name)),
        ))
    })?;
    out.steps = tx.commit();
    Ok(())
}

/// The record of a key added at `now`.
pub fn key_record(key: &PublicKey, now: i64) -> KeyRecord {
    KeyRecord {
        fingerprint: key.fingerprint(),
        kind: key.kind().to_owned(),
        comment: key.comment().to_owned(),
        line: key.to_line(),
        added: now,
        expires: None,
    }
}

fn join_all(root: &Root, user: &str, groups: &[String]) -> Result<Vec<String>> {
    let mut joined = Vec::new();
    for g in groups {
        match accounts::join(root, user, g) {
            Ok(true) => joined.push(g.clone()),
            Ok(false) => {}
            Err(e) => {
                let _ = leave_all(root, user, &joined);
                return Err(e);
            }
        }
    }
    Ok(joined)
}

fn leave_all(root: &Root, user: &str, groups: &[String]) -> Result<()> {
    for g in groups.iter().rev() {
        accounts::leave(root, user, g)?;
    }
    Ok(())
}
