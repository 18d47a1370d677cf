//! `vpsc rbac roles|show|check`.

use super::print_json;
use crate::cli::RbacAction;
use crate::error::{Error, Result};
use crate::rbac::{Permission, Roles};
use crate::root::Root;
use crate::state::State;
use crate::users::store::{self, Status};

/// Runs one RBAC action; `check` exits 1 when the permission is denied.
pub fn run(root: &Root, state: &State, action: RbacAction, json: bool) -> Result<i32> {
    let roles = Roles::load(root)?;
    match action {
        RbacAction::Roles => {
            let all: Vec<_> = roles
                .names()
                .map(|n| roles.resolve(n))
                .collect::<Result<_>>()?;
            if json {
                print_json(&serde_json::json!({"file": roles.path, "roles": all}));
            } else {
                outln!("roles from {}", roles.path.display());
                for r in &all {
                    let inherits = if r.inherits.is_empty() {
                        String::new()
                    } else {
                        format!(" (inherits {})", r.inherits.join(", "))
                    };
                    outln!("  {:<10} {}{inherits}", r.name, r.description);
                }
            }
            Ok(0)
        }
        RbacAction::Show { role } => {
            if !roles.contains(&role) {
                return Err(roles.unknown(&role));
            }
            let r = roles.resolve(&role)?;
            if json {
                print_json(&r);
            } else {
                outln!("role {}: {}", r.name, r.description);
                outln!("  inherits:    {}", r.inherits.join(", "));
                outln!("  groups:      {}", r.groups.join(", "));
                outln!("  permissions: {}", r.permissions.join(", "));
                outln!("  sudo rules:");
                for s in &r.sudo {
                    outln!("    {s}");
                }
            }
            Ok(0)
        }
        RbacAction::Check { user, permission } => {
            let wanted = Permission::parse(&permission).map_err(|what| Error::Invalid {
                what: what.what,
                hint: "e.g. `vpsc rbac check alice app:web:deploy`".into(),
            })?;
            let record = store::user(state, &user)?.ok_or_else(|| Error::Invalid {
                what: format!("`{user}` is not a user vpsc-user created"),
                hint: "`vpsc-user list` shows them".into(),
            })?;
            let now = crate::dates::now();
            let mut by = None;
            if record.status == Status::Active {
                'roles: for name in record.roles_at(now) {
                    let r = roles.resolve(&name)?;
                    for p in &r.permissions {
                        if Permission::parse(p).is_ok_and(|g| g.grants(&wanted)) {
                            by = Some((name.clone(), p.clone()));
                            break 'roles;
                        }
                    }
                }
            }
            let allowed = by.is_some();
            if json {
                print_json(&serde_json::json!({
                    "user": user,
                    "permission": permission,
                    "allowed": allowed,
                    "role": by.as_ref().map(|b| &b.0),
                    "granted_by": by.as_ref().map(|b| &b.1),
                    "status": record.status,
                }));
            } else if let Some((role, p)) = &by {
                outln!("allowed: {user} holds {permission} through role {role} ({p})");
            } else {
                outln!(
                    "denied: no role {user} holds grants {permission}{}",
                    if record.status == Status::Active {
                        ""
                    } else {
                        " (the account is not active)"
                    }
                );
            }
            Ok(if allowed { 0 } else { 1 })
        }
    }
}
