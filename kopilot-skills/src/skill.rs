//! The skill definition: what a skill file contains.

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest, Sha256};

use crate::tools;

/// The step limit a skill gets when its file does not set `max_steps`.
pub const DEFAULT_MAX_STEPS: u32 = 8;
/// The smallest `max_steps` a skill may set.
pub const MIN_MAX_STEPS: u32 = 1;
/// The largest `max_steps` a skill may set: past this a loop is more likely
/// stuck than thorough, and every step costs a model call.
pub const MAX_MAX_STEPS: u32 = 50;
/// The longest skill name accepted.
pub const MAX_NAME_LEN: usize = 64;

/// A skill: the definition that turns a general model into a domain specialist.
///
/// A skill is data, not code. It is usually read from a YAML file (see the
/// crate README for an example) and checked on load; [`Skill::new`] builds one
/// in code, and [`Skill::validate`] checks one built that way.
///
/// Unknown fields in a file are an error, never silently dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "Kopilot skill",
    description = "A Kopilot skill file: a YAML definition that turns a general model into a \
                   Kubernetes specialist. Unknown fields are an error."
)]
#[non_exhaustive]
pub struct Skill {
    /// Unique identifier: a lowercase letter, then lowercase letters, digits
    /// or `_` (at most 64 characters). The supervisor delegates by this name.
    #[serde(deserialize_with = "de_name")]
    #[schemars(regex(pattern = r"^[a-z][a-z0-9_]*$"), length(min = 1, max = 64))]
    pub name: String,

    /// Human-readable title, e.g. "Cost optimization".
    #[serde(deserialize_with = "de_display_name")]
    #[schemars(length(min = 1))]
    pub display_name: String,

    /// What the skill is for, written for the supervisor that routes to it.
    #[serde(deserialize_with = "de_description")]
    #[schemars(length(min = 1))]
    pub description: String,

    /// The specialist's instructions: how it reasons, what evidence it gathers
    /// and how it presents findings.
    #[serde(deserialize_with = "de_system_prompt")]
    #[schemars(length(min = 1))]
    pub system_prompt: String,

    /// A quick reference or runbook appended to the system prompt.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_documentation"
    )]
    #[schemars(length(min = 1))]
    pub documentation: Option<String>,

    /// Tools the sub-agent may call (see [`tools`](crate::tools)). Defaults to
    /// the read-only tools; command tools (`run_kubectl`, `run_helm`,
    /// `run_shell`) must be listed explicitly.
    #[serde(default = "default_tools", deserialize_with = "de_tools")]
    #[schemars(
        default = "default_tools",
        inner(regex(pattern = r"^[a-z][a-z0-9_]*$"))
    )]
    pub tools: Vec<String>,

    /// Ids of the deterministic analyzers the skill relies on, e.g. `cost.overprovisioned`.
    #[serde(default, deserialize_with = "de_analyzers")]
    #[schemars(inner(regex(pattern = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")))]
    pub analyzers: Vec<String>,

    /// Words and phrases that route a prompt to this skill without a model.
    #[serde(default, deserialize_with = "de_keywords")]
    #[schemars(inner(length(min = 1)))]
    pub keywords: Vec<String>,

    /// Sample prompts this skill answers well.
    #[serde(default, deserialize_with = "de_examples")]
    #[schemars(inner(length(min = 1)))]
    pub examples: Vec<String>,

    /// The most reasoning steps (model calls) the sub-agent may take.
    #[serde(default = "default_max_steps", deserialize_with = "de_max_steps")]
    #[schemars(range(min = 1, max = 50))]
    pub max_steps: u32,

    /// A model to use instead of the runtime's default, e.g. `openai/gpt-4.1-mini`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_model"
    )]
    #[schemars(length(min = 1))]
    pub model: Option<String>,

    /// Whether the skill is active. A disabled skill loads (and validates) but
    /// is never routed to.
    #[serde(default = "default_enabled")]
    pub enabled: bool,
}

