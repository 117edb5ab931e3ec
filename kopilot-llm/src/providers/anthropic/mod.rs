//! Anthropic's Messages API (`/v1/messages`, SSE streaming).

pub(crate) mod wire;

use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::Value;
use url::Url;

use super::framing::{Framing, StreamDecoder};
use super::http::RequestContext;
use super::{Wire, join_path, secret_header};
use crate::Result;
use crate::config::ProviderConfig;
use crate::message::ChatRequest;
use crate::response::ChatResponse;

/// The API version header every request carries.
const ANTHROPIC_VERSION: &str = "2023-06-01";

pub(crate) struct AnthropicWire {
    /// The API root including `/v1`.
    api: Url,
    model: String,
    headers: HeaderMap,
}

impl AnthropicWire {
    pub(crate) fn new(config: &ProviderConfig) -> Result<Self> {
        let mut headers = HeaderMap::new();
        if let Some(key) = config.api_key() {
            secret_header(&mut headers, "x-api-key", key.expose(), "ANTHROPIC_API_KEY")?;
        }
        headers.insert(
            "anthropic-version",
            HeaderValue::from_static(ANTHROPIC_VERSION),
        );
        let base = config.base();
        // Accept both `https://api.anthropic.com` and a gateway URL ending in `/v1`.
        let api = if base.path().trim_end_matches('/').ends_with("/v1") {
            base.clone()
        } else {
            join_path(base, "v1")
        };
        Ok(AnthropicWire {
            api,
            model: config.model().to_owned(),
            headers,
        })
    }

    pub(crate) fn probe_url(&self) -> Url {
        join_path(&self.api, "models")
    }
}

impl Wire for AnthropicWire {
    fn chat_url(&self, _stream: bool) -> Url {
        join_path(&self.api, "messages")
    }

    fn headers(&self) -> HeaderMap {
        self.headers.clone()
    }

    fn body(&self, request: &ChatRequest, stream: bool) -> Value {
        wire::request_body(request, &self.model, stream)
    }

    fn parse_response(&self, body: &str, context: &RequestContext) -> Result<ChatResponse> {
        wire::parse_response(body, context)
    }

    fn framing(&self) -> Framing {
        Framing::Sse
    }

    fn decoder(&self, context: RequestContext) -> Box<dyn StreamDecoder> {
        Box::new(wire::EventDecoder::new(context))
    }
}
