//! Approvals for the commands an MCP client's calls want to run: asked of the human at the
//! client through elicitation (`elicitation/create`), or denied with the reason why not.

use std::time::Duration;

use kopilot_core::Kopilot;
use kopilot_core::safety::Identity;
use rmcp::model::ProtocolVersion;
use rmcp::service::{ElicitationError, ElicitationMode};
use rmcp::{Peer, RoleServer};
use schemars::JsonSchema;
use serde::Deserialize;
use time::OffsetDateTime;

/// What the human at the client answers.
#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct ApprovalAnswer {
    /// Run this exact command?
    pub(crate) approve: bool,
}

rmcp::elicit_safe!(ApprovalAnswer);

/// Decides approval `approval_id` of task `task_id`, which asks to run `command` (the line
/// as the task's event shows it, secrets redacted), for the client behind `peer`. Only a
/// request of that task is answered; one already answered or expired is left alone.
pub(crate) async fn decide(
    kopilot: &Kopilot,
    peer: &Peer<RoleServer>,
    task_id: &str,
    approval_id: &str,
    command: &str,
) {
    let Some(request) = kopilot
        .approvals()
        .into_iter()
        .find(|r| r.id == approval_id && r.task_id.as_deref() == Some(task_id))
    else {
        return;
    };
    let client = Identity::new(request.requester.as_str());
    let (approved, reason) = if kopilot.guard().policy().four_eyes() {
        (
            false,
            format!(
                "four-eyes is on: the person at this MCP client asked for `{command}`, so someone \
                 else must approve it, and an MCP client can only answer for its own user"
            ),
        )
    } else if peer
        .peer_info()
        .is_some_and(|info| info.protocol_version >= ProtocolVersion::V_2026_07_28)
    {
        (
            false,
            "the MCP client speaks protocol 2026-07-28, where this server cannot ask its human \
             yet (it asks through `elicitation/create` of the earlier protocol versions), and \
             only a human may approve a command"
                .to_owned(),
        )
    } else if !peer
        .supported_elicitation_modes()
        .contains(&ElicitationMode::Form)
    {
        (
            false,
            "the MCP client cannot ask its human (it declared no elicitation capability), and \
             only a human may approve a command"
                .to_owned(),
        )
    } else {
        let left = request.expires_at - OffsetDateTime::now_utc();
        let timeout = Duration::try_from(left).unwrap_or(Duration::ZERO);
        let message = format!(
            "Kopilot asks to run a command that needs your approval.\n\n    {command}\n\n\
             Risk: {}. {}\nApproval id: {approval_id}. Approve running exactly this command?",
            request.risk.as_str(),
            request.reasons.join("; "),
        );
        match peer
            .elicit_with_timeout::<ApprovalAnswer>(message, Some(timeout))
            .await
        {
            Ok(Some(ApprovalAnswer { approve: true })) => {
                (true, "approved by the human at the MCP client".to_owned())
            }
            Ok(Some(ApprovalAnswer { approve: false })) | Err(ElicitationError::UserDeclined) => {
                (false, "declined by the human at the MCP client".to_owned())
            }
            Err(ElicitationError::UserCancelled) => (
                false,
                "the human at the MCP client dismissed the approval request".to_owned(),
            ),
            Ok(None) | Err(ElicitationError::NoContent | ElicitationError::ParseError { .. }) => (
                false,
                "the MCP client's answer to the approval request was not a yes or no".to_owned(),
            ),
            Err(e) => (
                false,
                format!("the approval could not be asked at the MCP client: {e}"),
            ),
        }
    };
    if let Err(e) = kopilot.answer_approval(approval_id, approved, &client, Some(reason)) {
        // Expired or answered meanwhile: the guard counts an expired request as denied.
        tracing::warn!(approval_id, error = %e, "could not answer the approval");
    }
}
