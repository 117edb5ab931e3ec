//! Ollama's native chat API (`/api/chat`, NDJSON streaming).

pub(crate) mod wire;

use std::sync::Arc;

use reqwest::header::HeaderMap;
use serde_json::Value;
use url::Url;

use super::framing::{Framing, StreamDecoder};
use super::http::RequestContext;
use super::{CallIds, Wire, join_path};
use crate::Result;
use crate::config::ProviderConfig;
use crate::message::ChatRequest;
use crate::response::ChatResponse;

pub(crate) struct OllamaWire {
    base: Url,
    model: String,
    context_window: Option<u32>,
    ids: Arc<CallIds>,
}

impl OllamaWire {
    pub(crate) fn new(config: &ProviderConfig) -> Self {
        OllamaWire {
            base: config.base().clone(),
            model: config.model().to_owned(),
            context_window: config.context_window(),
            ids: CallIds::new("ollama"),
        }
    }

    pub(crate) fn probe_url(&self) -> Url {
        join_path(&self.base, "api/version")
    }

    /// Where the model's details are (`POST {"model": ...}`).
    pub(crate) fn show_url(&self) -> Url {
        join_path(&self.base, "api/show")
    }
}

/// The context length the model was trained for, from an `/api/show` answer
/// (`model_info["<architecture>.context_length"]`).
pub(crate) fn trained_context(show: &Value) -> Option<u64> {
    show.get("model_info")?
        .as_object()?
        .iter()
        .find(|(key, _)| key.ends_with(".context_length"))
        .and_then(|(_, value)| value.as_u64())
}

impl Wire for OllamaWire {
    fn chat_url(&self, _stream: bool) -> Url {
        join_path(&self.base, "api/chat")
    }

    fn headers(&self) -> HeaderMap {
        HeaderMap::new()
    }

    fn body(&self, request: &ChatRequest, stream: bool) -> Value {
        wire::request_body(request, &self.model, stream, self.context_window)
    }

    fn parse_response(&self, body: &str, context: &RequestContext) -> Result<ChatResponse> {
        wire::parse_response(body, context, &self.ids)
    }

    fn framing(&self) -> Framing {
        Framing::Ndjson
    }

    fn decoder(&self, context: RequestContext) -> Box<dyn StreamDecoder> {
        Box::new(wire::LineDecoder::new(context, Arc::clone(&self.ids)))
    }
}
