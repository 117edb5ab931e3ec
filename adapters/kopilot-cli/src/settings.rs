//! The settings a command runs with, each from the first place that has it: a flag
//! (`--provider`, `--model`), then the environment variable, then the configuration file
//! (`config_file`), then the reader's default. Every reader (model, policy, limits, skills)
//! reads through one lookup, and an error about a value from the file names the file, the
//! line and the key.

use std::path::PathBuf;
use std::sync::OnceLock;

use clap::Args;
use kopilot_core::Limits;
use kopilot_core::llm::{ProviderConfig, ProviderKind};
use kopilot_core::safety::Policy;
use kopilot_core::skills::SkillLoader;

use crate::UsageError;
use crate::config_file::{self, ConfigFile};

/// `--config FILE`, given anywhere on the command line (set once by `main`).
static CONFIG_FLAG: OnceLock<Option<PathBuf>> = OnceLock::new();

/// Records the global `--config` flag before any command runs.
pub(crate) fn init(config_flag: Option<PathBuf>) {
    let _ = CONFIG_FLAG.set(config_flag);
}

/// The variables a model name is read from (the first that is set wins in each provider).
const MODEL_VARS: [&str; 3] = ["LLM_MODEL", "GEMINI_MODEL", "AZURE_OPENAI_DEPLOYMENT"];

/// `--provider` and `--model`, on every command that talks to a model.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct ModelFlags {
    /// The model provider: ollama, openai, openai_compatible, azure_openai, anthropic, gemini
    /// (overrides LLM_PROVIDER and the config file).
    #[arg(long, value_name = "NAME", value_parser = parse_provider)]
    pub(crate) provider: Option<ProviderKind>,
    /// The model (for azure_openai the deployment); overrides LLM_MODEL, GEMINI_MODEL,
    /// AZURE_OPENAI_DEPLOYMENT and the config file.
    #[arg(long, value_name = "NAME", value_parser = non_empty)]
    pub(crate) model: Option<String>,
}

fn parse_provider(value: &str) -> Result<ProviderKind, String> {
    ProviderKind::parse(value).map_err(|e| match e {
        kopilot_core::llm::Error::Config { reason, .. } => reason,
        other => other.to_string(),
    })
}

fn non_empty(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        Err("give a name".to_owned())
    } else {
        Ok(value.to_owned())
    }
}

/// A value set by a flag: the variable it stands for, the value, the flag's name.
#[derive(Debug, Clone)]
struct FlagValue {
    var: &'static str,
    value: String,
    flag: &'static str,
}

/// Flags, then the environment, then the configuration file.
#[derive(Debug, Clone, Default)]
pub(crate) struct Settings {
    flags: Vec<FlagValue>,
    file: Option<ConfigFile>,
}

impl Settings {
    /// Reads the configuration file (`--config`, `KOPILOT_CONFIG` or the default place).
    pub(crate) fn load() -> anyhow::Result<Self> {
        // A value that cannot be read is an error, not a silent fall back to the file.
        for var in config_file::variables() {
            if let Err(std::env::VarError::NotUnicode(_)) = std::env::var(var) {
                return Err(UsageError(format!("{var}: the value is not valid Unicode")).into());
            }
        }
        let flag = CONFIG_FLAG.get().and_then(Option::as_deref);
        Ok(Self {
            flags: Vec::new(),
            file: config_file::load(flag)?,
        })
    }

    /// These settings with `--provider` and `--model` on top.
    #[must_use]
    pub(crate) fn with_model_flags(mut self, flags: &ModelFlags) -> Self {
        if let Some(provider) = flags.provider {
            self.set_flag("LLM_PROVIDER", provider.as_str(), "--provider");
        }
        if let Some(model) = &flags.model {
            self.set_model(model, "--model");
        }
        self
    }

    /// Sets the model as a flag would (`--model`, or `/model` in a chat).
    pub(crate) fn set_model(&mut self, model: &str, flag: &'static str) {
        for var in MODEL_VARS {
            self.set_flag(var, model, flag);
        }
    }

