//! Where skills come from: the [`SkillSource`] trait and the sources built in.

use std::fmt;
use std::path::PathBuf;

use serde::{Serialize, Serializer};

use crate::diagnostic::Diagnostic;
use crate::skill::Skill;

/// Where one loaded skill was defined.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SkillOrigin {
    /// Compiled into the binary (`kopilot-skills/skills/*.yaml`).
    Builtin,
    /// A file in a skill directory.
    File(PathBuf),
    /// Any other source, labelled by that source (e.g. `AISkill default/cost`).
    Custom(String),
}

impl fmt::Display for SkillOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Builtin => f.write_str("builtin"),
            Self::File(path) => write!(f, "{}", path.display()),
            Self::Custom(label) => f.write_str(label),
        }
    }
}

impl Serialize for SkillOrigin {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// One skill as a source produced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedSkill {
    /// The definition.
    pub skill: Skill,
    /// Where it was defined.
    pub origin: SkillOrigin,
}

/// What one [`SkillSource::load`] call found: the skills that parsed, and a
/// diagnostic for every file or entry that did not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceLoad {
    /// Skills that parsed, in a stable order.
    pub skills: Vec<LoadedSkill>,
    /// Problems, each naming its file (and line and column where known).
    pub diagnostics: Vec<Diagnostic>,
}

/// A place skills come from: the built-ins, a directory, Kubernetes objects, code.
///
/// Implement it to plug in another source. `load` is synchronous and must not
/// fail as a whole: a problem with one entry becomes a [`Diagnostic`] and the
/// other entries still load. A source backed by the network should serve from
/// a local cache it keeps current (a watch), so `load` stays fast.
///
/// The loader checks every skill a source returns (rules, duplicate names
/// within the source), so a source only has to parse.
pub trait SkillSource: Send + Sync + fmt::Debug {
    /// A short label for reports, e.g. `directory /etc/kopilot/skills`.
    fn label(&self) -> String;

    /// Reads every skill this source currently holds.
    fn load(&self) -> SourceLoad;

    /// A value that changes whenever [`load`](Self::load) would return
    /// something different; `None` (the default) for a source that never
    /// changes. [`LiveSkills`](crate::LiveSkills) polls it to decide when to reload.
    fn fingerprint(&self) -> Option<String> {
        None
    }
}

/// Skills handed over in code, e.g. by an embedder that builds its own.
#[derive(Debug, Clone)]
pub struct InlineSource {
    label: String,
    skills: Vec<Skill>,
}

impl InlineSource {
    /// A source named `label` holding `skills`; each gets the origin
    /// [`SkillOrigin::Custom`] with that label.
    pub fn new(label: impl Into<String>, skills: impl IntoIterator<Item = Skill>) -> Self {
        Self {
            label: label.into(),
            skills: skills.into_iter().collect(),
        }
    }
}

impl SkillSource for InlineSource {
    fn label(&self) -> String {
        self.label.clone()
    }

    fn load(&self) -> SourceLoad {
        SourceLoad {
            skills: self
                .skills
                .iter()
                .map(|skill| LoadedSkill {
                    skill: skill.clone(),
                    origin: SkillOrigin::Custom(self.label.clone()),
                })
                .collect(),
            diagnostics: Vec::new(),
        }
    }
}
