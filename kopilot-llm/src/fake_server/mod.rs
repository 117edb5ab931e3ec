//! A scripted OpenAI-compatible model server, for tests of anything that talks to a model over
//! HTTP (feature `fake-server`).
//!
//! [`FakeServer`] serves `POST /v1/chat/completions` on a local address and answers a
//! [`Script`] of [`Reply`]s in order: text, tool calls, an HTTP error, each optionally after
//! a delay. It streams OpenAI's SSE `chat.completion.chunk`s when the request says
//! `"stream": true` (with a usage chunk when `stream_options.include_usage` is set) and one
//! JSON `chat.completion` otherwise, shaped like the payloads recorded in
//! `kopilot-llm/tests/fixtures/openai`. Replies are grouped in routes picked by a marker in
//! the request's system prompt, so each agent of a run gets its own replies whatever order
//! concurrent agents call in. In a text reply, [`LAST_TOOL_RESULT`] is replaced by the last
//! tool result the request carries.
//!
//! Every request is recorded ([`FakeServer::requests`]), so a test can check what the model
//! was told. A request the script has no reply for (its route ran dry, or no route matches)
//! is answered with a 400 whose message says so, never left hanging; a wrong path gets
//! OpenAI's 404. Requests are logged with `tracing` at debug level.
//!
//! ```
//! use kopilot_llm::fake_server::{FakeServer, Reply, Script};
//! use kopilot_llm::{ChatModel, ChatRequest, Message, ProviderConfig, ProviderKind, build_model};
//! use serde_json::json;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let server = FakeServer::start(Script::new().any([
//!     Reply::tool_call("run_kubectl", json!({"args": ["get", "pods"]})),
//!     Reply::text("The pods said: {{last_tool_result}}"),
//! ]))
//! .await?;
//! let config = ProviderConfig::builder(ProviderKind::OpenAiCompatible)
//!     .base_url(server.base_url())
//!     .model("fake")
//!     .build()?;
//! let model = build_model(&config)?;
//!
//! let ask = ChatRequest::new(vec![Message::user("How are my pods?")]);
//! let call = model.chat(&ask).await?;
//! assert_eq!(call.tool_calls[0].name, "run_kubectl");
//!
//! let told = ChatRequest::new(vec![
//!     Message::user("How are my pods?"),
//!     call.to_message(),
//!     Message::tool_result(&call.tool_calls[0], "web-1 Running"),
//! ]);
//! assert_eq!(model.chat(&told).await?.text, "The pods said: web-1 Running");
//! assert_eq!(server.requests().len(), 2);
//! assert!(server.leftover().is_empty());
//! server.shutdown().await;
//! # Ok(()) }
//! ```

mod recorded;
mod script;
mod wire;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::Response;
use axum::routing::post;
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

pub use recorded::RecordedRequest;
pub use script::{LAST_TOOL_RESULT, Reply, Script};

use script::{ReplyKind, Route, error_body};
use wire::Answer;

/// The path the fake server answers.
pub const CHAT_COMPLETIONS_PATH: &str = "/v1/chat/completions";

/// The route name of requests no route took, or that went to a wrong path.
pub const UNMATCHED: &str = "unmatched";

/// A running fake model server. Dropping it stops the server; [`FakeServer::shutdown`] also
/// waits until it has stopped.
#[derive(Debug)]
pub struct FakeServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl FakeServer {
    /// Starts serving `script` on a free port of 127.0.0.1. Needs a Tokio runtime.
    pub async fn start(script: Script) -> std::io::Result<Self> {
        Self::bind(SocketAddr::from(([127, 0, 0, 1], 0)), script).await
    }

