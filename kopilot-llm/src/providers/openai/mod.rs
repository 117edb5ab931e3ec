//! OpenAI chat completions, for OpenAI itself, Azure OpenAI deployments, and any
//! OpenAI-compatible server (vLLM, LM Studio, llama.cpp, Ollama's `/v1`).

pub(crate) mod wire;

use std::sync::Arc;

use reqwest::header::HeaderMap;
use serde_json::Value;
use url::Url;

use super::framing::{Framing, StreamDecoder};
use super::http::RequestContext;
use super::{CallIds, Wire, join_path, secret_header};
use crate::Result;
use crate::config::{ProviderConfig, ProviderKind};
use crate::message::ChatRequest;
use crate::response::ChatResponse;

/// Which flavour of the API: they differ in URL, auth header and token-limit field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavour {
    OpenAi,
    Azure,
    Compatible,
}

pub(crate) struct OpenAiWire {
    flavour: Flavour,
    base: Url,
    model: String,
    azure_api_version: String,
    headers: HeaderMap,
    ids: Arc<CallIds>,
}

impl OpenAiWire {
    pub(crate) fn new(config: &ProviderConfig) -> Result<Self> {
        let flavour = match config.kind() {
            ProviderKind::AzureOpenAi => Flavour::Azure,
            ProviderKind::OpenAi => Flavour::OpenAi,
            _ => Flavour::Compatible,
        };
        let mut headers = HeaderMap::new();
        if let Some(key) = config.api_key() {
            match flavour {
                Flavour::Azure => {
                    secret_header(
                        &mut headers,
                        "api-key",
                        key.expose(),
                        "AZURE_OPENAI_API_KEY",
                    )?;
                }
                Flavour::OpenAi | Flavour::Compatible => secret_header(
                    &mut headers,
                    "authorization",
                    &format!("Bearer {}", key.expose()),
                    "OPENAI_API_KEY",
                )?,
            }
        }
        let mut base = config.base().clone();
        // `http://127.0.0.1:8080` means the server's `/v1`, as every OpenAI client assumes.
        if flavour != Flavour::Azure && base.path().trim_matches('/').is_empty() {
            base.set_path("/v1");
        }
        Ok(OpenAiWire {
            flavour,
            base,
            model: config.model().to_owned(),
            azure_api_version: config.azure_api_version().to_owned(),
            headers,
            ids: CallIds::new("openai"),
        })
    }

    pub(crate) fn probe_url(&self) -> Url {
        match self.flavour {
            Flavour::Azure => self.with_api_version(join_path(&self.base, "openai/models")),
            Flavour::OpenAi | Flavour::Compatible => join_path(&self.base, "models"),
        }
    }

    fn with_api_version(&self, mut url: Url) -> Url {
        url.query_pairs_mut()
            .append_pair("api-version", &self.azure_api_version);
        url
    }
}

impl Wire for OpenAiWire {
    fn chat_url(&self, _stream: bool) -> Url {
        match self.flavour {
            Flavour::Azure => {
                let path = format!("openai/deployments/{}/chat/completions", self.model);
                self.with_api_version(join_path(&self.base, &path))
            }
            Flavour::OpenAi | Flavour::Compatible => join_path(&self.base, "chat/completions"),
        }
    }

    fn headers(&self) -> HeaderMap {
        self.headers.clone()
    }

    fn body(&self, request: &ChatRequest, stream: bool) -> Value {
        let options = wire::BodyOptions {
            // Azure takes the model from the deployment in the URL.
            model: (self.flavour != Flavour::Azure).then_some(self.model.as_str()),
            // OpenAI's newer models reject `max_tokens`; local servers know only it.
            max_tokens_field: match self.flavour {
                Flavour::OpenAi | Flavour::Azure => "max_completion_tokens",
                Flavour::Compatible => "max_tokens",
            },
            stream,
        };
        wire::request_body(request, &options)
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
