//! `kopilot config show`: the effective configuration and where each value came from.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use kopilot_core::llm::{ProviderChoice, ProviderKind, Secret};
use kopilot_core::skills::{ENABLED_SKILLS_VAR, SKILL_DIRS_VAR};
use serde::Serialize;

use crate::config_file::{self, CONFIG_VAR};
use crate::settings::Settings;
use crate::state::{State, data_dir};

/// Arguments of `kopilot config`.
#[derive(Debug, Args)]
pub(crate) struct ConfigArgs {
    #[command(subcommand)]
    command: ConfigCommand,
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print the effective configuration (model, safety, skills, cluster, state) and where
    /// each value came from. API keys are masked.
    Show(ShowArgs),
}

#[derive(Debug, Args)]
struct ShowArgs {
    /// Print a JSON array of {section, setting, value, source}.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
struct Row {
    section: &'static str,
    setting: &'static str,
    value: String,
    source: String,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// Where `name`'s value came from (flag, env or file), else `default`.
fn source_or(settings: &Settings, name: &str, default: &str) -> String {
    settings.source(name).unwrap_or_else(|| default.to_owned())
}

/// Shows the last four characters of a key at most, and only of a long one.
fn mask(secret: &Secret) -> String {
    let key = secret.expose();
    let chars = key.chars().count();
    if chars >= 16 {
        let tail: String = key.chars().skip(chars - 4).collect();
        format!("****{tail} ({chars} characters)")
    } else {
        format!("**** ({chars} characters)")
    }
}

/// The variables a provider reads: base URL, API key, model.
fn provider_vars(kind: ProviderKind) -> (&'static str, Option<&'static str>, &'static str) {
    match kind {
        ProviderKind::Ollama => ("OLLAMA_BASE_URL", None, "LLM_MODEL"),
        ProviderKind::OpenAi | ProviderKind::OpenAiCompatible => {
            ("OPENAI_BASE_URL", Some("OPENAI_API_KEY"), "LLM_MODEL")
        }
        ProviderKind::AzureOpenAi => (
            "AZURE_OPENAI_ENDPOINT",
            Some("AZURE_OPENAI_API_KEY"),
            "AZURE_OPENAI_DEPLOYMENT",
        ),
        ProviderKind::Anthropic => ("ANTHROPIC_BASE_URL", Some("ANTHROPIC_API_KEY"), "LLM_MODEL"),
        ProviderKind::Gemini => ("GEMINI_BASE_URL", Some("GEMINI_API_KEY"), "GEMINI_MODEL"),
    }
}

fn model_rows(settings: &Settings, rows: &mut Vec<Row>) {
    let mut push = |setting, value: String, source: String| {
        rows.push(Row {
            section: "model",
            setting,
            value,
            source,
        });
    };
    let config = match settings.provider_config() {
        Ok(config) => config,
        Err(err) => {
            push("provider", format!("invalid: {err}"), "settings".to_owned());
            return;
        }
    };
    let kind = config.kind();
    let provider_source = match config.choice() {
        ProviderChoice::Explicit => source_or(settings, "LLM_PROVIDER", "env LLM_PROVIDER"),
        ProviderChoice::Defaulted => {
            "default (a local Ollama; offline mode when it does not answer)".to_owned()
        }
    };
    push("provider", kind.to_string(), provider_source);
    let (url_var, key_var, model_var) = provider_vars(kind);
    let model_source = settings
        .source(model_var)
        .or_else(|| settings.source("LLM_MODEL"))
        .unwrap_or_else(|| "default".to_owned());
    push("model", config.model().to_owned(), model_source);
    push(
        "base URL",
        config.base_url().to_owned(),
        source_or(settings, url_var, "default"),
    );
    if let Some(key_var) = key_var {
        let value = config.api_key().map_or_else(|| "not set".to_owned(), mask);
        push("API key", value, source_or(settings, key_var, "not set"));
    }
    let transport = config.transport();
    push(
        "request timeout",
        format!("{}s", transport.request_timeout.as_secs()),
        source_or(settings, "LLM_TIMEOUT_SECS", "default"),
    );
    push(
        "retries",
        transport.max_retries.to_string(),
        source_or(settings, "LLM_MAX_RETRIES", "default"),
    );
}

fn safety_rows(settings: &Settings, rows: &mut Vec<Row>) {
    let policy_file = settings.get("SAFETY_POLICY_FILE");
    let source = |var: &str| match (&policy_file, settings.source(var)) {
        (_, Some(source)) => source,
        (Some(file), None) => format!("file {file} (SAFETY_POLICY_FILE)"),
        (None, None) => "default".to_owned(),
    };
    let mut push = |setting, value: String, source: String| {
        rows.push(Row {
            section: "safety",
            setting,
            value,
            source,
        });
    };
    match settings.policy() {
        Ok(policy) => {
            push("mode", policy.mode().to_string(), source("SAFETY_MODE"));
            push(
                "protected namespaces",
                policy.protected_namespaces().join(", "),
                source("SAFETY_PROTECTED_NAMESPACES"),
            );
            push(
                "hard-block patterns",
                policy.hard_block_patterns().len().to_string(),
                source("SAFETY_HARD_BLOCK"),
            );
            push(
                "approval needed for destructive",
                policy.require_approval_destructive().to_string(),
                source("SAFETY_REQUIRE_APPROVAL_DESTRUCTIVE"),
            );
            push(
                "four eyes",
                policy.four_eyes().to_string(),
                source("SAFETY_FOUR_EYES"),
            );
            push(
                "approval expires after",
                format!("{}s", policy.approval_ttl().as_secs()),
                policy_file.as_ref().map_or_else(
                    || "default".to_owned(),
                    |file| format!("file {file} (SAFETY_POLICY_FILE)"),
                ),
            );
        }
        Err(err) => push("policy", format!("invalid: {err}"), "settings".to_owned()),
    }
    match settings.limits() {
        Ok(limits) => {
            push(
                "tasks at once",
                limits.max_concurrent_tasks.to_string(),
                source_or(settings, "SAFETY_MAX_CONCURRENT_TASKS", "default"),
            );
            push(
                "tokens per task",
                limits
                    .budget
                    .tokens
                    .map_or_else(|| "no limit".to_owned(), |n| n.to_string()),
                source_or(
                    settings,
                    "KOPILOT_MAX_TOKENS",
                    "default (--max-tokens overrides)",
                ),
            );
            push(
                "tool calls per task",
                limits
                    .budget
                    .tool_calls
                    .map_or_else(|| "no limit".to_owned(), |n| n.to_string()),
                source_or(
                    settings,
                    "KOPILOT_MAX_TOOL_CALLS",
                    "default (--max-tool-calls overrides)",
                ),
            );
            push(
                "prompt limit",
                format!("{} bytes", limits.max_prompt_bytes),
                source_or(settings, "KOPILOT_MAX_PROMPT_BYTES", "default"),
            );
        }
        Err(err) => push("limits", format!("invalid: {err}"), "settings".to_owned()),
    }
}

fn other_rows(settings: &Settings, rows: &mut Vec<Row>) {
    let skills = match settings.skill_loader() {
        Ok(loader) => match loader.load() {
            Ok(registry) => registry.names().join(", "),
            Err(err) => format!("invalid: {err}"),
        },
        Err(err) => format!("invalid: {err}"),
    };
    let skills_source = [SKILL_DIRS_VAR, ENABLED_SKILLS_VAR]
        .iter()
        .filter_map(|var| settings.source(var))
        .fold("built-in".to_owned(), |all, source| {
            format!("{all}, {source}")
        });
    rows.push(Row {
        section: "skills",
        setting: "enabled",
        value: skills,
        source: skills_source,
    });
    kubeconfig_rows(rows);
    let (value, source) = match env("KOPILOT_KUBECTL_ENV") {
        Some(list) => match kopilot_k8s::exec::env::VarPattern::parse_list(&list) {
            Ok(patterns) => (
                format!(
                    "built-in list + {}",
                    patterns
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                "env KOPILOT_KUBECTL_ENV (--kubectl-env overrides)".to_owned(),
            ),
            Err(err) => (
                format!("invalid: {err}"),
                "env KOPILOT_KUBECTL_ENV".to_owned(),
            ),
        },
        None => (
            "built-in list (cloud credentials, proxies, CA bundles, locale)".to_owned(),
            "default (--kubectl-env adds to it)".to_owned(),
        ),
    };
    rows.push(Row {
        section: "cluster",
        setting: "kubectl environment",
        value,
        source,
    });
    match data_dir() {
        Ok(dir) => {
            for (setting, value) in [
                ("data directory", dir.path.display().to_string()),
                (
                    "task history",
                    dir.path.join(State::STORE_FILE).display().to_string(),
                ),
                (
                    "audit log",
                    dir.path.join(State::AUDIT_FILE).display().to_string(),
                ),
            ] {
                rows.push(Row {
                    section: "state",
                    setting,
                    value,
                    source: dir.source.to_owned(),
                });
            }
        }
        Err(err) => rows.push(Row {
            section: "state",
            setting: "data directory",
            value: format!("{err:#}"),
            source: "environment".to_owned(),
        }),
    }
}

/// The configuration file read (or where one would be read from).
fn config_file_row(settings: &Settings, rows: &mut Vec<Row>) {
    let (value, source) = match settings.file() {
        Some(file) => (file.path.display().to_string(), file.named_by.to_owned()),
        None => (
            "none".to_owned(),
            match config_file::default_path() {
                Some(path) => format!(
                    "no file at {} (--config or {CONFIG_VAR} name another)",
                    path.display()
                ),
                None => format!("no HOME; --config or {CONFIG_VAR} name a file"),
            },
        ),
    };
    rows.push(Row {
        section: "config",
        setting: "file",
        value,
        source,
    });
}

/// The kubeconfig as kubectl would read it (every file of `KUBECONFIG` merged, missing ones
/// skipped), its current context and the contexts it has.
fn kubeconfig_rows(rows: &mut Vec<Row>) {
    use kopilot_analyze::snapshot::{KubeconfigSource, LiveOptions};
    let mut push = |setting: &'static str, value: String, source: String| {
        rows.push(Row {
            section: "cluster",
            setting,
            value,
            source,
        });
    };
    match LiveOptions::default().kubeconfig() {
        Ok(Some(loaded)) => {
            let mut files = loaded.describe_files();
            if !loaded.missing.is_empty() {
                let missing: Vec<String> = loaded
                    .missing
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect();
                files = format!("{files} (missing, skipped: {})", missing.join(", "));
            }
            let source = match loaded.source {
                KubeconfigSource::Environment => "env KUBECONFIG (--kubeconfig overrides)",
                KubeconfigSource::Default | KubeconfigSource::Configured => {
                    "default (--kubeconfig overrides)"
                }
            };
            push("kubeconfig", files, source.to_owned());
            push(
                "current context",
                loaded
                    .merged
                    .current_context
                    .clone()
                    .unwrap_or_else(|| "none set".to_owned()),
                "kubeconfig (--context overrides)".to_owned(),
            );
            push(
                "contexts",
                loaded.context_names().join(", "),
                "kubeconfig".to_owned(),
            );
        }
        Ok(None) => push(
            "kubeconfig",
            "none (KUBECONFIG unset or its files missing, no ~/.kube/config): the in-cluster \
             service account when in a pod"
                .to_owned(),
            "default (--kubeconfig overrides)".to_owned(),
        ),
        Err(err) => push(
            "kubeconfig",
            format!("invalid: {:#}", anyhow::Error::from(err)),
            "env KUBECONFIG or ~/.kube/config".to_owned(),
        ),
    }
}

/// Runs `kopilot config ...`.
pub(crate) fn run(args: &ConfigArgs) -> anyhow::Result<ExitCode> {
    let ConfigCommand::Show(show) = &args.command;
    let settings = Settings::load()?;
    let mut rows = Vec::new();
    config_file_row(&settings, &mut rows);
    model_rows(&settings, &mut rows);
    safety_rows(&settings, &mut rows);
    other_rows(&settings, &mut rows);
    if show.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(ExitCode::SUCCESS);
    }
    let width = rows
        .iter()
        .map(|r| r.setting.chars().count())
        .max()
        .unwrap_or(0);
    let mut section = "";
    for row in &rows {
        if row.section != section {
            if !section.is_empty() {
                println!();
            }
            section = row.section;
            println!("[{section}]");
        }
        println!("  {:<width$}  {}  ({})", row.setting, row.value, row.source);
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::mask;
    use kopilot_core::llm::Secret;

    #[test]
    fn keys_never_show_more_than_their_last_four_characters() {
        let shown = mask(&Secret::new("sk-proj-0123456789abcdefWXYZ"));
        assert_eq!(shown, "****WXYZ (28 characters)");
        let short = mask(&Secret::new("short-key"));
        assert!(!short.contains("key"), "{short}");
    }
}
