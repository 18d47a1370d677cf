//! The roles file: raw serde types, validation, and roles resolved through
//! their inheritance (groups, permissions and sudo rules of every ancestor,
//! the ancestors' first).

use std::collections::BTreeMap;
use std::path::PathBuf;
use vpsc_contract::Invalid;

use serde::{Deserialize, Serialize};

use super::Permission;
use super::privilege::root_equivalent;
use vpsc_engine::error::{Error, Result};
use vpsc_engine::root::Root;

/// The host's roles file, which replaces the packaged one whole.
pub const HOST_ROLES: &str = "/etc/vpsc/rbac/roles.yaml";
/// The roles file vpsc-mod-rbac installs.
pub const PACKAGED_ROLES: &str = "/usr/share/vpsc/rbac/roles.yaml";

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoles {
    format: u32,
    roles: BTreeMap<String, RawRole>,
}

/// One role as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRole {
    #[serde(default)]
    description: String,
    #[serde(default)]
    inherits: Vec<String>,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    permissions: Vec<String>,
    #[serde(default)]
    sudo: Vec<String>,
    /// Says explicitly that this role may hold sudo rules that amount to
    /// root (the admin role); without it such a rule is refused.
    #[serde(default)]
    root_equivalent: bool,
}

/// A validated roles file.
#[derive(Debug)]
pub struct Roles {
    /// Where it was read from.
    pub path: PathBuf,
    roles: BTreeMap<String, RawRole>,
}

/// A role with everything it inherits.
#[derive(Debug, Clone, Serialize)]
pub struct ResolvedRole {
    /// Role name.
    pub name: String,
    /// What the role is for.
    pub description: String,
    /// Its ancestors, nearest first.
    pub inherits: Vec<String>,
    /// Supplementary groups a member joins.
    pub groups: Vec<String>,
    /// Permissions, `scope:resource:action`.
    pub permissions: Vec<String>,
    /// sudo command lines, each run as root.
    pub sudo: Vec<String>,
    /// Whether the role is allowed rules that amount to root.
    pub root_equivalent: bool,
}

impl Roles {
    /// Reads the host's roles file, else the packaged one.
    pub fn load(root: &Root) -> Result<Roles> {
        let path = PathBuf::from(if root.exists(HOST_ROLES) {
            HOST_ROLES
        } else {
            PACKAGED_ROLES
        });
        let text = match root.read_to_string(&path.to_string_lossy()) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::Precondition {
                    what: "no roles file: neither /etc/vpsc/rbac/roles.yaml nor /usr/share/vpsc/rbac/roles.yaml exists".into(),
                    hint: "install vpsc-mod-rbac (`apt install vpsc-mod-rbac`), which ships the roles".into(),
                });
            }
            Err(e) => return Err(Error::io("read", &path)(e)),
        };
        Roles::parse(&text, path)
    }

    /// Parses and validates roles file text read from `path`.
    pub fn parse(text: &str, path: PathBuf) -> Result<Roles> {
        let raw: RawRoles = serde_norway::from_str(text).map_err(|e| {
            Error::yaml(
                &path,
                &e,
                "see /usr/share/vpsc/rbac/roles.yaml for the format",
            )
        })?;
        let invalid = |what: String| Error::Invalid {
            what: format!("roles file {}: {what}", path.display()),
            hint: "fix the roles file; nothing was changed".into(),
        };
        if raw.format != 1 {
            return Err(invalid(format!(
                "format {} is not known (this runtime reads format 1)",
                raw.format
            )));
        }
        for (name, role) in &raw.roles {
            role_name(name).map_err(|e| invalid(e.what))?;
            for parent in &role.inherits {
                if !raw.roles.contains_key(parent) {
                    return Err(invalid(format!(
                        "role `{name}` inherits `{parent}`, which is not defined"
                    )));
                }
            }
            for g in &role.groups {
                vpsc_contract::names::group(g)
                    .map_err(|e| invalid(format!("role `{name}`: {e}")))?;
            }
            for p in &role.permissions {
                Permission::parse(p).map_err(|e| invalid(format!("role `{name}`: {e}")))?;
            }
            for rule in &role.sudo {
                sudo_rule(rule).map_err(|e| invalid(format!("role `{name}`: {e}")))?;
            }
        }
        let roles = Roles {
            path: path.clone(),
            roles: raw.roles,
        };
        for name in roles.roles.keys() {
            roles.ancestors(name).map_err(|e| invalid(e.what))?;
        }
        // Least privilege is judged on what a role ends up with, inherited
        // rules included: inheriting admin does not make a role admin.
        for name in roles.roles.keys() {
            let resolved = roles.resolve(name)?;
            if resolved.root_equivalent {
                continue;
            }
            for rule in &resolved.sudo {
                if let Some(why) = root_equivalent(rule) {
                    return Err(Error::Invalid {
                        what: format!(
                            "roles file {}: role `{name}` would get the sudo rule `{rule}`, which amounts to root: {why}",
                            path.display()
                        ),
                        hint: format!(
                            "narrow the rule to fixed arguments, or, if `{name}` really is to be root, say so with `root_equivalent: true`"
                        ),
                    });
                }
            }
        }
        Ok(roles)
    }

    /// Role names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.roles.keys().map(String::as_str)
    }

    /// Whether `name` is a role.
    pub fn contains(&self, name: &str) -> bool {
        self.roles.contains_key(name)
    }

    /// `name` with everything it inherits.
    pub fn resolve(&self, name: &str) -> Result<ResolvedRole> {
        let role = self.roles.get(name).ok_or_else(|| self.unknown(name))?;
        let ancestors = self.ancestors(name).map_err(|what| Error::Invalid {
            what: what.what,
            hint: "fix the roles file".into(),
        })?;
        let mut out = ResolvedRole {
            name: name.to_owned(),
            description: role.description.clone(),
            inherits: ancestors.clone(),
            groups: Vec::new(),
            permissions: Vec::new(),
            sudo: Vec::new(),
            root_equivalent: role.root_equivalent,
        };
        // Farthest ancestor first, so a role's own rules come last.
        for r in ancestors
            .iter()
            .rev()
            .chain(std::iter::once(&name.to_owned()))
        {
            let raw = &self.roles[r];
            push_new(&mut out.groups, &raw.groups);
            push_new(&mut out.permissions, &raw.permissions);
            push_new(&mut out.sudo, &raw.sudo);
        }
        Ok(out)
    }

    /// The error for a role that is not defined, listing those that are.
    pub fn unknown(&self, name: &str) -> Error {
        Error::Invalid {
            what: format!("`{name}` is not a role of {}", self.path.display()),
            hint: format!(
                "use one of: {}",
                self.roles.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        }
    }

    /// Every role `name` inherits from, nearest first, each once; a cycle
    /// is an error naming the roles in it.
    fn ancestors(&self, name: &str) -> std::result::Result<Vec<String>, Invalid> {
        let mut out = Vec::new();
        let mut path = vec![name.to_owned()];
        self.walk(name, &mut path, &mut out)?;
        Ok(out)
    }

    fn walk(
        &self,
        name: &str,
        path: &mut Vec<String>,
        out: &mut Vec<String>,
    ) -> std::result::Result<(), Invalid> {
        for parent in &self.roles[name].inherits {
            if path.contains(parent) {
                path.push(parent.clone());
                return Err(Invalid::new(format!(
                    "roles inherit in a cycle: {}",
                    path.join(" -> ")
                )));
            }
            if !out.contains(parent) {
                out.push(parent.clone());
            }
            path.push(parent.clone());
            self.walk(parent, path, out)?;
            path.pop();
        }
        Ok(())
    }
}

