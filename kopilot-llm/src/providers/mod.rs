//! The HTTP providers: one generic model over a per-provider wire format.

mod anthropic;
mod framing;
mod gemini;
mod http;
mod ollama;
mod openai;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use url::Url;

use crate::config::{ProviderConfig, ProviderKind};
use crate::message::ChatRequest;
use crate::model::{ChatModel, ChatStream};
use crate::response::{ChatResponse, response_to_events};
use crate::{Error, Result};

use framing::{Framing, StreamDecoder};
use http::{HttpClient, RequestContext, display_url};

/// Builds the model `config` describes.
///
/// ```no_run
/// # async fn demo() -> kopilot_llm::Result<()> {
/// use kopilot_llm::{ChatModel, ChatRequest, Message, ProviderConfig, build_model};
/// let model = build_model(&ProviderConfig::from_env()?)?;
/// let answer = model.chat(&ChatRequest::new(vec![Message::user("hello")])).await?;
/// println!("{}", answer.text);
/// # Ok(()) }
/// ```
pub fn build_model(config: &ProviderConfig) -> Result<Arc<dyn ChatModel>> {
    Ok(match config.kind() {
        ProviderKind::OpenAi | ProviderKind::OpenAiCompatible | ProviderKind::AzureOpenAi => {
            Arc::new(HttpModel::new(config, openai::OpenAiWire::new(config)?)?)
        }
        ProviderKind::Ollama => Arc::new(HttpModel::new(config, ollama::OllamaWire::new(config))?),
        ProviderKind::Anthropic => Arc::new(HttpModel::new(
            config,
            anthropic::AnthropicWire::new(config)?,
        )?),
        ProviderKind::Gemini => Arc::new(HttpModel::new(config, gemini::GeminiWire::new(config)?)?),
    })
}

/// A cheap check that the provider answers and accepts our credentials, without generating
/// anything: Ollama `GET /api/version`, OpenAI-compatible `GET {base}/models`, Azure
/// `GET /openai/models`, Anthropic `GET /v1/models`, Gemini `GET /v1beta/models`.
///
/// Use it to tell "nothing configured and no local Ollama running" (fall back to working
/// without a model) from a configured provider that fails.
pub async fn probe(config: &ProviderConfig) -> Result<()> {
    let (url, headers) = match config.kind() {
        ProviderKind::OpenAi | ProviderKind::OpenAiCompatible | ProviderKind::AzureOpenAi => {
            let wire = openai::OpenAiWire::new(config)?;
            (wire.probe_url(), wire.headers())
        }
        ProviderKind::Ollama => {
            let wire = ollama::OllamaWire::new(config);
            (wire.probe_url(), wire.headers())
        }
        ProviderKind::Anthropic => {
            let wire = anthropic::AnthropicWire::new(config)?;
            (wire.probe_url(), wire.headers())
        }
        ProviderKind::Gemini => {
            let wire = gemini::GeminiWire::new(config)?;
            (wire.probe_url(), wire.headers())
        }
    };
    let context = RequestContext {
        provider: config.kind(),
        model: config.model().to_owned(),
        url: display_url(&url),
    };
    HttpClient::new(config.transport())?
        .get(&url, &headers, &context)
        .await
}

/// The model to answer with, or why there is none; see [`select_model`].
#[derive(Clone)]
pub enum ModelSelection {
    /// A provider was configured, or the default local Ollama answered.
    Model(Arc<dyn ChatModel>),
    /// Nothing was configured and the default Ollama did not answer: the caller may work
    /// without a model (Kopilot's offline mode). `reason` says so in one line.
    Unavailable {
        /// Why there is no model, for the user.
        reason: String,
    },
}

impl std::fmt::Debug for ModelSelection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Model(model) => f.debug_tuple("Model").field(&model.model()).finish(),
            Self::Unavailable { reason } => f
                .debug_struct("Unavailable")
                .field("reason", reason)
                .finish(),
        }
    }
}

/// Picks the model for `config`, telling "nothing configured" from "configured and broken".
///
/// With an explicit provider ([`ProviderChoice::Explicit`](crate::ProviderChoice)) the model
/// is built without a probe: when that provider fails, the caller sees the provider's own
/// error at the first call, never a silent fallback. With nothing configured, the default
/// Ollama is probed once (no retries, a 2-second connect timeout); when it does not answer,
/// the result is [`ModelSelection::Unavailable`] with the reason.
///
/// ```no_run
/// # async fn demo() -> kopilot_llm::Result<()> {
/// use kopilot_llm::{ModelSelection, ProviderConfig, select_model};
/// match select_model(&ProviderConfig::from_env()?).await? {
///     ModelSelection::Model(model) => println!("answering with {}", model.model()),
///     ModelSelection::Unavailable { reason } => println!("offline: {reason}"),
/// }
/// # Ok(()) }
/// ```
pub async fn select_model(config: &ProviderConfig) -> Result<ModelSelection> {
    if config.choice() == crate::ProviderChoice::Defaulted {
        let mut quick = config.clone();
        quick.transport.max_retries = 0;
        quick.transport.connect_timeout = quick
            .transport
            .connect_timeout
            .min(std::time::Duration::from_secs(2));
        quick.transport.request_timeout = quick
            .transport
            .request_timeout
            .min(std::time::Duration::from_secs(5));
        if let Err(err) = probe(&quick).await {
            return Ok(ModelSelection::Unavailable {
                reason: format!(
                    "no model: LLM_PROVIDER is not set and no Ollama answers at {} ({err})",
                    config.base_url()
                ),
            });
        }
    }
    let config = completed(config).await?;
    Ok(ModelSelection::Model(build_model(&config)?))
}

