//! The system users and groups a package creates, and so leaves behind:
//! Debian packages do not delete them on purge (files may still belong to
//! them, and a reused ID would hand those files to someone else).
//!
//! Two sources, read before the purge takes them away: the package's
//! sysusers.d files (sysusers.d(5): `u` and `g` lines) and the
//! `adduser`/`addgroup`/`useradd`/`groupadd` calls of its postinst. The
//! postinst is shell, so this is a reading of the common forms: a name
//! held in a variable is not seen, and the sysusers.d file usually names
//! it instead.

use std::collections::BTreeSet;

use serde::Serialize;

/// A user or a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A line of /etc/passwd.
    User,
    /// A line of /etc/group.
    Group,
}

/// The directories systemd-sysusers reads.
pub const SYSUSERS_DIRS: &[&str] = &["/usr/lib/sysusers.d/", "/etc/sysusers.d/"];

/// Whether `path` (from a package's file list) is a sysusers.d file.
pub fn is_sysusers_file(path: &str) -> bool {
    SYSUSERS_DIRS.iter().any(|d| {
        path.strip_prefix(d)
            .is_some_and(|n| n.ends_with(".conf") && !n.contains('/'))
    })
}

/// What a sysusers.d file creates: `u NAME` makes a user and a group of
/// that name, `g NAME` a group; `m` (membership) and `r` (range) create
/// nothing.
pub fn from_sysusers(text: &str) -> BTreeSet<(Kind, String)> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let (Some(kind), Some(name)) = (words.next(), words.next()) else {
            continue;
        };
        let name = name.trim_matches('"').to_owned();
        if !plausible(&name) {
            continue;
        }
        // `u!` (locked) is a user too.
        match kind.trim_end_matches('!') {
            "u" => {
                out.insert((Kind::User, name.clone()));
                out.insert((Kind::Group, name));
            }
            "g" => {
                out.insert((Kind::Group, name));
            }
            _ => {}
        }
    }
    out
}

/// What the account-creating commands of a maintainer script create.
pub fn from_script(text: &str) -> BTreeSet<(Kind, String)> {
    simple_commands(text)
        .iter()
        .flat_map(|words| command(words))
        .collect()
}

/// The script cut into simple commands, each its words: quotes honoured
/// (`--gecos "Avahi mDNS daemon"` is one word), continuation lines
/// joined, comments dropped, and a new command at every unquoted `;`,
/// `&`, `|`, parenthesis, backquote or line end. Enough for reading
/// literal arguments; no expansion is done.
fn simple_commands(text: &str) -> Vec<Vec<String>> {
    let mut commands = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = text.chars().peekable();
    let end_word = |word: &mut Option<String>, words: &mut Vec<String>| {
        words.extend(word.take());
    };
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                // A continuation line: the shell drops both characters.
                Some('\n') | None => {}
                Some(next) => word.get_or_insert_with(String::new).push(next),
            },
            '\'' | '"' => {
                let w = word.get_or_insert_with(String::new);
                while let Some(q) = chars.next() {
                    if q == c {
                        break;
                    }
                    if q == '\\' && c == '"' && chars.peek().is_some_and(|n| "\"\\$`".contains(*n))
                    {
                        w.extend(chars.next());
                    } else {
                        w.push(q);
                    }
                }
            }
            '#' if word.is_none() => while chars.next_if(|&n| n != '\n').is_some() {},
            ';' | '&' | '|' | '(' | ')' | '`' | '\n' => {
                end_word(&mut word, &mut words);
                if !words.is_empty() {
                    commands.push(std::mem::take(&mut words));
                }
            }
            c if c.is_whitespace() => end_word(&mut word, &mut words),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    end_word(&mut word, &mut words);
    if !words.is_empty() {
        commands.push(words);
    }
    commands
}

/// Options of adduser/addgroup/useradd/groupadd that take a value.
const WITH_VALUE: &[&str] = &[
    "--home",
    "--shell",
    "--gecos",
    "--comment",
    "--uid",
    "--gid",
    "--ingroup",
    "--firstuid",
    "--lastuid",
    "--firstgid",
    "--lastgid",
    "--conf",
    "--key",
    "--base-dir",
    "--home-dir",
    "--expiredate",
    "--inactive",
    "--groups",
    "--skel",
    "--password",
    "--root",
    "--prefix",
    "--selinux-user",
    "--users",
    "-b",
    "-c",
    "-d",
    "-e",
    "-f",
    "-g",
    "-G",
    "-k",
    "-K",
    "-p",
    "-P",
    "-R",
    "-s",
    "-u",
    "-U",
    "-Z",
];

