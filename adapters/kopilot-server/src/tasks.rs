//! `/tasks`: submit, list, look up and cancel tasks.

use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use kopilot_core::names::is_namespace_name;
use kopilot_core::safety::Mode;
use kopilot_core::{Budget, ErrorCode, Status, TaskInfo, TaskQuery, TaskRequest};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::admission::require;
use crate::error::{ApiError, ApiResult};
use crate::tokens::{Caller, Role};

/// `POST /tasks`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SubmitBody {
    /// The question, in plain words (not only spaces; at most the server's prompt limit,
    /// 64 KiB by default).
    #[schemars(length(min = 1), regex(pattern = r"\S"))]
    prompt: String,
    /// Answer with this skill directly.
    #[serde(default)]
    skill: Option<String>,
    /// Continue a conversation: 1 to 128 characters, no spaces or control characters.
    #[serde(default)]
    #[schemars(length(min = 1, max = 128))]
    session_id: Option<String>,
    /// The namespace the question is about (a Kubernetes namespace name).
    #[serde(default)]
    #[schemars(
        length(min = 1, max = 63),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    )]
    namespace: Option<String>,
    /// A stricter safety mode than the server's (never a more lenient one).
    #[serde(default)]
    mode: Option<Mode>,
    /// Review the answer with a second model call.
    #[serde(default)]
    reflect: Option<bool>,
    /// Lower limits than the server's (never higher ones).
    #[serde(default)]
    budget: Option<Budget>,
}

/// The answer to a submit: where to follow the task.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub(crate) struct Submitted {
    id: String,
    status: Status,
    links: Links,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
struct Links {
    #[serde(rename = "self")]
    this: String,
    events: String,
    cancel: String,
}

/// A list of tasks, newest first.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub(crate) struct TaskList {
    tasks: Vec<TaskInfo>,
}

/// `?limit&status&session` of `GET /tasks`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListParams {
    /// At most this many tasks (1 to 1000, default 50).
    #[serde(default)]
    #[schemars(range(min = 1, max = 1000))]
    limit: Option<usize>,
    /// Only tasks with this status.
    #[serde(default)]
    #[schemars(with = "Option<Status>")]
    status: Option<String>,
    /// Only tasks of this session.
    #[serde(default)]
    session: Option<String>,
    /// Only tasks this token name submitted.
    #[serde(default)]
    requester: Option<String>,
}

/// The most tasks one list returns.
const MAX_LIST: usize = 1000;

pub(crate) fn parse_json<T>(body: Result<Json<T>, JsonRejection>) -> ApiResult<T> {
    match body {
        Ok(Json(body)) => Ok(body),
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(
            ApiError::new(ErrorCode::RequestTooLarge, rejection.body_text()),
        ),
        Err(rejection) => Err(ApiError::invalid(rejection.body_text())),
    }
}

fn check_budget(budget: &Budget) -> ApiResult<()> {
    for (name, value) in [
        ("budget.tokens", budget.tokens),
        ("budget.seconds", budget.seconds),
        ("budget.tool_calls", budget.tool_calls),
    ] {
        if value == Some(0) {
            return Err(ApiError::invalid(format!(
                "{name} must be at least 1 (leave it out for the server's limit)"
            )));
        }
    }
    if let Some(dollars) = budget.dollars
        && !(dollars.is_finite() && dollars > 0.0)
    {
        return Err(ApiError::invalid(
            "budget.dollars must be a number above zero",
        ));
    }
    Ok(())
}

/// The request the body asks for, checked, with the server's limits and mode applying.
fn request_of(state: &AppState, caller: &Caller, body: SubmitBody) -> ApiResult<TaskRequest> {
    if body.prompt.trim().is_empty() {
        return Err(ApiError::new(
            ErrorCode::RejectedEmptyPrompt,
            "the prompt is empty: say what to look into",
        ));
    }
    let limit = state.kopilot.limits().max_prompt_bytes;
    if body.prompt.len() > limit {
        return Err(ApiError::new(
            ErrorCode::RejectedPromptTooLarge,
            format!(
                "the prompt is {} bytes; the limit is {limit}",
                body.prompt.len()
            ),
        ));
    }
    let mut request = TaskRequest::new(body.prompt).requester(caller.name.clone());
    if let Some(skill) = body.skill {
        if state.kopilot.skills().get(&skill).is_none() {
            return Err(ApiError::new(
                ErrorCode::RejectedUnknownSkill,
                format!(
                    "there is no skill `{skill}`; the skills are: {}",
                    state.kopilot.skills().names().join(", ")
                ),
            ));
        }
        request = request.skill(skill);
    }
    if let Some(session) = body.session_id {
        if session.is_empty()
            || session.len() > 128
            || session.chars().any(|c| c.is_control() || c.is_whitespace())
        {
            return Err(ApiError::invalid(
                "session_id must be 1 to 128 characters without spaces or control characters",
            ));
        }
        request = request.session(session);
    }
    if let Some(ns) = body.namespace {
        if !is_namespace_name(&ns) {
            return Err(ApiError::invalid(format!(
                "namespace `{ns}` is not a valid Kubernetes namespace name"
            )));
        }
        request = request.namespace(ns);
    }
    if let Some(mode) = body.mode {
        request = request.mode(mode);
    }
    if let Some(reflect) = body.reflect {
        request = request.reflect(reflect);
    }
    if let Some(asked) = body.budget {
        check_budget(&asked)?;
        // Each limit is the lower of the server's and the request's: a request only narrows.
        request = request.budget(state.kopilot.limits().budget.tightened_by(&asked));
    }
    Ok(request)
}

