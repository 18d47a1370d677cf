//! The root's local time, for apt's `Start-Date:` (apt-pkg writes it with
//! `localtime(3)`, so in the zone of the root's `/etc/localtime`): a reader
//! of TZif files (RFC 8536) and of the POSIX TZ rule at their end, without
//! a date crate. Only what turning a wall-clock time into Unix seconds
//! needs: offsets, not abbreviations or leap seconds.
//!
//! The zone is that of `/etc/localtime` now; a `TZ` variable in the
//! environment of the apt that wrote the history is not known. A missing
//! `/etc/localtime` (or a link to a zone the root does not have) is UTC,
//! as it is to glibc.

use crate::dates::days_from_civil;
use crate::error::{Error, Result};
use crate::root::Root;
use vpsc_contract::Invalid;

/// Where the root's zone is.
pub const LOCALTIME: &str = "/etc/localtime";

/// A time zone: UTC offsets and when they change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    /// The zone's name as shown: the link target's tail (`Europe/Berlin`),
    /// or `UTC` when there is no zone file.
    pub name: String,
    /// UTC offsets of the local time types, in seconds east.
    types: Vec<i32>,
    /// Transition instants (Unix seconds, ascending) and the type from each.
    transitions: Vec<(i64, usize)>,
    /// The rule after the last transition (the TZif footer), if any.
    rule: Option<Rule>,
}

/// A POSIX TZ rule: a standard offset and, when it has one, a summer
/// offset with the two moments of the year that switch between them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    std: i32,
    dst: Option<(i32, Switch, Switch)>,
}

/// When in the year a rule switches, and at what local time (seconds,
/// may be negative or beyond a day).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Switch {
    day: Day,
    time: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Day {
    /// `Jn`: 1..=365, February 29 never counted.
    Julian(i64),
    /// `n`: 0..=365, February 29 counted.
    Ordinal(i64),
    /// `Mm.w.d`: weekday `d` (0 Sunday) of week `w` (5 the last) of month `m`.
    Month(i64, i64, i64),
}

impl Zone {
    /// UTC, the zone of a root without a zone file.
    pub fn utc() -> Zone {
        Zone {
            name: "UTC".into(),
            types: vec![0],
            transitions: Vec::new(),
            rule: None,
        }
    }

    /// The zone of `root`'s `/etc/localtime`.
    pub fn of_root(root: &Root) -> Result<Zone> {
        let bytes = match root.read(LOCALTIME) {
            Ok(bytes) => bytes,
            // glibc's answer to a missing zone file.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Zone::utc()),
            Err(e) => return Err(Error::io("read", LOCALTIME)(e)),
        };
        let name = root
            .read_link(LOCALTIME)
            .ok()
            .map(|t| {
                let t = t.to_string_lossy().into_owned();
                match t.split_once("zoneinfo/") {
                    Some((_, zone)) => zone.to_owned(),
                    None => t,
                }
            })
            .unwrap_or_else(|| LOCALTIME.to_owned());
        Zone::parse(&bytes, &name).map_err(|why| Error::Invalid {
            what: format!("{LOCALTIME} ({name}) is not a readable TZif zone file: {why}"),
            hint: "apt's history is in local time and the rollback needs the zone to read it; `dpkg-reconfigure tzdata` writes the link again".into(),
        })
    }

