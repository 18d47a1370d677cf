//! What the journal's messages of sshd, sudo, su and systemd-logind say,
//! as typed events. Each parser takes the message as the program wrote it
//! and answers [`Parsed::Event`], [`Parsed::Other`] (a line of that
//! program that activity has no use for: "Received disconnect", PAM's
//! session lines) or [`Parsed::Malformed`] (a line that claims to be one
//! activity reads and is not).
//!
//! Parts of a message that another person chooses (the user name an
//! attacker tries, a sudo command line) are kept as text, never trusted
//! to delimit the rest: the fields sshd itself writes are found from the
//! right-hand end, where no client can reach.

use serde::Serialize;

/// Longest user name kept; sshd itself cuts names at 100 bytes.
pub const MAX_NAME: usize = 128;
/// Longest command line kept of a sudo event.
pub const MAX_COMMAND: usize = 1024;

/// One thing a person did, at a time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// Unix time in microseconds (the journal's own).
    #[serde(skip)]
    pub time_us: i64,
    /// Unix time in seconds.
    pub time: i64,
    /// The person: the login name the program named.
    pub user: String,
    /// What happened.
    #[serde(flatten)]
    pub what: What,
}

/// The kinds of event.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum What {
    /// An SSH login accepted or refused by sshd.
    Login(Login),
    /// A sudo command, run or refused.
    Sudo(Sudo),
    /// A switch of user by su.
    Su(Su),
    /// A login session of systemd-logind began or ended.
    Session(Session),
}

/// How an SSH login went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginResult {
    /// sshd let the person in.
    Accepted,
    /// An authentication that failed, or a connection that gave up
    /// before any succeeded.
    Failed,
}

/// An SSH login.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Login {
    /// Accepted or failed.
    pub result: LoginResult,
    /// `publickey`, `password`, `keyboard-interactive`… (`none` when the
    /// client gave up before trying one sshd logs).
    pub method: String,
    /// The client's address.
    pub address: String,
    /// The client's source port.
    pub port: u16,
    /// The key's type (`ED25519`, `RSA`, `ED25519-CERT`), for a key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_type: Option<String>,
    /// The key's `SHA256:…` fingerprint, for a key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// sshd knows no such user.
    pub invalid_user: bool,
    /// sshd process that handled the connection (one per connection).
    #[serde(skip)]
    pub pid: Option<u32>,
    /// The connection was only seen closing unauthenticated ("Connection
    /// closed by authenticating user"): a failure unless the same
    /// connection logged one already.
    #[serde(skip)]
    pub gave_up: bool,
}

/// A sudo command.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sudo {
    /// sudo ran it.
    pub allowed: bool,
    /// Why not: sudo's own words (`3 incorrect password attempts`,
    /// `user NOT in sudoers`, `command not allowed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// The user it ran as.
    pub run_as: String,
    /// The command line.
    pub command: String,
    /// The terminal.
    pub tty: String,
    /// The working directory.
    pub cwd: String,
}

/// A switch of user with su.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Su {
    /// su let them switch.
    pub success: bool,
    /// The user switched to.
    pub to: String,
    /// The terminal.
    pub tty: String,
}

/// A logind session.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Session {
    /// Began (true) or ended.
    pub opened: bool,
    /// logind's session ID.
    pub id: String,
}

/// What a parser made of a message.
#[derive(Debug, PartialEq)]
pub enum Parsed<T> {
    /// Something activity reports.
    Event(T),
    /// A line of the program that activity does not report.
    Other,
    /// A line that should have parsed and did not.
    Malformed,
}

