//! `--since TIME`: the forms of systemd.time(7) that people type to
//! journalctl, turned into a Unix time here rather than handed to
//! journalctl, because activity reads further back than the window it
//! reports (the baselines need the history before it).

use vpsc_engine::error::{Error, Result};
use vpsc_engine::localtime::Zone;

/// The window when `--since` is not given: seven days.
pub const DEFAULT_WINDOW: i64 = 7 * 86_400;

/// Unix seconds of `text` at `now`, local times read in `zone`: Unix
/// seconds (`1795615200`, `@1795615200`), `YYYY-MM-DD [HH:MM[:SS]]`,
/// `now`, `today`, `yesterday`, `-SPAN` or `SPAN ago` (`-7d`, `2h ago`,
/// `1 week ago`, `1h30min ago`).
pub fn parse(text: &str, now: i64, zone: &Zone) -> Result<i64> {
    let bad = || {
        Error::Invalid {
        what: format!("--since {text:?} is not a time activity understands"),
        hint: "use Unix seconds, YYYY-MM-DD, \"YYYY-MM-DD HH:MM\", today, yesterday, -7d or \"2 hours ago\"".into(),
    }
    };
    let t = text.trim();
    if let Ok(secs) = t.strip_prefix('@').unwrap_or(t).parse::<i64>() {
        return Ok(secs);
    }
    let midnight = |at: i64| {
        let wall = at + i64::from(zone.offset_at(at));
        zone.to_unix(wall - wall.rem_euclid(86_400))
    };
    match t {
        "now" => return Ok(now),
        "today" => return Ok(midnight(now)),
        "yesterday" => return Ok(midnight(now - 86_400)),
        _ => {}
    }
    if let Some(span) = t.strip_prefix('-') {
        return span_seconds(span).map(|s| now - s).ok_or_else(bad);
    }
    if let Some(span) = t.strip_suffix("ago") {
        return span_seconds(span).map(|s| now - s).ok_or_else(bad);
    }
    wall(t).map(|w| zone.to_unix(w)).ok_or_else(bad)
}

/// `YYYY-MM-DD`, `YYYY-MM-DD HH:MM` or `YYYY-MM-DD HH:MM:SS` as seconds of
/// a wall clock (as if UTC).
fn wall(t: &str) -> Option<i64> {
    let (date, time) = match t.split_once([' ', 'T']) {
        Some((d, tm)) => (d, Some(tm.trim())),
        None => (t, None),
    };
    let mut d = date.split('-');
    let num = |s: Option<&str>| {
        s.filter(|s| !s.is_empty() && s.len() <= 4)?
            .parse::<i64>()
            .ok()
    };
    let (y, m, day) = (num(d.next())?, num(d.next())?, num(d.next())?);
    if d.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    let mut secs = vpsc_engine::dates::days_from_civil(y, m, day) * 86_400;
    if let Some(time) = time {
        let mut parts = time.split(':');
        let h = num(parts.next())?;
        let min = num(parts.next())?;
        let s = match parts.next() {
            Some(s) => num(Some(s))?,
            None => 0,
        };
        if parts.next().is_some() || h > 23 || min > 59 || s > 60 {
            return None;
        }
        secs += h * 3600 + min * 60 + s;
    }
    Some(secs)
}

/// A time span as systemd.time(7) writes one: numbers with units, spaces
/// allowed (`7d`, `1h 30min`, `2 weeks`).
fn span_seconds(text: &str) -> Option<i64> {
    let mut total: i64 = 0;
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let n: i64 = rest[..digits].parse().ok()?;
        rest = rest[digits..].trim_start();
        let unit_len = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "" | "s" | "sec" | "secs" | "second" | "seconds" => 1,
            "m" | "min" | "mins" | "minute" | "minutes" => 60,
            "h" | "hr" | "hrs" | "hour" | "hours" => 3600,
            "d" | "day" | "days" => 86_400,
            "w" | "week" | "weeks" => 7 * 86_400,
            // systemd's month and year: 30.44 and 365.25 days.
            "M" | "month" | "months" => 2_630_016,
            "y" | "year" | "years" => 31_557_600,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(unit)?)?;
        rest = rest[unit_len..].trim_start();
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_767_268_800; // 2026-01-01 12:00:00 UTC

    fn p(t: &str) -> Option<i64> {
        parse(t, NOW, &Zone::utc()).ok()
    }

    #[test]
    fn takes_the_forms_people_give_journalctl() {
        assert_eq!(p("1767000000"), Some(1_767_000_000));
        assert_eq!(p("@1767000000"), Some(1_767_000_000));
        assert_eq!(p("2026-01-01"), Some(1_767_225_600));
        assert_eq!(p("2026-01-01 10:30"), Some(1_767_225_600 + 37_800));
        assert_eq!(p("2026-01-01 10:30:05"), Some(1_767_225_600 + 37_805));
        assert_eq!(p("today"), Some(1_767_225_600));
        assert_eq!(p("yesterday"), Some(1_767_225_600 - 86_400));
        assert_eq!(p("-7d"), Some(NOW - 7 * 86_400));
        assert_eq!(p("2 hours ago"), Some(NOW - 7200));
        assert_eq!(p("1h30min ago"), Some(NOW - 5400));
        assert_eq!(p("now"), Some(NOW));
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        for bad in [
            "",
            "soon",
            "2026-13-01",
            "-7x",
            "ago",
            "2026-01-01 25:00",
            "-",
        ] {
            assert_eq!(p(bad), None, "{bad:?}");
        }
    }
}
