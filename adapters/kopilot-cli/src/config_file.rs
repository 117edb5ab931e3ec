//! The configuration file: `config.yaml` holding the same settings as the environment
//! variables, each under the variable's name in lower case (`llm_provider: openai`).
//!
//! Where it is: `--config FILE`, else `KOPILOT_CONFIG`, else `$XDG_CONFIG_HOME/kopilot/config.yaml`,
//! else `~/.config/kopilot/config.yaml`. A file named by the flag or the variable must exist;
//! the default one is optional. An unknown key, a value that is not a scalar (or a list where
//! the setting is a list) and a value the setting's own reader rejects are usage errors naming
//! the file, the line and the key.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use kopilot_core::Limits;
use kopilot_core::llm::{ProviderConfig, ProviderKind};
use kopilot_core::safety::Policy;
use kopilot_core::skills::{ENABLED_SKILLS_VAR, SKILL_DIRS_VAR, SkillLoader};
use serde_saphyr::Spanned;

use crate::UsageError;

/// The variable naming the configuration file.
pub(crate) const CONFIG_VAR: &str = "KOPILOT_CONFIG";

/// Which reader reads a setting: the file's values are checked by that reader when loaded.
#[derive(Debug, Clone, Copy)]
enum Reader {
    /// The model configuration, as read for this provider.
    Model(ProviderKind),
    Policy,
    Limits,
    Skills,
}

/// Every setting the file may hold: the environment variable, and who reads it.
const SETTINGS: &[(&str, Reader)] = &[
    ("LLM_PROVIDER", Reader::Model(ProviderKind::Ollama)),
    ("LLM_MODEL", Reader::Model(ProviderKind::Ollama)),
    ("LLM_TIMEOUT_SECS", Reader::Model(ProviderKind::Ollama)),
    ("LLM_MAX_RETRIES", Reader::Model(ProviderKind::Ollama)),
    ("OLLAMA_BASE_URL", Reader::Model(ProviderKind::Ollama)),
    ("OLLAMA_NUM_CTX", Reader::Model(ProviderKind::Ollama)),
    (
        "OPENAI_BASE_URL",
        Reader::Model(ProviderKind::OpenAiCompatible),
    ),
    ("OPENAI_API_KEY", Reader::Model(ProviderKind::OpenAi)),
    (
        "AZURE_OPENAI_ENDPOINT",
        Reader::Model(ProviderKind::AzureOpenAi),
    ),
    (
        "AZURE_OPENAI_API_KEY",
        Reader::Model(ProviderKind::AzureOpenAi),
    ),
    (
        "AZURE_OPENAI_DEPLOYMENT",
        Reader::Model(ProviderKind::AzureOpenAi),
    ),
    (
        "AZURE_OPENAI_API_VERSION",
        Reader::Model(ProviderKind::AzureOpenAi),
    ),
    ("ANTHROPIC_BASE_URL", Reader::Model(ProviderKind::Anthropic)),
    ("ANTHROPIC_API_KEY", Reader::Model(ProviderKind::Anthropic)),
    ("GEMINI_API_KEY", Reader::Model(ProviderKind::Gemini)),
    ("GEMINI_MODEL", Reader::Model(ProviderKind::Gemini)),
    ("GEMINI_BASE_URL", Reader::Model(ProviderKind::Gemini)),
    ("SAFETY_POLICY_FILE", Reader::Policy),
    ("SAFETY_MODE", Reader::Policy),
    ("SAFETY_PROTECTED_NAMESPACES", Reader::Policy),
    ("SAFETY_REQUIRE_APPROVAL_DESTRUCTIVE", Reader::Policy),
    ("SAFETY_HARD_BLOCK", Reader::Policy),
    ("SAFETY_READ_ONLY_FILTERS", Reader::Policy),
    ("SAFETY_FOUR_EYES", Reader::Policy),
    ("SAFETY_MAX_CONCURRENT_TASKS", Reader::Limits),
    ("KOPILOT_MAX_TOKENS", Reader::Limits),
    ("KOPILOT_MAX_TOOL_CALLS", Reader::Limits),
    ("KOPILOT_MAX_PROMPT_BYTES", Reader::Limits),
    (SKILL_DIRS_VAR, Reader::Skills),
    (ENABLED_SKILLS_VAR, Reader::Skills),
];

