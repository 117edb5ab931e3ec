//! An OpenAI-compatible `/v1/chat/completions` server on 127.0.0.1 for the end-to-end tests.
//!
//! It answers a script of replies in order (text, tool calls, an HTTP error, each optionally
//! after a delay), streamed as OpenAI's SSE when the request says `stream: true` and as one
//! JSON completion otherwise, shaped like the recorded payloads in
//! `kopilot-llm/tests/fixtures/openai`. Replies are grouped in routes picked by a marker in
//! the request's system prompt (the supervisor's, a skill's), so an agent gets its own replies
//! whatever order concurrent agents call in. Every request body is recorded, so a test can
//! check what the model was told.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::Response;
use axum::routing::post;
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

use super::openai_wire::{self, Answer};

/// In a text reply, replaced by the content of the last `role: tool` message of the request,
/// so the answer can quote what a tool returned.
pub const LAST_TOOL_RESULT: &str = "{{last_tool_result}}";

/// One scripted reply.
#[derive(Debug, Clone)]
pub struct Reply {
    delay: Duration,
    kind: ReplyKind,
}

#[derive(Debug, Clone)]
enum ReplyKind {
    Answer {
        text: String,
        calls: Vec<(String, Value)>,
    },
    Error {
        status: u16,
        body: Value,
    },
}

impl Reply {
    /// A text answer (it may contain [`LAST_TOOL_RESULT`]).
    pub fn text(text: impl Into<String>) -> Self {
        Self::answer(text.into(), Vec::new())
    }

    /// One tool call.
    pub fn tool_call(name: &str, arguments: Value) -> Self {
        Self::tool_calls([(name, arguments)])
    }

    /// Several tool calls in one turn.
    pub fn tool_calls<'a>(calls: impl IntoIterator<Item = (&'a str, Value)>) -> Self {
        let calls = calls
            .into_iter()
            .map(|(name, args)| (name.to_owned(), args))
            .collect();
        Self::answer(String::new(), calls)
    }

    /// The supervisor's `delegate(skill, task)` call.
    pub fn delegate(skill: &str, task: &str) -> Self {
        Self::tool_call("delegate", json!({"skill": skill, "task": task}))
    }

    /// An HTTP error with OpenAI's error body.
    pub fn error(status: u16, message: &str, kind: &str, code: Option<&str>) -> Self {
        Self {
            delay: Duration::ZERO,
            kind: ReplyKind::Error {
                status,
                body: json!({"error": {"message": message, "type": kind, "param": null, "code": code}}),
            },
        }
    }

    /// OpenAI's 500, as recorded in `kopilot-llm/tests/fixtures/openai/error_500.json`.
    pub fn server_error() -> Self {
        Self::error(
            500,
            "The server had an error while processing your request. Sorry about that!",
            "server_error",
            None,
        )
    }

    /// Text the model writes alongside its tool calls.
    #[must_use]
    pub fn with_text(mut self, text: impl Into<String>) -> Self {
        if let ReplyKind::Answer { text: t, .. } = &mut self.kind {
            *t = text.into();
        }
        self
    }

    /// Waits this long before answering (before the status line is sent).
    #[must_use]
    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    fn answer(text: String, calls: Vec<(String, Value)>) -> Self {
        Self {
            delay: Duration::ZERO,
            kind: ReplyKind::Answer { text, calls },
        }
    }
}

/// The replies, grouped in routes.
#[derive(Debug, Default)]
pub struct Script {
    routes: Vec<Route>,
}

#[derive(Debug)]
struct Route {
    name: String,
    /// Text the system prompt must contain; `None` matches every request.
    marker: Option<String>,
    replies: VecDeque<Reply>,
}

impl Script {
    /// An empty script: every request is answered with a 400 saying nothing was scripted.
    pub fn new() -> Self {
        Self::default()
    }

    /// Requests whose system prompt contains `marker` get these replies, in order. Routes are
    /// tried in the order they were added.
    #[must_use]
    pub fn route(
        mut self,
        name: &str,
        marker: &str,
        replies: impl IntoIterator<Item = Reply>,
    ) -> Self {
        self.routes.push(Route {
            name: name.to_owned(),
            marker: Some(marker.to_owned()),
            replies: replies.into_iter().collect(),
        });
        self
    }

    /// Every request (not taken by an earlier route) gets these replies, in order.
    #[must_use]
    pub fn any(mut self, replies: impl IntoIterator<Item = Reply>) -> Self {
        self.routes.push(Route {
            name: "any".to_owned(),
            marker: None,
            replies: replies.into_iter().collect(),
        });
        self
    }
}

/// One request the stub received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The route it matched (`unmatched` when none did, or the path was wrong).
    pub route: String,
    /// The request path.
    pub path: String,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// The JSON body (`Null` when it was not JSON).
    pub body: Value,
    /// Whether a scripted reply answered it.
    pub answered: bool,
}

