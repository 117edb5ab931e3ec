//! Kopilot skills: YAML definitions that turn a general model into a
//! Kubernetes specialist (a sub-agent), where they are loaded from, and the
//! registry the runtime routes with.
//!
//! ```
//! use kopilot_skills::SkillLoader;
//!
//! # fn main() -> kopilot_skills::Result<()> {
//! // The six built-ins, then any directories in SKILL_DIRS, limited by ENABLED_SKILLS.
//! let loader = SkillLoader::from_lookup(|var| match var {
//!     "ENABLED_SKILLS" => Some(r#"["cost_optimization", "troubleshooting"]"#.to_owned()),
//!     _ => None,
//! })?;
//! let registry = loader.load()?;
//! assert_eq!(registry.names(), ["cost_optimization", "troubleshooting"]);
//!
//! // Offline routing: which skill should answer this?
//! let best = registry.route("why is my pod in CrashLoopBackOff?", 1);
//! assert_eq!(best[0].name, "troubleshooting");
//!
//! // What the sub-agent is told.
//! let skill = registry.get("cost_optimization").expect("enabled above");
//! assert!(skill.instructions().contains("Quick reference"));
//! # Ok(())
//! # }
//! ```
//!
//! - [`Skill`] is the file format; [`skill_schema`] its JSON Schema.
//! - [`SkillSource`] is where skills come from: [`BuiltinSkills`],
//!   [`DirectorySource`], [`InlineSource`], or your own.
//! - [`SkillLoader`] combines sources (later ones override earlier ones),
//!   reports bad files as [`Diagnostic`]s (or fails, in strict mode) and builds
//!   a [`SkillRegistry`]; [`LiveSkills`] reloads it when files change.
//! - [`tools`] names the runtime's tools; a skill that lists none gets the
//!   read-only ones.
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod builtin;
mod diagnostic;
mod directory;
mod error;
mod loader;
mod manifest;
mod parse;
mod registry;
mod reload;
mod routing;
mod schema;
mod skill;
mod source;
pub mod tools;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

pub use builtin::{BUILTIN_SKILL_NAMES, BuiltinSkills, builtin_skill_yaml};
pub use diagnostic::{Diagnostic, Severity};
pub use directory::DirectorySource;
pub use error::{Error, Result};
pub use loader::{
    ENABLED_SKILLS_VAR, LoadReport, SKILL_DIRS_VAR, SkillLoader, SkillOverride,
    parse_enabled_skills, parse_skill_dirs,
};
pub use manifest::{MANIFEST_FORMAT, PortableManifest, PortableSkill};
pub use parse::{MAX_FILE_BYTES, lint, parse_skill, parse_skill_file};
pub use registry::{CatalogueEntry, RegisteredSkill, SkillRegistry};
pub use reload::{LiveSkills, Refresh};
pub use routing::RouteMatch;
pub use schema::{skill_schema, skill_schema_json};
pub use skill::{DEFAULT_MAX_STEPS, MAX_MAX_STEPS, MAX_NAME_LEN, MIN_MAX_STEPS, Skill};
pub use source::{InlineSource, LoadedSkill, SkillOrigin, SkillSource, SourceLoad};
