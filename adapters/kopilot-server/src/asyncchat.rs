//! KubeCopilot's agent-server contract, so Kopilot can be the engine behind that operator.
//!
//! - `POST /asyncchat` `{message, session_id, session_config?}` -> `{queue_id}` (the task's
//!   id), for a token of the `agent` role (or admin).
//! - While the task runs, its events are POSTed to the configured webhook base as
//!   `{base}/chunk` `{queue_id, seq, type, content, session_id}` (`type` one of `thinking`,
//!   `tool_call`, `tool_result`, `response`, `info`, `error`; `seq` counts the chunks of one
//!   task from 1), and at its end `{base}/response` `{queue_id, response}`.
//! - `DELETE /cancel/{queue_id}` cancels a task the agent token submitted.
//!
//! Delivery goes through one bounded queue per server and one sender, so chunks of a task
//! arrive in order; a receiver that answers 5xx or cannot be reached is retried with backoff;
//! a chunk that finds the queue full is dropped with a warning (the task never waits for the
//! receiver). Approvals for these tasks stay on the server's desk: an agent token cannot
//! decide them.

use std::fmt;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures::StreamExt as _;
use kopilot_core::safety::Mode;
use kopilot_core::safety::redact::{redact, redact_command_line};
use kopilot_core::{ErrorCode, Event, EventKind, Status, TaskHandle, TaskRequest};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::mpsc;

use crate::AppState;
use crate::admission::require;
use crate::error::{ApiError, ApiResult};
use crate::tasks::parse_json;
use crate::tokens::{Caller, Role};
use kopilot_core::names::is_namespace_name;

/// Where the chunks and responses of `/asyncchat` tasks go. Without one, `/asyncchat` and
/// `/cancel` are not served (404).
#[derive(Clone)]
pub struct AgentWebhook {
    /// The receiver's base URL (KubeCopilot's operator webhook): `{base}/chunk`,
    /// `{base}/response`.
    pub base: reqwest::Url,
    /// Sent as `Authorization: Bearer <token>` with every delivery (never logged).
    pub token: Option<String>,
    /// How many times a delivery is tried again after a 5xx answer or a connection error.
    pub retries: u32,
    /// The first wait before trying again; each next wait doubles (up to 10 s).
    pub backoff: Duration,
    /// Deliveries waiting at most; a chunk that finds the queue full is dropped.
    pub queue: usize,
    /// How long one delivery may take.
    pub timeout: Duration,
}

