//! The portable manifest: a JSON summary of the active skills for other agents.

use serde::{Deserialize, Serialize};

use crate::skill::Skill;

/// The manifest format this crate writes.
pub const MANIFEST_FORMAT: &str = "kopilot.skills/v1";

/// The active skills, summarised for other agents (and `/skills/portable`).
///
/// Prompts are left out on purpose; each skill's `content_hash` covers them,
/// so a consumer can tell when a skill changed without seeing its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PortableManifest {
    /// Always [`MANIFEST_FORMAT`] for manifests written by this version.
    pub format: String,
    /// The skills, by name.
    pub skills: Vec<PortableSkill>,
}

impl PortableManifest {
    /// A manifest of `skills`, in the order given.
    pub fn new(skills: Vec<PortableSkill>) -> Self {
        Self {
            format: MANIFEST_FORMAT.to_owned(),
            skills,
        }
    }
}

/// One skill in a [`PortableManifest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PortableSkill {
    /// The skill's name.
    pub name: String,
    /// Its human-readable title.
    pub display_name: String,
    /// What it is for.
    pub description: String,
    /// The tools it may call.
    pub tools: Vec<String>,
    /// The analyzers it relies on.
    pub analyzers: Vec<String>,
    /// Sample prompts.
    pub examples: Vec<String>,
    /// `sha256:<hex>` of the whole definition (see [`Skill::content_hash`]).
    pub content_hash: String,
}

impl PortableSkill {
    /// The manifest entry for `skill`.
    pub fn from_skill(skill: &Skill) -> Self {
        Self {
            name: skill.name.clone(),
            display_name: skill.display_name.clone(),
            description: skill.description.clone(),
            tools: skill.tools.clone(),
            analyzers: skill.analyzers.clone(),
            examples: skill.examples.clone(),
            content_hash: skill.content_hash(),
        }
    }
}
