//! `/etc/login.defs` as shadow's getdef reads it: the last occurrence of
//! a key wins, quotes are stripped, the value runs to the end of the line.

use serde::{Deserialize, Serialize};

use crate::check::Check;
use crate::facts::Facts;
use crate::verdict::{CisStatus, Evidence, Verdict, pass_if, verdict};
use vpsc_engine::root::Root;

/// A setting of `/etc/login.defs` as shadow's getdef reads it (the last
/// occurrence wins, quotes stripped; see `login_defs_value`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginDefs {
    /// Key, e.g. `PASS_MAX_DAYS`.
    pub key: String,
    /// Allowed values, compared exactly: shadow compares with strcmp, so
    /// `sha512` is no ENCRYPT_METHOD (it falls back to DES).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub one_of: Vec<String>,
    /// Largest allowed number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u64>,
    /// Smallest allowed number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<u64>,
}

impl Check for LoginDefs {
    fn judge(&self, f: &Facts<'_>) -> Verdict {
        judge(f.root(), &self.key, &self.one_of, self.max, self.min)
    }
}

fn judge(root: &Root, key: &str, one_of: &[String], max: Option<u64>, min: Option<u64>) -> Verdict {
    let text = root.read_to_string("/etc/login.defs").unwrap_or_default();
    let Some((line, value)) = login_defs_value(&text, key) else {
        return verdict(
            CisStatus::Fail,
            vec![Evidence::at(
                "/etc/login.defs",
                0,
                format!("{key} is not set"),
            )],
        );
    };
    let mut ok = one_of.is_empty() || one_of.contains(&value);
    if max.is_some() || min.is_some() {
        // The whole value must be a number (shadow's getlong); anything
        // else makes getdef fall back to its default, which for the
        // PASS_* keys is no limit at all.
        match value.parse::<u64>() {
            Ok(n) => ok &= max.is_none_or(|m| n <= m) && min.is_none_or(|m| n >= m),
            Err(_) => ok = false,
        }
    }
    pass_if(
        ok,
        vec![Evidence::at(
            "/etc/login.defs",
            line,
            format!("{key} {value}"),
        )],
    )
}

/// The line and value of `key` in login.defs `text` as shadow's def_load
/// (lib/getdef.c) reads it: trailing blanks trimmed, `#` lines skipped, the
/// name up to the first blank (compared exactly), the value from the next
/// character that is no blank or `"` up to the next `"` or the end of the
/// line, so `"SHA512"` is SHA512 and `365 # a year` is one value that is
/// no number. The last occurrence wins.
pub(crate) fn login_defs_value(text: &str, key: &str) -> Option<(usize, String)> {
    text.lines()
        .enumerate()
        .filter_map(|(i, l)| {
            let l = l.trim_end().trim_start_matches([' ', '\t']);
            if l.is_empty() || l.starts_with('#') {
                return None;
            }
            let (name, rest) = l.split_once([' ', '\t'])?;
            let value = rest.trim_start_matches([' ', '\t', '"']);
            let value = value.split('"').next().unwrap_or_default();
            (name == key).then(|| (i + 1, value.to_owned()))
        })
        .last()
}

/// UID_MIN of /etc/login.defs (1000 when unset, shadow's default).
pub(crate) fn uid_min(root: &Root) -> u32 {
    let text = root.read_to_string("/etc/login.defs").unwrap_or_default();
    login_defs_value(&text, "UID_MIN")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_defs_values_are_read_as_shadow_reads_them() {
        let text = "PASS_MAX_DAYS 99999\n  PASS_MAX_DAYS\t\"90\"  \n# PASS_MAX_DAYS 1\n\
                    ENCRYPT_METHOD \"SHA512\" trailing\nPASS_WARN_AGE 7 # a week\nUMASK\n";
        assert_eq!(
            login_defs_value(text, "PASS_MAX_DAYS"),
            Some((2, "90".into()))
        );
        assert_eq!(
            login_defs_value(text, "ENCRYPT_METHOD"),
            Some((4, "SHA512".into()))
        );
        assert_eq!(
            login_defs_value(text, "PASS_WARN_AGE"),
            Some((5, "7 # a week".into()))
        );
        assert_eq!(
            login_defs_value(text, "UMASK"),
            None,
            "a name alone sets nothing"
        );
        assert_eq!(login_defs_value(text, "pass_max_days"), None);
    }
}