/// Cuts `s` to at most `max` bytes at a character boundary.
pub fn bounded(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

/// An sshd message (`sshd`, `sshd-session`, `sshd-auth`).
pub fn sshd(msg: &str) -> Parsed<(String, Login)> {
    if let Some(rest) = msg.strip_prefix("Accepted ") {
        return auth(rest, LoginResult::Accepted);
    }
    if let Some(rest) = msg.strip_prefix("Failed ") {
        return auth(rest, LoginResult::Failed);
    }
    if let Some(rest) = msg.strip_prefix("Invalid user ") {
        // "Invalid user NAME from ADDR port PORT"; the failures that
        // follow it are logged on their own.
        return match endpoint_from_right(rest, false) {
            Some(_) => Parsed::Other,
            None => Parsed::Malformed,
        };
    }
    for prefix in [
        "Connection closed by authenticating user ",
        "Disconnected from authenticating user ",
    ] {
        if let Some(rest) = msg.strip_prefix(prefix) {
            // "NAME ADDR port PORT [preauth]"
            let rest = rest.strip_suffix(" [preauth]").unwrap_or(rest);
            let Some((name_addr, port)) = rest.rsplit_once(" port ") else {
                return Parsed::Malformed;
            };
            let (Some((name, address)), Ok(port)) = (name_addr.rsplit_once(' '), port.parse())
            else {
                return Parsed::Malformed;
            };
            if !address_like(address) || name.is_empty() {
                return Parsed::Malformed;
            }
            return Parsed::Event((
                bounded(name, MAX_NAME),
                Login {
                    result: LoginResult::Failed,
                    method: "none".into(),
                    address: address.to_owned(),
                    port,
                    key_type: None,
                    fingerprint: None,
                    invalid_user: false,
                    pid: None,
                    gave_up: true,
                },
            ));
        }
    }
    Parsed::Other
}

/// "METHOD for [invalid user ]NAME from ADDR port PORT ssh2[: KEY]".
fn auth(rest: &str, result: LoginResult) -> Parsed<(String, Login)> {
    let Some((method, rest)) = rest.split_once(' ') else {
        return Parsed::Malformed;
    };
    let Some(rest) = rest.strip_prefix("for ") else {
        // "Failed to …" and the like are sshd errors, not logins.
        return Parsed::Other;
    };
    let (invalid, rest) = match rest.strip_prefix("invalid user ") {
        Some(r) => (true, r),
        None => (false, rest),
    };
    // A valid user's name has no spaces, so the first " from " that
    // parses ends it; an invalid one is whatever the client sent, so
    // only the last one can be trusted.
    let Some((name, address, port, tail)) = endpoint_from_right(rest, !invalid) else {
        return Parsed::Malformed;
    };
    let (key_type, fingerprint) = match tail.strip_prefix(": ") {
        Some(key) => {
            let mut words = key.split(' ');
            let kind = words.next().filter(|k| !k.is_empty());
            let fp = words
                .next()
                .filter(|f| f.starts_with("SHA256:") || f.starts_with("MD5:"));
            (kind.map(|k| bounded(k, 64)), fp.map(|f| bounded(f, 128)))
        }
        None => (None, None),
    };
    // sshd names keyboard-interactive by its device: "keyboard-interactive/pam".
    let method = method.split('/').next().unwrap_or(method);
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_lowercase() || b == b'-') {
        return Parsed::Malformed;
    }
    Parsed::Event((
        bounded(name, MAX_NAME),
        Login {
            result,
            method: bounded(method, 32),
            address: address.to_owned(),
            port,
            key_type,
            fingerprint,
            invalid_user: invalid,
            pid: None,
            gave_up: false,
        },
    ))
}

/// Splits "NAME from ADDR port PORT[ ssh2[TAIL]]" into its parts; the
/// first split that parses when `leftmost`, else the last.
fn endpoint_from_right(s: &str, leftmost: bool) -> Option<(&str, &str, u16, &str)> {
    let at: Vec<usize> = s.match_indices(" from ").map(|(i, _)| i).collect();
    let try_at = |i: usize| -> Option<(&str, &str, u16, &str)> {
        let name = &s[..i];
        let rest = &s[i + " from ".len()..];
        let (address, rest) = rest.split_once(" port ")?;
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let port: u16 = rest[..digits].parse().ok()?;
        let tail = &rest[digits..];
        let tail = match tail.strip_prefix(" ssh2") {
            Some(t) => t,
            None if tail.is_empty() || tail == " [preauth]" => "",
            None => return None,
        };
        (!name.is_empty() && address_like(address)).then_some((name, address, port, tail))
    };
    if leftmost {
        at.iter().find_map(|&i| try_at(i))
    } else {
        at.iter().rev().find_map(|&i| try_at(i))
    }
}

/// An address as sshd prints one: IPv4, IPv6 or (with UseDNS) a host name.
fn address_like(a: &str) -> bool {
    !a.is_empty()
        && a.len() <= 255
        && a.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b':' | b'-' | b'%' | b'_'))
}

