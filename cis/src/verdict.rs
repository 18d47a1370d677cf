//! What judging a check yields: a status and the evidence for it. A leaf:
//! every check kind and the scan use it, it uses none of them.

use serde::Serialize;

/// Outcome of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CisStatus {
    /// Compliant.
    Pass,
    /// Not compliant.
    Fail,
    /// A person must judge it.
    Manual,
    /// Does not apply here (no sshd, no such file).
    Notapplicable,
    /// Only a running system can answer.
    NotEvaluated,
    /// The check itself could not run.
    Error,
    /// Failed, but covered by a waiver that has not expired.
    Waived,
}

/// What was found, where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// File it was read from, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Line in that file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The finding.
    pub value: String,
}

impl Evidence {
    /// A finding not tied to a file.
    pub(crate) fn said(value: impl Into<String>) -> Evidence {
        Evidence {
            file: None,
            line: None,
            value: value.into(),
        }
    }

    /// A finding in `file` (at `line`, when it is not 0).
    pub(crate) fn at(file: &str, line: usize, value: impl Into<String>) -> Evidence {
        Evidence {
            file: Some(file.to_owned()),
            line: (line > 0).then_some(line),
            value: value.into(),
        }
    }
}

/// A verdict with its evidence.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// Status.
    pub status: CisStatus,
    /// Evidence.
    pub evidence: Vec<Evidence>,
}

/// A verdict of `status` with `evidence`.
pub(crate) fn verdict(status: CisStatus, evidence: Vec<Evidence>) -> Verdict {
    Verdict { status, evidence }
}

/// Pass when `ok`, else fail, with `evidence` either way.
pub(crate) fn pass_if(ok: bool, evidence: Vec<Evidence>) -> Verdict {
    verdict(if ok { CisStatus::Pass } else { CisStatus::Fail }, evidence)
}