    fn set_flag(&mut self, var: &'static str, value: &str, flag: &'static str) {
        self.flags.retain(|f| f.var != var);
        self.flags.push(FlagValue {
            var,
            value: value.to_owned(),
            flag,
        });
    }

    /// The configuration file read, if any.
    pub(crate) fn file(&self) -> Option<&ConfigFile> {
        self.file.as_ref()
    }

    /// A variable's value: flag, environment, file (blank counts as unset).
    pub(crate) fn get(&self, var: &str) -> Option<String> {
        if let Some(flag) = self.flags.iter().find(|f| f.var == var) {
            return Some(flag.value.clone());
        }
        if let Some(value) = std::env::var(var)
            .ok()
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
        {
            return Some(value);
        }
        self.file
            .as_ref()
            .and_then(|file| file.get(var))
            .map(|entry| entry.value.clone())
    }

    /// Where a variable's value comes from (`None`: not set anywhere, the default applies).
    pub(crate) fn source(&self, var: &str) -> Option<String> {
        if let Some(flag) = self.flags.iter().find(|f| f.var == var) {
            return Some(format!("flag {}", flag.flag));
        }
        if std::env::var(var).is_ok_and(|v| !v.trim().is_empty()) {
            return Some(format!("env {var}"));
        }
        self.file_entry(var)
            .map(|(file, entry)| format!("file {}", file.at(entry)))
    }

    /// The file and its entry, when `var`'s value comes from the file.
    fn file_entry(&self, var: &str) -> Option<(&ConfigFile, &config_file::Entry)> {
        let overridden = self.flags.iter().any(|f| f.var == var)
            || std::env::var(var).is_ok_and(|v| !v.trim().is_empty());
        if overridden {
            return None;
        }
        let file = self.file.as_ref()?;
        Some((file, file.get(var)?))
    }

    /// An error about variable `var` (`reason` says what is wrong), naming the file's line
    /// and key when the value came from there.
    fn attributed(&self, var: &str, whole: String, reason: &str) -> UsageError {
        match self.file_entry(var) {
            Some((file, entry)) => UsageError(format!("{}: {reason}", file.at(entry))),
            None => UsageError(whole),
        }
    }

    /// The model configuration.
    pub(crate) fn provider_config(&self) -> Result<ProviderConfig, UsageError> {
        ProviderConfig::from_lookup(|name| self.get(name)).map_err(|e| match &e {
            kopilot_core::llm::Error::Config { setting, reason } => {
                self.attributed(setting, e.to_string(), reason)
            }
            _ => UsageError(e.to_string()),
        })
    }

    /// The safety policy.
    pub(crate) fn policy(&self) -> Result<Policy, UsageError> {
        Policy::from_lookup(|name| self.get(name)).map_err(|e| match &e {
            kopilot_core::safety::Error::InvalidEnv { var, reason } => {
                self.attributed(var, e.to_string(), reason)
            }
            _ => UsageError(e.to_string()),
        })
    }

    /// The runtime's limits.
    pub(crate) fn limits(&self) -> Result<Limits, UsageError> {
        Limits::from_lookup(|name| self.get(name)).map_err(|e| match &e {
            kopilot_core::Error::InvalidEnv { var, reason } => {
                self.attributed(var, e.to_string(), reason)
            }
            _ => UsageError(e.to_string()),
        })
    }

    /// The skill loader (built-ins, `SKILL_DIRS`, `ENABLED_SKILLS`).
    pub(crate) fn skill_loader(&self) -> Result<SkillLoader, UsageError> {
        SkillLoader::from_lookup(|name| self.get(name)).map_err(|e| match &e {
            kopilot_core::skills::Error::InvalidEnvironment { variable, reason } => {
                self.attributed(variable, e.to_string(), reason)
            }
            _ => UsageError(e.to_string()),
        })
    }
}
