//! Skills, discovery, health and readiness.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures::future::BoxFuture;
use kopilot_core::skills::{CatalogueEntry, PortableManifest};
use serde::Serialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::admission::require;
use crate::error::ApiResult;
use crate::tokens::{Caller, Role};

/// One thing `/readyz` checks besides the store and the model (the cluster, for the CLI's
/// `serve`): `Ok` when usable, else why not.
pub trait ReadyCheck: Send + Sync {
    /// The check's name in the `/readyz` answer.
    fn name(&self) -> &str;
    /// Runs the check.
    fn check(&self) -> BoxFuture<'_, Result<String, String>>;
}

/// The active skills.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub(crate) struct SkillList {
    skills: Vec<CatalogueEntry>,
}

/// `GET /skills`: each active skill's name and what it is for.
pub(crate) async fn skills(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<SkillList>> {
    require(&caller, Role::Viewer, "listing skills")?;
    Ok(Json(SkillList {
        skills: state.kopilot.skills().catalogue(),
    }))
}

/// `GET /skills/portable`: the active skills as portable manifests.
pub(crate) async fn portable(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<PortableManifest>> {
    require(&caller, Role::Viewer, "reading the skill manifests")?;
    Ok(Json(state.kopilot.skills().manifest()))
}

/// `GET /.well-known/agent-manifest.json`: how to use this server, for another agent.
pub(crate) async fn agent_manifest(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<Value>> {
    require(&caller, Role::Viewer, "reading the agent manifest")?;
    Ok(Json(json!({
        "name": "kopilot",
        "version": env!("CARGO_PKG_VERSION"),
        "description": "An approval-gated AI operator for Kubernetes: ask in plain words; reads run, changes wait for a person, disasters are blocked.",
        "async": true,
        "authentication": {"type": "bearer", "header": "Authorization"},
        "endpoints": {
            "submit": {"method": "POST", "path": "/tasks", "returns": "202 {id, status, links}"},
            "task": {"method": "GET", "path": "/tasks/{id}"},
            "events": {"method": "GET", "path": "/tasks/{id}/events", "format": "text/event-stream", "resume": "Last-Event-ID or ?from_seq"},
            "cancel": {"method": "POST", "path": "/tasks/{id}/cancel"},
            "approvals": {"method": "GET", "path": "/approvals"},
            "decide": {"method": "POST", "path": "/approvals/{id}"},
            "skills": {"method": "GET", "path": "/skills/portable"},
        },
        "skills": state.kopilot.skills().names(),
        "model": state.config.provider,
        "safety": {
            "mode": state.kopilot.guard().policy().mode().as_str(),
            "four_eyes": state.kopilot.guard().policy().four_eyes(),
        },
    })))
}

/// `GET /health` and `/healthz`: alive, with the skills count and the model.
pub(crate) async fn health(State(state): State<AppState>) -> Json<Value> {
    Json(json!({
        "status": "ok",
        "skills": state.kopilot.skills().names().len(),
        "provider": state.config.provider,
        "version": env!("CARGO_PKG_VERSION"),
    }))
}

/// `GET /readyz`: 200 when the store takes writes, a model is configured (or the server runs
/// offline on purpose), and every extra check passes; 503 with each check's answer otherwise.
pub(crate) async fn ready(State(state): State<AppState>) -> Response {
    let mut checks = serde_json::Map::new();
    let mut ready = true;
    // A write (it also marks tasks of processes that died as interrupted): fails on a
    // read-only or full disk.
    match state.kopilot.store().mark_interrupted().await {
        Ok(_) => checks.insert("store".into(), json!({"ok": true})),
        Err(e) => {
            ready = false;
            checks.insert("store".into(), json!({"ok": false, "error": e.to_string()}))
        }
    };
    checks.insert(
        "model".into(),
        json!({"ok": true, "detail": if state.kopilot.has_model() { state.config.provider.as_str() } else { "offline: answers from the analyzers" }}),
    );
    let extra: Vec<Arc<dyn ReadyCheck>> = state.checks.iter().cloned().collect();
    for check in extra {
        let name = check.name().to_owned();
        match tokio::time::timeout(std::time::Duration::from_secs(5), check.check()).await {
            Ok(Ok(detail)) => checks.insert(name, json!({"ok": true, "detail": detail})),
            Ok(Err(error)) => {
                ready = false;
                checks.insert(name, json!({"ok": false, "error": error}))
            }
            Err(_) => {
                ready = false;
                checks.insert(name, json!({"ok": false, "error": "no answer within 5 s"}))
            }
        };
    }
    if state.draining.load(std::sync::atomic::Ordering::SeqCst) {
        ready = false;
        checks.insert(
            "server".into(),
            json!({"ok": false, "error": "shutting down"}),
        );
    }
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(json!({"ready": ready, "checks": checks}))).into_response()
}
