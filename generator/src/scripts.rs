//! Maintainer scripts rendered from the minijinja templates in `hooks/`.
//!
//! The environment is strict (an undefined variable is an error) and every
//! `{{ value }}` is shell-quoted unless it is a plain word, so no data can
//! change the meaning of a script (docs/architecture.md principle 6).

use std::path::Path;

use minijinja::{Environment, UndefinedBehavior, Value};

use crate::error::{Error, Location, Result};

/// Scripts of a module package, in control-member order.
pub const MODULE_SCRIPTS: [&str; 3] = ["postinst", "prerm", "postrm"];

/// Quotes `s` for POSIX sh when it is not a plain word.
pub fn sh_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c));
    if plain {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Loads the templates of `hooks_dir` into a strict, shell-quoting environment.
pub fn environment(hooks_dir: &Path) -> Result<Environment<'static>> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(true);
    env.set_formatter(|out, _state, value| {
        let text = value.to_string();
        out.write_str(&sh_quote(&text))
            .map_err(minijinja::Error::from)
    });
    let mut names: Vec<_> = std::fs::read_dir(hooks_dir)
        .map_err(Error::io("list", hooks_dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "j2"))
        .collect();
    names.sort();
    for path in names {
        let name = path
            .file_name()
            .expect("listed files have names")
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(&path).map_err(Error::io("read", &path))?;
        env.add_template_owned(name, text)
            .map_err(|e| Error::Template {
                loc: Location {
                    file: path.clone(),
                    line: e.line().unwrap_or(0),
                    column: 0,
                },
                what: "maintainer script".into(),
                message: e.to_string(),
            })?;
    }
    Ok(env)
}

/// Renders `hooks/<kind>-<script>.j2` with `ctx`.
pub fn render(
    env: &Environment<'_>,
    hooks_dir: &Path,
    kind: &str,
    script: &str,
    ctx: Value,
) -> Result<String> {
    let name = format!("{kind}-{script}.j2");
    let tmpl = env.get_template(&name).map_err(|e| Error::Usage {
        what: format!(
            "template {} is missing: {e}",
            hooks_dir.join(&name).display()
        ),
        hint: "pass --hooks pointing at the project's hooks/ directory".into(),
    })?;
    tmpl.render(ctx).map_err(|e| Error::Template {
        loc: Location {
            file: hooks_dir.join(&name),
            line: e.line().unwrap_or(0),
            column: 0,
        },
        what: format!("the {script} script"),
        message: e
            .detail()
            .map(str::to_owned)
            .unwrap_or_else(|| e.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::sh_quote;

    #[test]
    fn quoting_neutralises_shell_syntax() {
        assert_eq!(sh_quote("ssh"), "ssh");
        assert_eq!(sh_quote("a b"), "'a b'");
        assert_eq!(sh_quote("x'; rm -rf /"), "'x'\\''; rm -rf /'");
        assert_eq!(sh_quote(""), "''");
    }
}
