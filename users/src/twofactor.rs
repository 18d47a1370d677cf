//! TOTP as a second factor: enrolling an existing user, and turning the
//! requirement on for SSH (`2fa enforce`) or off (`2fa relax`).
//!
//! Enforcing is a journalled change like a module's, under its own journal
//! name: an sshd drop-in asking for the key *and* a keyboard-interactive
//! code, and sshd's PAM file diverted to ask pam_google_authenticator
//! instead of the password. It refuses while any user holding a role that
//! amounts to root lacks a working second factor, so no administrator is
//! locked out; users not enrolled pass with `nullok`, as before.

use super::enrol::{SECRET_FILE, TotpEnrolment, enrolment, write_secret};
use super::store::{self, Status, UserRecord};
use super::totp;
use super::tx::Tx;
use crate::rbac::Roles;
use vpsc_contract::plan::{Effect, Plan};
use vpsc_engine::accounts;
use vpsc_engine::converge::Report;
use vpsc_engine::error::{Error, Result};
use vpsc_engine::root::Root;
use vpsc_engine::state::State;

/// The journal `2fa enforce` records its changes under (the generator
/// refuses a module of this name).
pub const JOURNAL_NAME: &str = vpsc_contract::names::TWO_FACTOR_JOURNAL;

/// sshd's drop-in; `20-` sorts before other drop-ins, and sshd keeps the
/// first value it reads.
const SSHD_DROP_IN: &str = "/etc/ssh/sshd_config.d/20-vpsc-2fa.conf";
const PAM_SSHD: &str = "/etc/pam.d/sshd";

/// Enrols `name` (again): a new secret replaces any old one.
pub fn enroll(root: &Root, state: &State, name: &str) -> Result<TotpEnrolment> {
    let mut record = super::manage::active(state, name)?;
    let account = accounts::account(root, name)?.ok_or_else(|| Error::Precondition {
        what: format!("user `{name}` has no account"),
        hint: "the account was removed by hand".into(),
    })?;
    let secret = totp::Secret::generate().map_err(Error::io("read", "/dev/urandom"))?;
    let home = root.user_dir(&account.home, account.uid, "home directory")?;
    let before = home.read(SECRET_FILE)?.map(|(b, _)| b);
    let mut tx = Tx::new(root, state, "user.2fa.enroll", name);
    tx.step("totp", || {
        write_secret(&home, account.uid, account.gid, &secret)?;
        record.totp = true;
        store::save_user(state, &record)?;
        Ok((
            serde_json::json!({"file": home.shown_of(SECRET_FILE)}),
            Box::new(move || match &before {
                Some(b) => home.write(SECRET_FILE, b, 0o400, account.uid, account.gid),
                None => home.remove(SECRET_FILE),
            }),
        ))
    })?;
    tx.commit();
    Ok(enrolment(root, name, &secret))
}

/// Why `record`'s second factor would not work, if it would not: the file
/// must be the user's own, closed to others, and hold a TOTP secret.
pub fn broken_factor(root: &Root, record: &UserRecord) -> Option<String> {
    let account = match accounts::account(root, &record.name) {
        Ok(Some(a)) => a,
        _ => return Some("no account".into()),
    };
    let shown = format!("{}/{SECRET_FILE}", account.home);
    let read = root
        .user_dir(&account.home, account.uid, "home directory")
        .and_then(|home| home.read(SECRET_FILE));
    let (content, st) = match read {
        Ok(Some(found)) => found,
        Ok(None) => return Some(format!("no {shown}")),
        Err(e) => return Some(e.to_string()),
    };
    if st.st_uid != account.uid || st.st_mode & 0o077 != 0 {
        return Some(format!(
            "{shown} is not a file of theirs closed to others (pam_google_authenticator refuses it)"
        ));
    }
    let text = String::from_utf8_lossy(&content);
    totp::parse_google_authenticator(&text)
        .err()
        .map(|e| e.what)
}

/// Active users holding a role that amounts to root, with what is wrong
/// with their second factor.
pub fn admins_without_factor(
    root: &Root,
    state: &State,
    now: i64,
) -> Result<Vec<(String, String)>> {
    let roles = Roles::load(root)?;
    let mut out = Vec::new();
    for r in store::users(state)? {
        if r.status != Status::Active {
            continue;
        }
        let mut admin = false;
        for role in r.roles_at(now) {
            if roles.contains(&role) && roles.resolve(&role)?.root_equivalent {
                admin = true;
            }
        }
        if let Some(why) = admin.then(|| broken_factor(root, &r)).flatten() {
            out.push((r.name.clone(), why));
        }
    }
    Ok(out)
}