    /// Reads a TZif file; the error says what is wrong with it.
    pub fn parse(bytes: &[u8], name: &str) -> std::result::Result<Zone, Invalid> {
        let v1 = Header::read(bytes, 0)?;
        let (header, at, wide) = if v1.version >= b'2' {
            let at = HEADER + v1.data_len(4);
            (Header::read(bytes, at)?, at + HEADER, true)
        } else {
            (v1, HEADER, false)
        };
        let size = if wide { 8 } else { 4 };
        let data = bytes
            .get(at..at + header.data_len(size))
            .ok_or("the file is shorter than its header says")?;
        if header.typecnt == 0 {
            return Err("it has no local time type".into());
        }
        let (times, rest) = data.split_at(header.timecnt * size);
        let (indices, rest) = rest.split_at(header.timecnt);
        let types: Vec<i32> = rest[..header.typecnt * 6]
            .chunks(6)
            .map(|t| i32::from_be_bytes([t[0], t[1], t[2], t[3]]))
            .collect();
        let mut transitions = Vec::with_capacity(header.timecnt);
        for (time, &index) in times.chunks(size).zip(indices) {
            let when = match time {
                [a, b, c, d] => i64::from(i32::from_be_bytes([*a, *b, *c, *d])),
                _ => i64::from_be_bytes(time.try_into().map_err(|_| "bad transition time")?),
            };
            let index = usize::from(index);
            if index >= types.len() {
                return Err(Invalid::new(format!(
                    "a transition names local time type {index}"
                )));
            }
            transitions.push((when, index));
        }
        if transitions.windows(2).any(|w| w[0].0 >= w[1].0) {
            return Err("its transitions are not in ascending order".into());
        }
        let rule =
            if wide {
                let footer = &bytes[at + header.data_len(8)..];
                let text = std::str::from_utf8(footer).map_err(|_| "its footer is not text")?;
                let text = text
                    .strip_prefix('\n')
                    .and_then(|t| t.split('\n').next())
                    .ok_or("its footer is not `\\nRULE\\n`")?;
                if text.is_empty() {
                    None
                } else {
                    Some(Rule::parse(text).ok_or_else(|| {
                        Invalid::new(format!("its TZ rule `{text}` is not POSIX"))
                    })?)
                }
            } else {
                None
            };
        Ok(Zone {
            name: name.to_owned(),
            types,
            transitions,
            rule,
        })
    }

    /// The UTC offset (seconds east) in force at Unix time `t`.
    pub fn offset_at(&self, t: i64) -> i32 {
        let after = self.transitions.partition_point(|&(when, _)| when <= t);
        match (after, &self.rule) {
            (0, Some(rule)) if self.transitions.is_empty() => rule.offset_at(t),
            // RFC 8536: before the first transition, type 0.
            (0, _) => self.types[0],
            (n, Some(rule)) if n == self.transitions.len() => rule.offset_at(t),
            (n, _) => self.types[self.transitions[n - 1].1],
        }
    }

    /// Unix time of the wall-clock time `wall` (seconds as if it were
    /// UTC). A time the clock showed twice (autumn) is the earlier one; a
    /// time it skipped (spring) the earliest it could mean: the rollback
    /// takes what predates the moment, so an earlier moment is the safe
    /// side.
    pub fn to_unix(&self, wall: i64) -> i64 {
        let mut offsets: Vec<i32> = self.types.clone();
        if let Some(rule) = &self.rule {
            offsets.push(rule.std);
            if let Some((dst, _, _)) = rule.dst {
                offsets.push(dst);
            }
        }
        let candidates = offsets.iter().map(|&off| wall - i64::from(off));
        let valid = candidates
            .clone()
            .filter(|&t| i64::from(self.offset_at(t)) == wall - t)
            .min();
        valid.or_else(|| candidates.min()).unwrap_or(wall)
    }

    /// Whether the zone is UTC all the time.
    pub fn is_utc(&self) -> bool {
        self.types.iter().all(|&o| o == 0)
            && self
                .rule
                .as_ref()
                .is_none_or(|r| r.std == 0 && r.dst.is_none())
    }
}

/// Seconds of a wall-clock `YYYY-MM-DD HH:MM:SS` (apt writes two spaces
/// between them), as if it were UTC.
pub fn parse_wall(text: &str) -> Option<i64> {
    let mut words = text.split_whitespace();
    let (date, time) = (words.next()?, words.next()?);
    if words.next().is_some() {
        return None;
    }
    let num = |s: Option<&str>| s.filter(|s| !s.is_empty())?.parse::<i64>().ok();
    let mut d = date.split('-');
    let (y, m, day) = (num(d.next())?, num(d.next())?, num(d.next())?);
    let mut t = time.split(':');
    let (h, mi, s) = (num(t.next())?, num(t.next())?, num(t.next())?);
    let fits = d.next().is_none()
        && t.next().is_none()
        && (1..=12).contains(&m)
        && (1..=31).contains(&day)
        && (0..24).contains(&h)
        && (0..60).contains(&mi)
        && (0..=60).contains(&s);
    fits.then(|| days_from_civil(y, m, day) * 86_400 + h * 3600 + mi * 60 + s)
}

