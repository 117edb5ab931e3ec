//! The crate's error type.

use std::path::PathBuf;

use crate::diagnostic::Diagnostic;

/// Everything that can go wrong while loading or checking skills.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A skill file or source had problems and strict mode was asked for, or a
    /// single file handed to [`parse_skill_file`](crate::parse_skill_file) was invalid.
    #[error("{} invalid skill definition(s):\n{}", .diagnostics.len(), render(.diagnostics))]
    InvalidSkills {
        /// Every problem found, each naming its file, line and column where known.
        diagnostics: Vec<Diagnostic>,
    },

    /// An environment variable (`SKILL_DIRS`, `ENABLED_SKILLS`) holds a value
    /// that cannot be used.
    #[error("environment variable {variable}: {reason}")]
    InvalidEnvironment {
        /// The variable's name.
        variable: String,
        /// What is wrong with its value.
        reason: String,
    },

    /// `ENABLED_SKILLS` (or [`SkillLoader::enabled_skills`](crate::SkillLoader::enabled_skills))
    /// names skills that no source provides.
    #[error(
        "{origin} names unknown skill(s): {}; known skills: {}{}",
        .unknown.join(", "),
        .known.join(", "),
        skipped_note(.skipped)
    )]
    UnknownEnabledSkills {
        /// Where the list came from, e.g. "environment variable ENABLED_SKILLS".
        origin: String,
        /// The names that matched no loaded skill.
        unknown: Vec<String>,
        /// The names that were loaded, sorted.
        known: Vec<String>,
        /// Files skipped because of errors (a wanted skill may be among them).
        skipped: Vec<Diagnostic>,
    },

    /// A file could not be read.
    #[error("cannot read {}", .path.display())]
    Read {
        /// The file that could not be read.
        path: PathBuf,
        /// The underlying IO error.
        #[source]
        source: std::io::Error,
    },
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn render(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(|d| format!("  {d}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn skipped_note(skipped: &[Diagnostic]) -> String {
    if skipped.is_empty() {
        String::new()
    } else {
        format!("\n(skipped because of errors:\n{})", render(skipped))
    }
}
