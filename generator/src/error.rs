//! The generator's error type: every bad input names file:line:column (or
//! the argument), what is wrong and how to fix it (docs/architecture.md principle 9).

use std::fmt;
use std::path::PathBuf;

/// A position in an input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file.
    pub file: PathBuf,
    /// 1-based line, 0 when unknown.
    pub line: usize,
    /// 1-based column, 0 when unknown.
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
            if self.column > 0 {
                write!(f, ":{}", self.column)?;
            }
        }
        Ok(())
    }
}

/// Any failure of `vpsc-gen`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// YAML that does not parse or does not fit the schema.
    #[error("{loc}: {message}")]
    Yaml {
        /// Where.
        loc: Location,
        /// serde's message without its own position suffix.
        message: String,
    },
    /// A semantic problem in an input file.
    #[error("{loc}: {what}")]
    Invalid {
        /// Where.
        loc: Location,
        /// What is wrong.
        what: String,
        /// How to fix it.
        hint: Option<String>,
    },
    /// Module dependencies form a cycle.
    #[error("dependency cycle between modules: {}", cycle.join(" -> "))]
    Cycle {
        /// The modules of the cycle in order, the first repeated at the end.
        cycle: Vec<String>,
        /// Where the first edge is declared.
        loc: Location,
    },
    /// A template does not render.
    #[error("{loc}: cannot render template of {what}: {message}")]
    Template {
        /// Where (the template line inside the file when known).
        loc: Location,
        /// Which effect or script.
        what: String,
        /// minijinja's message.
        message: String,
    },
    /// A file operation failed.
    #[error("cannot {action} {}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An external tool failed.
    #[error("`{command}` failed: {message}")]
    Tool {
        /// The command line.
        command: String,
        /// What it said.
        message: String,
    },
    /// A repository that cannot be published or verified as it is.
    #[error("{what}")]
    Repo {
        /// What is wrong.
        what: String,
        /// How to fix it.
        hint: String,
    },
    /// A repository examined and found wanting: unsigned, signed by no
    /// trusted key, or its indices do not match (exit status 1, as a
    /// failed `vpsc verify`).
    #[error("{what}")]
    Wanting {
        /// What does not hold.
        what: String,
        /// How to fix it.
        hint: String,
    },
    /// Packages changed without a new version: their version is already
    /// published (or built) with other bytes. Nothing was written.
    #[error(
        "{} changed without a new version ({against} has {} with other content):{}",
        count(unbumped.len()),
        if unbumped.len() == 1 { "it" } else { "them" },
        crate::repo::bump::listed(unbumped, dependents)
    )]
    Unbumped {
        /// Every such package.
        unbumped: Vec<crate::repo::bump::Unbumped>,
        /// The unchanged packages that change once those are bumped.
        dependents: Vec<crate::repo::bump::Dependent>,
        /// What they were compared with.
        against: String,
    },
    /// A bad command-line argument.
    #[error("{what}")]
    Usage {
        /// What is wrong.
        what: String,
        /// How to fix it.
        hint: String,
    },
}

fn count(n: usize) -> String {
    if n == 1 {
        "1 package".into()
    } else {
        format!("{n} packages")
    }
}

/// Result alias for the generator.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// How to fix it.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Yaml { .. } => {
                Some("see docs/modules.md for every field of modules and profiles".into())
            }
            Error::Invalid { hint, .. } => hint.clone(),
            Error::Cycle { loc, .. } => Some(format!(
                "remove one of these `depends:` entries (the first is in {loc}); modules must form a directed acyclic graph"
            )),
            Error::Template { .. } => Some(
                "define the variable under `parameters:` of the module, or fix its spelling".into(),
            ),
            Error::Usage { hint, .. } | Error::Repo { hint, .. } | Error::Wanting { hint, .. } => {
                Some(hint.clone())
            }
            Error::Unbumped { .. } => Some(crate::repo::bump::HINT.into()),
            Error::Io { .. } | Error::Tool { .. } => None,
        }
    }

    /// Exit status: 1 when what was checked was found wanting, 2 on bad
    /// input or failure (as `vpsc`).
    pub fn exit_status(&self) -> i32 {
        match self {
            Error::Wanting { .. } => 1,
            _ => 2,
        }
    }

    /// Builds an [`Error::Io`] for `path`.
    pub fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io {
            action,
            path,
            source,
        }
    }

    /// Builds an [`Error::Invalid`].
    pub fn invalid(
        loc: Location,
        what: impl Into<String>,
        hint: impl Into<Option<String>>,
    ) -> Error {
        Error::Invalid {
            loc,
            what: what.into(),
            hint: hint.into(),
        }
    }
}
