//! Validators for what an administrator types into `vpsc-user`: user and
//! team names, e-mail, full name, durations, expiry dates and login shells.
//!
//! Each returns `Err` with a complete message (what is wrong and how to fix
//! it), as [`vpsc_contract::names`] does; nothing here touches the system, so the
//! text of `/etc/shells` and the current time are passed in.

use vpsc_contract::Invalid;
use vpsc_engine::dates::days_from_civil;

/// Names an onboarded account must not take: the users and groups of
/// Debian's base-passwd (its `passwd.master` and `group.master`), groups
/// that udev's sysusers create for device access, and common service
/// accounts. Taking one would merge a person with a system identity (a user
/// `sudo` would get the `sudo` group's rights). `git` stays allowed on
/// purpose: a person named Git is more likely than a git service account,
/// which Debian calls `gitlab`/`gitea`/`_git` anyway.
const RESERVED: &[&str] = &[
    // vpsc's own journal names: `vpsc cis remediate` writes
    // /etc/sudoers.d/vpsc-cis, where a user `cis` would have theirs.
    "cis",
    // base-passwd users
    "root",
    "daemon",
    "bin",
    "sys",
    "sync",
    "games",
    "man",
    "lp",
    "mail",
    "news",
    "uucp",
    "proxy",
    "www-data",
    "backup",
    "list",
    "irc",
    "gnats",
    "nobody",
    // base-passwd groups that are not also users
    "adm",
    "tty",
    "disk",
    "kmem",
    "dialout",
    "fax",
    "voice",
    "cdrom",
    "floppy",
    "tape",
    "sudo",
    "audio",
    "dip",
    "operator",
    "src",
    "shadow",
    "utmp",
    "video",
    "sasl",
    "plugdev",
    "staff",
    "users",
    "nogroup",
    // udev's sysusers (device access)
    "input",
    "kvm",
    "render",
    // service accounts and administrative groups of other distributions
    "sshd",
    "messagebus",
    "polkitd",
    "netdev",
    "docker",
    "ssl-cert",
    "postgres",
    "mysql",
    "redis",
    "wheel",
    "admin",
    "vpsc",
];

/// Prefixes reserved for system accounts: systemd's dynamic users,
/// Debian's `_apt`-style service users, vpsc's own accounts and
/// `debian-tor`-style package users.
const RESERVED_PREFIXES: &[&str] = &["systemd-", "_", "vpsc-", "debian-"];