fn push_new(into: &mut Vec<String>, items: &[String]) {
    for i in items {
        if !into.contains(i) {
            into.push(i.clone());
        }
    }
}

/// A role name: lowercase letters, digits and `-`, starting with a letter.
fn role_name(name: &str) -> std::result::Result<(), Invalid> {
    let ok = !name.is_empty()
        && name.len() <= 32
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(Invalid::new(format!(
            "`{name}` is not a valid role name: lowercase letters, digits and `-`, starting with a letter"
        )))
    }
}

/// A sudo rule is `ALL` or an absolute command path with arguments, none
/// holding what sudoers would read as syntax (`,` `:` `=` `\` `!` `#`,
/// quotes, control characters); a final `""` means "no arguments".
fn sudo_rule(rule: &str) -> std::result::Result<(), Invalid> {
    let body = rule.strip_suffix(" \"\"").unwrap_or(rule);
    let ok = (rule == "ALL" || rule.starts_with('/'))
        && !body.contains([',', ':', '=', '\\', '!', '#', '"', '\''])
        && !rule.chars().any(char::is_control)
        && rule.trim() == rule;
    if ok {
        Ok(())
    } else {
        Err(Invalid::new(format!(
            "sudo rule `{rule}` must be `ALL` or an absolute command path with plain arguments (no , : = \\ ! # or quotes, except a final \"\" for no arguments)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Roles> {
        Roles::parse(text, PathBuf::from("/etc/vpsc/rbac/roles.yaml"))
    }

    /// The roles file as vpsc-mod-rbac ships it, inline in the module.
    fn shipped() -> String {
        let module: serde_norway::Value =
            serde_norway::from_str(include_str!("../../../profiles/modules/rbac.yaml"))
                .expect("module yaml");
        module["effects"][0]["vendor_file"]["content"]
            .as_str()
            .expect("the first effect is the roles file")
            .to_owned()
    }

    #[test]
    fn shipped_roles_resolve_with_inheritance() {
        let roles = parse(&shipped()).expect("shipped roles are valid");
        let devops = roles.resolve("devops").expect("devops");
        assert_eq!(devops.inherits, ["developer", "viewer", "auditor"]);
        assert!(devops.groups.contains(&"vpsc-auditor".to_owned()));
        assert!(devops.groups.contains(&"vpsc-devops".to_owned()));
        assert!(!devops.groups.contains(&"sudo".to_owned()));
        let admin = roles.resolve("admin").expect("admin");
        assert!(admin.sudo.contains(&"ALL".to_owned()));
    }

    #[test]
    fn a_cycle_names_every_role_in_it() {
        let text =
            "format: 1\nroles:\n  a: {inherits: [b]}\n  b: {inherits: [c]}\n  c: {inherits: [a]}\n";
        let err = parse(text).expect_err("cycle").to_string();
        assert!(err.contains("a -> b -> c -> a"), "{err}");
    }

    #[test]
    fn root_in_disguise_is_refused_unless_declared() {
        let text = "format: 1\nroles:\n  dev: {sudo: ['/usr/bin/docker *']}\n";
        let err = parse(text).expect_err("docker").to_string();
        assert!(err.contains("`/usr/bin/docker *`"), "{err}");
        let ok = "format: 1\nroles:\n  dev: {sudo: ['/usr/bin/docker *'], root_equivalent: true}\n";
        assert!(parse(ok).is_ok());
    }

    #[test]
    fn inheriting_admin_does_not_confer_its_exemption() {
        let text = "format: 1\nroles:\n  admin: {sudo: [ALL], root_equivalent: true}\n  sub: {inherits: [admin]}\n";
        let err = parse(text).expect_err("inherited ALL").to_string();
        assert!(err.contains("role `sub`"), "{err}");
    }

    #[test]
    fn bad_entries_are_refused() {
        for text in [
            "format: 2\nroles: {}\n",
            "format: 1\nroles:\n  Dev: {}\n",
            "format: 1\nroles:\n  dev: {inherits: [nobody]}\n",
            "format: 1\nroles:\n  dev: {permissions: ['app:web']}\n",
            "format: 1\nroles:\n  dev: {sudo: ['systemctl status']}\n",
            "format: 1\nroles:\n  dev: {sudo: ['/usr/bin/id, /bin/sh']}\n",
            "format: 1\nroles:\n  dev: {groups: ['Bad Group']}\n",
            "format: 1\nroles:\n  dev: {sudoers: []}\n",
        ] {
            assert!(parse(text).is_err(), "{text}");
        }
    }
}

/// Property tests: a roles file is data anyone with write access to
/// `/etc/vpsc/rbac` could shape; whatever it says, it is refused or every
/// rule it grants reaches the sudoers drop-in as exactly itself, on its own
/// line, with nothing smuggled into it (no newline, comma, colon,
/// backslash, or `ALL` for a role that is not root).
#[cfg(test)]
mod properties {
    use super::*;
    use crate::sudoers::{Entry, render};
    use proptest::prelude::*;

    fn rule_text() -> impl Strategy<Value = String> {
        let c = prop_oneof![
            3 => prop::sample::select(vec![
                '/', 'u', 's', 'r', 'b', 'i', 'n', ' ', '*', '-', '.', 'a', 'p', 'l', 'y', 'A', 'L',
            ]),
            1 => prop::sample::select(vec![
                '\n', '\r', '\0', '\t', ',', ':', '=', '\\', '!', '#', '"', '\'', '(', ')', '%',
            ]),
            1 => any::<char>(),
        ];
        let tail = prop::collection::vec(c, 0..30).prop_map(|v| v.into_iter().collect::<String>());
        prop_oneof![
            1 => tail.clone(),
            // Mostly well-formed commands, so many files get through and
            // what they render is checked.
            3 => tail.prop_map(|t| format!("/usr/bin/{t}")),
            1 => Just("ALL".to_owned()),
            1 => Just("/usr/bin/systemctl restart app-*.service".to_owned()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn a_granted_rule_reaches_sudoers_as_exactly_itself(
            rules in prop::collection::vec(rule_text(), 1..4),
            group in prop_oneof![3 => Just("vpsc-dev".to_owned()), 1 => "[a-z\\-:\n]{0,12}"],
            permission in prop_oneof![3 => Just("app:web:deploy".to_owned()), 1 => "[a-z*:\n,]{0,16}"],
        ) {
            let file = serde_json::json!({
                "format": 1,
                "roles": {"dev": {"sudo": rules, "groups": [group], "permissions": [permission]}},
            });
            let text = serde_norway::to_string(&file).expect("yaml");
            let Ok(roles) = Roles::parse(&text, PathBuf::from("/etc/vpsc/rbac/roles.yaml")) else {
                return Ok(());
            };
            let role = roles.resolve("dev").expect("a parsed role resolves");
            let Some(drop_in) = render("alice", &[Entry { role: &role, until: None }]) else {
                prop_assert!(role.sudo.is_empty());
                return Ok(());
            };
            let granted: Vec<&str> = drop_in.lines().filter(|l| !l.starts_with('#')).collect();
            prop_assert_eq!(granted.len(), 1, "{}", drop_in);
            let list = granted[0].strip_prefix("alice ALL=(root) ").expect("one rule line");
            prop_assert_eq!(list.split(", ").collect::<Vec<_>>(), role.sudo.iter().map(String::as_str).collect::<Vec<_>>());
            for rule in &role.sudo {
                prop_assert!(rule != "ALL", "ALL granted to a role that is not root");
                prop_assert!(!rule.contains([',', ':', '\\', '\n', '\r', '\0']), "{:?}", rule);
            }
        }
    }
}
