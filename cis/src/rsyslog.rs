//! rsyslog's configuration as rsyslogd reads it (rsyslog.conf(5) and the
//! RainerScript documentation): `/etc/rsyslog.conf` from the top, with
//! `$IncludeConfig` and `include(file=...)` expanded in place (a glob's
//! files in name order, a directory's files all), in either syntax:
//! legacy `$Directive value` lines, RainerScript objects (`module(...)`,
//! `input(...)`, `action(...)`, `global(...)`) over as many lines as they
//! take, and legacy selector lines (`*.* @@loghost`, `auth.* /var/log/x`).
//! `#` comments (outside quotes) and `/* */` blocks are skipped.
//!
//! Legacy directives act on what follows them: `$FileCreateMode` sets the
//! mode of the files that actions after it create, not before, while
//! `module(load="builtin:omfile" fileCreateMode=...)` sets the default of
//! every action; rsyslog's own default is 0644.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use vpsc_contract::Invalid;

use crate::check::Check;
use crate::facts::{Fact, Facts};
use crate::verdict::{CisStatus, Evidence, Verdict, pass_if, verdict};
use vpsc_engine::root::Root;

/// The main file.
pub const MAIN: &str = "/etc/rsyslog.conf";

/// Bound on nested includes.
const MAX_DEPTH: usize = 16;

/// rsyslog's file creation mode when nothing sets one.
pub const DEFAULT_FILE_MODE: u32 = 0o644;

/// One statement, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stmt {
    /// What it is.
    pub kind: Kind,
    /// File, as seen from the root.
    pub file: String,
    /// Line it starts on.
    pub line: usize,
}

/// The statements the rules look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// `$Name value`: name in lower case without the `$`.
    Legacy {
        /// Directive name.
        name: String,
        /// The rest of the line.
        arg: String,
        /// The line as written.
        written: String,
    },
    /// `name(param="value" ...)`: names in lower case.
    Object {
        /// Object name (`module`, `input`, `action`, `global`, ...).
        name: String,
        /// Its parameters, values unquoted.
        params: BTreeMap<String, String>,
    },
    /// A legacy selector line's action: `@@loghost:514`, `-/var/log/x`.
    Selector {
        /// The action as written, without a `;template` suffix.
        action: String,
    },
}

impl Stmt {
    /// The statement as evidence shows it.
    pub fn shown(&self) -> String {
        match &self.kind {
            Kind::Legacy { written, .. } => written.clone(),
            Kind::Object { name, params } => {
                let p: Vec<String> = params.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
                format!("{name}({})", p.join(" "))
            }
            Kind::Selector { action } => format!("selector action {action}"),
        }
    }

    /// A parameter of an object whose name is `name`.
    pub fn param(&self, object: &str, key: &str) -> Option<&str> {
        match &self.kind {
            Kind::Object { name, params } if name == object => params.get(key).map(String::as_str),
            _ => None,
        }
    }
}

/// Everything rsyslogd reads, in order.
#[derive(Debug, Default)]
pub struct Rsyslog {
    /// Whether /etc/rsyslog.conf exists.
    pub found: bool,
    /// Statements in the order rsyslogd reads them.
    pub stmts: Vec<Stmt>,
    /// Files read, as seen from the root.
    pub files: Vec<String>,
}

impl Rsyslog {
    /// Reads `/etc/rsyslog.conf` and what it includes under `root`.
    pub fn load(root: &Root) -> Rsyslog {
        let mut r = Rsyslog {
            found: root.is_file(MAIN),
            ..Rsyslog::default()
        };
        r.read(root, MAIN, 0);
        r
    }

    fn read(&mut self, root: &Root, file: &str, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        let Ok(text) = root.read_to_string(file) else {
            return;
        };
        self.files.push(file.to_owned());
        for stmt in parse(&text, file) {
            let include = match &stmt.kind {
                Kind::Legacy { name, arg, .. } if name == "includeconfig" => Some(arg.clone()),
                Kind::Object { name, params } if name == "include" => params.get("file").cloned(),
                _ => None,
            };
            match include {
                Some(pattern) => {
                    for f in expand(root, &pattern) {
                        self.read(root, &f, depth + 1);
                    }
                }
                None => self.stmts.push(stmt),
            }
        }
    }
}

