//! dpkg's own log, `/var/log/dpkg.log` and its rotated copies: the moments
//! vpsc's packages were unpacked onto the host.
//!
//! dpkg writes one line per action (dpkg(1), "log file format"):
//! `YYYY-MM-DD HH:MM:SS install PKG:ARCH <none> VERSION`, `… upgrade
//! PKG:ARCH OLD NEW`, in the host's local time. Only `install` and
//! `upgrade` lines of `vpsc-mod-*` and `vpsc-profile-*` matter here. A line
//! that does not parse is skipped with a debug message: the log is
//! evidence, and one torn line must not hide the rest.

use std::str::FromStr;

use vpsc_engine::aptlog;
use vpsc_engine::localtime::{Zone, parse_wall};
use vpsc_engine::root::Root;

/// Where dpkg writes its log.
pub const DIR: &str = "/var/log";

/// The log's name in [`DIR`].
pub const BASE: &str = "dpkg.log";

/// Which of vpsc's packages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// `vpsc-mod-NAME`.
    Module,
    /// `vpsc-profile-NAME`.
    Profile,
}

/// One unpacking of a vpsc package, as dpkg logged it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unpack {
    /// Unix time (the log's local time read in the root's zone).
    pub time: i64,
    /// The log's own `YYYY-MM-DD`, the host's calendar day.
    pub day: String,
    /// Package name without architecture.
    pub package: String,
    /// Module or profile.
    pub kind: Kind,
    /// The module or profile name (the package name without its prefix).
    pub name: String,
    /// The version before, `None` for a first install.
    pub old: Option<String>,
    /// The version unpacked.
    pub new: String,
}

/// The module or profile of a package name, if it is one of vpsc's.
pub fn kind_of(package: &str) -> Option<(Kind, &str)> {
    if let Some(name) = package.strip_prefix("vpsc-mod-") {
        return Some((Kind::Module, name)).filter(|_| !name.is_empty());
    }
    if let Some(name) = package.strip_prefix("vpsc-profile-") {
        return Some((Kind::Profile, name)).filter(|_| !name.is_empty());
    }
    None
}

/// Every unpacking of a vpsc package under `root`, oldest first. A missing
/// log is an empty one; an unreadable file is skipped with a warning (the
/// rest still counts).
pub fn read(root: &Root, zone: &Zone) -> Vec<Unpack> {
    let names = match aptlog::rotated(root, DIR, BASE) {
        Ok(names) => names,
        Err(e) => {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(error = %e, "cannot list {DIR}; no deployments read");
            }
            return Vec::new();
        }
    };
    let mut all = Vec::new();
    for name in names {
        let path = format!("{DIR}/{name}");
        let bytes = match root
            .read(&path)
            .and_then(|raw| aptlog::decompress(&name, raw))
        {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read {path}; its deployments are not counted");
                continue;
            }
        };
        all.extend(parse(&String::from_utf8_lossy(&bytes), &path, zone));
    }
    // Rotation keeps files in order, but a clock stepped back (or files
    // copied by hand) must not make a deployment look older than its
    // predecessor; a stable sort keeps same-second lines in log order.
    all.sort_by_key(|u| u.time);
    all
}

/// The `install` and `upgrade` lines of vpsc packages in one file's text;
/// `file` names it in debug messages.
pub fn parse(text: &str, file: &str, zone: &Zone) -> Vec<Unpack> {
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| match line_of(line, zone) {
            Ok(u) => u,
            Err(why) => {
                tracing::debug!("{file}:{}: skipped ({why}): {line:?}", i + 1);
                None
            }
        })
        .collect()
}