/// The largest context window [`select_model`] sends Ollama on its own (from the model's
/// trained length): larger windows cost a lot of memory on the machine that runs Ollama, so
/// going beyond it is asked for with `OLLAMA_NUM_CTX`.
pub const OLLAMA_AUTO_CONTEXT_WINDOW: u32 = 32_768;

/// What the configuration leaves for the server to say: Ollama's context window (the model's
/// trained length, at most [`OLLAMA_AUTO_CONTEXT_WINDOW`]) and an OpenAI-compatible server's
/// model when `LLM_MODEL` is not set (the one model it lists).
async fn completed(config: &ProviderConfig) -> Result<ProviderConfig> {
    let mut config = config.clone();
    match config.kind() {
        ProviderKind::Ollama if config.context_window.is_none() => {
            match ollama_trained_context(&config).await {
                Ok(Some(tokens)) => {
                    let tokens = u32::try_from(tokens).unwrap_or(u32::MAX);
                    config.context_window = Some(tokens.min(OLLAMA_AUTO_CONTEXT_WINDOW));
                }
                Ok(None) => tracing::warn!(
                    model = config.model(),
                    "Ollama did not say the model's context length; its default context window \
                     applies (set OLLAMA_NUM_CTX)"
                ),
                Err(err) => tracing::warn!(
                    model = config.model(),
                    "could not read the model's context length from Ollama ({err}); its default \
                     context window applies (set OLLAMA_NUM_CTX)"
                ),
            }
        }
        ProviderKind::OpenAiCompatible if !config.model_given => {
            config.model = served_model(&config).await?;
        }
        _ => {}
    }
    Ok(config)
}

async fn ollama_trained_context(config: &ProviderConfig) -> Result<Option<u64>> {
    let wire = ollama::OllamaWire::new(config);
    let url = wire.show_url();
    let context = RequestContext {
        provider: config.kind(),
        model: config.model().to_owned(),
        url: display_url(&url),
    };
    let body = serde_json::json!({ "model": config.model() });
    let text = HttpClient::new(config.transport())?
        .post_once(&url, &wire.headers(), &body, &context)
        .await?;
    let show: Value = parse_json(&text, "Ollama's /api/show answer")?;
    Ok(ollama::trained_context(&show))
}

