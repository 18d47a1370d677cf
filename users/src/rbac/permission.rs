//! Permissions written `scope:resource:action`, where `*` in a granted
//! permission matches any one field ("app:*:*" grants "app:web:deploy").

use std::fmt;
use vpsc_contract::Invalid;

/// A parsed permission: three fields, each a word or `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    fields: [String; 3],
}

impl Permission {
    /// Parses `scope:resource:action`; fields are lowercase words of
    /// letters, digits, `_`, `-` and `.`, or `*`.
    pub fn parse(text: &str) -> Result<Permission, Invalid> {
        let parts: Vec<&str> = text.split(':').collect();
        let word = |f: &str| {
            f == "*"
                || (!f.is_empty()
                    && f.len() <= 64
                    && f.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_-.".contains(c)))
        };
        if parts.len() != 3 || !parts.iter().all(|f| word(f)) {
            return Err(Invalid::new(format!(
                "`{text}` is not a permission: write scope:resource:action with lowercase words or `*` (e.g. system:services:read)"
            )));
        }
        Ok(Permission {
            fields: [parts[0].into(), parts[1].into(), parts[2].into()],
        })
    }

    /// Whether this granted permission covers `wanted`: each field equal,
    /// or `*` here. A `*` in `wanted` is only covered by a `*` here, so
    /// asking for "system:services:*" means every action.
    pub fn grants(&self, wanted: &Permission) -> bool {
        self.fields
            .iter()
            .zip(&wanted.fields)
            .all(|(have, want)| have == "*" || have == want)
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.fields.join(":"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Permission {
        Permission::parse(s).expect("valid permission")
    }

    #[test]
    fn wildcards_match_one_field_each() {
        assert!(p("app:*:*").grants(&p("app:web:deploy")));
        assert!(p("*:*:*").grants(&p("system:services:restart")));
        assert!(p("system:services:*").grants(&p("system:services:read")));
        assert!(!p("system:services:read").grants(&p("system:services:restart")));
        assert!(!p("app:*:*").grants(&p("system:logs:read")));
    }

    #[test]
    fn asking_for_every_action_needs_a_wildcard_grant() {
        assert!(!p("system:services:read").grants(&p("system:services:*")));
        assert!(p("system:*:*").grants(&p("system:services:*")));
    }

    #[test]
    fn malformed_permissions_are_refused() {
        for bad in ["", "a:b", "a:b:c:d", "A:b:c", "a::c", "a:b c:d", "a:b:c;rm"] {
            assert!(Permission::parse(bad).is_err(), "{bad}");
        }
    }
}
