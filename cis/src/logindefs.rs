//! `/etc/login.defs` as shadow's getdef reads it: the last occurrence of
//! a key wins, quotes are stripped, the value runs to the end of the line.

use super::checks::{CisStatus, Evidence, Verdict, verdict};
use vpsc_engine::root::Root;

pub(super) fn judge(
    root: &Root,
    key: &str,
    one_of: &[String],
    max: Option<u64>,
    min: Option<u64>,
) -> Verdict {
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
    verdict(
        if ok { CisStatus::Pass } else { CisStatus::Fail },
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
pub(super) fn login_defs_value(text: &str, key: &str) -> Option<(usize, String)> {
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