/// The files an include pattern names, in the order rsyslog reads them: a
/// directory's regular files, or a glob in the last component (glob(3)
/// sorts its matches).
fn expand(root: &Root, pattern: &str) -> Vec<String> {
    let pattern = pattern.trim();
    let (dir, name) = match pattern.rsplit_once('/') {
        Some((d, n)) => (if d.is_empty() { "/" } else { d }, n),
        None => return Vec::new(),
    };
    let is_dir = root.is_dir(pattern);
    if !is_dir && !name.contains(['*', '?', '[']) {
        return vec![pattern.to_owned()];
    }
    let listed = if is_dir {
        pattern.trim_end_matches('/')
    } else {
        dir
    };
    let Ok(entries) = root.read_dir_names(listed) else {
        return Vec::new();
    };
    let mut out: Vec<String> = entries
        .into_iter()
        .filter(|n| root.is_file(&format!("{}/{n}", listed.trim_end_matches('/'))))
        .filter(|n| is_dir || (!n.starts_with('.') && glob_match(name, n)))
        .map(|n| format!("{}/{n}", listed.trim_end_matches('/')))
        .collect();
    out.sort();
    out
}

/// fnmatch(3) of `*` and `?` (a `[` class is taken literally).
pub fn glob_match(pattern: &str, name: &str) -> bool {
    fn go(p: &[u8], n: &[u8]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], n) || (!n.is_empty() && go(p, &n[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &n[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), name.as_bytes())
}

/// RainerScript keywords that start a line that is no selector.
const KEYWORDS: [&str; 12] = [
    "ruleset",
    "template",
    "module",
    "input",
    "global",
    "main_queue",
    "lookup_table",
    "set",
    "unset",
    "call",
    "foreach",
    "include",
];

/// The statements of one file.
fn parse(text: &str, file: &str) -> Vec<Stmt> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let mut line = 1;
    // What a line holds outside objects, for selector lines.
    let mut rest = String::new();
    let mut rest_line = 1;
    let mut at_line_start = true;
    let stmt = |kind: Kind, line: usize| Stmt {
        kind,
        file: file.to_owned(),
        line,
    };
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            if let Some(action) = selector_action(&rest) {
                out.push(stmt(Kind::Selector { action }, rest_line));
            }
            rest.clear();
            line += 1;
            rest_line = line;
            at_line_start = true;
            i += 1;
            continue;
        }
        if at_line_start && c.is_whitespace() {
            i += 1;
            continue;
        }
        if at_line_start && c == '$' {
            let end = chars[i..]
                .iter()
                .position(|&c| c == '\n')
                .map_or(chars.len(), |p| i + p);
            let body: String = chars[i + 1..end].iter().collect();
            let body = body.trim();
            let (name, arg) = body.split_once(char::is_whitespace).unwrap_or((body, ""));
            out.push(stmt(
                Kind::Legacy {
                    name: name.to_ascii_lowercase(),
                    arg: arg.trim().to_owned(),
                    written: format!("${body}"),
                },
                line,
            ));
            i = end;
            continue;
        }
        at_line_start = false;
        if c == '#' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if c == '/' && chars.get(i + 1) == Some(&'*') {
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                if chars[i] == '\n' {
                    line += 1;
                }
                i += 1;
            }
            i += 2;
            continue;
        }
        if c.is_ascii_alphabetic() {
            let start = i;
            let mut j = i;
            while j < chars.len() && (chars[j].is_ascii_alphanumeric() || "_.:-".contains(chars[j]))
            {
                j += 1;
            }
            let mut k = j;
            while k < chars.len() && chars[k] == ' ' {
                k += 1;
            }
            if chars.get(k) == Some(&'(') {
                let name: String = chars[start..j]
                    .iter()
                    .collect::<String>()
                    .to_ascii_lowercase();
                let (params, end, lines) = object_params(&chars, k + 1);
                out.push(stmt(Kind::Object { name, params }, line));
                line += lines;
                i = end;
                continue;
            }
            rest.extend(&chars[start..j]);
            i = j;
            continue;
        }
        if c == '"' || c == '\'' {
            // A quoted string outside an object (a property filter).
            let (s, end, lines) = quoted(&chars, i);
            rest.push('"');
            rest.push_str(&s);
            rest.push('"');
            line += lines;
            i = end;
            continue;
        }
        rest.push(c);
        i += 1;
    }
    if let Some(action) = selector_action(&rest) {
        out.push(stmt(Kind::Selector { action }, rest_line));
    }
    out
}

