//! Kopilot over HTTP: the adapter behind `kopilot serve`.
//!
//! Every behaviour is the runtime's ([`kopilot_core::Kopilot`]'s task service); this crate maps
//! it to HTTP: tasks submitted and followed by id, their events as Server-Sent Events with
//! resume, approvals listed and decided by another person, skills and discovery documents,
//! health and readiness. Every request but `/health`, `/healthz`, `/readyz` and `/metrics`
//! carries a bearer token ([`tokens`]), loopback included; `Host` and `Origin` are checked
//! against an allow-list (DNS rebinding); bodies are JSON.
//!
//! ```no_run
//! use kopilot_core::Kopilot;
//! use kopilot_core::safety::ChannelApprover;
//! use kopilot_server::{Server, ServerConfig, tokens::Tokens};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let kopilot = Kopilot::builder().approval_desk(ChannelApprover::new()).build()?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! let tokens = Tokens::open("tokens.json".as_ref())?;
//! let server = Server::new(kopilot, tokens, ServerConfig::default(), listener.local_addr()?);
//! let (_stop, stopped) = tokio::sync::oneshot::channel::<()>();  // send or drop `_stop` to drain
//! server.serve(listener, async { let _ = stopped.await; }).await?;
//! # Ok(()) }
//! ```

mod admission;
mod approvals;
// Issue 20's webhook and agent-contract section.
mod asyncchat;
pub mod error;
mod events;
mod meta;
mod metrics;
mod openapi;
mod tasks;
pub mod tokens;
mod webhook;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use kopilot_core::{Kopilot, Status, TaskQuery};

use crate::admission::{Origins, RateLimiter};
pub use crate::asyncchat::AgentWebhook;
use crate::error::ApiError;
pub use crate::meta::ReadyCheck;
use crate::tokens::Tokens;
pub use crate::webhook::WebhookConfig;

/// How the server behaves; every field has a default fit for a loopback server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// `Host` names served besides `localhost`, the loopback literals and the bound address
    /// (`kopilot.internal`, or `name:port` for another port).
    pub allowed_hosts: Vec<String>,
    /// Origins allowed to call the server besides those of the served hosts
    /// (`https://console.example.com`); these alone get CORS answers (preflight and
    /// `Access-Control-Allow-Origin`).
    pub allowed_origins: Vec<String>,
    /// The largest request body, in bytes (413 above it).
    pub max_body_bytes: usize,
    /// Requests per second per token (`None`: no limit), refilled continuously.
    pub rate_per_second: Option<f64>,
    /// Requests per token allowed at once before the rate applies.
    pub rate_burst: u32,
    /// Events buffered for one event-stream subscriber before it counts as too slow.
    pub subscriber_buffer: usize,
    /// How long a subscriber's full buffer may stay full before it is dropped with a
    /// `lagged` notice.
    pub subscriber_stall: Duration,
    /// How often an idle event stream sends a keep-alive comment.
    pub keep_alive: Duration,
    /// The model's name for `/health` ("offline" without one).
    pub provider: String,
    /// How long a shutdown waits for cancelled tasks to record their end.
    pub drain_timeout: Duration,
    /// `POST /webhook`'s signing secret and headers (`None`: the webhook is not served).
    pub webhook: Option<WebhookConfig>,
    /// Where `/asyncchat` tasks' chunks and responses go (`None`: KubeCopilot's agent
    /// contract, `/asyncchat` and `/cancel`, is not served).
    pub agent_webhook: Option<AgentWebhook>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            allowed_hosts: Vec::new(),
            allowed_origins: Vec::new(),
            max_body_bytes: 1024 * 1024,
            rate_per_second: Some(20.0),
            rate_burst: 200,
            subscriber_buffer: 256,
            subscriber_stall: Duration::from_secs(30),
            keep_alive: Duration::from_secs(15),
            provider: "offline".to_owned(),
            drain_timeout: Duration::from_secs(10),
            webhook: None,
            agent_webhook: None,
        }
    }
}

