//! The loaded skills: lookup, the routing catalogue, keyword routing and the manifest.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::loader::LoadReport;
use crate::manifest::{PortableManifest, PortableSkill};
use crate::routing::{KeywordIndex, RouteMatch};
use crate::skill::Skill;
use crate::source::SkillOrigin;

/// One loaded skill with where it came from and whether it is active.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredSkill {
    /// The definition.
    pub skill: Skill,
    /// Where it was defined (after overrides: the definition in use).
    pub origin: SkillOrigin,
    /// Whether it may be routed to: `enabled: true` in its definition and in
    /// the enabled list, if one was given.
    pub active: bool,
}

impl RegisteredSkill {
    pub(crate) fn new(skill: Skill, origin: SkillOrigin, active: bool) -> Self {
        Self {
            skill,
            origin,
            active,
        }
    }
}

/// What the supervisor sees of a skill when it decides where to delegate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CatalogueEntry {
    /// The name to delegate to.
    pub name: String,
    /// What the skill is for.
    pub description: String,
}

/// The skills a [`SkillLoader`](crate::SkillLoader) produced.
///
/// Lookups, the catalogue, routing and the manifest see only the active
/// skills; [`entry`](Self::entry) and [`all`](Self::all) see every loaded one.
#[derive(Debug, Clone)]
pub struct SkillRegistry {
    skills: BTreeMap<String, RegisteredSkill>,
    keywords: KeywordIndex,
    report: LoadReport,
}

impl SkillRegistry {
    pub(crate) fn new(skills: Vec<RegisteredSkill>, report: LoadReport) -> Self {
        let skills: BTreeMap<String, RegisteredSkill> = skills
            .into_iter()
            .map(|r| (r.skill.name.clone(), r))
            .collect();
        let keywords = KeywordIndex::new(skills.values().filter(|r| r.active).map(|r| &r.skill));
        Self {
            skills,
            keywords,
            report,
        }
    }

    /// The active skill called `name`.
    pub fn get(&self, name: &str) -> Option<&Skill> {
        self.skills.get(name).filter(|r| r.active).map(|r| &r.skill)
    }

    /// The loaded skill called `name`, active or not, with its origin.
    pub fn entry(&self, name: &str) -> Option<&RegisteredSkill> {
        self.skills.get(name)
    }

    /// Every loaded skill, active or not, by name.
    pub fn all(&self) -> impl Iterator<Item = &RegisteredSkill> {
        self.skills.values()
    }

    /// The active skills, by name.
    pub fn active(&self) -> impl Iterator<Item = &Skill> {
        self.skills.values().filter(|r| r.active).map(|r| &r.skill)
    }

    /// The names of the active skills, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.active().map(|s| s.name.as_str()).collect()
    }

    /// Whether no skill is active.
    pub fn is_empty(&self) -> bool {
        self.active().next().is_none()
    }

    /// Name and description of every active skill, by name: what the
    /// supervisor's `delegate` tool offers the model.
    pub fn catalogue(&self) -> Vec<CatalogueEntry> {
        self.active()
            .map(|s| CatalogueEntry {
                name: s.name.clone(),
                description: s.description.clone(),
            })
            .collect()
    }

    /// Routes a prompt without a model: active skills whose keywords (or
    /// name) occur in `prompt`, best first, at most `limit` of them.
    ///
    /// Matching ignores case and simple plurals; a phrase keyword must occur
    /// as consecutive words. Ties are broken by name, so the result is the
    /// same on every run. Empty when nothing matches.
    pub fn route(&self, prompt: &str, limit: usize) -> Vec<RouteMatch> {
        self.keywords.route(prompt, limit)
    }

    /// The portable manifest of the active skills.
    pub fn manifest(&self) -> PortableManifest {
        PortableManifest::new(self.active().map(PortableSkill::from_skill).collect())
    }

    /// What happened while loading: sources, problems, overrides.
    pub fn report(&self) -> &LoadReport {
        &self.report
    }
}