/// A quoted string starting at `i`: its unescaped text, the index after
/// it and the newlines it spans.
fn quoted(chars: &[char], i: usize) -> (String, usize, usize) {
    let q = chars[i];
    let mut s = String::new();
    let mut j = i + 1;
    let mut lines = 0;
    while j < chars.len() && chars[j] != q {
        if chars[j] == '\\' && j + 1 < chars.len() {
            j += 1;
        }
        if chars[j] == '\n' {
            lines += 1;
        }
        s.push(chars[j]);
        j += 1;
    }
    (s, j + 1, lines)
}

/// The `name="value"` parameters of an object whose body starts at `i`:
/// names in lower case; the index after the closing parenthesis and the
/// newlines it spans.
fn object_params(chars: &[char], mut i: usize) -> (BTreeMap<String, String>, usize, usize) {
    let mut params = BTreeMap::new();
    let mut lines = 0;
    let mut name = String::new();
    let mut expecting_value = false;
    let mut depth = 0usize;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\n' => {
                lines += 1;
                i += 1;
            }
            ')' if depth == 0 => return (params, i + 1, lines),
            '(' | '[' => {
                depth += 1;
                i += 1;
            }
            ')' | ']' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            '#' if depth == 0 => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '=' => {
                expecting_value = true;
                i += 1;
            }
            '"' | '\'' => {
                let (s, end, l) = quoted(chars, i);
                lines += l;
                if expecting_value && depth == 0 && !name.is_empty() {
                    params.insert(std::mem::take(&mut name), s);
                }
                expecting_value = false;
                i = end;
            }
            c if c.is_whitespace() || c == ',' => i += 1,
            _ => {
                let start = i;
                while i < chars.len()
                    && !chars[i].is_whitespace()
                    && !"=()[]\"',".contains(chars[i])
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                if expecting_value && depth == 0 {
                    params.insert(std::mem::take(&mut name), word);
                    expecting_value = false;
                } else if depth == 0 {
                    name = word.to_ascii_lowercase();
                }
            }
        }
    }
    (params, i, lines)
}

/// The action of a legacy selector line (`*.* @@host;Template` gives
/// `@@host`): the last word, when it is a file, a forward or a dynamic
/// file and the line is no RainerScript statement.
fn selector_action(rest: &str) -> Option<String> {
    let words: Vec<&str> = rest.split_whitespace().collect();
    let (first, last) = (words.first()?, words.last()?);
    if words.len() < 2 || KEYWORDS.contains(&first.to_ascii_lowercase().as_str()) {
        return None;
    }
    let action = last.split(';').next().unwrap_or(last);
    (action.starts_with('@')
        || action.starts_with('/')
        || action.starts_with("-/")
        || action.starts_with('?')
        || action.starts_with("-?"))
    .then(|| action.to_owned())
}

/// A four-digit octal mode as rsyslog accepts it (`0640`).
pub fn mode(text: &str) -> Option<u32> {
    let t = text.trim();
    (t.len() == 4 && t.starts_with('0'))
        .then(|| u32::from_str_radix(t, 8).ok())
        .flatten()
}

/// `imtcp` for `imtcp`, `"imtcp"`, `/usr/lib/x86_64-linux-gnu/rsyslog/imtcp.so`.
pub fn module_name(text: &str) -> String {
    let t = text.trim().trim_matches('"');
    let base = t.rsplit('/').next().unwrap_or(t);
    base.trim_end_matches(".so").to_ascii_lowercase()
}

/// The input module a legacy listener directive belongs to.
pub fn legacy_listener(name: &str) -> Option<&'static str> {
    match name {
        "inputtcpserverrun" => Some("imtcp"),
        "udpserverrun" | "inputudpserverrun" => Some("imudp"),
        "inputrelpserverrun" => Some("imrelp"),
        "inputptcpserverrun" => Some("imptcp"),
        _ => None,
    }
}

