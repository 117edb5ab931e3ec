//! Which provider and model to use, read from the environment or built in code.

use std::fmt;
use std::time::Duration;

use url::Url;

use crate::{Error, Result};

/// A secret (an API key). Its `Debug` output is redacted and it has no `Display`, so it
/// cannot end up in logs or error messages by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Secret(secret.into())
    }

    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The model providers this crate speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProviderKind {
    /// Ollama's native `/api/chat` (`ollama`, the default).
    Ollama,
    /// OpenAI's chat completions (`openai`).
    OpenAi,
    /// Azure OpenAI deployments (`azure_openai`).
    AzureOpenAi,
    /// Anthropic's Messages API (`anthropic`).
    Anthropic,
    /// Google Gemini's `generateContent` (`gemini`).
    Gemini,
    /// Any server speaking OpenAI chat completions: vLLM, LM Studio, llama.cpp, Ollama's
    /// `/v1` (`openai_compatible`).
    OpenAiCompatible,
}

impl ProviderKind {
    /// Every provider, in the order the docs list them.
    pub const ALL: [ProviderKind; 6] = [
        ProviderKind::Ollama,
        ProviderKind::OpenAi,
        ProviderKind::AzureOpenAi,
        ProviderKind::Anthropic,
        ProviderKind::Gemini,
        ProviderKind::OpenAiCompatible,
    ];

    /// The name used in `LLM_PROVIDER`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Ollama => "ollama",
            ProviderKind::OpenAi => "openai",
            ProviderKind::AzureOpenAi => "azure_openai",
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::Gemini => "gemini",
            ProviderKind::OpenAiCompatible => "openai_compatible",
        }
    }

    /// Parses an `LLM_PROVIDER` value (case-insensitive, `-` accepted for `_`).
    pub fn parse(value: &str) -> Result<Self> {
        let wanted = value.trim().to_ascii_lowercase().replace('-', "_");
        ProviderKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == wanted)
            .ok_or_else(|| {
                let known: Vec<&str> = ProviderKind::ALL.iter().map(|k| k.as_str()).collect();
                Error::config(
                    "LLM_PROVIDER",
                    format!(
                        "unknown provider `{value}`; use one of {}",
                        known.join(", ")
                    ),
                )
            })
    }

    fn default_model(self) -> &'static str {
        match self {
            ProviderKind::Ollama => "llama3.2",
            ProviderKind::OpenAi | ProviderKind::AzureOpenAi => "gpt-4o-mini",
            ProviderKind::Anthropic => "claude-sonnet-4-5",
            ProviderKind::Gemini => "gemini-2.5-flash",
            // Replaced by the one model the server lists (`select_model`); a server that
            // lists several needs LLM_MODEL.
            ProviderKind::OpenAiCompatible => "default",
        }
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether the provider was asked for or fell back to the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderChoice {
    /// `LLM_PROVIDER` was set (or the builder named the provider): a failure is an error.
    Explicit,
    /// Nothing was configured and Ollama was assumed: if it does not answer, a caller may
    /// fall back to working without a model.
    Defaulted,
}

/// Timeouts and retries for talking to a provider.
#[derive(Debug, Clone, PartialEq)]
pub struct Transport {
    /// Time allowed to open a connection.
    pub connect_timeout: Duration,
    /// Time allowed for a whole non-streaming answer, and for a stream's first byte.
    pub request_timeout: Duration,
    /// Longest silence allowed between two chunks of a stream.
    pub stream_idle_timeout: Duration,
    /// Retries after the first attempt on 429, 5xx and connection errors.
    pub max_retries: u32,
    /// The first backoff; it doubles each retry (with jitter).
    pub initial_backoff: Duration,
    /// The longest backoff between two attempts.
    pub max_backoff: Duration,
    /// The longest `Retry-After` we honour; a longer one fails at once with
    /// [`Error::RateLimited`].
    pub max_retry_after: Duration,
}

