//! The one error of the contract: a name or value refused.

/// A name, value or rule file refused: the message says what is wrong
/// with which value and how to write it instead. Callers add where it
/// came from (file and line, or argument) in their own error types.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}")]
pub struct Invalid {
    /// What is wrong and how to fix it.
    pub what: String,
}

impl Invalid {
    /// A refusal saying `what`.
    pub fn new(what: impl Into<String>) -> Invalid {
        Invalid { what: what.into() }
    }

    /// The same refusal with `context` (the field or rule) in front.
    pub fn within(self, context: impl std::fmt::Display) -> Invalid {
        Invalid {
            what: format!("{context}: {}", self.what),
        }
    }
}

impl From<String> for Invalid {
    fn from(what: String) -> Invalid {
        Invalid::new(what)
    }
}

impl From<&str> for Invalid {
    fn from(what: &str) -> Invalid {
        Invalid::new(what)
    }
}

/// The message, for callers and tests that read it as text.
impl std::ops::Deref for Invalid {
    type Target = str;

    fn deref(&self) -> &str {
        &self.what
    }
}

impl PartialEq<&str> for Invalid {
    fn eq(&self, other: &&str) -> bool {
        self.what == *other
    }
}