/// The environment variables the file may stand in for.
pub(crate) fn variables() -> impl Iterator<Item = &'static str> {
    SETTINGS.iter().map(|(var, _)| *var)
}

/// One setting from the file.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// The key as written (the variable's name in lower case).
    pub(crate) key: String,
    /// The value, as the variable would hold it.
    pub(crate) value: String,
    /// 1-based line of the key.
    pub(crate) line: u64,
}

/// A loaded configuration file.
#[derive(Debug, Clone)]
pub(crate) struct ConfigFile {
    pub(crate) path: PathBuf,
    /// How it was found: `flag --config`, `env KOPILOT_CONFIG` or `default location`.
    pub(crate) named_by: &'static str,
    /// By variable name.
    entries: HashMap<&'static str, Entry>,
}

impl ConfigFile {
    /// The file's value of a variable.
    pub(crate) fn get(&self, var: &str) -> Option<&Entry> {
        self.entries.get(var)
    }

    /// `FILE:LINE: key`, for errors and sources.
    pub(crate) fn at(&self, entry: &Entry) -> String {
        format!("{}:{}: {}", self.path.display(), entry.line, entry.key)
    }
}

/// Where to look for the file, and how it was named (the default one need not exist).
fn locate(flag: Option<&Path>) -> Option<(PathBuf, &'static str)> {
    if let Some(path) = flag {
        return Some((path.to_owned(), "flag --config"));
    }
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(path) = var(CONFIG_VAR) {
        return Some((PathBuf::from(path), "env KOPILOT_CONFIG"));
    }
    default_path().map(|path| (path, DEFAULT))
}

/// How the default file is named.
const DEFAULT: &str = "default location";

/// `$XDG_CONFIG_HOME/kopilot/config.yaml`, else `~/.config/kopilot/config.yaml`.
pub(crate) fn default_path() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(xdg) = var("XDG_CONFIG_HOME") {
        return Some(PathBuf::from(xdg).join("kopilot").join("config.yaml"));
    }
    var("HOME").map(|home| {
        PathBuf::from(home)
            .join(".config")
            .join("kopilot")
            .join("config.yaml")
    })
}

/// Finds and reads the configuration file (`flag` is `--config`). `Ok(None)` when there is
/// none at the default place.
pub(crate) fn load(flag: Option<&Path>) -> anyhow::Result<Option<ConfigFile>> {
    let Some((path, named_by)) = locate(flag) else {
        return Ok(None);
    };
    let required = named_by != DEFAULT;
    let text = match std::fs::read(&path) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|e| {
            UsageError(format!(
                "{}: the configuration file is not UTF-8 text (invalid byte at offset {})",
                path.display(),
                e.utf8_error().valid_up_to()
            ))
        })?,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound && !required => return Ok(None),
        Err(err) => {
            return Err(UsageError(format!(
                "{}: cannot read the configuration file ({named_by}): {err}",
                path.display()
            ))
            .into());
        }
    };
    let mut file = parse(&path, &text)?;
    file.named_by = named_by;
    warn_if_others_can_read_keys(&file);
    Ok(Some(file))
}

/// Parses and checks the file's text.
fn parse(path: &Path, text: &str) -> Result<ConfigFile, UsageError> {
    let shown = path.display();
    let mut file = ConfigFile {
        path: path.to_owned(),
        named_by: DEFAULT,
        entries: HashMap::new(),
    };
    if text.trim().is_empty() {
        return Ok(file);
    }
    // An empty document (only comments) reads as null.
    let map: Option<Vec<(Spanned<String>, Spanned<serde_json::Value>)>> =
        serde_saphyr::from_str::<Option<SpannedMap>>(text)
            .map_err(|e| {
                let at = e.location().map_or_else(
                    || shown.to_string(),
                    |at| format!("{shown}:{}:{}", at.line(), at.column()),
                );
                // The first line says what; the rest quotes the file with a caret.
                let text = e.to_string();
                let what = text.lines().next().unwrap_or_default();
                let what = what.strip_prefix("error: ").unwrap_or(what);
                let what = what.split_once(": ").map_or(what, |(place, rest)| {
                    if place.starts_with("line ") {
                        rest
                    } else {
                        what
                    }
                });
                UsageError(format!(
                    "{at}: not a YAML map of settings: {}",
                    crate::escape::line(what)
                ))
            })?
            .map(|m| m.0);
    for (key, value) in map.unwrap_or_default() {
        let line = key.referenced.line();
        let Some(&(var, reader)) = SETTINGS
            .iter()
            .find(|(var, _)| var.to_ascii_lowercase() == key.value)
        else {
            let known: Vec<String> = SETTINGS
                .iter()
                .map(|(var, _)| var.to_ascii_lowercase())
                .collect();
            return Err(UsageError(format!(
                "{shown}:{line}: unknown key `{}`; the keys are the environment variables' names in lower case: {}",
                crate::escape::line(&key.value),
                known.join(", ")
            )));
        };
        let at = format!("{shown}:{line}: {}", key.value);
        if file.entries.contains_key(var) {
            return Err(UsageError(format!("{at}: the key is given twice")));
        }
        let value = as_variable(var, &value.value)
            .map_err(|reason| UsageError(format!("{at}: {reason}")))?;
        check(var, reader, &value).map_err(|reason| UsageError(format!("{at}: {reason}")))?;
        file.entries.insert(
            var,
            Entry {
                key: key.value,
                value,
                line,
            },
        );
    }
    Ok(file)
}