impl AgentWebhook {
    /// Deliveries to `base` (an `http` or `https` URL), with 3 retries from 500 ms, a queue
    /// of 1024 and a 10-second timeout.
    ///
    /// # Errors
    /// When `base` is not an absolute http(s) URL.
    pub fn new(base: &str) -> Result<Self, String> {
        let url = reqwest::Url::parse(base).map_err(|e| format!("`{base}` is not a URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(format!("`{base}` is not an http(s) URL with a host"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(format!("`{base}`: the base URL takes no query or fragment"));
        }
        Ok(Self {
            base: url,
            token: None,
            retries: 3,
            backoff: Duration::from_millis(500),
            queue: 1024,
            timeout: Duration::from_secs(10),
        })
    }

    /// The same with an outbound bearer token.
    #[must_use]
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    fn url(&self, leaf: &str) -> String {
        format!("{}/{leaf}", self.base.as_str().trim_end_matches('/'))
    }
}

impl fmt::Debug for AgentWebhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentWebhook")
            .field("base", &self.base.as_str())
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("retries", &self.retries)
            .field("backoff", &self.backoff)
            .field("queue", &self.queue)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// One delivery: where, and what.
#[derive(Debug)]
struct Delivery {
    leaf: &'static str,
    queue_id: String,
    body: serde_json::Value,
    /// Counted until it has been sent (or given up on).
    _pending: Pending,
}

/// The agent contract's state: the configuration, the queue, and the sender (started at the
/// first `/asyncchat`, inside the server's runtime).
pub(crate) struct Agent {
    config: AgentWebhook,
    queue: mpsc::Sender<Delivery>,
    receiver: Mutex<Option<mpsc::Receiver<Delivery>>>,
    /// Work not yet done: tasks still followed, and deliveries queued or being sent.
    pending: Arc<AtomicUsize>,
}

/// Counts one piece of pending work while it lives.
#[derive(Debug)]
struct Pending(Arc<AtomicUsize>);

impl Pending {
    fn new(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Self(Arc::clone(count))
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Agent {
    pub(crate) fn new(config: AgentWebhook) -> Self {
        let (queue, receiver) = mpsc::channel(config.queue.max(1));
        Self {
            config,
            queue,
            receiver: Mutex::new(Some(receiver)),
            pending: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Waits, up to `timeout`, until every followed task has queued its response and every
    /// queued delivery has been sent or given up on (for the drain at shutdown).
    pub(crate) async fn flush(&self, timeout: Duration) {
        let done = async {
            while self.pending.load(Ordering::SeqCst) > 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        if tokio::time::timeout(timeout, done).await.is_err() {
            tracing::warn!(
                pending = self.pending.load(Ordering::SeqCst),
                "some agent webhook deliveries were still pending when the drain timeout passed"
            );
        }
    }

    /// Starts the sender if it is not running yet.
    fn start(&self) -> ApiResult<()> {
        let Some(receiver) = self
            .receiver
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        else {
            return Ok(());
        };
        let client = reqwest::Client::builder()
            .timeout(self.config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| {
                ApiError::new(
                    ErrorCode::RequestUnavailable,
                    format!("the HTTP client for the agent webhook could not be made: {e}"),
                )
            })?;
        tokio::spawn(send_all(client, self.config.clone(), receiver));
        Ok(())
    }

    /// Queues a chunk; when the queue is full, drops it with a warning.
    fn offer(&self, delivery: Delivery) {
        match self.queue.try_send(delivery) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(d)) => tracing::warn!(
                queue_id = %d.queue_id,
                seq = %d.body["seq"],
                "the agent webhook queue is full: a chunk was dropped"
            ),
            Err(mpsc::error::TrySendError::Closed(d)) => tracing::warn!(
                queue_id = %d.queue_id,
                "the agent webhook sender has stopped: a chunk was dropped"
            ),
        }
    }
}

/// Delivers the queue, in order, each with its retries.
async fn send_all(
    client: reqwest::Client,
    config: AgentWebhook,
    mut receiver: mpsc::Receiver<Delivery>,
) {
    while let Some(delivery) = receiver.recv().await {
        deliver(&client, &config, &delivery).await;
    }
}

async fn deliver(client: &reqwest::Client, config: &AgentWebhook, delivery: &Delivery) {
    let url = config.url(delivery.leaf);
    let mut wait = config.backoff;
    for attempt in 0..=config.retries {
        let mut request = client.post(&url).json(&delivery.body);
        if let Some(token) = &config.token {
            request = request.bearer_auth(token);
        }
        let retry = match request.send().await {
            Ok(response) if response.status().is_success() => return,
            Ok(response) if response.status().is_server_error() => {
                format!("it answered {}", response.status())
            }
            Ok(response) => {
                tracing::warn!(
                    url = %url, queue_id = %delivery.queue_id, status = %response.status(),
                    "the agent webhook refused a delivery; not retried"
                );
                return;
            }
            Err(e) => format!("it could not be reached: {e}"),
        };
        if attempt == config.retries {
            tracing::warn!(
                url = %url, queue_id = %delivery.queue_id, attempts = attempt + 1,
                "the agent webhook failed every attempt ({retry}); the delivery is dropped"
            );
            return;
        }
        tracing::debug!(url = %url, queue_id = %delivery.queue_id, "{retry}; trying again");
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(10));
    }
}

/// `POST /asyncchat`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AsyncChat {
    /// The user's message.
    message: String,
    /// The conversation it belongs to.
    session_id: String,
    /// KubeCopilot's per-session settings: only `namespace` and a stricter `mode` are taken
    /// (model, instructions, skills and keys stay the server's); the rest is ignored.
    #[serde(default)]
    session_config: Option<serde_json::Value>,
}

/// The answer to `/asyncchat`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub(crate) struct Queued {
    queue_id: String,
}

/// What `session_config` may set: a namespace, a stricter mode.
fn apply_session_config(
    mut request: TaskRequest,
    config: Option<&serde_json::Value>,
) -> ApiResult<TaskRequest> {
    let Some(config) = config else {
        return Ok(request);
    };
    let Some(config) = config.as_object() else {
        if config.is_null() {
            return Ok(request);
        }
        return Err(ApiError::invalid("session_config must be an object"));
    };
    if let Some(ns) = config.get("namespace").filter(|v| !v.is_null()) {
        let ns = ns
            .as_str()
            .filter(|ns| is_namespace_name(ns))
            .ok_or_else(|| {
                ApiError::invalid("session_config.namespace must be a Kubernetes namespace name")
            })?;
        request = request.namespace(ns);
    }
    if let Some(mode) = config.get("mode").filter(|v| !v.is_null()) {
        let mode: Mode = serde_json::from_value(mode.clone()).map_err(|_| {
            ApiError::invalid(
                "session_config.mode must be `read-only`, `approve` or `full-access` (it can only narrow the server's)",
            )
        })?;
        // Only ever narrows the server's mode.
        request = request.mode(mode);
    }
    let ignored: Vec<&str> = config
        .keys()
        .map(String::as_str)
        .filter(|k| !matches!(*k, "namespace" | "mode"))
        .take(20)
        .collect();
    if !ignored.is_empty() {
        tracing::debug!(fields = ?ignored, "session_config fields ignored");
    }
    Ok(request)
}

fn agent_of(state: &AppState) -> ApiResult<&Agent> {
    state.agent.as_deref().ok_or_else(|| {
        ApiError::new(
            ErrorCode::RequestNotFound,
            "the agent-server contract is not served: the server has no agent webhook configured",
        )
    })
}

/// `POST /asyncchat`: 200 `{queue_id}`; the task runs in the background and its events go to
/// the webhook.
pub(crate) async fn submit(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Result<Json<AsyncChat>, JsonRejection>,
) -> ApiResult<Json<Queued>> {
    let agent = agent_of(&state)?;
    require(&caller, Role::Agent, "the agent contract (/asyncchat)")?;
    let body = parse_json(body)?;
    if state.draining.load(Ordering::SeqCst) {
        return Err(ApiError::new(
            ErrorCode::RequestUnavailable,
            "the server is shutting down and takes no new tasks",
        ));
    }
    if body.message.trim().is_empty() {
        return Err(ApiError::new(
            ErrorCode::RejectedEmptyPrompt,
            "the message is empty",
        ));
    }
    let limit = state.kopilot.limits().max_prompt_bytes;
    if body.message.len() > limit {
        return Err(ApiError::new(
            ErrorCode::RejectedPromptTooLarge,
            format!(
                "the message is {} bytes; the limit is {limit}",
                body.message.len()
            ),
        ));
    }
    let session = body.session_id;
    if session.is_empty()
        || session.len() > 128
        || session.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(ApiError::invalid(
            "session_id must be 1 to 128 characters without spaces or control characters",
        ));
    }
    // The conversation is kept under the token's name: a session id names the caller's own
    // history only, never another token's (the runtime reads a session's earlier turns into
    // the model's context).
    let request = TaskRequest::new(body.message)
        .requester(caller.name.clone())
        .session(format!("{}/{session}", caller.name));
    let request = apply_session_config(request, body.session_config.as_ref())?;
    agent.start()?;
    let handle = state.submit(request);
    let queue_id = handle.id().to_owned();
    let forwarder_state = state.clone();
    // Counted from here, so a drain that starts now waits for this task's response.
    let following = Pending::new(&agent.pending);
    tokio::spawn(async move { forward(&forwarder_state, handle, session, following).await });
    Ok(Json(Queued { queue_id }))
}