impl Recorded {
    /// The system prompt (the `system` or `developer` messages).
    pub fn system(&self) -> String {
        self.messages()
            .iter()
            .filter(|m| matches!(m["role"].as_str(), Some("system" | "developer")))
            .map(|m| openai_wire::content_text(&m["content"]))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The messages sent.
    pub fn messages(&self) -> Vec<Value> {
        self.body["messages"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The text of the `user` messages, one per line.
    pub fn user_text(&self) -> String {
        self.messages()
            .iter()
            .filter(|m| m["role"] == "user")
            .map(|m| openai_wire::content_text(&m["content"]))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The names of the tools offered.
    pub fn tool_names(&self) -> Vec<String> {
        self.body["tools"]
            .as_array()
            .map(|tools| {
                tools
                    .iter()
                    .filter_map(|t| t["function"]["name"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The content of the last `role: tool` message.
    pub fn last_tool_result(&self) -> Option<String> {
        openai_wire::last_tool_result(&self.body)
    }

    /// Whether the request asked for a stream.
    pub fn streamed(&self) -> bool {
        self.body["stream"] == json!(true)
    }
}

struct Shared {
    routes: Mutex<Vec<Route>>,
    requests: Mutex<Vec<Recorded>>,
    next_id: Mutex<u64>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// Records the request and takes the next reply of the route it matches.
    fn take(&self, path: String, authorization: Option<String>, body: Value) -> Option<Reply> {
        let system = Recorded {
            route: String::new(),
            path: path.clone(),
            authorization: None,
            body: body.clone(),
            answered: false,
        }
        .system();
        let mut routes = lock(&self.routes);
        let route = routes.iter_mut().find(|r| {
            r.marker
                .as_ref()
                .is_none_or(|m| system.contains(m.as_str()))
        });
        let (name, reply) = match route {
            Some(route) => (route.name.clone(), route.replies.pop_front()),
            None => ("unmatched".to_owned(), None),
        };
        lock(&self.requests).push(Recorded {
            route: name,
            path,
            authorization,
            body,
            answered: reply.is_some(),
        });
        reply
    }

    fn next_id(&self) -> u64 {
        let mut id = lock(&self.next_id);
        *id += 1;
        *id
    }
}

/// A running stub server. Dropping it stops the server.
pub struct OpenAiStub {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
}

impl OpenAiStub {
    /// Starts serving `script` on a free port of 127.0.0.1. Needs a Tokio runtime.
    pub async fn start(script: Script) -> anyhow::Result<Self> {
        let shared = Arc::new(Shared {
            routes: Mutex::new(script.routes),
            requests: Mutex::new(Vec::new()),
            next_id: Mutex::new(0),
        });
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let app = Router::new()
            .route("/v1/chat/completions", post(chat))
            .fallback(wrong_path)
            .with_state(Arc::clone(&shared));
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(Self {
            addr,
            shared,
            stop: Some(stop),
        })
    }

    /// The base URL for `OPENAI_BASE_URL`, e.g. `http://127.0.0.1:41234/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.shared.requests).clone()
    }

    /// The requests that matched the route `name`.
    pub fn requests_for(&self, name: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.route == name)
            .collect()
    }

    /// Requests no scripted reply answered (a wrong path, no route, or the route ran dry).
    pub fn unanswered(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| !r.answered)
            .collect()
    }

    /// The routes that still have replies left, with how many.
    pub fn leftover(&self) -> Vec<(String, usize)> {
        lock(&self.shared.routes)
            .iter()
            .filter(|r| !r.replies.is_empty())
            .map(|r| (r.name.clone(), r.replies.len()))
            .collect()
    }
}

impl Drop for OpenAiStub {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn chat(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        shared.take(uri.path().to_owned(), authorization, Value::Null);
        return error_response(400, "We could not parse the JSON body of your request.");
    };
    let Some(reply) = shared.take(uri.path().to_owned(), authorization, body.clone()) else {
        let n = lock(&shared.requests).len();
        return error_response(
            400,
            &format!(
                "openai stub: no scripted reply for request #{n} (its route ran dry or no route matched)"
            ),
        );
    };
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    match reply.kind {
        ReplyKind::Error { status, body } => json_response(status, &body),
        ReplyKind::Answer { text, calls } => {
            let id = shared.next_id();
            let text = match openai_wire::last_tool_result(&body) {
                Some(result) => text.replace(LAST_TOOL_RESULT, &result),
                None => text,
            };
            let answer = Answer::new(id, &body, text, calls);
            if body["stream"] == json!(true) {
                let usage = body["stream_options"]["include_usage"] == json!(true);
                sse_response(answer.chunks(usage))
            } else {
                json_response(200, &answer.completion())
            }
        }
    }
}

async fn wrong_path(State(shared): State<Arc<Shared>>, uri: Uri) -> Response {
    shared.take(uri.path().to_owned(), None, Value::Null);
    json_response(
        404,
        &json!({"error": {"message": format!("Invalid URL (POST {})", uri.path()),
            "type": "invalid_request_error", "param": null, "code": null}}),
    )
}

fn error_response(status: u16, message: &str) -> Response {
    json_response(
        status,
        &json!({"error": {"message": message, "type": "invalid_request_error", "param": null, "code": null}}),
    )
}

fn json_response(status: u16, body: &Value) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

/// Sends the SSE events one by one, as separate writes, the way a real server streams them.
fn sse_response(chunks: Vec<String>) -> Response {
    let (tx, rx) = mpsc::channel::<Result<Bytes, Infallible>>(4);
    tokio::spawn(async move {
        for chunk in chunks {
            if tx.send(Ok(Bytes::from(chunk))).await.is_err() {
                return;
            }
            tokio::task::yield_now().await;
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let mut response = Response::new(Body::from_stream(stream));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-cache"),
    );
    response
}