/// Size of a TZif header.
const HEADER: usize = 44;

/// The counts of a TZif header.
struct Header {
    version: u8,
    isutcnt: usize,
    isstdcnt: usize,
    leapcnt: usize,
    timecnt: usize,
    typecnt: usize,
    charcnt: usize,
}

impl Header {
    fn read(bytes: &[u8], at: usize) -> std::result::Result<Header, Invalid> {
        let h = bytes
            .get(at..at + HEADER)
            .ok_or("it is shorter than a TZif header")?;
        if &h[..4] != b"TZif" {
            return Err("it does not start with `TZif`".into());
        }
        let count = |i: usize| {
            let n =
                u32::from_be_bytes([h[20 + 4 * i], h[21 + 4 * i], h[22 + 4 * i], h[23 + 4 * i]]);
            // More than any real zone; keeps the sums below small.
            usize::try_from(n).ok().filter(|&n| n <= 1 << 20)
        };
        let bad = || Invalid::new("its header counts are out of range");
        Ok(Header {
            version: h[4],
            isutcnt: count(0).ok_or_else(bad)?,
            isstdcnt: count(1).ok_or_else(bad)?,
            leapcnt: count(2).ok_or_else(bad)?,
            timecnt: count(3).ok_or_else(bad)?,
            typecnt: count(4).ok_or_else(bad)?,
            charcnt: count(5).ok_or_else(bad)?,
        })
    }

    /// Length of the data block with `size`-byte times.
    fn data_len(&self, size: usize) -> usize {
        self.timecnt * (size + 1)
            + self.typecnt * 6
            + self.charcnt
            + self.leapcnt * (size + 4)
            + self.isstdcnt
            + self.isutcnt
    }
}

impl Rule {
    /// `std offset [dst [offset] [,start[/time],end[/time]]]`.
    fn parse(text: &str) -> Option<Rule> {
        let mut s = Scanner(text);
        s.name()?;
        // POSIX offsets are west of Greenwich; ours east.
        let std = -s.time()?;
        if s.0.is_empty() {
            return Some(Rule {
                std: i32::try_from(std).ok()?,
                dst: None,
            });
        }
        s.name()?;
        let dst = if s.0.starts_with(',') || s.0.is_empty() {
            std + 3600
        } else {
            -s.time()?
        };
        let (start, end) = if s.0.is_empty() {
            // POSIX leaves the default to the implementation; this is
            // glibc's and the US rule.
            (
                Switch {
                    day: Day::Month(3, 2, 0),
                    time: 7200,
                },
                Switch {
                    day: Day::Month(11, 1, 0),
                    time: 7200,
                },
            )
        } else {
            s.eat(',')?;
            let start = s.switch()?;
            s.eat(',')?;
            (start, s.switch()?)
        };
        if !s.0.is_empty() {
            return None;
        }
        Some(Rule {
            std: i32::try_from(std).ok()?,
            dst: Some((i32::try_from(dst).ok()?, start, end)),
        })
    }

    fn offset_at(&self, t: i64) -> i32 {
        let Some((dst, start, end)) = self.dst else {
            return self.std;
        };
        let year = year_of(t + i64::from(self.std));
        // The year's switches around `t`: the previous, this and the next
        // year's, so a switch near New Year is not missed.
        let mut summer = false;
        let mut latest = i64::MIN;
        for y in [year - 1, year, year + 1] {
            // The start is given in standard time, the end in summer time.
            let on = start.local(y) - i64::from(self.std);
            let off = end.local(y) - i64::from(dst);
            for (when, is_summer) in [(on, true), (off, false)] {
                if when <= t && when > latest {
                    latest = when;
                    summer = is_summer;
                }
            }
        }
        if summer { dst } else { self.std }
    }
}

