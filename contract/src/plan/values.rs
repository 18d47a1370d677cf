//! The checks of single values every part of a plan shares: paths per
//! kind of effect, modes, argument vectors, ports, URLs and conditions.

use crate::names;

/// Where a path may point, per kind of effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathRule {
    /// Vendor directories dpkg removes with the package.
    Vendor,
    /// Runtime-managed configuration under `/etc`.
    Etc,
    /// Any absolute path (diversions, check targets, `creates`).
    Anywhere,
}

/// A problem found in a plan.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}")]
pub struct PlanProblem {
    /// What is wrong, naming the offending value.
    pub what: String,
}

/// Host and port of an `http(s)://` URL, the key of its circuit breaker.
pub fn endpoint(url: &str) -> Result<(String, u16), PlanProblem> {
    let bad = || {
        problem(format!(
            "`{url}` is not an http:// or https:// URL with a host"
        ))
    };
    let (rest, default_port) = if let Some(r) = url.strip_prefix("https://") {
        (r, 443)
    } else if let Some(r) = url.strip_prefix("http://") {
        (r, 80)
    } else {
        return Err(bad());
    };
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return Err(problem(format!(
            "`{url}` carries credentials; put them in /etc/apt/auth.conf.d instead"
        )));
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, rest) = v6.split_once(']').ok_or_else(bad)?;
        match rest.strip_prefix(':') {
            Some(p) => (host, parse_port(p)?),
            None if rest.is_empty() => (host, default_port),
            None => return Err(bad()),
        }
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h, parse_port(p)?),
            None => (authority, default_port),
        }
    };
    names::host(host).map_err(|_| bad())?;
    Ok((host.to_owned(), port))
}

/// Parses a port number (1–65535).
pub fn parse_port(text: &str) -> Result<u16, PlanProblem> {
    match text.trim().parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(problem(format!(
            "port `{text}` is not a port number (1–65535)"
        ))),
    }
}

pub(super) fn problem(what: impl std::fmt::Display) -> PlanProblem {
    PlanProblem {
        what: what.to_string(),
    }
}

/// A condition is an expression, not a template: `{{` would make it render
/// to a string that is always true.
pub(super) fn check_condition(when: Option<&str>) -> Result<(), PlanProblem> {
    match when {
        Some(w) if w.trim().is_empty() => {
            Err(problem("`when` is empty; remove it or write a condition"))
        }
        Some(w) if w.contains("{{") || w.contains("{%") => Err(problem(format!(
            "`when: {w}` is an expression, not a template: drop the `{{{{ }}}}`"
        ))),
        _ => Ok(()),
    }
}

/// A path with the owner and group it should have.
pub(super) fn check_owned_path(path: &str, owner: &str, group: &str) -> Result<(), PlanProblem> {
    check_path(path, PathRule::Anywhere)?;
    names::user(owner).map_err(problem)?;
    names::group(group).map_err(problem)
}

/// Parses a four-digit octal mode written as a string ("0600").
pub fn parse_mode(text: &str) -> Result<u32, PlanProblem> {
    (text.len() == 4 && text.starts_with('0'))
        .then(|| u32::from_str_radix(text, 8).ok())
        .flatten()
        .ok_or_else(|| {
            problem(format!(
                "mode `{text}` is not a four-digit octal mode like \"0600\""
            ))
        })
}

pub(super) fn check_mode(mode: u32) -> Result<(), PlanProblem> {
    if mode & !0o7777 != 0 {
        return Err(problem(format!("mode {mode:o} is not a permission mode")));
    }
    if mode & 0o002 != 0 {
        return Err(problem(format!(
            "mode {mode:04o} is world-writable; drop the o+w bit"
        )));
    }
    Ok(())
}

/// Checks a command's argv: a literal program and no NUL bytes.
pub fn check_argv(argv: &[String]) -> Result<(), PlanProblem> {
    let Some(first) = argv.first() else {
        return Err(problem(
            "a command needs at least one argument (the program)",
        ));
    };
    if first.contains("{{") {
        return Err(problem(format!(
            "the program `{first}` must not be a template"
        )));
    }
    if argv.iter().any(|a| a.contains('\0')) {
        return Err(problem("a command argument contains a NUL byte"));
    }
    Ok(())
}

/// Checks that `path` is absolute, normalised, and allowed for `rule`.
pub fn check_path(path: &str, rule: PathRule) -> Result<(), PlanProblem> {
    if !path.starts_with('/') {
        return Err(problem(format!(
            "path `{path}` must be absolute (start with `/`)"
        )));
    }
    if path.len() > 4096 || path.contains('\0') || path.contains('\n') {
        return Err(problem(format!(
            "path `{}` is too long or contains control characters",
            path.escape_debug()
        )));
    }
    for comp in path.split('/').skip(1) {
        if comp.is_empty() || comp == "." || comp == ".." {
            return Err(problem(format!(
                "path `{path}` must not contain `..`, `.` or empty components"
            )));
        }
    }
    let ok = match rule {
        PathRule::Vendor => ["/usr/lib/", "/usr/share/"]
            .iter()
            .any(|p| path.starts_with(p)),
        PathRule::Etc => path.starts_with("/etc/"),
        PathRule::Anywhere => true,
    };
    if !ok {
        let allowed = match rule {
            PathRule::Vendor => "a vendor directory under /usr/lib/ or /usr/share/",
            PathRule::Etc => "/etc/ (use a vendor_file for /usr/lib)",
            PathRule::Anywhere => "",
        };
        return Err(problem(format!(
            "path `{path}` is outside the allowed locations: expected {allowed}"
        )));
    }
    Ok(())
}
