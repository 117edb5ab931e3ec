//! The JSON Schema of the skill file format, generated from [`Skill`].

use crate::skill::Skill;

/// The JSON Schema (draft 2020-12) of a skill file.
///
/// Generated from the Rust types, so it cannot drift from what the loader
/// accepts; `kopilot-skills/skill.schema.json` is a committed copy for
/// editors (a test keeps it current). Point an editor at it with a first line
/// like `# yaml-language-server: $schema=./skill.schema.json`.
pub fn skill_schema() -> serde_json::Value {
    schemars::schema_for!(Skill).to_value()
}

/// [`skill_schema`] as pretty-printed JSON with a trailing newline (the
/// exact content of the committed schema file).
pub fn skill_schema_json() -> String {
    let mut text = serde_json::to_string_pretty(&skill_schema()).unwrap_or_default();
    text.push('\n');
    text
}
