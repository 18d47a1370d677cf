//! [`AllowRule`]: the only way a snapshot difference may be ignored. Each
//! rule carries the reason it exists, so the allow-list of a test reads as
//! an argument, and stays short because every line must be defended.
//!
//! Patterns are relative to the root snapshotted (a leading `/` is ignored).
//! `*` matches within one path component, `**` across components. A pattern
//! without wildcards matches that path and everything below it.

/// A pattern of paths whose changes a test accepts, and why.
#[derive(Debug, Clone, Copy)]
pub struct AllowRule {
    /// Path, path prefix or glob (`*`, `**`), e.g. `"etc/ld.so.cache"` or `"usr/share/info/dir*"`.
    pub pattern: &'static str,
    /// Why this change is expected and harmless; shown nowhere but read by reviewers.
    pub reason: &'static str,
}

impl AllowRule {
    /// A rule accepting changes at `pattern`, justified by `reason`.
    pub const fn new(pattern: &'static str, reason: &'static str) -> AllowRule {
        AllowRule { pattern, reason }
    }

    /// True when `path` (relative, `/`-separated) falls under this rule.
    pub fn matches(&self, path: &str) -> bool {
        let pattern = self.pattern.trim_start_matches('/').trim_end_matches('/');
        let path = path.trim_start_matches('/');
        if pattern.contains('*') {
            glob(pattern.as_bytes(), path.as_bytes())
        } else {
            path == pattern
                || path
                    .strip_prefix(pattern)
                    .is_some_and(|rest| rest.starts_with('/'))
        }
    }
}

/// Matches `*` (no `/`) and `**` (anything) against `text`.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    match pattern {
        [] => text.is_empty(),
        [b'*', b'*', rest @ ..] => (0..=text.len()).any(|i| glob(rest, &text[i..])),
        [b'*', rest @ ..] => {
            let component = text.iter().position(|&b| b == b'/').unwrap_or(text.len());
            (0..=component).any(|i| glob(rest, &text[i..]))
        }
        [p, rest @ ..] => text.first() == Some(p) && glob(rest, &text[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(pattern: &'static str) -> AllowRule {
        AllowRule::new(pattern, "test")
    }

    #[test]
    fn plain_pattern_matches_path_and_below_only() {
        assert!(rule("/etc/apt").matches("etc/apt"));
        assert!(rule("etc/apt").matches("etc/apt/sources.list"));
        assert!(!rule("etc/apt").matches("etc/aptitude"));
    }

    #[test]
    fn single_star_stays_in_one_component() {
        assert!(rule("usr/share/info/dir*").matches("usr/share/info/dir.old"));
        assert!(!rule("etc/*.conf").matches("etc/sub/x.conf"));
        assert!(rule("etc/*.conf").matches("etc/x.conf"));
    }

    #[test]
    fn double_star_crosses_components() {
        assert!(rule("usr/**/*.pyc").matches("usr/lib/python3/a/b.pyc"));
        assert!(!rule("usr/**/*.pyc").matches("usr/lib/python3/a/b.py"));
    }
}