/// The plan of the enforcement, built from the root's current PAM file.
fn plan(root: &Root) -> Result<Plan> {
    if !root.exists("/usr/sbin/sshd") {
        return Err(Error::Precondition {
            what: "openssh-server is not installed: there is no SSH login to protect".into(),
            hint: "install openssh-server first".into(),
        });
    }
    if !pam_module_installed(root) {
        return Err(Error::Precondition {
            what: "pam_google_authenticator.so is not installed".into(),
            hint: "install it: `apt install libpam-google-authenticator`".into(),
        });
    }
    // The original, also when a previous enforce diverted it already.
    let diverted = format!("{PAM_SSHD}{}", vpsc_engine::effects::DIVERT_SUFFIX);
    let source = if root.exists(&diverted) {
        diverted.as_str()
    } else {
        PAM_SSHD
    };
    let original = root
        .read_to_string(source)
        .map_err(Error::io("read", source))?;
    let mut replaced = false;
    let pam: String = original
        .lines()
        .map(|l| {
            if l.trim() == "@include common-auth" && !replaced {
                replaced = true;
                "# vpsc-user 2fa enforce: the SSH key is the first factor\n\
                 # (AuthenticationMethods), this code the second, instead of the\n\
                 # password; `vpsc-user 2fa relax` puts the original back.\n\
                 auth required pam_google_authenticator.so nullok\n"
                    .to_owned()
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    if !replaced {
        return Err(Error::Precondition {
            what: format!("{} has no `@include common-auth` line to replace", source),
            hint:
                "the file was changed from Debian's; add the pam_google_authenticator line by hand"
                    .into(),
        });
    }
    let sshd = "# Written by `vpsc-user 2fa enforce`; `vpsc-user 2fa relax` removes it.\n\
                KbdInteractiveAuthentication yes\n\
                AuthenticationMethods publickey,keyboard-interactive\n";
    let raw = |t: &str| format!("{{% raw %}}{t}{{% endraw %}}");
    Ok(Plan::own(
        JOURNAL_NAME,
        vpsc_engine::VERSION,
        vec![
            Effect::Divert {
                path: PAM_SSHD.into(),
                template: raw(&pam),
                mode: 0o644,
                validate: None,
            },
            Effect::ManagedFile {
                path: SSHD_DROP_IN.into(),
                template: raw(sshd),
                mode: 0o644,
                validate: Some(vec!["sshd".into(), "-t".into()]),
            },
        ],
    ))
}

fn pam_module_installed(root: &Root) -> bool {
    let Ok(dirs) = root.read_dir_names("/usr/lib") else {
        return false;
    };
    dirs.iter().any(|d| {
        root.exists(&format!(
            "/usr/lib/{d}/security/pam_google_authenticator.so"
        ))
    })
}

/// Turns the SSH second-factor requirement on, unless an administrator
/// would be locked out.
pub fn enforce(root: &Root, state: &State, now: i64) -> Result<Report> {
    let lacking = admins_without_factor(root, state, now)?;
    if !lacking.is_empty() {
        let list: Vec<String> = lacking
            .iter()
            .map(|(n, why)| format!("{n} ({why})"))
            .collect();
        return Err(Error::Precondition {
            what: format!(
                "refusing to require a second factor: these administrators have no working one and would be locked out: {}",
                list.join(", ")
            ),
            hint: format!("enrol them first: `vpsc-user 2fa enroll {}`", lacking[0].0),
        });
    }
    let plan = plan(root)?;
    vpsc_engine::converge::configure_plan(root, state, &plan, &vpsc_engine::converge::NoExpansion)
        .map_err(|e| {
            // Half a requirement (PAM asking for a code sshd never offers) is
            // worse than none: take back what was applied.
            let undone = match relax(root, state) {
                Ok(_) => "what it had changed was undone".to_owned(),
                Err(u) => format!("undoing it failed too ({u}); run `vpsc-user 2fa relax`"),
            };
            Error::RolledBack {
                action: "user.2fa.enforce".into(),
                target: "sshd".into(),
                step: "configure".into(),
                undone,
                source: Box::new(e),
            }
        })
}

/// Turns the requirement off, restoring both files exactly.
pub fn relax(root: &Root, state: &State) -> Result<Report> {
    vpsc_engine::converge::unconfigure_own(root, state, JOURNAL_NAME)
}
