//! The declared types of module parameters (`types:` in a module's YAML):
//! what a site or profile value must look like before it reaches a
//! template. A value that could end its line, its quoting or its argument
//! in a rendered file (a newline in `bantime`, a quote in `reboot_time`, a
//! `../` in `timezone`, a leading `-` in an argument) is refused before
//! anything is written, naming the parameter.

use serde::{Deserialize, Serialize};

/// What a string parameter holds. Lists and maps are checked string by
/// string: every string inside must be of the declared type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ParamType {
    /// Free text on one line: no control character, no `"` or `\`.
    Line,
    /// The whole content of a file: lines of text, no control character
    /// but line breaks and tabs.
    Text,
    /// A name or word: letters, digits and `._/+-`, not starting with `-`.
    Word,
    /// A login name (useradd's rules).
    User,
    /// A host name (RFC 1123) or an IP address.
    Host,
    /// An IPv4 or IPv6 address, or `localhost`.
    Address,
    /// An address with a prefix length, `10.8.0.0/24`.
    Cidr,
    /// A count with an optional unit: `600`, `10m`, `1h`, `2d`, `1w`.
    Duration,
    /// A time of day, `HH:MM`.
    Time,
    /// A size with an optional unit: `512M`, `2G`.
    Size,
    /// A zoneinfo name, `Europe/Berlin`: no `..`, no leading `/`.
    Timezone,
    /// A locale, with an optional charset: `en_GB.UTF-8` or `en_GB.UTF-8 UTF-8`.
    Locale,
}

impl ParamType {
    /// Every type, for messages.
    pub const ALL: [ParamType; 12] = [
        ParamType::Line,
        ParamType::Text,
        ParamType::Word,
        ParamType::User,
        ParamType::Host,
        ParamType::Address,
        ParamType::Cidr,
        ParamType::Duration,
        ParamType::Time,
        ParamType::Size,
        ParamType::Timezone,
        ParamType::Locale,
    ];

    /// The name written in YAML.
    pub fn name(self) -> &'static str {
        match self {
            ParamType::Line => "line",
            ParamType::Text => "text",
            ParamType::Word => "word",
            ParamType::User => "user",
            ParamType::Host => "host",
            ParamType::Address => "address",
            ParamType::Cidr => "cidr",
            ParamType::Duration => "duration",
            ParamType::Time => "time",
            ParamType::Size => "size",
            ParamType::Timezone => "timezone",
            ParamType::Locale => "locale",
        }
    }

    /// Whether `s` is a value of this type; the error says what is expected.
    pub fn check(self, s: &str) -> Result<(), crate::Invalid> {
        let ok = match self {
            ParamType::Line => !s.contains(['"', '\\']) && !s.contains(char::is_control),
            ParamType::Text => !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t'),
            ParamType::Word => {
                !s.is_empty()
                    && !s.starts_with('-')
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "._/+-".contains(c))
            }
            ParamType::User => crate::names::user(s).is_ok(),
            ParamType::Host => crate::names::host(s).is_ok(),
            ParamType::Address => s == "localhost" || s.parse::<std::net::IpAddr>().is_ok(),
            ParamType::Cidr => cidr(s),
            ParamType::Duration => number_with_unit(s, &["", "s", "m", "h", "d", "w"]),
            ParamType::Time => time_of_day(s),
            ParamType::Size => number_with_unit(s, &["", "K", "M", "G", "T"]),
            ParamType::Timezone => {
                !s.starts_with('/')
                    && s.split('/').all(|part| {
                        !part.is_empty()
                            && part != "."
                            && part != ".."
                            && part
                                .chars()
                                .all(|c| c.is_ascii_alphanumeric() || "_+-".contains(c))
                    })
            }
            ParamType::Locale => {
                let words: Vec<&str> = s.split(' ').collect();
                (1..=2).contains(&words.len())
                    && words.iter().all(|w| {
                        !w.is_empty()
                            && !w.starts_with('-')
                            && w.chars()
                                .all(|c| c.is_ascii_alphanumeric() || "_.@-".contains(c))
                    })
            }
        };
        if ok {
            Ok(())
        } else {
            Err(crate::Invalid::new(format!(
                "`{s}` is not a {}",
                self.describe()
            )))
        }
    }

    /// What a value of this type looks like.
    pub fn describe(self) -> &'static str {
        match self {
            ParamType::Line => "line of text without `\"` or `\\`",
            ParamType::Text => "text without control characters but line breaks and tabs",
            ParamType::Word => "word of letters, digits and `._/+-` (not starting with `-`)",
            ParamType::User => "login name (lowercase letters, digits, `_`, `-`)",
            ParamType::Host => "host name or IP address",
            ParamType::Address => "IP address or `localhost`",
            ParamType::Cidr => "network such as `10.8.0.0/24`",
            ParamType::Duration => "duration such as `600`, `10m`, `1h`, `2d` or `1w`",
            ParamType::Time => "time of day `HH:MM`",
            ParamType::Size => "size such as `512M` or `2G`",
            ParamType::Timezone => "zoneinfo name such as `Europe/Berlin`",
            ParamType::Locale => "locale such as `en_GB.UTF-8` or `en_GB.UTF-8 UTF-8`",
        }
    }

    /// Checks every string in `value` (recursively through lists and maps);
    /// an empty string passes when `empty_ok` (the default is empty: "not
    /// set"). The error names where in the value the bad string is.
    pub fn check_value(
        self,
        value: &serde_json::Value,
        empty_ok: bool,
    ) -> Result<(), crate::Invalid> {
        match value {
            serde_json::Value::String(s) if s.is_empty() && empty_ok => Ok(()),
            serde_json::Value::String(s) => self.check(s),
            serde_json::Value::Array(items) => items.iter().enumerate().try_for_each(|(i, v)| {
                self.check_value(v, false)
                    .map_err(|e| e.within(format!("item {}", i + 1)))
            }),
            serde_json::Value::Object(map) => map.iter().try_for_each(|(k, v)| {
                self.check_value(v, false)
                    .map_err(|e| e.within(format!("`{k}`")))
            }),
            _ => Ok(()),
        }
    }
}

