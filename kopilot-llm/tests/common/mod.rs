//! The conformance harness every provider test uses: one description per provider (paths,
//! fixtures, ids), the request every test sends, the answers every fixture encodes, and a
//! raw HTTP server for streams that stall or break.

// Each test binary uses a different part of the harness.
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::time::Duration;

use kopilot_llm::{
    ChatModel, ChatRequest, ChatResponse, ChatStream, FinishReason, Message, ProviderConfig,
    ProviderKind, StreamEvent, ToolArguments, ToolCall, ToolSpec, Transport, Usage,
};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// What the conformance suite needs to know about one provider.
#[derive(Debug, Clone, Copy)]
pub struct Provider {
    pub kind: ProviderKind,
    /// Folder under `tests/fixtures`.
    pub fixtures: &'static str,
    /// Stream fixture extension and content type.
    pub stream_ext: &'static str,
    pub stream_content_type: &'static str,
    pub model: &'static str,
    pub api_key: Option<&'static str>,
    /// The ids the tool-call fixtures carry, or `None` when the provider sends none.
    pub call_ids: Option<[&'static str; 2]>,
    /// Whether the provider has a documented "context too long" error to replay.
    pub has_context_error: bool,
    /// Whether its wire can carry arguments that are not valid JSON (string arguments, or
    /// Anthropic's fragments cut by `max_tokens`).
    pub has_invalid_arguments: bool,
}

const SSE: &str = "text/event-stream";

pub const OPENAI: Provider = Provider {
    kind: ProviderKind::OpenAi,
    fixtures: "openai",
    stream_ext: "sse",
    stream_content_type: SSE,
    model: "gpt-4o-mini",
    api_key: Some("sk-test-0123456789abcdef"),
    call_ids: Some(["call_Q1a2B3c4", "call_X9y8Z7w6"]),
    has_context_error: true,
    has_invalid_arguments: true,
};

pub const OPENAI_COMPATIBLE: Provider = Provider {
    kind: ProviderKind::OpenAiCompatible,
    model: "smollm2",
    api_key: None,
    ..OPENAI
};

pub const AZURE_OPENAI: Provider = Provider {
    kind: ProviderKind::AzureOpenAi,
    model: "kopilot-gpt4o",
    api_key: Some("azure-test-key-0123456789"),
    ..OPENAI
};

pub const OLLAMA: Provider = Provider {
    kind: ProviderKind::Ollama,
    fixtures: "ollama",
    stream_ext: "ndjson",
    stream_content_type: "application/x-ndjson",
    model: "llama3.2",
    api_key: None,
    call_ids: None,
    has_context_error: false,
    has_invalid_arguments: false,
};

pub const ANTHROPIC: Provider = Provider {
    kind: ProviderKind::Anthropic,
    fixtures: "anthropic",
    stream_ext: "sse",
    stream_content_type: SSE,
    model: "claude-sonnet-4-5",
    api_key: Some("sk-ant-test-0123456789"),
    call_ids: Some([
        "toolu_01A09q90qw90lq917835lq9",
        "toolu_01B7hW2f3pXn8kYq4Zc6Rt1M",
    ]),
    has_context_error: true,
    has_invalid_arguments: true,
};

pub const GEMINI: Provider = Provider {
    kind: ProviderKind::Gemini,
    fixtures: "gemini",
    stream_ext: "sse",
    stream_content_type: SSE,
    model: "gemini-2.5-flash",
    api_key: Some("AIza-test-0123456789"),
    call_ids: None,
    has_context_error: true,
    has_invalid_arguments: false,
};

pub const ALL: [Provider; 6] = [
    OPENAI,
    OPENAI_COMPATIBLE,
    AZURE_OPENAI,
    OLLAMA,
    ANTHROPIC,
    GEMINI,
];

impl Provider {
    /// The path a chat request must go to.
    pub fn chat_path(&self, stream: bool) -> String {
        match self.kind {
            ProviderKind::OpenAi | ProviderKind::OpenAiCompatible => "/v1/chat/completions".into(),
            ProviderKind::AzureOpenAi => {
                format!("/openai/deployments/{}/chat/completions", self.model)
            }
            ProviderKind::Ollama => "/api/chat".into(),
            ProviderKind::Anthropic => "/v1/messages".into(),
            ProviderKind::Gemini if stream => {
                format!("/v1beta/models/{}:streamGenerateContent", self.model)
            }
            ProviderKind::Gemini => format!("/v1beta/models/{}:generateContent", self.model),
        }
    }

