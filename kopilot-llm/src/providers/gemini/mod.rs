//! Google Gemini's `generateContent` / `streamGenerateContent?alt=sse`.

mod schema;
pub(crate) mod wire;

use std::sync::Arc;

use reqwest::header::HeaderMap;
use serde_json::Value;
use url::Url;

use super::framing::{Framing, StreamDecoder};
use super::http::RequestContext;
use super::{CallIds, Wire, join_path, secret_header};
use crate::Result;
use crate::config::ProviderConfig;
use crate::message::ChatRequest;
use crate::response::ChatResponse;

pub(crate) struct GeminiWire {
    /// The API root including the version (`/v1beta`).
    api: Url,
    model: String,
    headers: HeaderMap,
    ids: Arc<CallIds>,
}

impl GeminiWire {
    pub(crate) fn new(config: &ProviderConfig) -> Result<Self> {
        let mut headers = HeaderMap::new();
        if let Some(key) = config.api_key() {
            secret_header(
                &mut headers,
                "x-goog-api-key",
                key.expose(),
                "GEMINI_API_KEY",
            )?;
        }
        let base = config.base();
        let path = base.path().trim_end_matches('/');
        // Accept the root or a gateway URL that already names the version.
        let api = if path.ends_with("/v1beta") || path.ends_with("/v1") {
            base.clone()
        } else {
            join_path(base, "v1beta")
        };
        Ok(GeminiWire {
            api,
            model: config.model().trim_start_matches("models/").to_owned(),
            headers,
            ids: CallIds::new("gemini"),
        })
    }

    pub(crate) fn probe_url(&self) -> Url {
        join_path(&self.api, "models")
    }
}

impl Wire for GeminiWire {
    fn chat_url(&self, stream: bool) -> Url {
        if stream {
            let mut url = join_path(
                &self.api,
                &format!("models/{}:streamGenerateContent", self.model),
            );
            url.set_query(Some("alt=sse"));
            url
        } else {
            join_path(&self.api, &format!("models/{}:generateContent", self.model))
        }
    }

    fn headers(&self) -> HeaderMap {
        self.headers.clone()
    }

    fn body(&self, request: &ChatRequest, _stream: bool) -> Value {
        wire::request_body(request)
    }

    fn parse_response(&self, body: &str, context: &RequestContext) -> Result<ChatResponse> {
        wire::parse_response(body, context, &self.ids)
    }

    fn framing(&self) -> Framing {
        Framing::Sse
    }

    fn decoder(&self, context: RequestContext) -> Box<dyn StreamDecoder> {
        Box::new(wire::ChunkDecoder::new(context, Arc::clone(&self.ids)))
    }
}
