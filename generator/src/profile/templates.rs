//! Templates of a module checked before anything is built: each renders
//! with the module's parameters, and a failure names the template line and
//! the parameters it could have meant.

use std::path::Path;

use vpsc_contract::plan::{Check, Effect};
use vpsc_contract::render::{self, Params};

use super::locate;
use super::model::Module;
use crate::error::{Error, Location, Result};

/// Renders a build-time template, positioning errors inside the file.
pub(super) fn render_at(
    env: &minijinja::Environment<'_>,
    path: &Path,
    source: &str,
    what: &str,
    template: &str,
    params: &Params,
) -> Result<String> {
    render::render(env, what, template, params)
        .map_err(|e| template_error(path, source, what, template, &e, params))
}

pub(super) fn template_error(
    path: &Path,
    source: &str,
    what: &str,
    template: &str,
    e: &minijinja::Error,
    params: &Params,
) -> Error {
    let anchor = locate::find(path, source, what, 1);
    let first = template
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    let start = source
        .lines()
        .enumerate()
        .skip(anchor.line.saturating_sub(1))
        .find(|(_, l)| !first.is_empty() && l.trim() == first.trim())
        .map(|(i, _)| i + 1);
    let line = match (start, e.line()) {
        (Some(s), Some(l)) => s + l - 1,
        _ => anchor.line,
    };
    Error::Template {
        loc: Location {
            file: path.to_path_buf(),
            line,
            column: 0,
        },
        what: what.to_owned(),
        message: describe_template_error(template, e, params),
    }
}

/// minijinja reports "undefined value" without the name; the names used
/// by the template but absent from the parameters are what the user needs.
pub(super) fn describe_template_error(
    template: &str,
    e: &minijinja::Error,
    params: &Params,
) -> String {
    let base = e
        .detail()
        .map(str::to_owned)
        .unwrap_or_else(|| e.kind().to_string());
    if e.kind() != minijinja::ErrorKind::UndefinedError {
        return base;
    }
    let env = render::environment();
    let mut missing: Vec<String> = env
        .template_from_str(template)
        .map(|t| {
            t.undeclared_variables(false)
                .into_iter()
                .filter(|v| !params.contains_key(v))
                .collect()
        })
        .unwrap_or_default();
    missing.sort();
    if missing.is_empty() {
        base
    } else {
        let names: Vec<String> = missing.iter().map(|m| format!("`{m}`")).collect();
        format!("undefined variable {}", names.join(", "))
    }
}

/// Renders every runtime template of `module` with `params`, so a template
/// with an undefined variable fails the build instead of a postinst. The
/// module's YAML is read only to position an error.
pub fn check_templates(module: &Module, params: &Params) -> Result<()> {
    let source = || std::fs::read_to_string(&module.source).unwrap_or_default();
    let env = render::environment();
    // Conditions are evaluated with the defaults and every module present,
    // so an undefined name fails the build.
    let conditions = module
        .effects
        .iter()
        .map(|e| e.when.as_deref())
        .chain(module.verify.iter().map(|c| c.when.as_deref()))
        .chain(module.require.iter().map(|r| r.when.as_deref()));
    for when in conditions.flatten() {
        render::condition(&env, Some(when), params, &[]).map_err(|err| {
            let unknown = unknown_names(when, params);
            let what = if unknown.is_empty() {
                format!("condition `{when}` cannot be evaluated: {err}")
            } else {
                format!(
                    "condition `{when}` names undefined `{}`",
                    unknown.join("`, `")
                )
            };
            Error::invalid(
                locate::find(&module.source, &source(), when, 1),
                what,
                Some(
                    "a condition may use the module's `parameters:` and `installed_modules`".into(),
                ),
            )
        })?;
    }
    for r in &module.require {
        render::render(&env, "hint", &r.hint, params)
            .and_then(|_| render::render_check(&env, &r.check, params))
            .map_err(|err| {
                template_error(&module.source, &source(), &r.hint, &r.hint, &err, params)
            })?;
    }
    for e in module.effects.iter().map(|e| &e.item) {
        render::render_effect(&env, e, params).map_err(|err| {
            let (what, template) = match e {
                Effect::ManagedFile { path, template, .. }
                | Effect::Divert { path, template, .. } => (path.clone(), template.clone()),
                other => (other.key(), String::new()),
            };
            template_error(&module.source, &source(), &what, &template, &err, params)
        })?;
    }
    for c in module.verify.iter().map(|c| &c.item) {
        render::render_check(&env, c, params).map_err(|err| {
            let template = match c {
                Check::FileContains { text, .. } => text.clone(),
                Check::GroupMember { user, .. } => user.clone(),
                _ => String::new(),
            };
            template_error(
                &module.source,
                &source(),
                &c.label(),
                &template,
                &err,
                params,
            )
        })?;
    }
    Ok(())
}

/// Names in an expression that are neither parameters nor known words;
/// quoted strings are skipped.
pub(super) fn unknown_names(expr: &str, params: &Params) -> Vec<String> {
    const WORDS: [&str; 11] = [
        "and",
        "or",
        "not",
        "in",
        "is",
        "true",
        "false",
        "none",
        "defined",
        "installed_modules",
        "if",
    ];
    let mut out = Vec::new();
    let mut quote = None;
    let mut word = String::new();
    for c in expr.chars().chain([' ']) {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c.is_ascii_alphanumeric() || c == '_' => {
                word.push(c);
                continue;
            }
            None => {}
        }
        let w = std::mem::take(&mut word);
        let first_alpha = w
            .chars()
            .next()
            .is_some_and(|f| f.is_ascii_alphabetic() || f == '_');
        if first_alpha
            && !WORDS.contains(&w.as_str())
            && !params.contains_key(&w)
            && !out.contains(&w)
        {
            out.push(w);
        }
    }
    out
}