/// A map whose keys and values carry their positions.
struct SpannedMap(Vec<(Spanned<String>, Spanned<serde_json::Value>)>);

impl<'de> serde::Deserialize<'de> for SpannedMap {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = SpannedMap;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map of settings (key: value)")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(SpannedMap(entries))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

/// The YAML value as the environment variable would hold it: scalars as written, a list as a
/// JSON list (or a path list for `skill_dirs`).
fn as_variable(var: &str, value: &serde_json::Value) -> Result<String, String> {
    use serde_json::Value;
    match value {
        Value::String(text) => Ok(text.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Null => Err("no value given".to_owned()),
        Value::Array(items) if var == SKILL_DIRS_VAR => {
            let paths: Option<Vec<&str>> = items.iter().map(Value::as_str).collect();
            let paths = paths.ok_or("give a list of directory paths")?;
            std::env::join_paths(paths)
                .map(|joined| joined.to_string_lossy().into_owned())
                .map_err(|e| format!("a directory path cannot be used: {e}"))
        }
        Value::Array(items)
            if matches!(
                var,
                "SAFETY_PROTECTED_NAMESPACES"
                    | "SAFETY_HARD_BLOCK"
                    | "SAFETY_READ_ONLY_FILTERS"
                    | ENABLED_SKILLS_VAR
            ) =>
        {
            if items.iter().all(Value::is_string) {
                Ok(value.to_string())
            } else {
                Err("give a list of strings".to_owned())
            }
        }
        Value::Array(_) => Err("give one value, not a list".to_owned()),
        Value::Object(_) => Err("give one value, not a map".to_owned()),
    }
}

/// Runs the setting's own reader over this one value (with placeholders for what the reader
/// needs beside it), so a bad value fails where it is written, not later.
fn check(var: &'static str, reader: Reader, value: &str) -> Result<(), String> {
    let only = |name: &str| (name == var).then(|| value.to_owned());
    match reader {
        Reader::Model(kind) => {
            let placeholder = |name: &str| -> Option<String> {
                match name {
                    "LLM_PROVIDER" => Some(kind.as_str().to_owned()),
                    "OPENAI_BASE_URL" | "AZURE_OPENAI_ENDPOINT" => {
                        Some("http://127.0.0.1".to_owned())
                    }
                    "OPENAI_API_KEY"
                    | "AZURE_OPENAI_API_KEY"
                    | "ANTHROPIC_API_KEY"
                    | "GEMINI_API_KEY"
                    | "AZURE_OPENAI_DEPLOYMENT" => Some("placeholder".to_owned()),
                    _ => None,
                }
            };
            match ProviderConfig::from_lookup(|name| only(name).or_else(|| placeholder(name))) {
                Err(kopilot_core::llm::Error::Config { setting, reason }) if setting == var => {
                    Err(reason)
                }
                _ => Ok(()),
            }
        }
        Reader::Policy => match Policy::from_lookup(only) {
            Err(kopilot_core::safety::Error::InvalidEnv { reason, .. }) => Err(reason),
            Err(
                err @ (kopilot_core::safety::Error::PolicyFileIo { .. }
                | kopilot_core::safety::Error::PolicyFileFormat { .. }),
            ) => Err(err.to_string()),
            Err(other) => Err(other.to_string()),
            Ok(_) => Ok(()),
        },
        Reader::Limits => match Limits::from_lookup(only) {
            Err(kopilot_core::Error::InvalidEnv { reason, .. }) => Err(reason),
            Err(other) => Err(other.to_string()),
            Ok(_) => Ok(()),
        },
        Reader::Skills => match SkillLoader::from_lookup(only) {
            Err(kopilot_core::skills::Error::InvalidEnvironment { reason, .. }) => Err(reason),
            Err(other) => Err(other.to_string()),
            Ok(_) => Ok(()),
        },
    }
}

/// API keys in a file others can read are a leak waiting to happen: say so (it still works,
/// as kubectl does with a readable kubeconfig).
#[cfg(unix)]
fn warn_if_others_can_read_keys(file: &ConfigFile) {
    use std::os::unix::fs::PermissionsExt as _;
    let has_key = file.entries.keys().any(|var| var.ends_with("_API_KEY"));
    let mode = std::fs::metadata(&file.path).map(|m| m.permissions().mode());
    if has_key && mode.is_ok_and(|mode| mode & 0o077 != 0) {
        eprintln!(
            "kopilot: warning: {} holds an API key and other users can read it; run chmod 600 on it",
            crate::escape::line(&file.path.display().to_string())
        );
    }
}

#[cfg(not(unix))]
fn warn_if_others_can_read_keys(_file: &ConfigFile) {}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::parse;

    fn err(text: &str) -> String {
        parse(Path::new("/etc/k/config.yaml"), text).unwrap_err().0
    }

    #[test]
    fn values_read_as_the_variables_would_hold_them() {
        let file = parse(
            Path::new("c.yaml"),
            "# mine\nllm_provider: openai\nllm_max_retries: 2\nsafety_four_eyes: true\n\
             safety_protected_namespaces: [kube-system, payments]\nskill_dirs: [/a, /b]\n",
        )
        .unwrap();
        let value = |var: &str| file.get(var).map(|e| (e.value.clone(), e.line));
        assert_eq!(value("LLM_PROVIDER"), Some(("openai".into(), 2)));
        assert_eq!(value("LLM_MAX_RETRIES"), Some(("2".into(), 3)));
        assert_eq!(value("SAFETY_FOUR_EYES"), Some(("true".into(), 4)));
        assert_eq!(
            value("SAFETY_PROTECTED_NAMESPACES"),
            Some((r#"["kube-system","payments"]"#.into(), 5))
        );
        assert_eq!(value("SKILL_DIRS"), Some(("/a:/b".into(), 6)));
        assert!(parse(Path::new("c.yaml"), "# nothing yet\n").is_ok());
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_file_line_and_key() {
        let unknown = err("llm_provider: openai\nllm_modle: gpt-4o\n");
        assert!(
            unknown.starts_with("/etc/k/config.yaml:2: unknown key `llm_modle`"),
            "{unknown}"
        );
        assert!(unknown.contains("llm_model"), "{unknown}");
        for (text, line, key, says) in [
            (
                "llm_provider: nope\n",
                1,
                "llm_provider",
                "unknown provider",
            ),
            (
                "\nllm_timeout_secs: soon\n",
                2,
                "llm_timeout_secs",
                "not a whole number",
            ),
            ("safety_mode: yolo\n", 1, "safety_mode", "read-only"),
            ("safety_four_eyes: maybe\n", 1, "safety_four_eyes", "maybe"),
            ("a: 1\n", 1, "a", "unknown key"),
            ("ollama_base_url: ftp://x\n", 1, "ollama_base_url", "http"),
            (
                "safety_max_concurrent_tasks: 0\n",
                1,
                "safety_max_concurrent_tasks",
                "positive",
            ),
            (
                "enabled_skills: [\"Not A Name\"]\n",
                1,
                "enabled_skills",
                "Not A Name",
            ),
            ("llm_model: [a, b]\n", 1, "llm_model", "not a list"),
            ("llm_model:\n", 1, "llm_model", "no value"),
            ("llm_model: a\nllm_model: b\n", 2, "llm_model", "duplicate"),
        ] {
            let message = err(text);
            let at = format!("/etc/k/config.yaml:{line}:");
            assert!(message.starts_with(&at), "{text:?}: {message}");
            assert!(message.contains(key), "{text:?}: {message}");
            assert!(message.contains(says), "{text:?}: {message}");
        }
        assert!(err("- a\n- b\n").contains("not a YAML map"));
    }
}