/// Whether `name` belongs to the system rather than to a person.
pub fn is_reserved(name: &str) -> bool {
    RESERVED.contains(&name) || RESERVED_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// A user name: Debian's rules (lowercase letters, digits, `-`, `_`,
/// starting with a letter, at most 32 characters, not ending in `-`), and
/// not reserved for the system.
pub fn user_name(name: &str) -> Result<(), Invalid> {
    account_name("user name", name)
}

/// A team name becomes a group: the same rules as [`user_name`].
pub fn team_name(name: &str) -> Result<(), Invalid> {
    account_name("team name", name)
}

fn account_name(what: &str, name: &str) -> Result<(), Invalid> {
    // 32 is useradd's limit (and utmp's ut_user size on glibc).
    let ok = !name.is_empty()
        && name.len() <= 32
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !ok {
        return Err(Invalid::new(format!(
            "{name:?} is not a valid {what}: use lowercase letters, digits, `-` and `_`, starting with a letter, not ending in `-`, at most 32 characters (e.g. `alice` or `web-team`)"
        )));
    }
    if is_reserved(name) {
        return Err(Invalid::new(format!(
            "`{name}` is reserved for a system account or group: choose another {what} (names starting with `systemd-`, `_`, `vpsc-` or `debian-` are reserved too)"
        )));
    }
    Ok(())
}

/// Characters RFC 5322 allows in an unquoted local part (`atext` and `.`).
const LOCAL_SPECIALS: &str = ".!#$%&'*+/=?^_`{|}~-";

/// An e-mail address `local@domain.tld`, restricted so it can sit in
/// `/etc/passwd`-adjacent files and command lines: no quoting, no
/// whitespace, `:` or `,`.
pub fn email(s: &str) -> Result<(), Invalid> {
    if let Some(c) = s
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || *c == ':' || *c == ',')
    {
        return Err(Invalid::new(format!(
            "e-mail address {s:?} contains {c:?}: give a single address without spaces, `:` or `,` (e.g. alice@example.org)"
        )));
    }
    // RFC 5321 §4.5.3.1.3: a path is at most 256 octets with its `<>`.
    if s.len() > 254 {
        return Err(Invalid::new(format!(
            "e-mail address {s:?} is {} characters long: at most 254 are allowed",
            s.len()
        )));
    }
    let Some((local, domain)) = s.split_once('@') else {
        return Err(Invalid::new(format!(
            "{s:?} is not an e-mail address: it needs one `@` between the mailbox and the domain (e.g. alice@example.org)"
        )));
    };
    if domain.contains('@') {
        return Err(Invalid::new(format!(
            "e-mail address {s:?} has more than one `@`: give a single address such as alice@example.org"
        )));
    }
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || LOCAL_SPECIALS.contains(c));
    if !local_ok {
        return Err(Invalid::new(format!(
            "the part before `@` of {s:?} is not a valid mailbox: use at most 64 letters, digits and {LOCAL_SPECIALS}, with no leading, trailing or doubled `.`"
        )));
    }
    let domain_ok = domain.contains('.')
        && domain.len() <= 253
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if !domain_ok {
        return Err(Invalid::new(format!(
            "the domain `{domain}` of {s:?} is not valid: use dot-separated labels of letters, digits and `-` with at least one dot (e.g. example.org)"
        )));
    }
    Ok(())
}

/// A person's full name for the GECOS field: Unicode letters welcome, but
/// none of the field separators.
pub fn full_name(s: &str) -> Result<(), Invalid> {
    if s.trim().is_empty() {
        return Err("the full name is empty: give the person's name, e.g. \"Zoë Ångström\"".into());
    }
    let count = s.chars().count();
    if count > 100 {
        return Err(Invalid::new(format!(
            "the full name is {count} characters long: shorten it to at most 100"
        )));
    }
    // `:` separates passwd(5) fields; adduser and chfn split GECOS on `,`;
    // chfn refuses `=` as well. A newline would start a new passwd entry.
    if let Some(c) = s
        .chars()
        .find(|c| c.is_control() || [':', ',', '='].contains(c))
    {
        return Err(Invalid::new(format!(
            "full name {s:?} contains {c:?}, which would corrupt /etc/passwd: remove `:`, `,`, `=` and control characters"
        )));
    }
    Ok(())
}

/// The longest duration accepted: ten years.
const MAX_DURATION: u64 = 3650 * 86_400;

/// A duration such as `90m`, `12h`, `30d` or `2w`, in seconds: at least one
/// unit, at most 3650 days.
pub fn duration(s: &str) -> Result<u64, Invalid> {
    let how = "write a whole number followed by a unit: m (minutes), h (hours), d (days) or w (weeks), e.g. 30d";
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    if digits.is_empty() {
        return Err(Invalid::new(format!(
            "duration {s:?} does not start with a number: {how}"
        )));
    }
    let unit_secs: u64 = match unit {
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        "" => return Err(Invalid::new(format!("duration {s:?} has no unit: {how}"))),
        _ => {
            return Err(Invalid::new(format!(
                "duration {s:?} has an unknown unit {unit:?}: {how}"
            )));
        }
    };
    let too_long = || {
        Invalid::new(format!(
            "duration {s:?} is longer than 3650 days: give at most 3650d (520w)"
        ))
    };
    // Digits only, so a parse failure can only be an overflow.
    let n: u64 = digits.parse().map_err(|_| too_long())?;
    if n == 0 {
        return Err(Invalid::new(format!("duration {s:?} is zero: {how}")));
    }
    let secs = n.checked_mul(unit_secs).ok_or_else(too_long)?;
    if secs > MAX_DURATION {
        return Err(too_long());
    }
    Ok(secs)
}