/// What every handler shares.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) kopilot: Kopilot,
    pub(crate) tokens: Tokens,
    pub(crate) config: Arc<ServerConfig>,
    pub(crate) origins: Arc<Origins>,
    pub(crate) limiter: Option<Arc<RateLimiter>>,
    /// Set once shutdown begins: no new tasks.
    pub(crate) draining: Arc<AtomicBool>,
    /// What `/readyz` checks besides the store and the model.
    pub(crate) checks: Arc<Vec<Arc<dyn ReadyCheck>>>,
    /// What `/metrics` reports, counted from the tasks' events.
    pub(crate) metrics: Arc<metrics::Metrics>,
    /// `/webhook`'s secret and memory, when configured.
    pub(crate) webhook: Option<Arc<webhook::Webhook>>,
    /// `/asyncchat`'s delivery queue, when configured.
    pub(crate) agent: Option<Arc<asyncchat::Agent>>,
}

impl AppState {
    /// Submits a task and counts its events for `/metrics`: every route that starts a task
    /// goes through here.
    pub(crate) fn submit(&self, request: kopilot_core::TaskRequest) -> kopilot_core::TaskHandle {
        let handle = self.kopilot.submit(request);
        self.metrics.watch(&self.kopilot, handle.id().to_owned());
        handle
    }
}

/// A server for one runtime. The runtime should have an approval desk
/// ([`KopilotBuilder::approval_desk`](kopilot_core::KopilotBuilder::approval_desk)) so its
/// approvals can be decided over HTTP; without one every approval is denied.
pub struct Server {
    state: AppState,
}

impl Server {
    /// A server for `kopilot`, accepting `tokens`, bound at `addr` (for the `Host` checks).
    pub fn new(kopilot: Kopilot, tokens: Tokens, config: ServerConfig, addr: SocketAddr) -> Self {
        let limiter = config
            .rate_per_second
            .filter(|r| r.is_finite() && *r > 0.0)
            .map(|rate| Arc::new(RateLimiter::new(rate, config.rate_burst)));
        // An empty secret would let anyone sign: `/webhook` stays off then.
        if config.webhook.as_ref().is_some_and(|c| c.secret.is_empty()) {
            tracing::warn!("the webhook secret is empty: /webhook is not served");
        }
        let webhook = (config.webhook.clone())
            .filter(|c| !c.secret.is_empty())
            .map(|c| Arc::new(webhook::Webhook::new(c)));
        let agent = (config.agent_webhook.clone()).map(|c| Arc::new(asyncchat::Agent::new(c)));
        Self {
            state: AppState {
                kopilot,
                tokens,
                origins: Arc::new(Origins::new(addr, &config)),
                config: Arc::new(config),
                limiter,
                draining: Arc::new(AtomicBool::new(false)),
                checks: Arc::new(Vec::new()),
                metrics: Arc::default(),
                webhook,
                agent,
            },
        }
    }

    /// Adds a check to `/readyz` (the cluster's, say).
    #[must_use]
    pub fn with_check(mut self, check: Arc<dyn ReadyCheck>) -> Self {
        let mut checks: Vec<_> = self.state.checks.iter().cloned().collect();
        checks.push(check);
        self.state.checks = Arc::new(checks);
        self
    }