    /// Starts serving `script` on `addr` (port 0 picks a free port). The caller decides
    /// whether a non-loopback address is acceptable. Needs a Tokio runtime.
    pub async fn bind(addr: SocketAddr, script: Script) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            routes: Mutex::new(script.routes),
            requests: Mutex::new(Vec::new()),
            answers: Mutex::new(0),
        });
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let app = Router::new()
            .route(CHAT_COMPLETIONS_PATH, post(chat))
            .fallback(wrong_path)
            .with_state(Arc::clone(&shared));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
            if let Err(err) = served {
                tracing::warn!(error = %err, "the fake model server stopped with an error");
            }
        });
        Ok(Self {
            addr,
            shared,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL for `OPENAI_BASE_URL`, e.g. `http://127.0.0.1:41234/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// The requests that matched the route `name`.
    pub fn requests_for(&self, name: &str) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.route == name)
            .collect()
    }

    /// Requests no scripted reply answered (a wrong path, no route, or the route ran dry).
    pub fn unanswered(&self) -> Vec<RecordedRequest> {
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

    /// Stops accepting requests and waits until the ones in flight are answered.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

#[derive(Debug)]
struct Shared {
    routes: Mutex<Vec<Route>>,
    requests: Mutex<Vec<RecordedRequest>>,
    /// Answers sent so far, for their ids.
    answers: Mutex<u64>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the script says to a request.
enum Taken {
    Reply(Reply),
    /// No reply: why, for the 400's message.
    Nothing(String),
}

impl Shared {
    /// Records the request and takes the next reply of the route it matches.
    fn take(&self, path: String, authorization: Option<String>, body: Value) -> Taken {
        let system = recorded::system_prompt(&body);
        let mut routes = lock(&self.routes);
        let route = routes.iter_mut().find(|r| {
            r.marker
                .as_ref()
                .is_none_or(|m| system.contains(m.as_str()))
        });
        let (name, taken) = match route {
            Some(route) => match route.replies.pop_front() {
                Some(reply) => (route.name.clone(), Taken::Reply(reply)),
                None => (
                    route.name.clone(),
                    Taken::Nothing(format!(
                        "the route `{}` has no replies left (the script ran out)",
                        route.name
                    )),
                ),
            },
            None => (
                UNMATCHED.to_owned(),
                Taken::Nothing(format!(
                    "no route matches the system prompt {:?}",
                    system.chars().take(120).collect::<String>()
                )),
            ),
        };
        drop(routes);
        let answered = matches!(taken, Taken::Reply(_));
        tracing::debug!(route = %name, %path, answered, "fake model request");
        let mut requests = lock(&self.requests);
        requests.push(RecordedRequest {
            route: name,
            path,
            authorization,
            body,
            answered,
        });
        match taken {
            Taken::Nothing(why) => Taken::Nothing(format!(
                "fake model server: no scripted reply for request #{}: {why}",
                requests.len()
            )),
            reply @ Taken::Reply(_) => reply,
        }
    }

    /// Records a request that no reply may answer (a wrong path, a body that is not JSON),
    /// without taking a reply from any route.
    fn refuse(&self, path: String, authorization: Option<String>) {
        tracing::debug!(route = UNMATCHED, %path, answered = false, "fake model request");
        lock(&self.requests).push(RecordedRequest {
            route: UNMATCHED.to_owned(),
            path,
            authorization,
            body: Value::Null,
            answered: false,
        });
    }

    fn next_answer(&self) -> u64 {
        let mut n = lock(&self.answers);
        *n += 1;
        *n
    }
}

async fn chat(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let authorization = authorization(&headers);
    let path = uri.path().to_owned();
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        shared.refuse(path, authorization);
        return error_response(400, "We could not parse the JSON body of your request.");
    };
    let reply = match shared.take(path, authorization, body.clone()) {
        Taken::Reply(reply) => reply,
        Taken::Nothing(why) => return error_response(400, &why),
    };
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    match reply.kind {
        ReplyKind::Error { status, body } => json_response(status, &body),
        ReplyKind::Answer { text, calls } => {
            let text = match wire::last_tool_result(&body) {
                Some(result) => text.replace(LAST_TOOL_RESULT, &result),
                None => text,
            };
            let answer = Answer::new(shared.next_answer(), &body, text, calls);
            if body.get("stream") == Some(&json!(true)) {
                let usage = body.pointer("/stream_options/include_usage") == Some(&json!(true));
                sse_response(answer.chunks(usage))
            } else {
                json_response(200, &answer.completion())
            }
        }
    }
}

async fn wrong_path(State(shared): State<Arc<Shared>>, headers: HeaderMap, uri: Uri) -> Response {
    shared.refuse(uri.path().to_owned(), authorization(&headers));
    json_response(
        404,
        &error_body(
            &format!("Invalid URL (POST {})", uri.path()),
            "invalid_request_error",
            None,
        ),
    )
}

fn authorization(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn error_response(status: u16, message: &str) -> Response {
    json_response(status, &error_body(message, "invalid_request_error", None))
}

fn json_response(status: u16, body: &Value) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
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
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