/// When an account expires, in Unix seconds: `YYYY-MM-DD` (the start of
/// that UTC day) or a [`duration`] from `now`; it must lie after `now`.
pub fn expiry(s: &str, now: i64) -> Result<i64, Invalid> {
    let at = if looks_like_date(s) {
        date(s)?
    } else {
        let secs = duration(s).map_err(|e| format!("{e}; or give a date as YYYY-MM-DD"))?;
        // duration() caps at ten years, so only an absurd `now` overflows.
        now.checked_add_unsigned(secs).ok_or_else(|| {
            format!(
                "expiry {s:?} from now lies beyond the year 292 billion: give a date as YYYY-MM-DD"
            )
        })?
    };
    if at <= now {
        return Err(Invalid::new(format!(
            "expiry {s:?} ({} UTC) is not in the future: give a later date or a duration such as 30d",
            vpsc_engine::dates::utc(at)
        )));
    }
    Ok(at)
}

/// `NNNN-…`: meant as a date, so a bad one gets the date message rather
/// than the duration one.
fn looks_like_date(s: &str) -> bool {
    s.len() >= 5 && s[..4].bytes().all(|b| b.is_ascii_digit()) && s.as_bytes()[4] == b'-'
}

/// A real calendar date `YYYY-MM-DD` as Unix seconds at 00:00 UTC.
fn date(s: &str) -> Result<i64, Invalid> {
    let bad = |why: &str| {
        Invalid::new(format!(
            "{s:?} is not a date: {why}; write YYYY-MM-DD, e.g. 2027-03-31"
        ))
    };
    let b = s.as_bytes();
    let shape_ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape_ok {
        return Err(bad(
            "expected four digits, `-`, two digits, `-`, two digits",
        ));
    }
    let num = |range: std::ops::Range<usize>| -> i64 {
        s[range]
            .bytes()
            .fold(0, |n, c| n * 10 + i64::from(c - b'0'))
    };
    let (y, m, d) = (num(0..4), num(5..7), num(8..10));
    if !(1..=12).contains(&m) {
        return Err(bad("the month must be 01 to 12"));
    }
    if d < 1 || d > days_in_month(y, m) {
        return Err(bad(&format!(
            "month {m:02} of {y} has {} days",
            days_in_month(y, m)
        )));
    }
    Ok(days_from_civil(y, m, d) * 86_400)
}