/// `DELETE /cancel/{queue_id}`: a task this agent token submitted (any, for an admin).
pub(crate) async fn cancel(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(queue_id): Path<String>,
) -> ApiResult<Response> {
    agent_of(&state)?;
    require(
        &caller,
        Role::Agent,
        "cancelling through the agent contract",
    )?;
    let task = state.kopilot.task(&queue_id).await?;
    if task.requester != caller.name && caller.role != Role::Admin {
        return Err(ApiError::forbidden(format!(
            "task `{queue_id}` was not submitted by `{}`",
            caller.name
        )));
    }
    state.kopilot.cancel(&queue_id).await?;
    Ok((
        StatusCode::OK,
        Json(json!({"queue_id": queue_id, "cancelled": true})),
    )
        .into_response())
}

/// The most characters one chunk carries (a long command output is cut).
const MAX_CONTENT: usize = 64 * 1024;

/// Our event as KubeCopilot's chunk type and content; `None` for what has no chunk (the
/// `response` event, which becomes the final `/response`, and an error chunk if it failed).
fn chunk_of(event: &EventKind) -> Option<(&'static str, String)> {
    let chunk = match event {
        EventKind::TaskStarted { skill, model, .. } => (
            "info",
            format!(
                "task started{}{}",
                skill
                    .as_ref()
                    .map(|s| format!(", skill {s}"))
                    .unwrap_or_default(),
                model
                    .as_ref()
                    .map(|m| format!(", model {m}"))
                    .unwrap_or_default()
            ),
        ),
        EventKind::Delegated { skill, task, .. } => {
            ("info", format!("delegated to skill {skill}: {task}"))
        }
        EventKind::Thinking { text } => ("thinking", text.clone()),
        EventKind::Delta { text } => ("response", text.clone()),
        EventKind::ToolCall {
            tool,
            args,
            commands,
            ..
        } => (
            "tool_call",
            if commands.is_empty() {
                format!("{tool} {args}")
            } else {
                format!(
                    "{tool}: {}",
                    commands
                        .iter()
                        .map(|c| redact_command_line(c).into_owned())
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            },
        ),
        EventKind::ApprovalRequested {
            approval_id,
            command,
            risk,
            ..
        } => (
            "info",
            format!(
                "waiting for approval {approval_id} ({risk} risk): {}; it is decided on the Kopilot server (POST /approvals/{approval_id})",
                redact_command_line(command)
            ),
        ),
        EventKind::ApprovalDecided {
            approval_id,
            approved,
            decided_by,
            ..
        } => (
            "info",
            format!(
                "approval {approval_id} {} by {decided_by}",
                if *approved { "approved" } else { "denied" }
            ),
        ),
        EventKind::ToolResult {
            tool, ok, output, ..
        } => (
            "tool_result",
            format!(
                "{tool} {}:\n{output}",
                if *ok { "succeeded" } else { "failed" }
            ),
        ),
        EventKind::Reflection {
            score, critique, ..
        } => ("thinking", format!("review: {score}/10: {critique}")),
        EventKind::Notification { message } => ("info", message.clone()),
        EventKind::Response(result) => {
            let error = result.error.as_ref()?;
            ("error", format!("{}: {}", error.code, error.message))
        }
    };
    Some(chunk)
}

fn cut(text: &str) -> String {
    let text = redact(text);
    match text.char_indices().nth(MAX_CONTENT) {
        Some((end, _)) => format!("{}… (cut)", &text[..end]),
        None => text.into_owned(),
    }
}

/// The final answer for `/response`.
fn response_of(event: &Event) -> Option<String> {
    let EventKind::Response(result) = &event.event else {
        return None;
    };
    Some(
        if result.answer.trim().is_empty() || result.status != Status::Succeeded {
            let mut text = format!("the task ended {}", result.status);
            if let Some(error) = &result.error {
                let _ = write!(text, ": {}", error.message);
            }
            if !result.answer.trim().is_empty() {
                let _ = write!(text, "\n\n{}", result.answer);
            }
            cut(&text)
        } else {
            cut(&result.answer)
        },
    )
}

/// Follows one task and queues its chunks, then its response.
async fn forward(state: &AppState, handle: TaskHandle, session_id: String, _following: Pending) {
    let Some(agent) = state.agent.as_deref() else {
        return;
    };
    let queue_id = handle.id().to_owned();
    let mut events = handle.events();
    let mut seq = 0_u64;
    while let Some(event) = events.next().await {
        if let Some((kind, content)) = chunk_of(&event.event) {
            seq += 1;
            agent.offer(Delivery {
                leaf: "chunk",
                queue_id: queue_id.clone(),
                body: json!({
                    "queue_id": queue_id,
                    "seq": seq,
                    "type": kind,
                    "content": cut(&content),
                    "session_id": session_id,
                }),
                _pending: Pending::new(&agent.pending),
            });
        }
        if let Some(response) = response_of(&event) {
            let delivery = Delivery {
                leaf: "response",
                queue_id: queue_id.clone(),
                body: json!({"queue_id": queue_id, "response": response}),
                _pending: Pending::new(&agent.pending),
            };
            // The final answer waits for room a while (this is the forwarder, not the task).
            if agent
                .queue
                .send_timeout(delivery, Duration::from_secs(30))
                .await
                .is_err()
            {
                tracing::warn!(
                    queue_id = %queue_id,
                    "the agent webhook queue stayed full: the final response was dropped"
                );
            }
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_must_be_http_with_a_host() {
        assert!(AgentWebhook::new("http://127.0.0.1:9000/hooks/").is_ok());
        assert_eq!(
            AgentWebhook::new("http://127.0.0.1:9000/hooks/")
                .unwrap()
                .url("chunk"),
            "http://127.0.0.1:9000/hooks/chunk"
        );
        for bad in ["ftp://x/", "not a url", "http://x/?a=b", "file:///tmp"] {
            assert!(AgentWebhook::new(bad).is_err(), "{bad}");
        }
        let debug = format!(
            "{:?}",
            AgentWebhook::new("http://x/").unwrap().token("s3cret")
        );
        assert!(!debug.contains("s3cret"));
    }

    #[test]
    fn session_config_takes_a_namespace_and_a_mode_only() {
        let request = apply_session_config(
            TaskRequest::new("q"),
            Some(&json!({"namespace": "shop", "mode": "read-only", "model": "gpt-x", "byok": {"key": "k"}})),
        )
        .unwrap();
        assert_eq!(request.namespace.as_deref(), Some("shop"));
        assert!(
            apply_session_config(TaskRequest::new("q"), Some(&json!({"namespace": "Bad NS"})))
                .is_err()
        );
        assert!(
            apply_session_config(TaskRequest::new("q"), Some(&json!({"mode": "yolo"}))).is_err()
        );
        assert!(apply_session_config(TaskRequest::new("q"), Some(&json!("x"))).is_err());
    }
}