    /// A configuration pointing at `base` with tiny backoffs, so retries take milliseconds.
    pub fn config_for(&self, base: &str) -> ProviderConfig {
        let base = match self.kind {
            // OpenAI's base URL includes /v1; the compatible one is given bare on purpose
            // (llama.cpp users type the server root).
            ProviderKind::OpenAi => format!("{base}/v1"),
            _ => base.to_owned(),
        };
        let mut builder = ProviderConfig::builder(self.kind)
            .model(self.model)
            .base_url(base)
            .transport(fast_transport());
        if let Some(key) = self.api_key {
            builder = builder.api_key(key);
        }
        builder.build().unwrap()
    }

    pub fn model_for(&self, base: &str) -> Arc<dyn ChatModel> {
        kopilot_llm::build_model(&self.config_for(base)).unwrap()
    }

    pub fn fixture(&self, name: &str) -> String {
        fixture(&format!("{}/{name}", self.fixtures))
    }

    pub fn stream_fixture(&self, name: &str) -> String {
        self.fixture(&format!("{name}.{}", self.stream_ext))
    }

    /// A 200 answer streaming the fixture `name`.
    pub fn stream_response(&self, name: &str) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_raw(self.stream_fixture(name), self.stream_content_type)
    }

    /// A JSON answer with `status` and the fixture `name.json`.
    pub fn json_response(&self, status: u16, name: &str) -> ResponseTemplate {
        ResponseTemplate::new(status)
            .set_body_raw(self.fixture(&format!("{name}.json")), "application/json")
    }

    /// A mock for this provider's chat path.
    pub fn chat_mock(&self, stream: bool, response: ResponseTemplate) -> Mock {
        Mock::given(method("POST"))
            .and(path(self.chat_path(stream)))
            .respond_with(response)
    }

    /// A server answering every chat request with `response`, and a model pointing at it.
    pub async fn serve(
        &self,
        stream: bool,
        response: ResponseTemplate,
    ) -> (MockServer, Arc<dyn ChatModel>) {
        let server = MockServer::start().await;
        self.chat_mock(stream, response).mount(&server).await;
        let model = self.model_for(&server.uri());
        (server, model)
    }
}

pub fn fast_transport() -> Transport {
    Transport {
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(10),
        stream_idle_timeout: Duration::from_secs(10),
        max_retries: 2,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(4),
        max_retry_after: Duration::from_secs(60),
    }
}

