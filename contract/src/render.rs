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
        Effect::Symlink { path, target } => Effect::Symlink {
            path: path.clone(),
            target: r(target)?,
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
        Check::Symlink { path, target } => Check::Symlink {
            path: path.clone(),
            target: render(env, &check.label(), target, params)?,
        },
        Check::AuthorizedKey { user } => Check::AuthorizedKey {
            user: render(env, &check.label(), user, params)?,
        },
        Check::Reachable { host, port } => Check::Reachable {
            host: render(env, &check.label(), host, params)?,
            port: render(env, &check.label(), port, params)?,
        },
        Check::PortListening {
            port,
            protocol,
            loopback_only,
        } => Check::PortListening {
            port: render(env, &check.label(), port, params)?,
            protocol: *protocol,
            loopback_only: *loopback_only,
        },
        other => other.clone(),
    })
}

/// Evaluates a `when` condition: a minijinja expression over `params` and
/// `installed_modules`. No condition means true; an undefined name is an
/// error, as in templates.
pub fn condition(
    env: &Environment<'_>,
    when: Option<&str>,
    params: &Params,
    installed_modules: &[String],
) -> Result<bool, minijinja::Error> {
    let Some(expr) = when else {
        return Ok(true);
    };
    let mut ctx: BTreeMap<&str, minijinja::Value> = params
        .iter()
        .map(|(k, v)| (k.as_str(), minijinja::Value::from_serialize(v)))
        .collect();
    ctx.insert(
        "installed_modules",
        minijinja::Value::from_serialize(installed_modules),
    );
    let value = env.compile_expression(expr)?.eval(ctx)?;
    // A bare undefined name evaluates to undefined without touching it,
    // which strict mode lets through: refuse it here.
    if value.is_undefined() {
        return Err(minijinja::Error::new(
            minijinja::ErrorKind::UndefinedError,
            format!("`{expr}` names an undefined variable"),
        ));
    }
    Ok(value.is_true())
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
    fn conditions_see_parameters_and_installed_modules() {
        let env = environment();
        let mut p = Params::new();
        p.insert("swap_size".into(), "0".into());
        let mods = vec!["docker".to_owned()];
        assert!(!condition(&env, Some("swap_size != '0'"), &p, &mods).expect("eval"));
        assert!(condition(&env, Some("'docker' in installed_modules"), &p, &mods).expect("eval"));
        assert!(condition(&env, None, &p, &mods).expect("eval"));
        assert!(condition(&env, Some("swap_sise"), &p, &mods).is_err());
        assert!(condition(&env, Some("swap_sise != '0'"), &p, &mods).is_err());
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
