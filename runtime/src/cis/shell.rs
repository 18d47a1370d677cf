//! Login shell settings (`umask`, `TMOUT`) as a Debian login shell gets
//! them: pam_umask's `UMASK` from login.defs when pam_umask is in the
//! session stack, then `/etc/profile`, `/etc/bash.bashrc` (which Debian's
//! profile sources for bash) and `/etc/profile.d/*.sh`, in that order, the
//! last setting winning.

use crate::root::Root;

/// One setting found, with where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// File, as seen from the root.
    pub file: String,
    /// Line.
    pub line: usize,
    /// The statement as written.
    pub text: String,
}

/// The files a login shell reads, in order.
pub fn login_files(root: &Root) -> Vec<String> {
    let mut files = vec!["/etc/profile".to_owned(), "/etc/bash.bashrc".to_owned()];
    let dir = "/etc/profile.d";
    if let Ok(entries) = std::fs::read_dir(root.path(dir)) {
        let mut names: Vec<String> = entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".sh"))
            .collect();
        names.sort();
        files.extend(names.into_iter().map(|n| format!("{dir}/{n}")));
    }
    files
}

/// Statements of `files` (comments and blank lines dropped), each with
/// where it is.
pub fn statements(root: &Root, files: &[String]) -> Vec<Found> {
    let mut out = Vec::new();
    for f in files {
        let Ok(text) = std::fs::read_to_string(root.path(f)) else {
            continue;
        };
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or_default().trim();
            if !line.is_empty() {
                out.push(Found {
                    file: f.clone(),
                    line: i + 1,
                    text: line.to_owned(),
                });
            }
        }
    }
    out
}

/// The mask `umask ARG` sets: octal (`027`) or symbolic (`u=rwx,g=rx,o=`).
pub fn parse_umask(arg: &str) -> Option<u32> {
    if arg.bytes().all(|b| (b'0'..=b'7').contains(&b)) && !arg.is_empty() {
        return u32::from_str_radix(arg, 8).ok().filter(|m| *m <= 0o777);
    }
    // Symbolic: what each class may do; the mask is what it may not.
    let mut allowed = 0o777;
    for part in arg.split(',') {
        let (who, perms) = part.split_once('=')?;
        let bits = perms.chars().try_fold(0, |acc, c| match c {
            'r' => Some(acc | 4),
            'w' => Some(acc | 2),
            'x' => Some(acc | 1),
            _ => None,
        })?;
        for w in who.chars() {
            let shift = match w {
                'u' => 6,
                'g' => 3,
                'o' => 0,
                _ => return None,
            };
            allowed = (allowed & !(0o7 << shift)) | (bits << shift);
        }
    }
    Some(0o777 & !allowed)
}

/// The `umask` statements among `statements`, with the mask each sets.
pub fn umasks(statements: &[Found]) -> Vec<(Found, Option<u32>)> {
    statements
        .iter()
        .filter_map(|s| {
            let mut words = s.text.split_whitespace();
            (words.next() == Some("umask")).then(|| {
                let arg = words.find(|w| !w.starts_with('-'));
                (s.clone(), arg.and_then(parse_umask))
            })
        })
        .collect()
}

/// root's PATH as a login shell builds it: login.defs' `ENV_SUPATH`, then
/// the `PATH=` assignments of /etc/profile.d and root's own dot files in
/// the order they run (`$PATH` standing for the value so far). Debian's
/// /etc/profile sets root's branch to the same value as ENV_SUPATH.
pub fn root_path(root: &Root) -> (Vec<String>, Vec<Found>) {
    let defs = std::fs::read_to_string(root.path("/etc/login.defs")).unwrap_or_default();
    let mut path: Vec<String> = defs
        .lines()
        .rev()
        .find_map(|l| {
            let mut w = l.split_whitespace();
            (w.next() == Some("ENV_SUPATH")).then(|| w.next().map(str::to_owned))?
        })
        .map(|v| v.trim_start_matches("PATH=").to_owned())
        .unwrap_or_else(|| "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into())
        .split(':')
        .map(str::to_owned)
        .collect();
    let mut files: Vec<String> = login_files(root)
        .into_iter()
        .filter(|f| f.starts_with("/etc/profile.d/"))
        .collect();
    files.extend(["/root/.profile", "/root/.bash_profile", "/root/.bashrc"].map(str::to_owned));
    let mut assignments = Vec::new();
    for s in statements(root, &files) {
        let text = s.text.strip_prefix("export ").unwrap_or(&s.text).trim();
        let Some(value) = text.strip_prefix("PATH=") else {
            continue;
        };
        let value = value.trim_matches(['"', '\'']);
        path = value
            .split(':')
            .flat_map(|p| {
                if p == "$PATH" || p == "${PATH}" {
                    path.clone()
                } else {
                    vec![p.to_owned()]
                }
            })
            .collect();
        assignments.push(s.clone());
    }
    (path, assignments)
}

#[cfg(test)]
mod tests {
    use super::parse_umask;

    #[test]
    fn octal_and_symbolic_masks() {
        assert_eq!(parse_umask("027"), Some(0o027));
        assert_eq!(parse_umask("0077"), Some(0o077));
        assert_eq!(parse_umask("u=rwx,g=rx,o="), Some(0o027));
        assert_eq!(parse_umask("u=rwx,go="), Some(0o077));
        assert_eq!(parse_umask("999"), None);
        assert_eq!(parse_umask("u+x"), None);
    }
}