pub fn fixture(relative: &str) -> String {
    let path = format!("{}/tests/fixtures/{relative}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("fixture {path}: {err}"))
}

pub fn tools() -> Vec<ToolSpec> {
    vec![
        ToolSpec::new(
            "run_kubectl",
            "Run a read-only kubectl command",
            json!({
                "type": "object",
                "properties": {"args": {"type": "string", "description": "kubectl arguments"}},
                "required": ["args"],
                "additionalProperties": false
            }),
        ),
        ToolSpec::new(
            "analyze",
            "Run a cluster analyzer",
            json!({
                "type": "object",
                "properties": {
                    "analyzer": {"type": "string", "enum": ["orphaned_pvcs", "overprovisioned"]},
                    "namespace": {"type": ["string", "null"]}
                },
                "required": ["analyzer"],
                "additionalProperties": false
            }),
        ),
    ]
}

/// The earlier tool call every test request carries in its history.
pub fn previous_call() -> ToolCall {
    ToolCall::new("call_prev_1", "run_kubectl", json!({"args": "get ns"}))
}

/// A request using every kind of message and every setting.
pub fn request() -> ChatRequest {
    let call = previous_call();
    ChatRequest::new(vec![
        Message::user("How are the pods in shop?"),
        Message::Assistant {
            content: "Checking.".into(),
            tool_calls: vec![call.clone()],
        },
        Message::tool_result(&call, "NAME STATUS\nshop Active"),
        Message::user("And now?"),
    ])
    .with_system("You are Kopilot.")
    .with_tools(tools())
    .with_temperature(0.25)
    .with_max_output_tokens(256)
    .with_stop(vec!["</done>".into()])
}

pub const TEXT: &str = "Hello! All 3 pods in shop are running.";

pub fn assert_text(response: &ChatResponse) {
    assert_eq!(response.text, TEXT);
    assert!(response.tool_calls.is_empty());
    assert_eq!(response.finish_reason, FinishReason::Stop);
    assert_eq!(
        response.usage,
        Some(Usage {
            input_tokens: 25,
            output_tokens: 12
        })
    );
}

pub fn assert_one_tool_call(provider: &Provider, response: &ChatResponse) {
    assert_eq!(
        response.text, "Let me check the pods.",
        "{}",
        provider.fixtures
    );
    assert_eq!(response.tool_calls.len(), 1, "{response:?}");
    let call = &response.tool_calls[0];
    assert_eq!(call.name, "run_kubectl");
    assert_eq!(
        call.arguments,
        ToolArguments::Valid(json!({"args": "get pods -n shop"}))
    );
    match provider.call_ids {
        Some([id, _]) => assert_eq!(call.id, id),
        None => assert!(!call.id.is_empty()),
    }
    assert_eq!(response.finish_reason, FinishReason::ToolCalls);
    assert_eq!(
        response.usage,
        Some(Usage {
            input_tokens: 40,
            output_tokens: 18
        })
    );
}

pub fn assert_parallel_tool_calls(provider: &Provider, response: &ChatResponse) {
    let calls = &response.tool_calls;
    assert_eq!(calls.len(), 2, "{response:?}");
    assert_eq!(calls[0].name, "run_kubectl");
    assert_eq!(
        calls[0].arguments,
        ToolArguments::Valid(json!({"args": "get deploy -n shop"}))
    );
    assert_eq!(calls[1].name, "analyze");
    assert_eq!(
        calls[1].arguments,
        ToolArguments::Valid(json!({"analyzer": "orphaned_pvcs", "namespace": "shop"}))
    );
    match provider.call_ids {
        Some(ids) => assert_eq!([calls[0].id.as_str(), calls[1].id.as_str()], ids),
        None => assert!(
            !calls[0].id.is_empty() && calls[0].id != calls[1].id,
            "{calls:?}"
        ),
    }
    assert_eq!(response.finish_reason, FinishReason::ToolCalls);
    assert_eq!(
        response.usage,
        Some(Usage {
            input_tokens: 52,
            output_tokens: 41
        })
    );
}

/// Every event of a stream, stopping at the first error (returned apart).
pub async fn drain(mut stream: ChatStream) -> (Vec<StreamEvent>, Option<kopilot_llm::Error>) {
    use futures::StreamExt;
    let mut events = Vec::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(event) => events.push(event),
            Err(err) => return (events, Some(err)),
        }
    }
    (events, None)
}

/// The JSON body of the one request `server` received.
pub async fn only_request(server: &MockServer) -> (wiremock::Request, Value) {
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1, "expected exactly one request");
    let request = requests.into_iter().next().unwrap();
    let body = serde_json::from_slice(&request.body).unwrap();
    (request, body)
}

/// How a [`raw_stream_server`] ends its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The chunked body ends properly.
    Complete,
    /// The connection drops mid-body (no final chunk).
    Drop,
    /// Nothing more is sent; the connection stays open until the client goes away.
    Stall,
}

/// A one-connection HTTP server on 127.0.0.1 that streams `body` in `piece` byte chunks
/// and then ends as `ending` says. Returns its base URL and a receiver that fires when the
/// client closed the connection (for [`Ending::Stall`]).
pub async fn raw_stream_server(
    body: String,
    content_type: &'static str,
    piece: usize,
    ending: Ending,
) -> (String, tokio::sync::oneshot::Receiver<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (closed_tx, closed_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        socket.set_nodelay(true).unwrap();
        read_request(&mut socket).await;
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ntransfer-encoding: chunked\r\n\r\n"
        );
        socket.write_all(head.as_bytes()).await.unwrap();
        for (n, chunk) in body.as_bytes().chunks(piece.max(1)).enumerate() {
            let mut framed = format!("{:x}\r\n", chunk.len()).into_bytes();
            framed.extend_from_slice(chunk);
            framed.extend_from_slice(b"\r\n");
            if socket.write_all(&framed).await.is_err() {
                return;
            }
            socket.flush().await.unwrap();
            if n % 16 == 0 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        match ending {
            Ending::Complete => {
                let _ = socket.write_all(b"0\r\n\r\n").await;
                let _ = socket.flush().await;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Ending::Drop => drop(socket),
            Ending::Stall => {
                // Wait until the client hangs up: a read returning 0 (or failing).
                let mut buf = [0u8; 64];
                loop {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {}
                    }
                }
                let _ = closed_tx.send(());
            }
        }
    });
    (url, closed_rx)
}

async fn read_request(socket: &mut tokio::net::TcpStream) {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = socket.read(&mut buf).await.unwrap();
        if n == 0 {
            return;
        }
        data.extend_from_slice(&buf[..n]);
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if data.len() >= end + 4 + length {
                return;
            }
        }
    }
}
