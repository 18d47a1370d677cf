//! Parameter resolution and template rendering.
//!
//! Parameters are layered: the module's defaults, then the overrides of the
//! applied profile. Templates render with minijinja in strict mode, so an
//! undefined variable is an error naming it instead of an empty string.

use std::collections::BTreeMap;

use minijinja::{Environment, UndefinedBehavior};

use crate::plan::{Check, Effect};

/// Resolved parameters of one module.
pub type Params = BTreeMap<String, serde_json::Value>;

/// A strict template environment without autoescaping (content is config,
/// not HTML).
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.set_keep_trailing_newline(true);
    env
}

/// Renders one template string with `params`.
pub fn render(
    env: &Environment<'_>,
    name: &str,
    template: &str,
    params: &Params,
) -> Result<String, minijinja::Error> {
    if !template.contains("{{") && !template.contains("{%") {
        return Ok(template.to_owned());
    }
    let tmpl = env.template_from_named_str(name, template)?;
    tmpl.render(params)
}

/// Renders every template inside an effect, returning the desired state
/// that is journalled and applied.
pub fn render_effect(
    env: &Environment<'_>,
    effect: &Effect,
    params: &Params,
) -> Result<Effect, minijinja::Error> {
    let key = effect.key();
    let r = |s: &str| render(env, &key, s, params);
    Ok(match effect {
        Effect::ManagedFile {
            path,
            template,
            mode,
            validate,
        } => Effect::ManagedFile {
            path: path.clone(),
            template: r(template)?,
            mode: *mode,
            validate: validate.clone(),
        },
        Effect::Divert {
            path,
            template,
            mode,
            validate,
        } => Effect::Divert {
            path: path.clone(),
            template: r(template)?,
            mode: *mode,
            validate: validate.clone(),
        },
        Effect::Group { name, members } => Effect::Group {
            name: name.clone(),
            members: members.iter().map(|m| r(m)).collect::<Result<_, _>>()?,
        },
        Effect::Command {
            id,
            run,
            undo,
            creates,
        } => Effect::Command {
            id: id.clone(),
            run: run.iter().map(|a| r(a)).collect::<Result<_, _>>()?,
            undo: undo.iter().map(|a| r(a)).collect::<Result<_, _>>()?,
            creates: creates.clone(),
        },
        other => other.clone(),
    })
}

/// Renders the templates of a check.
pub fn render_check(
    env: &Environment<'_>,
    check: &Check,
    params: &Params,
) -> Result<Check, minijinja::Error> {
    Ok(match check {
        Check::FileContains { path, text } => Check::FileContains {
            path: path.clone(),
            text: render(env, &check.label(), text, params)?,
        },
        Check::GroupMember { group, user } => Check::GroupMember {
            group: group.clone(),
            user: render(env, &check.label(), user, params)?,
        },
        other => other.clone(),
    })
}

/// Merges `overrides` over `defaults`; unknown names are refused by the
/// generator, so here they are simply applied.
pub fn merge(defaults: &Params, overrides: Option<&Params>) -> Params {
    let mut out = defaults.clone();
    if let Some(o) = overrides {
        for (k, v) in o {
            out.insert(k.clone(), v.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undefined_variable_is_an_error_naming_it() {
        let env = environment();
        let err = render(&env, "t", "Port {{ prot }}\n", &Params::new()).expect_err("strict");
        assert!(err.to_string().contains("undefined"), "{err}");
    }

    #[test]
    fn trailing_newline_is_kept() {
        let env = environment();
        let mut p = Params::new();
        p.insert("port".into(), 22.into());
        assert_eq!(
            render(&env, "t", "Port {{ port }}\n", &p).expect("render"),
            "Port 22\n"
        );
    }
}