/// The first string in `value` holding a control character (a line break
/// would end its line in any rendered file), if any.
pub fn control_character(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) => s.contains(char::is_control).then(|| s.clone()),
        serde_json::Value::Array(items) => items.iter().find_map(control_character),
        serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| {
            if k.contains(char::is_control) {
                Some(k.clone())
            } else {
                control_character(v)
            }
        }),
        _ => None,
    }
}

fn number_with_unit(s: &str, units: &[&str]) -> bool {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    !digits.is_empty() && digits.len() <= 12 && units.contains(&unit)
}

fn time_of_day(s: &str) -> bool {
    let Some((h, m)) = s.split_once(':') else {
        return false;
    };
    h.len() == 2
        && m.len() == 2
        && h.parse::<u8>().is_ok_and(|h| h < 24)
        && m.parse::<u8>().is_ok_and(|m| m < 60)
}

fn cidr(s: &str) -> bool {
    let Some((addr, len)) = s.split_once('/') else {
        return false;
    };
    let Ok(addr) = addr.parse::<std::net::IpAddr>() else {
        return false;
    };
    let max = if addr.is_ipv4() { 32 } else { 128 };
    len.parse::<u8>().is_ok_and(|l| l <= max) && !len.starts_with('+')
}

#[cfg(test)]
mod tests {
    use super::ParamType::{self, *};

    #[test]
    fn each_type_takes_its_values_and_refuses_breakouts() {
        let cases: &[(ParamType, &[&str], &[&str])] = &[
            (
                Line,
                &["Authorised access only.", "it's fine"],
                &["say \"hi\"", "a\\b", "a\nb"],
            ),
            (Text, &["two\nlines\n", "tab\there"], &["a\0b", "a\rb"]),
            (
                Word,
                &["main", "release/1.0", "trixie"],
                &["", "-c", "a b", "x;y"],
            ),
            (User, &["root", "deploy-1"], &["Root", "a b", "-x"]),
            (
                Host,
                &["web1", "web1.example.org", "10.0.0.1"],
                &["-x", "a..b", "a b"],
            ),
            (
                Address,
                &["127.0.0.1", "::1", "localhost"],
                &["example.org", "1.2.3.4:80"],
            ),
            (
                Cidr,
                &["10.8.0.0/24", "fd00::/64"],
                &["10.8.0.0", "10.8.0.0/33", "x/24"],
            ),
            (
                Duration,
                &["600", "10m", "1h", "2d", "1w"],
                &["10 m", "1y", "m", "-5m"],
            ),
            (
                Time,
                &["04:00", "23:59"],
                &["4:00", "24:00", "04:60", "04:00\""],
            ),
            (Size, &["1024", "512M", "2G"], &["2GB", "G", "1.5G"]),
            (
                Timezone,
                &["UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires"],
                &["../../etc/shadow", "/etc/passwd", "Europe//Berlin", "a b"],
            ),
            (
                Locale,
                &["en_GB.UTF-8", "en_GB.UTF-8 UTF-8", "de_DE@euro"],
                &["", "-x", "a b c", "en;rm"],
            ),
        ];
        for (kind, good, bad) in cases {
            for g in *good {
                assert_eq!(kind.check(g), Ok(()), "{} {g:?}", kind.name());
            }
            for b in *bad {
                assert!(kind.check(b).is_err(), "{} accepted {b:?}", kind.name());
            }
        }
    }

    #[test]
    fn lists_and_maps_are_checked_string_by_string() {
        let peers = serde_json::json!([{"public_key": "abc=", "allowed_ips": "10.8.0.2/32"}, {"public_key": "x\"y"}]);
        let e = Line.check_value(&peers, false).expect_err("quote");
        assert!(e.what.starts_with("item 2: `public_key`:"), "{e}");
        assert_eq!(
            Locale.check_value(&serde_json::json!(["en_GB.UTF-8 UTF-8"]), false),
            Ok(())
        );
        assert_eq!(Host.check_value(&serde_json::json!(""), true), Ok(()));
        assert!(Host.check_value(&serde_json::json!(""), false).is_err());
    }

    #[test]
    fn a_line_break_anywhere_is_found() {
        assert_eq!(super::control_character(&serde_json::json!("10m")), None);
        assert!(
            super::control_character(&serde_json::json!("10m\nignoreip = 0.0.0.0/0")).is_some()
        );
        assert!(super::control_character(&serde_json::json!([{"k": "a\u{0}"}])).is_some());
    }
}
