//! The six skills compiled into every Kopilot binary.

use crate::parse::parse_skill;
use crate::source::{LoadedSkill, SkillOrigin, SkillSource, SourceLoad};

/// The built-in skill files: (file name, YAML text).
const FILES: &[(&str, &str)] = &[
    (
        "administration.yaml",
        include_str!("../skills/administration.yaml"),
    ),
    (
        "cost_optimization.yaml",
        include_str!("../skills/cost_optimization.yaml"),
    ),
    ("monitoring.yaml", include_str!("../skills/monitoring.yaml")),
    ("networking.yaml", include_str!("../skills/networking.yaml")),
    ("security.yaml", include_str!("../skills/security.yaml")),
    (
        "troubleshooting.yaml",
        include_str!("../skills/troubleshooting.yaml"),
    ),
];

/// The names of the built-in skills, sorted.
pub const BUILTIN_SKILL_NAMES: &[&str] = &[
    "administration",
    "cost_optimization",
    "monitoring",
    "networking",
    "security",
    "troubleshooting",
];

/// The YAML source of a built-in skill, e.g. to start an override from it.
pub fn builtin_skill_yaml(name: &str) -> Option<&'static str> {
    FILES
        .iter()
        .find(|(file, _)| file.strip_suffix(".yaml") == Some(name))
        .map(|(_, text)| *text)
}

/// The built-in skills as a [`SkillSource`]. Their origin is [`SkillOrigin::Builtin`].
#[derive(Debug, Clone, Copy, Default)]
pub struct BuiltinSkills;

impl SkillSource for BuiltinSkills {
    fn label(&self) -> String {
        "built-in skills".to_owned()
    }

    fn load(&self) -> SourceLoad {
        let mut load = SourceLoad::default();
        for (file, text) in FILES {
            match parse_skill(text, &format!("builtin:{file}")) {
                Ok(skill) => load.skills.push(LoadedSkill {
                    skill,
                    origin: SkillOrigin::Builtin,
                }),
                Err(diagnostic) => load.diagnostics.push(diagnostic),
            }
        }
        load
    }
}