/// Days of month `m` (1–12) of the proleptic Gregorian year `y`.
fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A login shell: an absolute path listed in `/etc/shells`, whose text is
/// given (shells(5): one path per line, `#` starts a comment).
pub fn shell(etc_shells: &str, path: &str) -> Result<(), Invalid> {
    let listed: Vec<&str> = etc_shells
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .collect();
    let choices = if listed.is_empty() {
        "/etc/shells lists none; install a shell package such as bash".to_owned()
    } else {
        format!("pick one of {}", listed.join(", "))
    };
    let well_formed = path.starts_with('/')
        && !path.split('/').any(|part| part == "..")
        && !path.chars().any(|c| c.is_whitespace() || c.is_control());
    if !well_formed {
        return Err(Invalid::new(format!(
            "shell {path:?} is not an absolute path without `..` or spaces: {choices}"
        )));
    }
    if !listed.contains(&path) {
        return Err(Invalid::new(format!(
            "shell `{path}` is not listed in /etc/shells, so login would refuse it: {choices}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_follow_debian_rules() {
        for good in [
            "alice",
            "a",
            "bob-smith",
            "c_d",
            "x1",
            "git",
            &"a".repeat(32),
        ] {
            assert_eq!(user_name(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "Alice",
            "1alice",
            "-alice",
            "alice-",
            "al ice",
            "al.ice",
            "al;ice",
            "zoë",
            &"a".repeat(33),
        ] {
            let e = user_name(bad).expect_err(bad);
            assert!(
                e.contains("not a valid user name") && e.contains("lowercase"),
                "{e}"
            );
        }
    }

    #[test]
    fn reserved_names_are_refused_as_reserved() {
        for name in [
            "root",
            "daemon",
            "www-data",
            "nobody",
            "nogroup",
            "sudo",
            "wheel",
            "admin",
            "docker",
            "ssl-cert",
            "postgres",
            "vpsc",
            "systemd-network",
            "vpsc-admin",
            "debian-tor",
        ] {
            assert!(is_reserved(name), "{name}");
            let e = user_name(name).expect_err(name);
            assert!(
                e.contains("reserved") && e.contains("choose another user name"),
                "{e}"
            );
        }
        assert!(is_reserved("_apt"));
        for free in ["git", "alice", "rooter", "vpscuser", "debian"] {
            assert!(!is_reserved(free), "{free}");
        }
    }

    #[test]
    fn team_names_say_team_name() {
        assert_eq!(team_name("web-team"), Ok(()));
        for bad in ["Web", "staff", "team-"] {
            let e = team_name(bad).expect_err(bad);
            assert!(e.contains("team name") && !e.contains("user name"), "{e}");
        }
    }

    #[test]
    fn email_addresses_are_single_plain_mailboxes() {
        for good in [
            "alice@example.org",
            "a.b+tag@mail.example.co.uk",
            "o'brien@example.ie",
            "x_y-z@a-b.example",
            "{weird}|~@example.org",
        ] {
            assert_eq!(email(good), Ok(()), "{good}");
        }
        let long_local = format!("{}@example.org", "a".repeat(65));
        let long_total = format!("a@{}.org", "b.".repeat(130));
        for (bad, says) in [
            ("", "`@`"),
            ("alice", "`@`"),
            ("a@b@example.org", "more than one"),
            ("@example.org", "before `@`"),
            (".a@example.org", "before `@`"),
            ("a.@example.org", "before `@`"),
            ("a..b@example.org", "before `@`"),
            ("a\"b@example.org", "before `@`"),
            (&long_local, "before `@`"),
            ("alice@localhost", "domain"),
            ("alice@-x.org", "domain"),
            ("alice@x..org", "domain"),
            ("alice@ex_ample.org", "domain"),
            ("alice@example.org.", "domain"),
            ("alice @example.org", "without spaces"),
            ("alice@example.org,bob@example.org", "without spaces"),
            ("alice:x@example.org", "without spaces"),
            ("alice@example.org\n", "without spaces"),
            ("al\u{7}ice@example.org", "without spaces"),
            (&long_total, "254"),
        ] {
            let e = email(bad).expect_err(bad);
            assert!(e.contains(says), "{bad:?}: {e}");
        }
    }

    #[test]
    fn full_names_allow_unicode_but_no_gecos_separators() {
        for good in [
            "Zoë Ångström",
            "Alice",
            "李小龍",
            "Jean-Luc O'Neill",
            &"é".repeat(100),
        ] {
            assert_eq!(full_name(good), Ok(()), "{good}");
        }
        for (bad, says) in [
            ("", "empty"),
            ("   ", "empty"),
            ("Alice, Room 12", "corrupt /etc/passwd"),
            ("Alice:x", "corrupt /etc/passwd"),
            ("a=b", "corrupt /etc/passwd"),
            ("Alice\nroot::0:0::/:/bin/sh", "corrupt /etc/passwd"),
            ("Alice\tB", "corrupt /etc/passwd"),
            (&"é".repeat(101), "101 characters"),
        ] {
            let e = full_name(bad).expect_err(bad);
            assert!(e.contains(says), "{bad:?}: {e}");
        }
    }

    #[test]
    fn durations_convert_to_seconds() {
        for (text, secs) in [
            ("1m", 60),
            ("90m", 5_400),
            ("12h", 43_200),
            ("30d", 2_592_000),
            ("2w", 1_209_600),
            ("3650d", 315_360_000),
            ("521w", 315_100_800),
        ] {
            assert_eq!(duration(text), Ok(secs), "{text}");
        }
    }

    #[test]
    fn bad_durations_say_what_is_wrong() {
        for (bad, says) in [
            ("0d", "zero"),
            ("-5d", "does not start with a number"),
            ("+5d", "does not start with a number"),
            ("d", "does not start with a number"),
            ("", "does not start with a number"),
            ("30", "no unit"),
            ("30s", "unknown unit"),
            ("30 d", "unknown unit"),
            ("30dd", "unknown unit"),
            ("1.5h", "unknown unit"),
            ("3651d", "3650 days"),
            ("522w", "3650 days"),
            ("99999999999999999999d", "3650 days"),
            ("30500000000000000w", "3650 days"),
        ] {
            let e = duration(bad).expect_err(bad);
            assert!(
                e.contains(says) && (e.contains("e.g.") || e.contains("at most")),
                "{bad:?}: {e}"
            );
        }
    }

    /// 2026-11-25 14:00:00 UTC.
    const NOW: i64 = 1_795_615_200;

    #[test]
    fn expiry_takes_dates_at_midnight_utc_and_durations_from_now() {
        for (text, at) in [
            ("2026-11-26", 1_795_651_200),
            ("2028-02-29", 1_835_395_200),
            ("2100-12-31", 4_133_894_400),
            ("1d", NOW + 86_400),
            ("90m", NOW + 5_400),
        ] {
            assert_eq!(expiry(text, NOW), Ok(at), "{text}");
        }
        assert_eq!(
            vpsc_engine::dates::utc(1_835_395_200),
            "2028-02-29 00:00:00"
        );
    }

    #[test]
    fn expiry_refuses_past_and_impossible_dates() {
        for (bad, says) in [
            ("2026-11-25", "not in the future"),
            ("2020-01-01", "not in the future"),
            ("2027-02-29", "has 28 days"),
            ("2100-02-29", "has 28 days"),
            ("2027-04-31", "has 30 days"),
            ("2027-13-01", "01 to 12"),
            ("2027-00-10", "01 to 12"),
            ("2027-01-00", "has 31 days"),
            ("2027-1-5", "YYYY-MM-DD"),
            ("2027-01-05T00:00", "YYYY-MM-DD"),
            ("tomorrow", "YYYY-MM-DD"),
            ("0d", "zero"),
        ] {
            let e = expiry(bad, NOW).expect_err(bad);
            assert!(e.contains(says), "{bad:?}: {e}");
        }
    }

    const SHELLS: &str = "# /etc/shells: valid login shells\n/bin/sh\n/usr/bin/sh\n/bin/bash\n/usr/bin/bash\n  /usr/bin/zsh  # from zsh\n\n";

    #[test]
    fn shells_must_be_listed_in_etc_shells() {
        for good in ["/bin/bash", "/usr/bin/sh", "/usr/bin/zsh"] {
            assert_eq!(shell(SHELLS, good), Ok(()), "{good}");
        }
        for (bad, says) in [
            ("/usr/bin/fish", "not listed"),
            ("bash", "absolute path"),
            ("", "absolute path"),
            ("/bin/../bin/bash", "absolute path"),
            ("/bin/bash ", "absolute path"),
            ("/bin/ba\nsh", "absolute path"),
            ("# /etc/shells: valid login shells", "absolute path"),
            ("/etc/shells:", "not listed"),
        ] {
            let e = shell(SHELLS, bad).expect_err(bad);
            assert!(
                e.contains(says) && e.contains("pick one of /bin/sh, /usr/bin/sh, /bin/bash"),
                "{bad:?}: {e}"
            );
        }
        let e = shell("# empty\n", "/bin/sh").expect_err("none listed");
        assert!(e.contains("lists none"), "{e}");
    }
}