fn default_tools() -> Vec<String> {
    tools::READ_ONLY.iter().map(|t| (*t).to_owned()).collect()
}

fn default_max_steps() -> u32 {
    DEFAULT_MAX_STEPS
}

fn default_enabled() -> bool {
    true
}

impl Skill {
    /// A skill with the four required fields and every optional field at its default.
    pub fn new(
        name: impl Into<String>,
        display_name: impl Into<String>,
        description: impl Into<String>,
        system_prompt: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            display_name: display_name.into(),
            description: description.into(),
            system_prompt: system_prompt.into(),
            documentation: None,
            tools: default_tools(),
            analyzers: Vec::new(),
            keywords: Vec::new(),
            examples: Vec::new(),
            max_steps: DEFAULT_MAX_STEPS,
            model: None,
            enabled: true,
        }
    }

    /// Checks the same rules a skill file is held to; returns every problem found.
    ///
    /// Loaders call this for skills from every source, so a skill built in
    /// code or read from a custom source meets the same bar as a file.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        let mut check = |field: &str, result: Result<(), String>| {
            if let Err(reason) = result {
                problems.push(format!("{field}: {reason}"));
            }
        };
        check("name", rules::name(&self.name));
        check("display_name", rules::text(&self.display_name));
        check("description", rules::text(&self.description));
        check("system_prompt", rules::text(&self.system_prompt));
        if let Some(doc) = &self.documentation {
            check("documentation", rules::text(doc));
        }
        check("tools", rules::tools(&self.tools));
        check("analyzers", rules::analyzers(&self.analyzers));
        check("keywords", rules::keywords(&self.keywords));
        check("examples", rules::examples(&self.examples));
        check("max_steps", rules::max_steps(self.max_steps));
        if let Some(model) = &self.model {
            check("model", rules::text(model));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// Tool names this skill lists that the built-in runtime does not provide.
    ///
    /// Not an error: an embedder may register tools of its own. Loaders report
    /// them as warnings so a typo (`run_kubctl`) does not pass unnoticed.
    pub fn unknown_tools(&self) -> Vec<&str> {
        self.tools
            .iter()
            .map(String::as_str)
            .filter(|t| !tools::is_known(t))
            .collect()
    }

    /// The full instructions for the sub-agent: the system prompt, then the
    /// documentation (if any) under a "Quick reference" heading.
    pub fn instructions(&self) -> String {
        match &self.documentation {
            Some(doc) => format!(
                "{}\n\n## Quick reference\n\n{}",
                self.system_prompt.trim_end(),
                doc.trim_end()
            ),
            None => self.system_prompt.trim_end().to_owned(),
        }
    }

    /// A SHA-256 of the skill's content, as `sha256:<hex>`.
    ///
    /// Computed over the skill's canonical JSON (fields in declaration order),
    /// so it ignores YAML formatting, comments and key order, and changes when
    /// any field changes.
    pub fn content_hash(&self) -> String {
        // Serialising a struct of strings, numbers and bools cannot fail; an
        // empty buffer would still give a stable (if useless) hash.
        let canonical = serde_json::to_vec(self).unwrap_or_default();
        format!("sha256:{}", hex::encode(Sha256::digest(&canonical)))
    }
}

/// The checks shared by deserialisation (which knows the line and column) and
/// [`Skill::validate`] (which checks skills built in code).
pub(crate) mod rules {
    use std::collections::BTreeSet;

    use super::{MAX_MAX_STEPS, MAX_NAME_LEN, MIN_MAX_STEPS};

    pub(crate) fn name(name: &str) -> Result<(), String> {
        if name.is_empty() {
            return Err("must not be empty".into());
        }
        if name.len() > MAX_NAME_LEN {
            return Err(format!("{name:?} is longer than {MAX_NAME_LEN} characters"));
        }
        if !is_identifier(name) {
            return Err(format!(
                "{name:?} is not an identifier: use a lowercase letter, then lowercase letters, \
                 digits or '_' (e.g. \"cost_optimization\")"
            ));
        }
        Ok(())
    }

