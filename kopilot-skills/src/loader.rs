//! Putting sources together: overrides, checks, strict mode and the enabled set.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::Serialize;

use crate::builtin::BuiltinSkills;
use crate::diagnostic::Diagnostic;
use crate::directory::DirectorySource;
use crate::error::{Error, Result};
use crate::parse::lint;
use crate::registry::{RegisteredSkill, SkillRegistry};
use crate::source::{LoadedSkill, SkillOrigin, SkillSource};

/// The environment variable listing extra skill directories
/// (`:`-separated on Unix, `;`-separated on Windows).
pub const SKILL_DIRS_VAR: &str = "SKILL_DIRS";
/// The environment variable limiting the active skills: a JSON list of names.
pub const ENABLED_SKILLS_VAR: &str = "ENABLED_SKILLS";

/// A skill from a later source replacing one of the same name from an earlier source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkillOverride {
    /// The skill's name.
    pub name: String,
    /// Where the replaced definition came from.
    pub replaced: SkillOrigin,
    /// Where the definition now in use came from.
    pub by: SkillOrigin,
}

/// What happened during a load, for logs, `kopilot skills list` and health endpoints.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LoadReport {
    /// The sources read, in order (later ones override earlier ones).
    pub sources: Vec<String>,
    /// Every problem found; errors mean a file or skill was skipped.
    pub diagnostics: Vec<Diagnostic>,
    /// Skills replaced by a later source.
    pub overrides: Vec<SkillOverride>,
}

impl LoadReport {
    /// The diagnostics that made a file or skill be skipped.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }

    /// Whether anything was skipped.
    pub fn has_errors(&self) -> bool {
        self.errors().next().is_some()
    }
}

/// Reads skills from its sources, in order, into a [`SkillRegistry`].
///
/// - A later source overrides an earlier one skill by skill (a directory file
///   named like a built-in replaces it); every override is logged and listed
///   in the [`LoadReport`].
/// - Every skill is checked ([`lint`](crate::lint)); a bad file or a second
///   skill with the same name within one source is reported and skipped, or,
///   in [strict](Self::strict) mode, fails the whole load.
/// - An [enabled list](Self::enabled_skills) limits which loaded skills are active.
#[derive(Debug, Default)]
pub struct SkillLoader {
    sources: Vec<Box<dyn SkillSource>>,
    strict: bool,
    enabled: Option<EnabledList>,
}

#[derive(Debug, Clone)]
struct EnabledList {
    names: Vec<String>,
    origin: String,
}

impl SkillLoader {
    /// A loader with no sources.
    pub fn new() -> Self {
        Self::default()
    }

    /// A loader with the built-in skills as its first source.
    pub fn with_builtins() -> Self {
        Self::new().source(BuiltinSkills)
    }