/// What a rule requires of rsyslog's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum RsyslogProperty {
    /// Every file rsyslog creates gets at most this mode: some
    /// FileCreateMode is set, none is more permissive, and no file action
    /// comes before the first one (it would create its file 0644).
    FileCreateMode {
        /// Most permissive allowed mode, "0640".
        max: String,
    },
    /// None of these input modules is loaded or listening.
    NoInputModules {
        /// Module names, e.g. `imtcp`.
        modules: Vec<String>,
    },
    /// Every forwarding action sends over TCP with the gtls stream driver
    /// in TLS-only mode (StreamDriverMode 1); notapplicable without one.
    ForwardingTls,
}

impl Fact for Rsyslog {
    fn read(root: &Root, _live: bool) -> Rsyslog {
        Rsyslog::load(root)
    }
}

impl Check for RsyslogProperty {
    fn validate(&self) -> Result<(), Invalid> {
        match self {
            RsyslogProperty::FileCreateMode { max } => mode(max)
                .map(drop)
                .ok_or_else(|| Invalid::new(format!("{max:?} is not a mode like \"0640\""))),
            RsyslogProperty::NoInputModules { modules } if modules.is_empty() => {
                Err("no_input_modules names no module".into())
            }
            _ => Ok(()),
        }
    }

    fn judge(&self, f: &Facts<'_>) -> Verdict {
        let r = f.get::<Rsyslog>();
        match self {
            RsyslogProperty::FileCreateMode { max } => {
                file_create_mode(&r, mode(max).unwrap_or(0), max)
            }
            RsyslogProperty::NoInputModules { modules } => no_inputs(&r, modules),
            RsyslogProperty::ForwardingTls => forwarding_tls(&r),
        }
    }
}

fn file_create_mode(r: &Rsyslog, max: u32, shown_max: &str) -> Verdict {
    let mut evidence = Vec::new();
    let mut ok = true;
    let too_open = |m: u32| m & !max != 0;
    // The module default applies to every action wherever it is set.
    let module_default = r.stmts.iter().rev().find_map(|s| {
        let load = s.param("module", "load")?;
        (load.eq_ignore_ascii_case("builtin:omfile"))
            .then(|| s.param("module", "filecreatemode").and_then(mode))
            .flatten()
            .map(|m| (m, s))
    });
    if let Some((m, s)) = module_default {
        ok &= !too_open(m);
        evidence.push(Evidence::at(&s.file, s.line, s.shown()));
    }
    // The legacy mode in effect, and where it was set.
    let mut legacy: Option<(u32, &Stmt)> = None;
    let mut set_anywhere = module_default.is_some();
    // Why a file action gets the mode it gets.
    let source = |legacy: Option<(u32, &Stmt)>| -> (u32, String) {
        match (legacy, module_default) {
            (Some((m, s)), _) => (
                m,
                format!("the {} of {}:{} is in effect", s.shown(), s.file, s.line),
            ),
            (None, Some((m, s))) => (m, format!("the omfile default of {}:{}", s.file, s.line)),
            (None, None) => (
                DEFAULT_FILE_MODE,
                "no FileCreateMode before it: rsyslog's default".to_owned(),
            ),
        }
    };
    for s in &r.stmts {
        match &s.kind {
            Kind::Legacy { name, arg, .. } if name == "filecreatemode" => match mode(arg) {
                Some(m) => {
                    legacy = Some((m, s));
                    set_anywhere = true;
                    ok &= !too_open(m);
                    evidence.push(Evidence::at(&s.file, s.line, s.shown()));
                }
                None => evidence.push(Evidence::at(
                    &s.file,
                    s.line,
                    format!(
                        "{}: rsyslog rejects the mode (it wants four octal digits like 0640)",
                        s.shown()
                    ),
                )),
            },
            Kind::Selector { action } if action.trim_start_matches('-').starts_with(['/', '?']) => {
                let (m, why) = source(legacy);
                if too_open(m) {
                    ok = false;
                    evidence.push(Evidence::at(
                        &s.file,
                        s.line,
                        format!("{action} is created {m:04o} ({why}), wanted at most {shown_max}"),
                    ));
                }
            }
            Kind::Object { name, params }
                if name == "action"
                    && params
                        .get("type")
                        .is_some_and(|t| t.eq_ignore_ascii_case("omfile")) =>
            {
                let (m, why) = match params.get("filecreatemode").and_then(|m| mode(m)) {
                    Some(own) => (own, "its own fileCreateMode".to_owned()),
                    None => source(legacy),
                };
                if too_open(m) {
                    ok = false;
                    evidence.push(Evidence::at(
                        &s.file,
                        s.line,
                        format!(
                            "{} creates its file {m:04o} ({why}), wanted at most {shown_max}",
                            s.shown()
                        ),
                    ));
                }
            }
            _ => {}
        }
    }
    if !set_anywhere {
        ok = false;
        evidence.push(Evidence::said(format!(
            "no $FileCreateMode in {}: rsyslog creates files 0644",
            if r.files.is_empty() {
                MAIN.to_owned()
            } else {
                r.files.join(", ")
            }
        )));
    }
    pass_if(ok, evidence)
}

