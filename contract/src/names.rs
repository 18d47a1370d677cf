//! Validators for every name that reaches the system (docs/architecture.md principle 6).
//!
//! Each refuses with an [`Invalid`] saying what and how; callers wrap it in
//! their own error type with the file or argument it came from.

/// The journal `vpsc cis remediate` records its changes under; no module
/// may take this name.
pub const CIS_JOURNAL: &str = "cis";

/// The journal `vpsc-user 2fa enforce` records its changes under; no
/// module may take this name.
pub const TWO_FACTOR_JOURNAL: &str = "vpsc-2fa";

use crate::Invalid;

/// Debian Policy §5.6.1: lowercase letters, digits, `+ - .`, at least two
/// characters, starting with an alphanumeric.
pub fn package(name: &str) -> Result<(), Invalid> {
    let ok = name.len() >= 2
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Invalid::new(format!(
            "`{name}` is not a valid Debian package name: use lowercase letters, digits, `+`, `-`, `.`, starting with a letter or digit (Policy §5.6.1)"
        )))
    }
}

/// A module name becomes part of `vpsc-mod-<name>`: lowercase letters,
/// digits and `-`, starting with a letter, at most 40 characters.
pub fn module(name: &str) -> Result<(), Invalid> {
    let ok = !name.is_empty()
        && name.len() <= 40
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(Invalid::new(format!(
            "`{name}` is not a valid module name: use lowercase letters, digits and `-`, starting with a letter (at most 40 characters)"
        )))
    }
}

/// A parameter or command identifier: `[a-z_][a-z0-9_]*`.
pub fn identifier(name: &str) -> Result<(), Invalid> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Invalid::new(format!(
            "`{name}` is not a valid identifier: use lowercase letters, digits and `_`, starting with a letter"
        )))
    }
}

/// A Debian user name (useradd's default NAME_REGEX, at most 32 characters).
pub fn user(name: &str) -> Result<(), Invalid> {
    let ok = !name.is_empty()
        && name.len() <= 32
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(Invalid::new(format!(
            "`{name}` is not a valid user name: use lowercase letters, digits, `_` and `-`, starting with a letter, at most 32 characters"
        )))
    }
}

/// A group name follows the same rules as a user name.
pub fn group(name: &str) -> Result<(), Invalid> {
    user(name).map_err(|e| Invalid::new(e.what.replace("user name", "group name")))
}

/// A systemd unit name with a known suffix.
pub fn unit(name: &str) -> Result<(), Invalid> {
    const SUFFIXES: [&str; 7] = [
        ".service", ".socket", ".timer", ".target", ".path", ".mount", ".swap",
    ];
    let ok = name.len() <= 255
        && SUFFIXES
            .iter()
            .any(|s| name.ends_with(s) && name.len() > s.len())
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ":-_.\\@".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Invalid::new(format!(
            "`{name}` is not a valid systemd unit name: use letters, digits, `:-_.@` and a suffix such as `.service` or `.timer`"
        )))
    }
}

/// A sysctl key such as `net.ipv4.ip_forward`.
pub fn sysctl_key(key: &str) -> Result<(), Invalid> {
    let ok = !key.is_empty()
        && key.split('.').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        });
    if ok {
        Ok(())
    } else {
        Err(Invalid::new(format!(
            "`{key}` is not a valid sysctl key: dotted words of letters, digits, `_` and `-` (e.g. net.ipv4.ip_forward)"
        )))
    }
}

/// A sysctl value: printable, single line.
pub fn sysctl_value(value: &str) -> Result<(), Invalid> {
    if value.is_empty() || value.chars().any(|c| c.is_control() && c != '\t') {
        Err(Invalid::new(format!(
            "sysctl value {value:?} must be a non-empty single line"
        )))
    } else {
        Ok(())
    }
}

/// A command name looked up on PATH: no slash, printable.
pub fn command(name: &str) -> Result<(), Invalid> {
    let ok = !name.is_empty()
        && !name.contains('/')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-._".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Invalid::new(format!(
            "`{name}` is not a valid command name (no `/`, letters, digits and `+-._`)"
        )))
    }
}

/// A host name (RFC 1123 labels) or an IPv4/IPv6 address.
pub fn host(name: &str) -> Result<(), Invalid> {
    if name.parse::<std::net::IpAddr>().is_ok() {
        return Ok(());
    }
    let ok = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if ok {
        Ok(())
    } else {
        Err(Invalid::new(format!(
            "`{name}` is not a host name or IP address (labels of letters, digits and `-`, separated by dots)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_and_addresses() {
        for good in ["deb.debian.org", "127.0.0.1", "::1", "localhost"] {
            assert!(host(good).is_ok(), "{good}");
        }
        for bad in ["", "a..b", "-a.org", "a b", "a/b", "x;y"] {
            assert!(host(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn package_names_follow_policy() {
        for good in ["openssh-server", "g++", "libc6", "0ad"] {
            assert!(package(good).is_ok(), "{good}");
        }
        for bad in ["", "a", "Foo", "-x", "a b", "a_b"] {
            assert!(package(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn user_names_follow_debian_rules() {
        assert!(user("alice").is_ok());
        assert!(user("Alice").is_err());
        assert!(user("1alice").is_err());
        assert!(user(&"a".repeat(33)).is_err());
        assert!(user("al;ice").is_err());
    }

    #[test]
    fn unit_names_need_a_suffix() {
        assert!(unit("fail2ban.service").is_ok());
        assert!(unit("getty@tty1.service").is_ok());
        assert!(unit("fail2ban").is_err());
        assert!(unit("../x.service").is_err());
    }
}