impl Switch {
    /// The switch of year `y` as wall-clock seconds.
    fn local(self, y: i64) -> i64 {
        let jan1 = days_from_civil(y, 1, 1);
        let leap = days_from_civil(y, 3, 1) - days_from_civil(y, 2, 1) == 29;
        let day = match self.day {
            Day::Julian(n) => jan1 + n - 1 + i64::from(leap && n >= 60),
            Day::Ordinal(n) => jan1 + n,
            Day::Month(m, w, d) => {
                let first = days_from_civil(y, m, 1);
                let next = if m == 12 {
                    days_from_civil(y + 1, 1, 1)
                } else {
                    days_from_civil(y, m + 1, 1)
                };
                // 1970-01-01 was a Thursday (4).
                let weekday = (first + 4).rem_euclid(7);
                let mut day = first + (d - weekday).rem_euclid(7) + 7 * (w - 1);
                while day >= next {
                    day -= 7;
                }
                day
            }
        };
        day * 86_400 + self.time
    }
}

/// The year of Unix time `t`.
fn year_of(t: i64) -> i64 {
    crate::dates::utc(t)[..4].parse().unwrap_or(1970)
}

/// A cursor over a TZ rule.
struct Scanner<'a>(&'a str);

impl Scanner<'_> {
    fn eat(&mut self, c: char) -> Option<()> {
        self.0 = self.0.strip_prefix(c)?;
        Some(())
    }

    /// A zone abbreviation: letters, or anything but `>` within `<>`.
    fn name(&mut self) -> Option<()> {
        let len = if let Some(rest) = self.0.strip_prefix('<') {
            rest.find('>')? + 2
        } else {
            self.0
                .find(|c: char| !c.is_ascii_alphabetic())
                .unwrap_or(self.0.len())
        };
        if len < 3 {
            return None;
        }
        self.0 = &self.0[len..];
        Some(())
    }

    /// `[+-]h[h[h]][:mm[:ss]]`, as seconds.
    fn time(&mut self) -> Option<i64> {
        let sign = match self.0.as_bytes().first() {
            Some(b'-') => -1,
            _ => 1,
        };
        self.0 = self.0.trim_start_matches(['+', '-']);
        let mut total = 0;
        for (i, scale) in [3600, 60, 1].into_iter().enumerate() {
            if i > 0 && self.eat(':').is_none() {
                break;
            }
            total += self.number()? * scale;
        }
        Some(sign * total)
    }

    fn number(&mut self) -> Option<i64> {
        let len = self
            .0
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(self.0.len());
        let n = self.0[..len].parse().ok()?;
        self.0 = &self.0[len..];
        Some(n)
    }

    /// `Jn`, `n` or `Mm.w.d`, then `/time` (02:00 when absent).
    fn switch(&mut self) -> Option<Switch> {
        let day = if self.eat('J').is_some() {
            Day::Julian(self.number().filter(|n| (1..=365).contains(n))?)
        } else if self.eat('M').is_some() {
            let m = self.number().filter(|n| (1..=12).contains(n))?;
            self.eat('.')?;
            let w = self.number().filter(|n| (1..=5).contains(n))?;
            self.eat('.')?;
            Day::Month(m, w, self.number().filter(|n| (0..=6).contains(n))?)
        } else {
            Day::Ordinal(self.number().filter(|n| (0..=365).contains(n))?)
        };
        let time = if self.eat('/').is_some() {
            self.time()?
        } else {
            7200
        };
        Some(Switch { day, time })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A TZif v2 file with `transitions` (instant, type index), `types`
    /// (offsets) and `footer`.
    fn tzif(transitions: &[(i64, u8)], types: &[i32], footer: &str) -> Vec<u8> {
        let header = |version: u8, timecnt: usize, typecnt: usize| {
            let mut h = b"TZif".to_vec();
            h.push(version);
            h.extend([0; 15]);
            for n in [0, 0, 0, timecnt, typecnt, 4] {
                h.extend(u32::try_from(n).expect("small").to_be_bytes());
            }
            h
        };
        // An empty v1 block, as zic -b slim writes it.
        let mut out = header(b'2', 0, 1);
        out.extend([0, 0, 0, 0, 0, 0]);
        out.extend(b"UTC\0");
        out.extend(header(b'2', transitions.len(), types.len()));
        for (t, _) in transitions {
            out.extend(t.to_be_bytes());
        }
        out.extend(transitions.iter().map(|(_, i)| *i));
        for off in types {
            out.extend(off.to_be_bytes());
            out.extend([0, 0]);
        }
        out.extend(b"ABC\0");
        out.extend(format!("\n{footer}\n").as_bytes());
        out
    }

    fn unix(text: &str) -> i64 {
        parse_wall(text).expect("wall time")
    }

    #[test]
    fn wall_times_as_apt_writes_them() {
        assert_eq!(parse_wall("1970-01-01  00:00:00"), Some(0));
        assert_eq!(parse_wall("2026-12-06  06:26:50"), Some(1_796_538_410));
        for bad in [
            "2026-12-06",
            "2026-13-06  06:26:50",
            "2026-12-06  24:00:00",
            "2026-12-06  06:26",
            "2026-12-06 06:26:50 x",
            "yesterday",
        ] {
            assert_eq!(parse_wall(bad), None, "{bad}");
        }
    }

    #[test]
    fn utc_and_a_fixed_offset() {
        let utc = Zone::parse(&tzif(&[], &[0], "UTC0"), "Etc/UTC").expect("parses");
        assert!(utc.is_utc());
        assert_eq!(utc.to_unix(unix("2026-12-06  06:26:50")), 1_796_538_410);
        let plus3 = Zone::parse(&tzif(&[], &[10800], "<+03>-3"), "Etc/GMT-3").expect("parses");
        assert!(!plus3.is_utc());
        assert_eq!(plus3.to_unix(unix("2026-12-06  09:26:50")), 1_796_538_410);
    }

    /// Berlin without transitions (zic -b slim): all from the footer.
    #[test]
    fn summer_time_from_the_rule() {
        let berlin = Zone::parse(
            &tzif(&[], &[3600], "CET-1CEST,M3.5.0,M10.5.0/3"),
            "Europe/Berlin",
        )
        .expect("parses");
        // Winter: UTC+1; summer: UTC+2.
        assert_eq!(
            berlin.to_unix(unix("2026-12-06  07:26:50")),
            unix("2026-12-06  06:26:50")
        );
        assert_eq!(
            berlin.to_unix(unix("2026-07-01  14:00:00")),
            unix("2026-07-01  12:00:00")
        );
        // 2026-03-29 02:00 CET the clocks went to 03:00 CEST.
        assert_eq!(berlin.offset_at(unix("2026-03-29  00:59:59")), 3600);
        assert_eq!(berlin.offset_at(unix("2026-03-29  01:00:00")), 7200);
        // 2026-10-25 03:00 CEST back to 02:00 CET: 02:30 came twice, the
        // earlier is taken; 02:30 in March never came, the earliest reading.
        assert_eq!(
            berlin.to_unix(unix("2026-10-25  02:30:00")),
            unix("2026-10-25  00:30:00")
        );
        assert_eq!(
            berlin.to_unix(unix("2026-03-29  02:30:00")),
            unix("2026-03-29  00:30:00")
        );
        // Southern hemisphere: summer spans New Year.
        let sydney = Zone::parse(
            &tzif(&[], &[36000], "AEST-10AEDT,M10.1.0,M4.1.0/3"),
            "Australia/Sydney",
        )
        .expect("parses");
        assert_eq!(sydney.offset_at(unix("2026-01-15  00:00:00")), 39600);
        assert_eq!(sydney.offset_at(unix("2026-06-15  00:00:00")), 36000);
    }

    #[test]
    fn transitions_then_the_rule() {
        let t1 = unix("2000-01-01  00:00:00");
        let zone = Zone::parse(
            &tzif(&[(t1, 1)], &[0, -18000], "EST5EDT,M3.2.0,M11.1.0"),
            "x",
        )
        .expect("parses");
        assert_eq!(zone.offset_at(t1 - 1), 0, "type 0 before the first");
        assert_eq!(zone.offset_at(unix("2026-01-10  12:00:00")), -18000);
        assert_eq!(zone.offset_at(unix("2026-07-10  12:00:00")), -14400);
        let past = Zone::parse(&tzif(&[(t1, 1)], &[0, -18000], ""), "x").expect("parses");
        assert_eq!(past.offset_at(unix("2026-07-10  12:00:00")), -18000);
    }

    #[test]
    fn rules_of_every_form() {
        for (text, ok) in [
            ("UTC0", true),
            ("<-03>3<-02>,M3.5.0/-2,M10.5.0/-1", true),
            ("IST-2IDT,M3.4.4/26,M10.5.0", true),
            ("XXX3YYY,J60/1:30,300", true),
            ("EST5EDT", true),
            ("E5", false),
            ("EST", false),
            ("EST5EDT,M13.1.0,M11.1.0", false),
            ("EST5EDT,M3.2.0", false),
        ] {
            assert_eq!(Rule::parse(text).is_some(), ok, "{text}");
        }
    }

    #[test]
    fn damaged_files_are_refused() {
        let good = tzif(&[(0, 0)], &[0], "UTC0");
        assert!(Zone::parse(&good, "x").is_ok());
        for (bytes, why) in [
            (b"TZi".to_vec(), "shorter"),
            (b"NOPE".repeat(20), "TZif"),
            (good[..good.len() - 20].to_vec(), "shorter"),
            (tzif(&[(0, 3)], &[0], ""), "type 3"),
            (tzif(&[(5, 0), (1, 0)], &[0], ""), "ascending"),
            (tzif(&[], &[0], "??"), "not POSIX"),
        ] {
            let err = Zone::parse(&bytes, "x").expect_err(why);
            assert!(err.what.contains(why), "{err}");
        }
    }

    /// The real file of the host, when it has tzdata: Debian's are fat
    /// (transitions to 2037), so the table and the rule must agree.
    #[test]
    fn the_hosts_berlin_agrees_with_its_rule() {
        let Ok(bytes) = std::fs::read("/usr/share/zoneinfo/Europe/Berlin") else {
            return;
        };
        let zone = Zone::parse(&bytes, "Europe/Berlin").expect("parses");
        assert_eq!(zone.offset_at(unix("1990-07-01  00:00:00")), 7200);
        let rule = zone.rule.clone().expect("footer");
        for year in 2020..2037 {
            for (month, day) in [(1, 1), (3, 29), (3, 31), (6, 1), (10, 25), (10, 31)] {
                let t = days_from_civil(year, month, day) * 86_400 + 3600;
                assert_eq!(zone.offset_at(t), rule.offset_at(t), "{year}-{month}-{day}");
            }
        }
    }

    #[test]
    fn a_root_without_a_zone_file_is_utc() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = Root::new(dir.path());
        assert_eq!(Zone::of_root(&root).expect("utc"), Zone::utc());
        std::fs::create_dir(dir.path().join("etc")).expect("mkdir");
        std::os::unix::fs::symlink(
            "/usr/share/zoneinfo/Etc/UTC",
            dir.path().join("etc/localtime"),
        )
        .expect("link");
        assert!(Zone::of_root(&root).expect("dangling: utc").is_utc());
        std::fs::remove_file(dir.path().join("etc/localtime")).expect("rm");
        std::fs::create_dir_all(dir.path().join("usr/share/zoneinfo/Europe")).expect("mkdir");
        std::fs::write(
            dir.path().join("usr/share/zoneinfo/Europe/Berlin"),
            tzif(&[], &[3600], "CET-1CEST,M3.5.0,M10.5.0/3"),
        )
        .expect("write");
        std::os::unix::fs::symlink(
            "/usr/share/zoneinfo/Europe/Berlin",
            dir.path().join("etc/localtime"),
        )
        .expect("link");
        let zone = Zone::of_root(&root).expect("berlin");
        assert_eq!(zone.name, "Europe/Berlin");
        assert_eq!(zone.offset_at(0), 3600);
        std::fs::write(dir.path().join("usr/share/zoneinfo/Europe/Berlin"), "junk").expect("w");
        let err = Zone::of_root(&root).expect_err("junk");
        assert!(err.to_string().contains("Europe/Berlin"), "{err}");
    }
}
