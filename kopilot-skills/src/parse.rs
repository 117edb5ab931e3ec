//! Reading one skill from YAML text, with positions for every problem.

use std::path::Path;

use crate::diagnostic::Diagnostic;
use crate::error::{Error, Result};
use crate::skill::Skill;

/// The largest skill file accepted. Skill files are prose, a few KiB; a file
/// this big is a mistake (or a mounted volume pointing somewhere odd).
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Parses one skill from YAML text.
///
/// `origin` names the text in diagnostics (usually the file path). On failure
/// the diagnostic says what is wrong and, for anything past the first
/// character, at which line and column. Warnings about a well-formed skill
/// come from [`lint`].
pub fn parse_skill(text: &str, origin: &str) -> std::result::Result<Skill, Diagnostic> {
    let has_content = text
        .lines()
        .map(str::trim)
        .any(|line| !(line.is_empty() || line.starts_with('#') || line == "---" || line == "..."));
    if !has_content {
        return Err(Diagnostic::error(
            origin,
            "the file is empty (only comments or blank lines): expected a skill mapping",
        ));
    }
    serde_saphyr::from_str::<Skill>(text).map_err(|err| yaml_diagnostic(&err, origin))
}

/// Reads and parses one skill file; any problem is an [`Error`].
///
/// This is the strict, single-file entry point (`kopilot skills validate` uses
/// it); directory loading reports and skips bad files instead.
pub fn parse_skill_file(path: &Path) -> Result<Skill> {
    let text = read_skill_text(path)?;
    parse_skill(&text, &path.display().to_string()).map_err(|diagnostic| Error::InvalidSkills {
        diagnostics: vec![diagnostic],
    })
}

/// Reads a skill file's text, refusing files over [`MAX_FILE_BYTES`].
pub(crate) fn read_skill_text(path: &Path) -> Result<String> {
    let origin = path.display().to_string();
    let metadata = std::fs::metadata(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if metadata.len() > MAX_FILE_BYTES {
        return Err(Error::InvalidSkills {
            diagnostics: vec![Diagnostic::error(
                origin,
                format!(
                    "the file is {} bytes; skill files may be at most {MAX_FILE_BYTES} bytes",
                    metadata.len()
                ),
            )],
        });
    }
    let bytes = std::fs::read(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    String::from_utf8(bytes).map_err(|err| Error::InvalidSkills {
        diagnostics: vec![Diagnostic::error(
            origin,
            format!(
                "the file is not UTF-8 text (invalid byte at offset {})",
                err.utf8_error().valid_up_to()
            ),
        )],
    })
}

/// Checks a skill from any source: every broken rule is an error (see
/// [`Skill::validate`]), every tool the built-in runtime does not know is a warning.
///
/// Loaders run this on every skill, so skills built in code or read from a
/// custom [`SkillSource`](crate::SkillSource) meet the same bar as files.
pub fn lint(skill: &Skill, origin: &str) -> Vec<Diagnostic> {
    let errors = skill
        .validate()
        .err()
        .unwrap_or_default()
        .into_iter()
        .map(|problem| Diagnostic::error(origin, format!("skill {:?}: {problem}", skill.name)));
    let warnings = skill.unknown_tools().into_iter().map(|tool| {
        Diagnostic::warning(
            origin,
            format!(
                "skill {:?}: tool {tool:?} is not a built-in tool ({}); it works only if the \
                     runtime registers a tool of that name",
                skill.name,
                crate::tools::ALL.join(", ")
            ),
        )
    });
    errors.chain(warnings).collect()
}

fn yaml_diagnostic(err: &serde_saphyr::Error, origin: &str) -> Diagnostic {
    let message = err.without_snippet().to_string();
    let Some(location) = err.location() else {
        return Diagnostic::error(origin, message);
    };
    let (line, column) = (location.line(), location.column());
    // The library appends the position to its message; we print it in front instead.
    let suffix = format!(" at line {line}, column {column}");
    let message = message.strip_suffix(&suffix).unwrap_or(&message).to_owned();
    let diagnostic = Diagnostic::error(origin, message);
    if line == 0 {
        diagnostic
    } else {
        diagnostic.at(line, column)
    }
}