/// `POST /tasks`: 202 with the task's id and links; it runs in the background.
pub(crate) async fn submit(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Result<Json<SubmitBody>, JsonRejection>,
) -> ApiResult<Response> {
    require(&caller, Role::Operator, "submitting a task")?;
    let body = parse_json(body)?;
    if state.draining.load(Ordering::SeqCst) {
        return Err(ApiError::new(
            ErrorCode::RequestUnavailable,
            "the server is shutting down and takes no new tasks",
        ));
    }
    let request = request_of(&state, &caller, body)?;
    let handle = state.submit(request);
    let id = handle.id().to_owned();
    let this = format!("/tasks/{id}");
    let submitted = Submitted {
        links: Links {
            events: format!("{this}/events"),
            cancel: format!("{this}/cancel"),
            this: this.clone(),
        },
        status: handle.status(),
        id,
    };
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, this)],
        Json(submitted),
    )
        .into_response())
}

fn query_of(params: ListParams) -> ApiResult<TaskQuery> {
    let limit = params.limit.unwrap_or(50);
    if !(1..=MAX_LIST).contains(&limit) {
        return Err(ApiError::invalid(format!(
            "limit must be between 1 and {MAX_LIST}"
        )));
    }
    let mut query = TaskQuery::newest(limit);
    if let Some(status) = params.status {
        let status = status
            .parse::<Status>()
            .map_err(|e| ApiError::invalid(format!("status: {e}")))?;
        query = query.status(status);
    }
    if let Some(session) = params.session {
        query = query.session(session);
    }
    if let Some(requester) = params.requester {
        query = query.requester(requester);
    }
    Ok(query)
}

fn params<T>(params: Result<Query<T>, axum::extract::rejection::QueryRejection>) -> ApiResult<T> {
    params
        .map(|Query(p)| p)
        .map_err(|e| ApiError::invalid(e.body_text()))
}

/// `GET /tasks?limit&status&session&requester`.
pub(crate) async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    query: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<TaskList>> {
    require(&caller, Role::Viewer, "listing tasks")?;
    let query = query_of(params(query)?)?;
    let tasks = state.kopilot.tasks(&query).await?;
    Ok(Json(TaskList { tasks }))
}

/// `?limit` of `GET /tasks/history`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct HistoryParams {
    /// At most this many tasks (1 to 1000, default 50).
    #[serde(default)]
    #[schemars(range(min = 1, max = 1000))]
    limit: Option<usize>,
}

/// `GET /tasks/history?limit`: the newest tasks, as `kopilot history` lists them.
pub(crate) async fn history(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    query: Result<Query<HistoryParams>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<TaskList>> {
    require(&caller, Role::Viewer, "reading the history")?;
    let HistoryParams { limit } = params(query)?;
    let query = query_of(ListParams {
        limit,
        status: None,
        session: None,
        requester: None,
    })?;
    let tasks = state.kopilot.tasks(&query).await?;
    Ok(Json(TaskList { tasks }))
}

/// `GET /tasks/{id}`: status, and once it has ended the answer, findings, usage, timings.
pub(crate) async fn get(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<TaskInfo>> {
    require(&caller, Role::Viewer, "reading a task")?;
    Ok(Json(state.kopilot.task(&id).await?))
}

/// `POST /tasks/{id}/cancel`: its own task for an operator, any for an admin. 202: the task
/// stops within a second and ends `cancelled`.
pub(crate) async fn cancel(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    require(&caller, Role::Operator, "cancelling a task")?;
    let task = state.kopilot.task(&id).await?;
    if task.requester != caller.name && caller.role < Role::Admin {
        return Err(ApiError::forbidden(format!(
            "task `{id}` was submitted by `{}`; only they or an admin may cancel it",
            task.requester
        )));
    }
    state.kopilot.cancel(&id).await?;
    let task = state.kopilot.task(&id).await?;
    Ok((StatusCode::ACCEPTED, Json(task)).into_response())
}