/// `Ok(None)` for a line that is fine but not a vpsc unpack; `Err` says
/// why an unpack line does not parse.
fn line_of(line: &str, zone: &Zone) -> Result<Option<Unpack>, &'static str> {
    let words: Vec<&str> = line.split_ascii_whitespace().collect();
    let (Some(action), Some(pkg)) = (words.get(2), words.get(3)) else {
        return Ok(None);
    };
    if *action != "install" && *action != "upgrade" {
        return Ok(None);
    }
    let package = pkg.split_once(':').map_or(*pkg, |(p, _)| p);
    let Some((kind, name)) = kind_of(package) else {
        return Ok(None);
    };
    let [date, clock, _, _, old, new] = words.as_slice() else {
        return Err("not `DATE TIME ACTION PKG OLD NEW`");
    };
    let wall = parse_wall(&format!("{date} {clock}")).ok_or("bad date or time")?;
    let valid = |v: &str| debversion::Version::from_str(v).is_ok();
    if !valid(new) {
        return Err("bad new version");
    }
    let old = match *old {
        "<none>" => None,
        v if valid(v) => Some(v.to_owned()),
        _ => return Err("bad old version"),
    };
    Ok(Some(Unpack {
        time: zone.to_unix(wall),
        day: (*date).to_owned(),
        package: package.to_owned(),
        kind,
        name: name.to_owned(),
        old,
        new: (*new).to_owned(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_and_upgrade_lines_of_vpsc_packages_are_read() {
        let text = "\
2026-12-01 10:00:00 startup archives unpack
2026-12-01 10:00:01 install vpsc-mod-ssh:all <none> 1.0.0
2026-12-01 10:00:01 status half-installed vpsc-mod-ssh:all 1.0.0
2026-12-01 10:00:02 install curl:amd64 <none> 8.14.1-2
2026-12-01 10:00:03 upgrade vpsc-profile-server:all 1.2.0 1.3.0
2026-12-01 10:00:04 status installed vpsc-mod-ssh:all 1.0.0
";
        let got = parse(text, "dpkg.log", &Zone::utc());
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].package, "vpsc-mod-ssh");
        assert_eq!(got[0].kind, Kind::Module);
        assert_eq!(got[0].name, "ssh");
        assert_eq!(got[0].old, None);
        assert_eq!(got[0].new, "1.0.0");
        assert_eq!(
            got[0].time,
            vpsc_engine::dates::parse_time("t", "2026-12-01").expect("date") + 36_001
        );
        assert_eq!(got[1].kind, Kind::Profile);
        assert_eq!(got[1].old.as_deref(), Some("1.2.0"));
    }

    #[test]
    fn malformed_and_hostile_lines_are_skipped_not_fatal() {
        let text = "\
2026-12-01 10:00:01 install vpsc-mod-ssh:all <none>
2026-13-01 10:00:01 install vpsc-mod-ssh:all <none> 1.0.0
2026-12-01 25:00:01 install vpsc-mod-ssh:all <none> 1.0.0
2026-12-01 10:00:01 install vpsc-mod-ssh:all <none> 1.0.0 extra
2026-12-01 10:00:01 install vpsc-mod-ssh:all <none> $(rm\x20-rf)
2026-12-01 10:00:01 upgrade vpsc-mod-ssh:all <script> 1.0.0
2026-12-01 10:00:01 install vpsc-mod-:all <none> 1.0.0
\u{0}\u{ffff}garbage
install
2026-12-01 10:00:09 install vpsc-mod-git:all <none> 2.0
";
        let got = parse(text, "dpkg.log", &Zone::utc());
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].name, "git");
    }

    #[test]
    fn rotated_and_compressed_logs_are_read_oldest_first() {
        use std::io::Write as _;
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("var/log");
        std::fs::create_dir_all(&log).expect("mkdir");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(b"2026-11-01 09:00:00 install vpsc-mod-a:all <none> 1\n")
            .expect("gzip");
        std::fs::write(log.join("dpkg.log.2.gz"), gz.finish().expect("gzip")).expect("write");
        std::fs::write(
            log.join("dpkg.log.1"),
            "2026-11-15 09:00:00 upgrade vpsc-mod-a:all 1 2\n",
        )
        .expect("write");
        std::fs::write(
            log.join("dpkg.log"),
            "2026-12-01 09:00:00 upgrade vpsc-mod-a:all 2 3\n",
        )
        .expect("write");
        // A damaged archive costs its own lines only.
        std::fs::write(log.join("dpkg.log.3.gz"), b"not gzip").expect("write");
        std::fs::write(log.join("dpkg.log.old"), "noise").expect("write");
        let got = read(&Root::new(dir.path()), &Zone::utc());
        let versions: Vec<&str> = got.iter().map(|u| u.new.as_str()).collect();
        assert_eq!(versions, ["1", "2", "3"]);
    }
}
