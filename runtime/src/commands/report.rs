//! `vpsc report`: the compliance report as one self-contained HTML page
//! (`--html FILE`), as JSON (`--json`), or as a short summary.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::print_json;
use crate::error::{Error, Result};
use crate::observe::report::{self, Report, model::Part};
use crate::root::Root;
use crate::state::State;

/// Writes the compliance report; 0 once it is written.
pub fn run(root: &Root, html: Option<&Path>, json: bool) -> Result<i32> {
    let state = State::open(root)?;
    let mut report = report::gather(root, &state, crate::dates::now())?;
    // The runtime's own version, which the package carries; the engine's
    // may lag behind it.
    report.vpsc_version = env!("CARGO_PKG_VERSION").to_owned();
    if let Some(path) = html {
        let page = report::render(&report)?;
        write(path, page.as_bytes())?;
        if !json {
            outln!("report written to {}", path.display());
        }
    }
    if json {
        print_json(&report);
    } else if html.is_none() {
        for line in summary(&report) {
            outln!("{line}");
        }
    }
    Ok(0)
}

/// Writes `bytes` to `path` whole or not at all: a temporary file beside
/// it, renamed over it. Mode 0640: the page names people and their keys.
fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path.file_name().ok_or_else(|| Error::Invalid {
        what: format!("--html {} names no file", path.display()),
        hint: "give a file name, e.g. --html report.html".into(),
    })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = dir.join(tmp_name);
    let result = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o640)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(&tmp)
        .and_then(|mut f| {
            f.write_all(bytes)?;
            f.sync_all()
        })
        .and_then(|()| std::fs::rename(&tmp, path));
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::Invalid {
            what: format!("cannot write the report to {}: {e}", path.display()),
            hint: format!(
                "{} must be an existing directory you can write to; choose another --html FILE, or print JSON with --json",
                dir.display()
            ),
        }
    })
}

/// A few lines for a terminal.
fn summary(r: &Report) -> Vec<String> {
    let mut out = vec![format!(
        "compliance report of {} at {} UTC",
        r.host.hostname, r.generated_utc
    )];
    out.push(match &r.cis {
        Part::Ok(c) => format!(
            "CIS        {:.1}% ({}, level {}), {} failing rule(s)",
            c.score,
            c.benchmark,
            c.level,
            c.failing.len()
        ),
        Part::Unavailable(why) => format!("CIS        not scanned: {why}"),
    });
    out.push(match &r.waivers {
        Part::Ok(w) => format!(
            "waivers    {} ({} expired)",
            w.len(),
            w.iter().filter(|w| w.expired).count()
        ),
        Part::Unavailable(why) => format!("waivers    unreadable: {why}"),
    });
    out.push(match &r.verify {
        Part::Ok(v) => format!(
            "verify     {} passed, {} failed, {} not evaluated ({} module(s))",
            v.passed,
            v.failed,
            v.not_evaluated,
            v.modules.len()
        ),
        Part::Unavailable(why) => format!("verify     did not run: {why}"),
    });
    out.push(match &r.people {
        Part::Ok(p) => format!(
            "people     {} ({} without 2FA)",
            p.len(),
            p.iter().filter(|p| !p.two_factor).count()
        ),
        Part::Unavailable(why) => format!("people     unreadable: {why}"),
    });
    out.push(if r.audit.intact {
        format!("audit      chain intact, {} events", r.audit.events)
    } else {
        format!(
            "audit      chain BROKEN: {}",
            r.audit.problem.as_deref().unwrap_or_default()
        )
    });
    out.push(match &r.dora {
        Part::Ok(d) if d.is_empty() => "DORA       no deployments in the last 30 days".into(),
        Part::Ok(d) => format!(
            "DORA       {} deployment(s) in 30 days, {} failed",
            d.deployments.count, d.change_failure.failed
        ),
        Part::Unavailable(why) => format!("DORA       unreadable: {why}"),
    });
    out.push("write the page with --html FILE, or all of it as JSON with --json".into());
    out
}