/// The accounts one simple command creates, if it is one of the four.
fn command(words: &[String]) -> Vec<(Kind, String)> {
    // The tool may follow a wrapper (`in_sysroot adduser …`) or a path.
    let Some(at) = words.iter().position(|w| {
        matches!(
            w.rsplit('/').next(),
            Some("adduser" | "addgroup" | "useradd" | "groupadd")
        )
    }) else {
        return Vec::new();
    };
    let tool = words[at].rsplit('/').next().unwrap_or_default();
    let (mut flags, mut names) = (BTreeSet::new(), Vec::new());
    let mut rest = words[at + 1..].iter();
    while let Some(w) = rest.next() {
        let w = w.as_str();
        if w.starts_with('>') || w.starts_with("2>") || w.starts_with('<') {
            break;
        }
        if w.starts_with('-') {
            let (flag, inline) = w.split_once('=').map_or((w, false), |(f, _)| (f, true));
            if WITH_VALUE.contains(&flag) && !inline {
                rest.next();
            }
            flags.insert(flag);
        } else {
            names.push(w);
        }
    }
    let group_flag = flags.contains("--group");
    let created: Vec<(Kind, &str)> = match (tool, names.as_slice()) {
        // `adduser USER GROUP` adds a member; it creates nothing.
        ("adduser", [user]) if group_flag && !flags.contains("--system") => {
            vec![(Kind::Group, *user)]
        }
        ("adduser", [user]) if group_flag => vec![(Kind::User, *user), (Kind::Group, *user)],
        ("adduser", [user]) => vec![(Kind::User, *user)],
        ("addgroup", [group]) | ("groupadd", [group]) => vec![(Kind::Group, *group)],
        // useradd makes the user's own group unless told otherwise.
        ("useradd", [user]) if flags.contains("-N") || flags.contains("--no-user-group") => {
            vec![(Kind::User, *user)]
        }
        ("useradd", [user]) => vec![(Kind::User, *user), (Kind::Group, *user)],
        _ => Vec::new(),
    };
    created
        .into_iter()
        .filter(|(_, n)| plausible(n))
        .map(|(k, n)| (k, n.to_owned()))
        .collect()
}

/// A literal account name (a `$VARIABLE` is not); looser than
/// `names::user`, as Debian has `Debian-exim`.
fn plausible(name: &str) -> bool {
    name.len() <= 32
        && name.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[(Kind, &str)]) -> BTreeSet<(Kind, String)> {
        items.iter().map(|(k, n)| (*k, (*n).to_owned())).collect()
    }

    #[test]
    fn sysusers_lines() {
        let text = "# polkit\nu polkitd - \"User for polkitd\" -\ng _ssh -\nm polkitd adm\nr - 500-900\nu! sshd -:65534 \"sshd user\" /run/sshd\n";
        assert_eq!(
            from_sysusers(text),
            set(&[
                (Kind::User, "polkitd"),
                (Kind::Group, "polkitd"),
                (Kind::Group, "_ssh"),
                (Kind::User, "sshd"),
                (Kind::Group, "sshd"),
            ])
        );
        assert!(is_sysusers_file("/usr/lib/sysusers.d/polkit.conf"));
        assert!(!is_sysusers_file("/usr/lib/sysusers.d"));
        assert!(!is_sysusers_file("/usr/share/doc/x/sysusers.d/a.conf"));
    }

    #[test]
    fn postinst_forms_seen_in_trixie() {
        let script = r#"#!/bin/sh
set -e
if [ "$1" = configure ]; then
    getent passwd xrdp >/dev/null 2>&1 || adduser \
        --system --disabled-password --home /run/xrdp \
        --no-create-home --quiet --group xrdp
    addgroup --quiet --system scanner || true
    adduser --home /var/lib/saned  --quiet --system --group saned || true
    adduser --quiet saned scanner
    adduser --disabled-password  --quiet --system \
        --home /run/pulse --no-create-home\
        --gecos "PulseAudio daemon; sound" --group pulse
    adduser --system --gecos 'it''s "quoted"' --group 'quoted' # adduser --system comment
    adduser --system --ingroup lightdm --home=/var/lib/lightdm lightdm
    in_sysroot adduser --system --quiet --group "$MESSAGEUSER"
    getent group crontab > /dev/null 2>&1 || addgroup --system crontab
    /usr/sbin/useradd -r -d /var/lib/x -s /usr/sbin/nologin _xuser
    groupadd -g 42 shadow || (echo failed)
    # adduser --system commented
    echo "adduser is not run here"
fi
"#;
        assert_eq!(
            from_script(script),
            set(&[
                (Kind::User, "xrdp"),
                (Kind::Group, "xrdp"),
                (Kind::Group, "scanner"),
                (Kind::User, "saned"),
                (Kind::Group, "saned"),
                (Kind::User, "pulse"),
                (Kind::Group, "pulse"),
                (Kind::User, "quoted"),
                (Kind::Group, "quoted"),
                (Kind::User, "lightdm"),
                (Kind::Group, "crontab"),
                (Kind::User, "_xuser"),
                (Kind::Group, "_xuser"),
                (Kind::Group, "shadow"),
            ])
        );
    }
}
