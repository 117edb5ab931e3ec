//! Skills from a directory of YAML files (a folder, or a mounted ConfigMap).

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::diagnostic::Diagnostic;
use crate::error::Error;
use crate::parse::{parse_skill, read_skill_text};
use crate::source::{LoadedSkill, SkillOrigin, SkillSource, SourceLoad};

/// Every `*.yaml` and `*.yml` file directly in one directory, one skill per file.
///
/// Subdirectories and hidden entries are ignored; that also skips the `..data`
/// and timestamped folders of a mounted ConfigMap, whose visible files are
/// symlinks into them (they are followed). Files load in name order.
///
/// A directory that does not exist is reported as a diagnostic, not a panic
/// and not silence: a typo in `SKILL_DIRS` should be visible.
#[derive(Debug, Clone)]
pub struct DirectorySource {
    path: PathBuf,
}

impl DirectorySource {
    /// A source reading `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The directory this source reads.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The skill files in the directory, sorted by name, or why they cannot be listed.
    pub fn skill_files(&self) -> Result<Vec<PathBuf>, Diagnostic> {
        let origin = self.path.display().to_string();
        if !self.path.exists() {
            return Err(Diagnostic::error(origin, "skill directory does not exist"));
        }
        if !self.path.is_dir() {
            return Err(Diagnostic::error(
                origin,
                "not a directory (a skill directory was expected)",
            ));
        }
        let entries = std::fs::read_dir(&self.path).map_err(|err| {
            Diagnostic::error(
                origin.clone(),
                format!("cannot list skill directory: {err}"),
            )
        })?;
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|err| {
                Diagnostic::error(
                    origin.clone(),
                    format!("cannot list skill directory: {err}"),
                )
            })?;
            let path = entry.path();
            if is_skill_file(&path) {
                files.push(path);
            }
        }
        files.sort();
        Ok(files)
    }
}

/// Whether `path` names a visible `*.yaml`/`*.yml` file (symlinks followed).
pub(crate) fn is_skill_file(path: &Path) -> bool {
    let visible = path
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| !n.starts_with('.'));
    let yaml = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
    visible && yaml && path.is_file()
}

/// Turns a file-reading error into the diagnostics it carries.
pub(crate) fn read_error_diagnostics(err: Error, path: &Path) -> Vec<Diagnostic> {
    match err {
        Error::InvalidSkills { diagnostics } => diagnostics,
        other => vec![Diagnostic::error(
            path.display().to_string(),
            std::iter::successors(Some(&other as &dyn std::error::Error), |e| e.source())
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(": "),
        )],
    }
}

impl SkillSource for DirectorySource {
    fn label(&self) -> String {
        format!("directory {}", self.path.display())
    }

    fn load(&self) -> SourceLoad {
        let mut load = SourceLoad::default();
        let files = match self.skill_files() {
            Ok(files) => files,
            Err(diagnostic) => {
                load.diagnostics.push(diagnostic);
                return load;
            }
        };
        for path in files {
            let text = match read_skill_text(&path) {
                Ok(text) => text,
                Err(err) => {
                    load.diagnostics.extend(read_error_diagnostics(err, &path));
                    continue;
                }
            };
            match parse_skill(&text, &path.display().to_string()) {
                Ok(skill) => load.skills.push(LoadedSkill {
                    skill,
                    origin: SkillOrigin::File(path),
                }),
                Err(diagnostic) => load.diagnostics.push(diagnostic),
            }
        }
        load
    }

    /// A SHA-256 over every skill file's name and content (or its read error).
    ///
    /// Content, not modification times: a ConfigMap update swaps a symlink,
    /// which leaves the visible files' own times unchanged.
    fn fingerprint(&self) -> Option<String> {
        let mut hasher = Sha256::new();
        match self.skill_files() {
            Err(diagnostic) => hasher.update(diagnostic.message.as_bytes()),
            Ok(files) => {
                for path in files {
                    hasher.update(path.as_os_str().as_encoded_bytes());
                    hasher.update([0]);
                    let size = std::fs::metadata(&path).map_or(0, |m| m.len());
                    if size > crate::parse::MAX_FILE_BYTES {
                        // Not read: the load reports it as too large, whatever it holds.
                        hasher.update(size.to_le_bytes());
                        continue;
                    }
                    match std::fs::read(&path) {
                        Ok(bytes) => hasher.update(&bytes),
                        Err(err) => hasher.update(err.to_string().as_bytes()),
                    }
                    hasher.update([0]);
                }
            }
        }
        Some(hex::encode(hasher.finalize()))
    }
}