fn no_inputs(r: &Rsyslog, modules: &[String]) -> Verdict {
    let listed = |m: &str| modules.iter().any(|x| x.eq_ignore_ascii_case(m));
    let mut bad = Vec::new();
    for s in &r.stmts {
        let hit = match &s.kind {
            Kind::Legacy { name, arg, .. } if name == "modload" => listed(&module_name(arg)),
            Kind::Legacy { name, .. } => legacy_listener(name).is_some_and(listed),
            Kind::Object { name, params } if name == "module" => {
                params.get("load").is_some_and(|m| listed(&module_name(m)))
            }
            Kind::Object { name, params } if name == "input" => {
                params.get("type").is_some_and(|m| listed(&module_name(m)))
            }
            _ => false,
        };
        if hit {
            bad.push(Evidence::at(
                &s.file,
                s.line,
                format!("{}: accepts remote messages", s.shown()),
            ));
        }
    }
    if bad.is_empty() {
        verdict(
            CisStatus::Pass,
            vec![Evidence::said(format!(
                "none of {} is loaded in {}",
                modules.join(", "),
                if r.files.is_empty() {
                    MAIN.to_owned()
                } else {
                    r.files.join(", ")
                }
            ))],
        )
    } else {
        verdict(CisStatus::Fail, bad)
    }
}