/// The one model an OpenAI-compatible server lists at `GET {base}/models`.
async fn served_model(config: &ProviderConfig) -> Result<String> {
    let wire = openai::OpenAiWire::new(config)?;
    let url = wire.probe_url();
    let context = RequestContext {
        provider: config.kind(),
        model: config.model().to_owned(),
        url: display_url(&url),
    };
    let unlisted = |why: String| {
        Error::config(
            "LLM_MODEL",
            format!(
                "not set, and the server's model list at {} could not be read ({why}); set \
                 LLM_MODEL to the model to use",
                context.url
            ),
        )
    };
    let text = HttpClient::new(config.transport())?
        .get_text(&url, &wire.headers(), &context)
        .await
        .map_err(|err| unlisted(err.to_string()))?;
    let list: Value = serde_json::from_str(&text).map_err(|err| unlisted(err.to_string()))?;
    let ids: Vec<&str> = list
        .get("data")
        .and_then(Value::as_array)
        .map(|models| {
            models
                .iter()
                .filter_map(|m| m.get("id").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    match ids.as_slice() {
        [one] => Ok((*one).to_owned()),
        [] => Err(unlisted("it lists no models".to_owned())),
        many => Err(Error::config(
            "LLM_MODEL",
            format!(
                "not set, and the server at {} serves {} models: {}; set LLM_MODEL to one of them",
                context.url,
                many.len(),
                many.join(", ")
            ),
        )),
    }
}

/// One provider's wire format: where requests go, what they look like, how answers parse.
pub(crate) trait Wire: Send + Sync + 'static {
    /// The URL of a chat request.
    fn chat_url(&self, stream: bool) -> Url;
    /// The headers every request carries (keys marked sensitive).
    fn headers(&self) -> HeaderMap;
    /// The request body.
    fn body(&self, request: &ChatRequest, stream: bool) -> Value;
    /// Parses a complete (non-streaming) answer.
    fn parse_response(&self, body: &str, context: &RequestContext) -> Result<ChatResponse>;
    /// How the stream is framed.
    fn framing(&self) -> Framing;
    /// A fresh parser for one streamed answer.
    fn decoder(&self, context: RequestContext) -> Box<dyn StreamDecoder>;
}

/// A [`ChatModel`] speaking HTTP through a [`Wire`] format.
struct HttpModel<W> {
    wire: W,
    http: HttpClient,
    headers: HeaderMap,
    kind: ProviderKind,
    model: String,
}

impl<W: Wire> HttpModel<W> {
    fn new(config: &ProviderConfig, wire: W) -> Result<Self> {
        Ok(HttpModel {
            headers: wire.headers(),
            wire,
            http: HttpClient::new(config.transport())?,
            kind: config.kind(),
            model: config.model().to_owned(),
        })
    }

    fn context(&self, url: &Url) -> RequestContext {
        RequestContext {
            provider: self.kind,
            model: self.model.clone(),
            url: display_url(url),
        }
    }
}

#[async_trait]
impl<W: Wire> ChatModel for HttpModel<W> {
    fn model(&self) -> &str {
        &self.model
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse> {
        let url = self.wire.chat_url(false);
        let context = self.context(&url);
        let body = self.wire.body(request, false);
        let text = self
            .http
            .post_json(&url, &self.headers, &body, &context)
            .await?;
        let response = self.wire.parse_response(&text, &context)?;
        tracing::debug!(provider = %self.kind, usage = ?response.usage, finish = ?response.finish_reason, "model answered");
        Ok(response)
    }

    async fn chat_stream(&self, request: &ChatRequest) -> Result<ChatStream> {
        let url = self.wire.chat_url(true);
        let context = self.context(&url);
        let body = self.wire.body(request, true);
        let response = self
            .http
            .post_stream(&url, &self.headers, &body, &context)
            .await?;
        if self.wire.framing() == Framing::Sse && is_json(&response) {
            // A server (or proxy) that ignored `stream` sent the whole answer at once.
            let text = self.http.read_body(response, &context).await?;
            let whole = self.wire.parse_response(&text, &context)?;
            let events = response_to_events(&whole, usize::MAX).into_iter().map(Ok);
            return Ok(Box::pin(futures::stream::iter(events)));
        }
        let idle = self.http.transport().stream_idle_timeout;
        Ok(framing::event_stream(
            response,
            self.wire.framing(),
            self.wire.decoder(context.clone()),
            idle,
            context.url,
        ))
    }
}

fn is_json(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.trim_start().starts_with("application/json"))
}

/// Ids for tool calls of providers that give none: `{prefix}-call-{n}`, counting per model.
#[derive(Debug)]
pub(crate) struct CallIds {
    prefix: &'static str,
    next: AtomicU64,
}

impl CallIds {
    pub(crate) fn new(prefix: &'static str) -> Arc<Self> {
        Arc::new(CallIds {
            prefix,
            next: AtomicU64::new(1),
        })
    }

    pub(crate) fn next(&self) -> String {
        format!(
            "{}-call-{}",
            self.prefix,
            self.next.fetch_add(1, Ordering::Relaxed)
        )
    }
}

/// A header holding a key, marked sensitive so it is never printed.
pub(crate) fn secret_header(
    headers: &mut HeaderMap,
    name: &'static str,
    value: &str,
    setting: &str,
) -> Result<()> {
    let mut value = HeaderValue::from_str(value).map_err(|_| {
        Error::config(
            setting,
            "contains characters that cannot be sent in an HTTP header",
        )
    })?;
    value.set_sensitive(true);
    headers.insert(HeaderName::from_static(name), value);
    Ok(())
}

/// `base` with `segments` appended to its path (a trailing `/` on `base` is ignored).
pub(crate) fn join_path(base: &Url, segments: &str) -> Url {
    let mut url = base.clone();
    let path = format!(
        "{}/{}",
        base.path().trim_end_matches('/'),
        segments.trim_start_matches('/')
    );
    url.set_path(&path);
    url
}

/// Sets `key` on a JSON object (bodies are built as objects; anything else is left alone).
pub(crate) fn set(object: &mut Value, key: &str, value: Value) {
    if let Some(map) = object.as_object_mut() {
        map.insert(key.to_owned(), value);
    }
}

/// Parses a JSON body or fails with an excerpt of it.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(body: &str, what: &str) -> Result<T> {
    serde_json::from_str(body).map_err(|err| {
        Error::invalid_response(format!("{what} is not what was expected: {err}"), body)
    })
}