impl Default for Transport {
    fn default() -> Self {
        Transport {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(120),
            stream_idle_timeout: Duration::from_secs(120),
            max_retries: 3,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(20),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

/// Everything needed to build a model: provider, model, endpoint, key and transport
/// settings. Build it with [`ProviderConfig::from_env`] or [`ProviderConfig::builder`].
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    kind: ProviderKind,
    choice: ProviderChoice,
    pub(crate) model: String,
    /// Whether the model was named (`LLM_MODEL`, the builder) rather than defaulted.
    pub(crate) model_given: bool,
    /// Ollama's context window (`num_ctx`), when known.
    pub(crate) context_window: Option<u32>,
    base_url: Url,
    api_key: Option<Secret>,
    azure_api_version: String,
    pub(crate) transport: Transport,
}

/// The smallest context window `OLLAMA_NUM_CTX` accepts: less cannot hold Kopilot's
/// instructions and a question.
const MIN_CONTEXT_WINDOW: u32 = 1024;

/// The Azure OpenAI API version used when `AZURE_OPENAI_API_VERSION` is not set.
pub const DEFAULT_AZURE_API_VERSION: &str = "2024-10-21";

impl ProviderConfig {
    /// Starts a configuration for `kind` (an explicit choice).
    pub fn builder(kind: ProviderKind) -> ProviderConfigBuilder {
        ProviderConfigBuilder {
            kind,
            choice: ProviderChoice::Explicit,
            model: None,
            context_window: None,
            base_url: None,
            api_key: None,
            azure_api_version: None,
            transport: Transport::default(),
        }
    }

    /// Reads the configuration from the process environment (see the crate docs for the
    /// variables).
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup` (a variable name to its value), so tests
    /// need not touch the process environment. Empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let (kind, choice) = match get("LLM_PROVIDER") {
            Some(value) => (ProviderKind::parse(&value)?, ProviderChoice::Explicit),
            None => (ProviderKind::Ollama, ProviderChoice::Defaulted),
        };
        let mut builder = ProviderConfig::builder(kind);
        builder.choice = choice;
        if let Some(model) = get("LLM_MODEL") {
            builder = builder.model(model);
        }
        let require = |name: &str, why: &str| {
            get(name).ok_or_else(|| Error::config(name, format!("not set; {why}")))
        };
        match kind {
            ProviderKind::Ollama => {
                if let Some(url) = get("OLLAMA_BASE_URL") {
                    builder = builder.base_url_from("OLLAMA_BASE_URL", &url);
                }
                if let Some(tokens) = get("OLLAMA_NUM_CTX") {
                    let tokens = parse_number::<u32>("OLLAMA_NUM_CTX", &tokens)?;
                    if tokens < MIN_CONTEXT_WINDOW {
                        return Err(Error::config(
                            "OLLAMA_NUM_CTX",
                            format!(
                                "{tokens} tokens is too small a context window; give at least {MIN_CONTEXT_WINDOW}"
                            ),
                        ));
                    }
                    builder = builder.context_window(tokens);
                }
            }
            ProviderKind::OpenAi => {
                builder = builder.api_key(require(
                    "OPENAI_API_KEY",
                    "the openai provider needs an API key",
                )?);
                if let Some(url) = get("OPENAI_BASE_URL") {
                    builder = builder.base_url_from("OPENAI_BASE_URL", &url);
                }
            }
            ProviderKind::OpenAiCompatible => {
                let url = require(
                    "OPENAI_BASE_URL",
                    "the openai_compatible provider needs the server's URL, e.g. http://127.0.0.1:8080/v1",
                )?;
                builder = builder.base_url_from("OPENAI_BASE_URL", &url);
                if let Some(key) = get("OPENAI_API_KEY") {
                    builder = builder.api_key(key);
                }
            }
            ProviderKind::AzureOpenAi => {
                let endpoint = require(
                    "AZURE_OPENAI_ENDPOINT",
                    "azure_openai needs the resource endpoint, e.g. https://NAME.openai.azure.com",
                )?;
                builder = builder.base_url_from("AZURE_OPENAI_ENDPOINT", &endpoint);
                builder = builder.api_key(require(
                    "AZURE_OPENAI_API_KEY",
                    "azure_openai needs an API key",
                )?);
                let deployment = get("AZURE_OPENAI_DEPLOYMENT")
                    .or_else(|| get("LLM_MODEL"))
                    .ok_or_else(|| {
                        Error::config(
                            "AZURE_OPENAI_DEPLOYMENT",
                            "not set; azure_openai needs the deployment name",
                        )
                    })?;
                builder = builder.model(deployment);
                if let Some(version) = get("AZURE_OPENAI_API_VERSION") {
                    builder = builder.azure_api_version(version);
                }
            }
            ProviderKind::Anthropic => {
                builder = builder.api_key(require(
                    "ANTHROPIC_API_KEY",
                    "the anthropic provider needs an API key",
                )?);
                if let Some(url) = get("ANTHROPIC_BASE_URL") {
                    builder = builder.base_url_from("ANTHROPIC_BASE_URL", &url);
                }
            }
            ProviderKind::Gemini => {
                builder = builder.api_key(require(
                    "GEMINI_API_KEY",
                    "the gemini provider needs an API key",
                )?);
                if let Some(model) = get("GEMINI_MODEL") {
                    builder = builder.model(model);
                }
                if let Some(url) = get("GEMINI_BASE_URL") {
                    builder = builder.base_url_from("GEMINI_BASE_URL", &url);
                }
            }
        }
        if let Some(secs) = get("LLM_TIMEOUT_SECS") {
            let secs = parse_number::<u64>("LLM_TIMEOUT_SECS", &secs)?;
            if secs == 0 {
                return Err(Error::config(
                    "LLM_TIMEOUT_SECS",
                    "must be at least 1 second",
                ));
            }
            builder = builder.timeout(Duration::from_secs(secs));
        }
        if let Some(retries) = get("LLM_MAX_RETRIES") {
            builder = builder.max_retries(parse_number("LLM_MAX_RETRIES", &retries)?);
        }
        builder.build()
    }

    /// The provider.
    pub fn kind(&self) -> ProviderKind {
        self.kind
    }

    /// Whether the provider was chosen explicitly or defaulted to Ollama.
    pub fn choice(&self) -> ProviderChoice {
        self.choice
    }

    /// The model (for Azure, the deployment).
    pub fn model(&self) -> &str {
        &self.model
    }

    /// Whether the model was named (`LLM_MODEL`, [`ProviderConfigBuilder::model`]) rather
    /// than left to the provider's default.
    pub fn model_given(&self) -> bool {
        self.model_given
    }

    /// The context window sent to Ollama as `num_ctx` (`OLLAMA_NUM_CTX`, or what
    /// [`select_model`](crate::select_model) read from the model), if any.
    pub fn context_window(&self) -> Option<u32> {
        self.context_window
    }

    /// The base URL requests go to, as configured (normalised by URL parsing).
    pub fn base_url(&self) -> &str {
        self.base_url.as_str()
    }

    /// The parsed base URL, for the providers.
    #[cfg_attr(not(feature = "providers"), allow(dead_code))]
    pub(crate) fn base(&self) -> &Url {
        &self.base_url
    }

    /// The API key, if any.
    pub fn api_key(&self) -> Option<&Secret> {
        self.api_key.as_ref()
    }

    /// The Azure OpenAI `api-version`.
    pub fn azure_api_version(&self) -> &str {
        &self.azure_api_version
    }

    /// Timeouts and retries.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }
}

fn parse_number<T: std::str::FromStr>(name: &str, value: &str) -> Result<T> {
    value
        .parse()
        .map_err(|_| Error::config(name, format!("`{value}` is not a whole number")))
}

fn parse_url(setting: &str, value: &str) -> Result<Url> {
    let url = Url::parse(value.trim())
        .map_err(|err| Error::config(setting, format!("`{value}` is not a URL: {err}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::config(
            setting,
            format!("`{value}` must be an http or https URL, e.g. http://127.0.0.1:8080"),
        ));
    }
    Ok(url)
}

/// Builds a [`ProviderConfig`] in code.
#[derive(Debug, Clone)]
#[must_use]
pub struct ProviderConfigBuilder {
    kind: ProviderKind,
    choice: ProviderChoice,
    model: Option<String>,
    context_window: Option<u32>,
    /// The base URL as given, with the setting it came from (for error messages).
    base_url: Option<(String, String)>,
    api_key: Option<Secret>,
    azure_api_version: Option<String>,
    pub(crate) transport: Transport,
}

impl ProviderConfigBuilder {
    /// The model (for Azure, the deployment name).
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// Ollama's context window in tokens (`num_ctx`). Without it Ollama uses its own small
    /// default and silently drops the start of a longer conversation (the question, early
    /// tool results).
    pub fn context_window(mut self, tokens: u32) -> Self {
        self.context_window = Some(tokens);
        self
    }

    /// The base URL: Ollama's root, the OpenAI base including `/v1`, the Azure resource
    /// endpoint, Anthropic's or Gemini's root (a trailing `/v1` or `/v1beta` is accepted).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(("base_url".to_owned(), url.into()));
        self
    }

    fn base_url_from(mut self, variable: &str, url: &str) -> Self {
        self.base_url = Some((variable.to_owned(), url.to_owned()));
        self
    }

    /// The API key.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(Secret::new(key));
        self
    }

    /// The Azure OpenAI `api-version` (default [`DEFAULT_AZURE_API_VERSION`]).
    pub fn azure_api_version(mut self, version: impl Into<String>) -> Self {
        self.azure_api_version = Some(version.into());
        self
    }

    /// The request timeout and the stream idle timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.transport.request_timeout = timeout;
        self.transport.stream_idle_timeout = timeout;
        self
    }

    /// Retries after the first attempt.
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.transport.max_retries = retries;
        self
    }

    /// All timeout and retry settings at once.
    pub fn transport(mut self, transport: Transport) -> Self {
        self.transport = transport;
        self
    }

    /// Checks and finishes the configuration.
    pub fn build(self) -> Result<ProviderConfig> {
        let kind = self.kind;
        let base_url = match &self.base_url {
            Some((setting, value)) => parse_url(setting, value)?,
            None => default_base_url(kind)?,
        };
        let needs_key = matches!(
            kind,
            ProviderKind::OpenAi
                | ProviderKind::AzureOpenAi
                | ProviderKind::Anthropic
                | ProviderKind::Gemini
        );
        if needs_key
            && self
                .api_key
                .as_ref()
                .is_none_or(|k| k.expose().trim().is_empty())
        {
            return Err(Error::config(
                "api_key",
                format!("the {kind} provider needs an API key"),
            ));
        }
        let model_given = self.model.is_some();
        let model = self
            .model
            .unwrap_or_else(|| kind.default_model().to_owned());
        if model.trim().is_empty() {
            return Err(Error::config("model", "must not be empty"));
        }
        Ok(ProviderConfig {
            kind,
            choice: self.choice,
            model,
            model_given,
            context_window: self.context_window,
            base_url,
            api_key: self.api_key,
            azure_api_version: self
                .azure_api_version
                .unwrap_or_else(|| DEFAULT_AZURE_API_VERSION.to_owned()),
            transport: self.transport,
        })
    }
}

fn default_base_url(kind: ProviderKind) -> Result<Url> {
    let (setting, url) = match kind {
        ProviderKind::Ollama => ("OLLAMA_BASE_URL", "http://localhost:11434"),
        ProviderKind::OpenAi => ("OPENAI_BASE_URL", "https://api.openai.com/v1"),
        ProviderKind::Anthropic => ("ANTHROPIC_BASE_URL", "https://api.anthropic.com"),
        ProviderKind::Gemini => (
            "GEMINI_BASE_URL",
            "https://generativelanguage.googleapis.com",
        ),
        ProviderKind::AzureOpenAi => {
            return Err(Error::config(
                "AZURE_OPENAI_ENDPOINT",
                "azure_openai needs the resource endpoint",
            ));
        }
        ProviderKind::OpenAiCompatible => {
            return Err(Error::config(
                "OPENAI_BASE_URL",
                "openai_compatible needs the server's URL",
            ));
        }
    };
    parse_url(setting, url)
}
