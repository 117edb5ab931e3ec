//! Problems found while loading skills, each tied to where it was found.

use std::fmt;

use serde::Serialize;

/// How serious a [`Diagnostic`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing, but the skill still loads (e.g. a tool name the built-in
    /// runtime does not know, which an embedder may provide).
    Warning,
    /// The file or source was skipped (or, in strict mode, loading failed).
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Warning => "warning",
            Self::Error => "error",
        })
    }
}

/// One problem with one skill file or source.
///
/// Displays as `origin:line:column: severity: message`, the form editors and
/// terminals turn into a link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Where the problem is: a file path, `builtin:<name>`, or a source's own label.
    pub origin: String,
    /// 1-based line, when the problem has a position.
    pub line: Option<u64>,
    /// 1-based column, when the problem has a position.
    pub column: Option<u64>,
    /// Whether the skill was skipped.
    pub severity: Severity,
    /// What is wrong, in words.
    pub message: String,
}

impl Diagnostic {
    /// An error with no position (a missing directory, a duplicate name).
    pub fn error(origin: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            origin: origin.into(),
            line: None,
            column: None,
            severity: Severity::Error,
            message: message.into(),
        }
    }

    /// A warning with no position.
    pub fn warning(origin: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(origin, message)
        }
    }

    /// The same diagnostic at a position.
    #[must_use]
    pub fn at(mut self, line: u64, column: u64) -> Self {
        self.line = Some(line);
        self.column = Some(column);
        self
    }

    /// Whether this diagnostic makes its file or source fail.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.origin)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        write!(f, ": {}: {}", self.severity, self.message)
    }
}