/// A sudo message: "NAME : [REASON ; ]TTY=… ; PWD=… ; USER=… ; COMMAND=…".
pub fn sudo(msg: &str) -> Parsed<(String, Sudo)> {
    let msg = msg.trim_start();
    let Some((user, rest)) = msg.split_once(" : ") else {
        return Parsed::Other;
    };
    // The command comes last and may hold " ; " itself.
    let Some(cmd_at) = rest.find("COMMAND=") else {
        return Parsed::Other;
    };
    let command = &rest[cmd_at + "COMMAND=".len()..];
    let (mut refused, mut tty, mut cwd, mut run_as) = (None, "", "", "root");
    for (i, part) in rest[..cmd_at].split(" ; ").enumerate() {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        match part.split_once('=') {
            Some(("TTY", v)) => tty = v,
            Some(("PWD", v)) => cwd = v,
            Some(("USER", v)) => run_as = v,
            Some(_) => {}
            None if i == 0 => refused = Some(part),
            None => return Parsed::Malformed,
        }
    }
    if user.is_empty() || user.contains(' ') {
        return Parsed::Malformed;
    }
    Parsed::Event((
        bounded(user, MAX_NAME),
        Sudo {
            allowed: refused.is_none(),
            refused: refused.map(|r| bounded(r, 128)),
            run_as: bounded(run_as, MAX_NAME),
            command: bounded(command, MAX_COMMAND),
            tty: bounded(tty, 64),
            cwd: bounded(cwd, 256),
        },
    ))
}

/// A su message (util-linux): "[FAILED SU ](to TARGET) NAME on TTY".
pub fn su(msg: &str) -> Parsed<(String, Su)> {
    let (success, rest) = match msg.strip_prefix("FAILED SU ") {
        Some(r) => (false, r),
        None => (true, msg),
    };
    let Some(rest) = rest.strip_prefix("(to ") else {
        return Parsed::Other;
    };
    let Some((to, rest)) = rest.split_once(") ") else {
        return Parsed::Malformed;
    };
    let Some((user, tty)) = rest.rsplit_once(" on ") else {
        return Parsed::Malformed;
    };
    if user.is_empty() || to.is_empty() {
        return Parsed::Malformed;
    }
    Parsed::Event((
        bounded(user, MAX_NAME),
        Su {
            success,
            to: bounded(to, MAX_NAME),
            tty: bounded(tty, 64),
        },
    ))
}

