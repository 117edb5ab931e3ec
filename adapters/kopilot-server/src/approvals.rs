//! `/approvals`: the commands waiting for a person, and their decisions.
//!
//! The decider is the token's owner, never a name from the body; under four-eyes the token
//! that asked for a command cannot approve it (403 `approval.four_eyes`). A request that
//! expired unanswered counted as denied (409 `approval.expired`). The guard audits every
//! decision with the decider's name.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Extension, Path, Query, State};
use kopilot_core::safety::redact::{redact, redact_command_line};
use kopilot_core::safety::{ApprovalRequest, Identity};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::admission::require;
use crate::error::{ApiError, ApiResult};
use crate::tasks::parse_json;
use crate::tokens::{Caller, Role};

/// A pending approval as the server shows it: the request (command and reasons with secret
/// values redacted), and the argv pipeline that would run.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub(crate) struct ApprovalView {
    #[serde(flatten)]
    request: ApprovalRequest,
    /// The exact argv of each stage of the pipeline that runs if it is approved (secret
    /// values redacted); absent for a line with shell syntax.
    #[serde(skip_serializing_if = "Option::is_none")]
    argv: Option<Vec<Vec<String>>>,
}

fn view(state: &AppState, mut request: ApprovalRequest) -> ApprovalView {
    let argv = state
        .kopilot
        .guard()
        .assess(&request.command)
        .pipeline
        .map(|stages| {
            stages
                .into_iter()
                .map(|argv| {
                    argv.iter()
                        .map(|word| redact_command_line(word).into_owned())
                        .collect()
                })
                .collect()
        });
    request.command = redact_command_line(&request.command).into_owned();
    request.reasons = request
        .reasons
        .iter()
        .map(|r| redact(r).into_owned())
        .collect();
    ApprovalView { request, argv }
}

/// `?status=pending`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListParams {
    /// Only `pending` approvals are listed (decided ones are in each task's events).
    #[serde(default)]
    #[schemars(with = "Option<PendingOnly>")]
    status: Option<String>,
}

/// The one approval status listed.
#[derive(schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum PendingOnly {
    Pending,
}

/// The pending approvals, oldest first.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub(crate) struct ApprovalList {
    approvals: Vec<ApprovalView>,
}

/// `GET /approvals?status=pending`.
pub(crate) async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    query: Result<Query<ListParams>, QueryRejection>,
) -> ApiResult<Json<ApprovalList>> {
    require(&caller, Role::Viewer, "listing approvals")?;
    let Query(params) = query.map_err(|e| ApiError::invalid(e.body_text()))?;
    if let Some(status) = params.status.filter(|s| s != "pending") {
        return Err(ApiError::invalid(format!(
            "status `{status}`: only pending approvals are listed (decided ones are in each task's events)"
        )));
    }
    let approvals = state
        .kopilot
        .approvals()
        .into_iter()
        .map(|r| view(&state, r))
        .collect();
    Ok(Json(ApprovalList { approvals }))
}

/// `GET /approvals/{id}`.
pub(crate) async fn get(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<ApprovalView>> {
    require(&caller, Role::Viewer, "reading an approval")?;
    let request = state
        .kopilot
        .approvals()
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| {
            ApiError::from(kopilot_core::Error::from(
                kopilot_core::safety::Error::UnknownApproval(id.clone()),
            ))
        })?;
    Ok(Json(view(&state, request)))
}

/// What a decider says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Verdict {
    Approve,
    Deny,
}

/// `POST /approvals/{id}`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DecideBody {
    /// `approve` or `deny`.
    decision: Verdict,
    /// Why (kept in the audit log), at most 1000 bytes.
    #[serde(default)]
    #[schemars(length(max = 250))]
    reason: Option<String>,
}

/// The decision as recorded.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub(crate) struct DecisionMade {
    id: String,
    decision: Verdict,
    decided_by: String,
}

/// The longest reason kept.
const MAX_REASON: usize = 1000;

/// `POST /approvals/{id}` `{decision: approve|deny, reason}`.
pub(crate) async fn decide(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Result<Json<DecideBody>, JsonRejection>,
) -> ApiResult<Json<DecisionMade>> {
    require(&caller, Role::Approver, "deciding an approval")?;
    let body = parse_json(body)?;
    if body.reason.as_ref().is_some_and(|r| r.len() > MAX_REASON) {
        return Err(ApiError::invalid(format!(
            "reason is longer than {MAX_REASON} bytes"
        )));
    }
    let by = Identity::new(caller.name.clone());
    state
        .kopilot
        .answer_approval(&id, body.decision == Verdict::Approve, &by, body.reason)?;
    Ok(Json(DecisionMade {
        id,
        decision: body.decision,
        decided_by: caller.name,
    }))
}