fn forwarding_tls(r: &Rsyslog) -> Verdict {
    // The global default driver, wherever it is set (the last wins).
    let global = r.stmts.iter().rev().find_map(|s| match &s.kind {
        Kind::Legacy { name, arg, .. } if name == "defaultnetstreamdriver" => Some(arg.clone()),
        Kind::Object { name, params } if name == "global" => {
            params.get("defaultnetstreamdriver").cloned()
        }
        _ => None,
    });
    let gtls = |d: Option<&str>| d.is_some_and(|d| d.trim().eq_ignore_ascii_case("gtls"));
    let mut legacy_mode: Option<String> = None;
    let mut forwards = 0;
    let mut bad = Vec::new();
    let mut good = Vec::new();
    for s in &r.stmts {
        let problem = match &s.kind {
            Kind::Legacy { name, arg, .. } if name == "actionsendstreamdrivermode" => {
                legacy_mode = Some(arg.trim().to_owned());
                continue;
            }
            Kind::Selector { action } if action.starts_with("@@") => {
                forwards += 1;
                if !gtls(global.as_deref()) {
                    Some("no gtls DefaultNetstreamDriver".to_owned())
                } else if legacy_mode.as_deref() != Some("1") {
                    Some("no $ActionSendStreamDriverMode 1 before it: plain TCP".to_owned())
                } else {
                    None
                }
            }
            Kind::Selector { action } if action.starts_with('@') => {
                forwards += 1;
                Some("UDP cannot carry TLS".to_owned())
            }
            Kind::Object { name, params }
                if name == "action"
                    && params
                        .get("type")
                        .is_some_and(|t| t.eq_ignore_ascii_case("omfwd")) =>
            {
                forwards += 1;
                let get =
                    |a: &str, b: &str| params.get(a).or_else(|| params.get(b)).map(String::as_str);
                let driver = get("streamdriver", "streamdriver.name").or(global.as_deref());
                let mode = get("streamdrivermode", "streamdriver.mode");
                let protocol = params.get("protocol").map_or("udp", String::as_str);
                if !protocol.eq_ignore_ascii_case("tcp") {
                    Some(format!("protocol {protocol}: TLS needs tcp"))
                } else if !gtls(driver) {
                    Some(format!(
                        "stream driver {}",
                        driver.unwrap_or("ptcp (rsyslog's default)")
                    ))
                } else if mode.map(str::trim) != Some("1") {
                    Some("no StreamDriverMode=\"1\": plain TCP".to_owned())
                } else {
                    None
                }
            }
            _ => continue,
        };
        match problem {
            Some(why) => bad.push(Evidence::at(
                &s.file,
                s.line,
                format!("{}: {why}", s.shown()),
            )),
            None => good.push(Evidence::at(&s.file, s.line, s.shown())),
        }
    }
    if forwards == 0 {
        verdict(
            CisStatus::Notapplicable,
            vec![Evidence::said("rsyslog forwards nothing to another host")],
        )
    } else if bad.is_empty() {
        verdict(CisStatus::Pass, good)
    } else {
        verdict(CisStatus::Fail, bad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_syntaxes_are_read_with_their_lines() {
        let text = "# comment with module(load=\"imtcp\")\n\
                    $ModLoad imuxsock\n\
                    module(load=\"imudp\")  # listens\n\
                    input(type=\"imudp\"\n      port=\"514\")\n\
                    /* module(load=\"imtcp\") */\n\
                    $FileCreateMode 0640\n\
                    auth,authpriv.*\t\t\t/var/log/auth.log\n\
                    *.*;auth,authpriv.none\t\t-/var/log/syslog\n\
                    *.* @@loghost.example.org:6514;RSYSLOG_SyslogProtocol23Format\n\
                    if $programname == 'x' then {\n  action(type=\"omfwd\" Target=\"h\" Protocol=\"tcp\")\n}\n";
        let stmts = parse(text, "/etc/rsyslog.conf");
        let shown: Vec<(usize, String)> = stmts.iter().map(|s| (s.line, s.shown())).collect();
        assert_eq!(
            shown,
            vec![
                (2, "$ModLoad imuxsock".to_owned()),
                (3, "module(load=\"imudp\")".to_owned()),
                (4, "input(port=\"514\" type=\"imudp\")".to_owned()),
                (7, "$FileCreateMode 0640".to_owned()),
                (8, "selector action /var/log/auth.log".to_owned()),
                (9, "selector action -/var/log/syslog".to_owned()),
                (10, "selector action @@loghost.example.org:6514".to_owned()),
                (
                    12,
                    "action(protocol=\"tcp\" target=\"h\" type=\"omfwd\")".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn includes_are_expanded_in_place_in_name_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = Root::new(dir.path());
        let write = |p: &str, t: &str| vpsc_engine::testing::write(dir.path(), p, t);
        write(
            MAIN,
            "$FileCreateMode 0640\n$IncludeConfig /etc/rsyslog.d/*.conf\ninclude(file=\"/etc/rsyslog.extra\" mode=\"optional\")\n",
        );
        write("/etc/rsyslog.d/50-b.conf", "$FileCreateMode 0600\n");
        write("/etc/rsyslog.d/10-a.conf", "$ModLoad imtcp\n");
        write("/etc/rsyslog.d/20-c.conf.disabled", "$ModLoad imudp\n");
        write("/etc/rsyslog.extra", "module(load=\"imrelp\")\n");
        let r = Rsyslog::load(&root);
        let files: Vec<&str> = r.stmts.iter().map(|s| s.file.as_str()).collect();
        assert_eq!(
            files,
            vec![
                MAIN,
                "/etc/rsyslog.d/10-a.conf",
                "/etc/rsyslog.d/50-b.conf",
                "/etc/rsyslog.extra"
            ]
        );
        assert_eq!(module_name("/usr/lib/rsyslog/imtcp.so"), "imtcp");
        assert_eq!(mode("0640"), Some(0o640));
        assert_eq!(mode("640"), None, "rsyslog wants a leading 0");
    }
}
