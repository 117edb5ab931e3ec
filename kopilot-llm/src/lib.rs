//! Kopilot's model layer: one [`ChatModel`] trait with streaming tool calls, and providers
//! for the models people already run.
//!
//! ```no_run
//! use kopilot_llm::{ChatModel, ChatRequest, Message, ProviderConfig, ToolSpec, build_model};
//! use serde_json::json;
//!
//! # async fn demo() -> kopilot_llm::Result<()> {
//! // LLM_PROVIDER=ollama|openai|azure_openai|anthropic|gemini|openai_compatible, LLM_MODEL, ...
//! let model = build_model(&ProviderConfig::from_env()?)?;
//! let request = ChatRequest::new(vec![Message::user("Which pods in `shop` are failing?")])
//!     .with_system("You are a careful Kubernetes operator.")
//!     .with_tools(vec![ToolSpec::new(
//!         "run_kubectl",
//!         "Run a read-only kubectl command",
//!         json!({"type": "object", "properties": {"args": {"type": "string"}}, "required": ["args"]}),
//!     )]);
//! let answer = model.chat(&request).await?;
//! for call in &answer.tool_calls {
//!     println!("{} wants {}({})", model.model(), call.name, call.arguments.to_json_text());
//! }
//! # Ok(()) }
//! ```
//!
//! # The contract
//!
//! - A [`ChatRequest`] carries the system prompt, the [`Message`]s, the [`ToolSpec`]s and
//!   the sampling settings. [`ChatModel::chat`] returns a [`ChatResponse`];
//!   [`ChatModel::chat_stream`] returns a [`ChatStream`] of [`StreamEvent`]s, which
//!   [`collect_stream`] (or a [`ResponseCollector`]) folds into the same response.
//! - Several tool calls in one turn stay apart by index and id; their arguments are
//!   reassembled across chunks; arguments that are not a JSON object come back as
//!   [`ToolArguments::Invalid`] with the raw text, without failing the other calls.
//! - A stream that ends before the provider says the answer is complete is an
//!   [`Error::StreamInterrupted`], never a silently short answer. Dropping a future or a
//!   stream cancels the request.
//!
//! # Providers and their variables
//!
//! | `LLM_PROVIDER` | wire | variables |
//! |---|---|---|
//! | `ollama` (default) | `/api/chat`, NDJSON | `OLLAMA_BASE_URL` (default `http://localhost:11434`), `OLLAMA_NUM_CTX` |
//! | `openai` | `/v1/chat/completions`, SSE | `OPENAI_API_KEY`, `OPENAI_BASE_URL` (default `https://api.openai.com/v1`) |
//! | `openai_compatible` | same, any server | `OPENAI_BASE_URL` (required), `OPENAI_API_KEY` (optional) |
//! | `azure_openai` | `/openai/deployments/{d}/chat/completions` | `AZURE_OPENAI_ENDPOINT`, `AZURE_OPENAI_API_KEY`, `AZURE_OPENAI_DEPLOYMENT`, `AZURE_OPENAI_API_VERSION` |
//! | `anthropic` | `/v1/messages`, SSE | `ANTHROPIC_API_KEY`, `ANTHROPIC_BASE_URL` |
//! | `gemini` | `generateContent`, SSE | `GEMINI_API_KEY`, `GEMINI_MODEL`, `GEMINI_BASE_URL` |
//!
//! All of them: `LLM_MODEL`, `LLM_TIMEOUT_SECS` (request and stream-idle timeout, default
//! 120), `LLM_MAX_RETRIES` (default 3).
//!
//! # Features
//!
//! - `providers` (default): the HTTP providers, [`build_model`] and [`probe`]. Without it
//!   only the contract compiles, for crates that bring their own provider.
//! - `test-util`: `ScriptedModel` (a deterministic model replaying a script) and the mockall
//!   mock `MockChatModel`.
//! - `fake-server`: `fake_server`, a scripted OpenAI-compatible HTTP server on a local
//!   address (axum), for tests of adapters that talk to a model over HTTP.

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

mod config;
mod error;
#[cfg(feature = "fake-server")]
pub mod fake_server;
mod message;
mod model;
#[cfg(feature = "providers")]
mod providers;
mod response;
#[cfg(feature = "test-util")]
mod scripted;

pub use config::{
    DEFAULT_AZURE_API_VERSION, ProviderChoice, ProviderConfig, ProviderConfigBuilder, ProviderKind,
    Secret, Transport,
};
pub use error::{Error, Result};
pub use message::{ChatRequest, Message, ToolArguments, ToolCall, ToolSpec};
#[cfg(feature = "test-util")]
pub use model::MockChatModel;
pub use model::{ChatModel, ChatStream};
#[cfg(feature = "providers")]
pub use providers::{ModelSelection, OLLAMA_AUTO_CONTEXT_WINDOW, build_model, probe, select_model};
pub use response::{
    ChatResponse, FinishReason, ResponseCollector, StreamEvent, Usage, collect_stream,
    response_to_events,
};
#[cfg(feature = "test-util")]
pub use scripted::{ScriptedModel, ScriptedReply};
