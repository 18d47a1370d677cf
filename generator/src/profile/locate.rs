//! Finding where a value sits in a YAML file, for error positions on
//! problems found after parsing (serde gives positions only for its own).

use std::path::Path;

use crate::error::Location;

/// The first occurrence of `needle` as a whole token at or after line
/// `from_line` (1-based), as a location in `file`.
pub fn find(file: &Path, source: &str, needle: &str, from_line: usize) -> Location {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.';
    for (i, line) in source.lines().enumerate().skip(from_line.saturating_sub(1)) {
        let mut start = 0;
        while let Some(pos) = line[start..].find(needle) {
            let at = start + pos;
            let before = line[..at].chars().next_back();
            let after = line[at + needle.len()..].chars().next();
            if !before.is_some_and(is_word) && !after.is_some_and(is_word) {
                return Location {
                    file: file.to_path_buf(),
                    line: i + 1,
                    column: line[..at].chars().count() + 1,
                };
            }
            start = at + needle.len().max(1);
        }
    }
    whole(file)
}

/// A location naming only the file.
pub fn whole(file: &Path) -> Location {
    Location {
        file: file.to_path_buf(),
        line: 0,
        column: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_whole_tokens_only() {
        let src = "name: sshd\ndepends: [ssh, base]\n";
        let loc = find(Path::new("m.yaml"), src, "ssh", 1);
        assert_eq!((loc.line, loc.column), (2, 11));
    }
}
