//! The report as one self-contained HTML page: the template
//! (`report.html.j2`, compiled in) with its CSS inline, no script, no
//! external asset, so the file can be mailed, archived and printed as it
//! is.
//!
//! Every value is HTML-escaped: auto-escaping is switched on for the
//! template whatever its name, because rule titles, evidence, people's
//! names and host names are data a local user may have written.

use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};
use vpsc_engine::error::{Error, Result};

use super::model::Report;

/// The page's template.
const TEMPLATE: &str = include_str!("report.html.j2");

/// The page of `report`.
pub fn render(report: &Report) -> Result<String> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    // A misspelt field in the template is an error in the tests, never a
    // blank cell on an auditor's page.
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.add_filter("duration", |secs: i64| crate::dora::human(secs));
    env.add_filter("percent", |ratio: f64| format!("{:.1}%", ratio * 100.0));
    env.add_filter("decimal", |v: f64| format!("{v:.1}"));
    env.add_filter("rate", |v: f64| format!("{v:.2}"));
    env.add_template("report.html.j2", TEMPLATE)
        .map_err(template_error)?;
    env.get_template("report.html.j2")
        .and_then(|t| t.render(minijinja::context! { r => Value::from_serialize(report) }))
        .map_err(template_error)
}

fn template_error(e: minijinja::Error) -> Error {
    Error::Invalid {
        what: format!("the report's template does not render: {e:#}"),
        hint: "this is a bug in vpsc; `vpsc report --json` gives the same data meanwhile".into(),
    }
}