    /// The routes, with every request's checks.
    pub fn router(&self) -> Router {
        let state = self.state.clone();
        Router::new()
            .route("/tasks", post(tasks::submit).get(tasks::list))
            .route("/tasks/history", get(tasks::history))
            .route("/tasks/{id}", get(tasks::get))
            .route("/tasks/{id}/cancel", post(tasks::cancel))
            .route("/tasks/{id}/events", get(events::sse))
            .route("/tasks/{id}/events/ws", get(events::websocket))
            .route("/approvals", get(approvals::list))
            .route(
                "/approvals/{id}",
                get(approvals::get).post(approvals::decide),
            )
            .route("/skills", get(meta::skills))
            .route("/skills/portable", get(meta::portable))
            .route(
                "/.well-known/agent-manifest.json",
                get(meta::agent_manifest),
            )
            .route("/health", get(meta::health))
            .route("/healthz", get(meta::health))
            .route("/readyz", get(meta::ready))
            .route("/metrics", get(metrics_text))
            .route("/openapi.json", get(openapi_json))
            // Signed webhooks and KubeCopilot's agent contract.
            .route("/webhook", post(webhook::receive))
            .route("/asyncchat", post(asyncchat::submit))
            .route(
                "/cancel/{queue_id}",
                axum::routing::delete(asyncchat::cancel),
            )
            .fallback(not_found)
            .method_not_allowed_fallback(method_not_allowed)
            .layer(DefaultBodyLimit::max(self.state.config.max_body_bytes))
            .layer(axum::middleware::from_fn_with_state(
                state.clone(),
                admission::check,
            ))
            .with_state(state)
    }

    /// Serves on `listener` until `shutdown` completes, then drains: no new tasks, the
    /// running ones cancelled and their end recorded (waiting up to the drain timeout),
    /// everything flushed to the store.
    ///
    /// # Errors
    /// When the listener fails.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let state = self.state.clone();
        let router = self.router();
        let drain_state = state.clone();
        let signal = async move {
            shutdown.await;
            drain(&drain_state).await;
        };
        // Events are small writes: without TCP_NODELAY, Nagle's algorithm holds each one
        // back until the last is acknowledged, and delayed acknowledgements make that 40 ms.
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "could not set TCP_NODELAY on a connection");
            }
        });
        axum::serve(listener, router)
            .with_graceful_shutdown(signal)
            .await?;
        // Issue 20: the agent webhook gets the responses of the tasks the drain cancelled.
        if let Some(agent) = &state.agent {
            agent.flush(state.config.drain_timeout).await;
        }
        state.kopilot.flush().await;
        Ok(())
    }
}

/// Stops taking tasks, cancels the running and queued ones, and waits (bounded) for them
/// to end, so the store records them `cancelled` rather than leaving them unfinished.
async fn drain(state: &AppState) {
    state.draining.store(true, Ordering::SeqCst);
    let live = [Status::Queued, Status::Running, Status::WaitingForApproval];
    let mut handles = Vec::new();
    for status in live {
        let query = TaskQuery::newest(usize::MAX).status(status);
        if let Ok(tasks) = state.kopilot.tasks(&query).await {
            for task in tasks {
                if let Some(handle) = state.kopilot.handle(&task.id) {
                    handle.cancel();
                    handles.push(handle);
                }
            }
        }
    }
    let count = handles.len();
    let all = futures::future::join_all(handles.iter().map(kopilot_core::TaskHandle::result));
    if tokio::time::timeout(state.config.drain_timeout, all)
        .await
        .is_err()
    {
        tracing::warn!(
            tasks = count,
            "some cancelled tasks had not ended when the drain timeout passed"
        );
    }
    state.kopilot.flush().await;
    tracing::info!(cancelled = count, "drained: stopped taking tasks");
}

/// `GET /openapi.json`, made once.
async fn openapi_json() -> axum::Json<serde_json::Value> {
    static DOCUMENT: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    axum::Json(DOCUMENT.get_or_init(openapi::document).clone())
}

/// `GET /metrics`: Prometheus text.
async fn metrics_text(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> impl axum::response::IntoResponse {
    let body = state.metrics.render(
        state.kopilot.running_tasks(),
        events::SUBSCRIBERS.load(Ordering::Relaxed),
    );
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        kopilot_core::ErrorCode::RequestNotFound,
        format!("nothing is served at `{}`", uri.path()),
    )
}

async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        kopilot_core::ErrorCode::RequestNotFound,
        format!("`{method} {}` is not served", uri.path()),
    )
    .with_status(axum::http::StatusCode::METHOD_NOT_ALLOWED)
}