    /// The built-ins, then the directories in `SKILL_DIRS`, limited by `ENABLED_SKILLS`.
    pub fn from_env() -> Result<Self> {
        for variable in [SKILL_DIRS_VAR, ENABLED_SKILLS_VAR] {
            if let Err(std::env::VarError::NotUnicode(_)) = std::env::var(variable) {
                return Err(Error::InvalidEnvironment {
                    variable: variable.to_owned(),
                    reason: "the value is not valid Unicode".to_owned(),
                });
            }
        }
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`from_env`](Self::from_env), reading variables through `lookup`
    /// (tests and embedders pass their own instead of the process environment).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let mut loader = Self::with_builtins();
        if let Some(dirs) = lookup(SKILL_DIRS_VAR) {
            for dir in parse_skill_dirs(&dirs) {
                loader = loader.directory(dir);
            }
        }
        if let Some(value) = lookup(ENABLED_SKILLS_VAR)
            && let Some(names) = parse_enabled_skills(&value)?
        {
            loader.enabled = Some(EnabledList {
                names,
                origin: format!("environment variable {ENABLED_SKILLS_VAR}"),
            });
        }
        Ok(loader)
    }

    /// Adds a source after the ones already added (so it overrides them).
    #[must_use]
    pub fn source(mut self, source: impl SkillSource + 'static) -> Self {
        self.sources.push(Box::new(source));
        self
    }

    /// Adds a [`DirectorySource`] after the sources already added.
    #[must_use]
    pub fn directory(self, path: impl Into<PathBuf>) -> Self {
        self.source(DirectorySource::new(path))
    }

    /// In strict mode any error diagnostic fails [`load`](Self::load) instead
    /// of skipping the file. Warnings never fail a load.
    #[must_use]
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// Only these skills are active (others still load and can be looked up
    /// with [`SkillRegistry::entry`]). Replaces a list from `ENABLED_SKILLS`.
    /// A name no source provides fails the load.
    #[must_use]
    pub fn enabled_skills(mut self, names: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.enabled = Some(EnabledList {
            names: names.into_iter().map(Into::into).collect(),
            origin: "the enabled skills list".to_owned(),
        });
        self
    }

    /// The fingerprints of all sources, in order (see [`SkillSource::fingerprint`]).
    pub fn fingerprints(&self) -> Vec<Option<String>> {
        self.sources.iter().map(|s| s.fingerprint()).collect()
    }

    /// Reads every source and builds the registry.
    pub fn load(&self) -> Result<SkillRegistry> {
        let mut report = LoadReport::default();
        let mut merged: BTreeMap<String, LoadedSkill> = BTreeMap::new();
        for source in &self.sources {
            report.sources.push(source.label());
            for loaded in checked_skills(source.as_ref(), &mut report.diagnostics) {
                let name = loaded.skill.name.clone();
                let by = loaded.origin.clone();
                if let Some(previous) = merged.insert(name.clone(), loaded) {
                    tracing::info!(skill = %name, replaced = %previous.origin, by = %by, "skill overridden");
                    report.overrides.push(SkillOverride {
                        name,
                        replaced: previous.origin,
                        by,
                    });
                }
            }
        }
        for diagnostic in &report.diagnostics {
            if diagnostic.is_error() {
                tracing::warn!(%diagnostic, "skill skipped");
            } else {
                tracing::warn!(%diagnostic, "skill warning");
            }
        }
        if self.strict && report.has_errors() {
            return Err(Error::InvalidSkills {
                diagnostics: report.errors().cloned().collect(),
            });
        }
        let active_names = self.active_names(&merged, &report)?;
        let skills = merged
            .into_values()
            .map(|loaded| {
                let active = loaded.skill.enabled && active_names.contains(&loaded.skill.name);
                RegisteredSkill::new(loaded.skill, loaded.origin, active)
            })
            .collect();
        Ok(SkillRegistry::new(skills, report))
    }

    fn active_names(
        &self,
        merged: &BTreeMap<String, LoadedSkill>,
        report: &LoadReport,
    ) -> Result<BTreeSet<String>> {
        let Some(list) = &self.enabled else {
            return Ok(merged.keys().cloned().collect());
        };
        let unknown: Vec<String> = list
            .names
            .iter()
            .filter(|n| !merged.contains_key(*n))
            .cloned()
            .collect();
        if !unknown.is_empty() {
            return Err(Error::UnknownEnabledSkills {
                origin: list.origin.clone(),
                unknown,
                known: merged.keys().cloned().collect(),
                skipped: report.errors().cloned().collect(),
            });
        }
        Ok(list.names.iter().cloned().collect())
    }
}

/// A source's skills that pass [`lint`], minus second definitions of a name.
fn checked_skills(source: &dyn SkillSource, diagnostics: &mut Vec<Diagnostic>) -> Vec<LoadedSkill> {
    let load = source.load();
    diagnostics.extend(load.diagnostics);
    let mut seen: BTreeMap<String, SkillOrigin> = BTreeMap::new();
    let mut kept = Vec::new();
    for loaded in load.skills {
        let origin = diagnostic_origin(&loaded);
        let problems = lint(&loaded.skill, &origin);
        let broken = problems.iter().any(Diagnostic::is_error);
        diagnostics.extend(problems);
        if broken {
            continue;
        }
        if let Some(first) = seen.get(&loaded.skill.name) {
            diagnostics.push(Diagnostic::error(
                origin,
                format!(
                    "duplicate skill name {:?} in {}: already defined by {first}; this one is skipped",
                    loaded.skill.name,
                    source.label()
                ),
            ));
            continue;
        }
        seen.insert(loaded.skill.name.clone(), loaded.origin.clone());
        kept.push(loaded);
    }
    kept
}

fn diagnostic_origin(loaded: &LoadedSkill) -> String {
    match &loaded.origin {
        SkillOrigin::Builtin => format!("builtin:{}.yaml", loaded.skill.name),
        other => other.to_string(),
    }
}

/// Splits a `SKILL_DIRS` value into directories (`:` on Unix, `;` on
/// Windows), dropping empty entries.
pub fn parse_skill_dirs(value: &str) -> Vec<PathBuf> {
    std::env::split_paths(value)
        .filter(|p| !p.as_os_str().is_empty())
        .collect()
}

/// Parses an `ENABLED_SKILLS` value: a JSON list of skill names.
///
/// A blank value means "not set" (`Ok(None)`), so an empty variable in a
/// manifest does not switch every skill off; `[]` does.
pub fn parse_enabled_skills(value: &str) -> Result<Option<Vec<String>>> {
    if value.trim().is_empty() {
        return Ok(None);
    }
    let invalid = |reason: String| Error::InvalidEnvironment {
        variable: ENABLED_SKILLS_VAR.to_owned(),
        reason,
    };
    let names: Vec<String> = serde_json::from_str(value).map_err(|err| {
        invalid(format!(
            "expected a JSON list of skill names such as [\"security\",\"networking\"], got \
             {value:?}: {err}"
        ))
    })?;
    if let Some(bad) = names.iter().find(|n| crate::skill::rules::name(n).is_err()) {
        return Err(invalid(format!(
            "{bad:?} is not a skill name (lowercase identifier)"
        )));
    }
    Ok(Some(names))
}