    pub(crate) fn is_identifier(s: &str) -> bool {
        let mut chars = s.chars();
        chars.next().is_some_and(|c| c.is_ascii_lowercase())
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    }

    pub(crate) fn text(value: &str) -> Result<(), String> {
        if value.trim().is_empty() {
            Err("must not be empty".into())
        } else {
            Ok(())
        }
    }

    pub(crate) fn tools(tools: &[String]) -> Result<(), String> {
        for tool in tools {
            if !is_identifier(tool) {
                return Err(format!(
                    "{tool:?} is not a tool name (lowercase identifier)"
                ));
            }
        }
        unique(tools, "tool")
    }

    pub(crate) fn analyzers(ids: &[String]) -> Result<(), String> {
        for id in ids {
            let mut parts = id.split('.');
            let well_formed = id.contains('.') && parts.all(is_identifier);
            if !well_formed {
                return Err(format!(
                    "{id:?} is not an analyzer id (dotted lowercase identifiers, e.g. \
                     \"cost.overprovisioned\")"
                ));
            }
        }
        unique(ids, "analyzer")
    }

    pub(crate) fn keywords(keywords: &[String]) -> Result<(), String> {
        for keyword in keywords {
            if keyword.trim().is_empty() {
                return Err("a keyword must not be empty".into());
            }
        }
        let lowered: Vec<String> = keywords.iter().map(|k| k.trim().to_lowercase()).collect();
        unique(&lowered, "keyword")
    }

    pub(crate) fn examples(examples: &[String]) -> Result<(), String> {
        if examples.iter().any(|e| e.trim().is_empty()) {
            return Err("an example must not be empty".into());
        }
        Ok(())
    }

    pub(crate) fn max_steps(steps: u32) -> Result<(), String> {
        if (MIN_MAX_STEPS..=MAX_MAX_STEPS).contains(&steps) {
            Ok(())
        } else {
            Err(format!(
                "{steps} is out of range: use {MIN_MAX_STEPS} to {MAX_MAX_STEPS}"
            ))
        }
    }

    fn unique(items: &[String], what: &str) -> Result<(), String> {
        let mut seen = BTreeSet::new();
        for item in items {
            if !seen.insert(item) {
                return Err(format!("{what} {item:?} is listed twice"));
            }
        }
        Ok(())
    }
}

fn checked<'de, D, T>(
    deserializer: D,
    field: &str,
    rule: impl Fn(&T) -> Result<(), String>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    let value = T::deserialize(deserializer)?;
    rule(&value).map_err(|reason| serde::de::Error::custom(format!("{field}: {reason}")))?;
    Ok(value)
}

/// Deserialisers that apply a [`rules`] check and name the field in the error.
macro_rules! checked_field {
    ($($fn_name:ident: $ty:ty, $field:literal, $rule:expr;)*) => {$(
        fn $fn_name<'de, D: Deserializer<'de>>(d: D) -> Result<$ty, D::Error> {
            checked(d, $field, $rule)
        }
    )*};
}

checked_field! {
    de_name: String, "name", |s: &String| rules::name(s);
    de_display_name: String, "display_name", |s: &String| rules::text(s);
    de_description: String, "description", |s: &String| rules::text(s);
    de_system_prompt: String, "system_prompt", |s: &String| rules::text(s);
    de_documentation: Option<String>, "documentation",
        |s: &Option<String>| s.as_deref().map_or(Ok(()), rules::text);
    de_model: Option<String>, "model", |s: &Option<String>| s.as_deref().map_or(Ok(()), rules::text);
    de_tools: Vec<String>, "tools", |v: &Vec<String>| rules::tools(v);
    de_analyzers: Vec<String>, "analyzers", |v: &Vec<String>| rules::analyzers(v);
    de_keywords: Vec<String>, "keywords", |v: &Vec<String>| rules::keywords(v);
    de_examples: Vec<String>, "examples", |v: &Vec<String>| rules::examples(v);
    de_max_steps: u32, "max_steps", |n: &u32| rules::max_steps(*n);
}