/// A systemd-logind message, with its structured fields (`SESSION_ID`,
/// `USER_ID`, `CLASS`) where it has them. The user is `None` for an end
/// whose message names no user (older logind): the caller finds it from
/// the session's start.
pub fn logind(
    msg: &str,
    session_id: Option<&str>,
    user_id: Option<&str>,
    class: Option<&str>,
) -> Parsed<(Option<String>, Session)> {
    let unquote = |s: &str| s.trim_matches('\'').to_owned();
    if let Some(rest) = msg.strip_prefix("New session ") {
        // "New session 3 of user ada." (systemd < 256) or
        // "New session '3' of user 'ada' with class 'user' and type 'tty'."
        let Some((id, rest)) = rest.split_once(" of user ") else {
            return Parsed::Malformed;
        };
        let (name, class_in_msg) = match rest.split_once(" with class ") {
            Some((n, c)) => (n, c.split(' ').next().map(unquote)),
            None => (rest.strip_suffix('.').unwrap_or(rest), None),
        };
        let class = class.map(str::to_owned).or(class_in_msg);
        // The service manager's own sessions (user@.service) and
        // background ones are no one logging in.
        if class
            .as_deref()
            .is_some_and(|c| c.starts_with("manager") || c.starts_with("background"))
        {
            return Parsed::Other;
        }
        let user = user_id.map(str::to_owned).unwrap_or_else(|| unquote(name));
        let id = session_id.map(str::to_owned).unwrap_or_else(|| unquote(id));
        if user.is_empty() || id.is_empty() {
            return Parsed::Malformed;
        }
        return Parsed::Event((
            Some(bounded(&user, MAX_NAME)),
            Session {
                opened: true,
                id: bounded(&id, 64),
            },
        ));
    }
    let ended = msg
        .strip_prefix("Removed session ")
        .map(|r| r.strip_suffix('.').unwrap_or(r))
        .or_else(|| {
            msg.strip_prefix("Session ")
                .and_then(|r| r.split_once(" logged out"))
                .map(|(id, _)| id)
        });
    match ended {
        Some(id) => {
            let id = session_id.map(str::to_owned).unwrap_or_else(|| unquote(id));
            Parsed::Event((
                user_id.map(|u| bounded(u, MAX_NAME)),
                Session {
                    opened: false,
                    id: bounded(&id, 64),
                },
            ))
        }
        None => Parsed::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login(msg: &str) -> (String, Login) {
        match sshd(msg) {
            Parsed::Event(e) => e,
            other => panic!("{msg}: {other:?}"),
        }
    }

    #[test]
    fn accepted_publickey_gives_method_key_type_and_fingerprint() {
        let (user, l) = login(
            "Accepted publickey for ada from 10.0.2.2 port 5555 ssh2: ED25519 SHA256:5lJ7rmOuqVcVBaEr0ABdGY0QtE9M4Hb3mkXIIb8fTAo",
        );
        assert_eq!(user, "ada");
        assert_eq!(l.result, LoginResult::Accepted);
        assert_eq!(l.method, "publickey");
        assert_eq!((l.address.as_str(), l.port), ("10.0.2.2", 5555));
        assert_eq!(l.key_type.as_deref(), Some("ED25519"));
        assert_eq!(
            l.fingerprint.as_deref(),
            Some("SHA256:5lJ7rmOuqVcVBaEr0ABdGY0QtE9M4Hb3mkXIIb8fTAo")
        );
        assert!(!l.invalid_user);
    }

    #[test]
    fn password_keyboard_interactive_and_ipv6() {
        let (_, l) = login("Accepted password for bob from 2001:db8::7 port 40022 ssh2");
        assert_eq!(
            (l.method.as_str(), l.address.as_str()),
            ("password", "2001:db8::7")
        );
        assert_eq!(l.fingerprint, None);
        let (_, l) = login("Accepted keyboard-interactive/pam for bob from 192.0.2.1 port 1 ssh2");
        assert_eq!(l.method, "keyboard-interactive");
        let (user, l) = login(
            "Accepted publickey for cy from 192.0.2.9 port 22 ssh2: ED25519-CERT SHA256:abc ID cy@example (serial 4) CA ED25519 SHA256:def",
        );
        assert_eq!(user, "cy");
        assert_eq!(
            (l.key_type.as_deref(), l.fingerprint.as_deref()),
            (Some("ED25519-CERT"), Some("SHA256:abc"))
        );
    }

    #[test]
    fn failures_and_invalid_users() {
        let (user, l) = login("Failed password for ada from 10.0.2.2 port 5556 ssh2");
        assert_eq!((user.as_str(), l.result), ("ada", LoginResult::Failed));
        let (user, l) =
            login("Failed password for invalid user mallory from 203.0.113.5 port 6000 ssh2");
        assert_eq!(user, "mallory");
        assert!(l.invalid_user);
        assert_eq!(
            sshd("Invalid user mallory from 203.0.113.5 port 6000"),
            Parsed::Other
        );
        let (user, l) =
            login("Connection closed by authenticating user ada 10.0.2.2 port 5557 [preauth]");
        assert_eq!((user.as_str(), l.method.as_str()), ("ada", "none"));
        assert!(l.gave_up);
    }

    #[test]
    fn an_invalid_name_cannot_choose_the_address() {
        let (user, l) = login(
            "Failed password for invalid user x from 1.1.1.1 port 1 ssh2 from 203.0.113.9 port 4242 ssh2",
        );
        assert_eq!(user, "x from 1.1.1.1 port 1 ssh2");
        assert_eq!((l.address.as_str(), l.port), ("203.0.113.9", 4242));
    }

    #[test]
    fn other_sshd_lines_are_not_events_and_broken_ones_are_malformed() {
        for other in [
            "Received disconnect from 10.0.2.2 port 5555:11: disconnected by user",
            "pam_unix(sshd:session): session opened for user ada(uid=1000) by ada(uid=0)",
            "Server listening on 0.0.0.0 port 22.",
            "Failed to start something",
        ] {
            assert_eq!(sshd(other), Parsed::Other, "{other}");
        }
        for bad in [
            "Accepted publickey for ada from nowhere",
            "Accepted publickey for ada from 10.0.2.2 port notaport ssh2",
            "Failed password for ada from 10.0.2.2 port 99999 ssh2",
        ] {
            assert_eq!(sshd(bad), Parsed::Malformed, "{bad}");
        }
    }

    #[test]
    fn sudo_commands_and_refusals() {
        let Parsed::Event((user, s)) =
            sudo("     ada : TTY=pts/0 ; PWD=/home/ada ; USER=root ; COMMAND=/usr/bin/id")
        else {
            panic!()
        };
        assert_eq!(user, "ada");
        assert!(s.allowed);
        assert_eq!(
            (
                s.tty.as_str(),
                s.cwd.as_str(),
                s.run_as.as_str(),
                s.command.as_str()
            ),
            ("pts/0", "/home/ada", "root", "/usr/bin/id")
        );
        let Parsed::Event((_, s)) = sudo(
            "ada : 3 incorrect password attempts ; TTY=pts/0 ; PWD=/home/ada ; USER=root ; COMMAND=/bin/sh -c echo a ; echo b",
        ) else {
            panic!()
        };
        assert!(!s.allowed);
        assert_eq!(s.refused.as_deref(), Some("3 incorrect password attempts"));
        assert_eq!(s.command, "/bin/sh -c echo a ; echo b");
        let Parsed::Event((_, s)) = sudo(
            "bob : user NOT in sudoers ; TTY=pts/1 ; PWD=/home/bob ; USER=root ; COMMAND=/usr/bin/id",
        ) else {
            panic!()
        };
        assert_eq!(s.refused.as_deref(), Some("user NOT in sudoers"));
        assert_eq!(
            sudo("pam_unix(sudo:session): session opened for user root(uid=0) by ada(uid=1000)"),
            Parsed::Other
        );
    }

    #[test]
    fn su_switches() {
        assert_eq!(
            su("(to root) ada on pts/0"),
            Parsed::Event((
                "ada".into(),
                Su {
                    success: true,
                    to: "root".into(),
                    tty: "pts/0".into()
                }
            ))
        );
        let Parsed::Event((_, s)) = su("FAILED SU (to root) bob on pts/1") else {
            panic!()
        };
        assert!(!s.success);
        assert_eq!(
            su("pam_unix(su:session): session opened for user root(uid=0) by ada(uid=1000)"),
            Parsed::Other
        );
        assert_eq!(su("(to root)"), Parsed::Malformed);
    }

    #[test]
    fn logind_sessions_in_both_message_styles() {
        assert_eq!(
            logind("New session 3 of user ada.", None, None, None),
            Parsed::Event((
                Some("ada".into()),
                Session {
                    opened: true,
                    id: "3".into()
                }
            ))
        );
        assert_eq!(
            logind(
                "New session '7' of user 'ada' with class 'user' and type 'tty'.",
                Some("7"),
                Some("ada"),
                Some("user")
            ),
            Parsed::Event((
                Some("ada".into()),
                Session {
                    opened: true,
                    id: "7".into()
                }
            ))
        );
        assert_eq!(
            logind(
                "New session 'c1' of user 'ada' with class 'manager-early' and type 'unspecified'.",
                None,
                None,
                None
            ),
            Parsed::Other
        );
        assert_eq!(
            logind("Removed session 3.", None, None, None),
            Parsed::Event((
                None,
                Session {
                    opened: false,
                    id: "3".into()
                }
            ))
        );
        let Parsed::Event((user, s)) = logind(
            "Session 3 logged out. Waiting for processes to exit.",
            Some("3"),
            Some("ada"),
            None,
        ) else {
            panic!()
        };
        assert_eq!((user.as_deref(), s.opened), (Some("ada"), false));
        assert_eq!(
            logind(
                "Watching system buttons on /dev/input/event0",
                None,
                None,
                None
            ),
            Parsed::Other
        );
    }

    #[test]
    fn hostile_names_are_bounded() {
        let long = "a".repeat(10_000);
        let (user, _) = login(&format!(
            "Failed password for invalid user {long}\u{7}\u{1b}[2J from 203.0.113.1 port 1 ssh2"
        ));
        assert!(user.len() <= MAX_NAME);
        assert_eq!(bounded("ééé", 3), "é");
    }
}
