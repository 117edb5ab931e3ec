//! Approvals on the terminal: the runtime's [`Approver`] hands each request to the UI loop,
//! which shows it and asks y/N. With no terminal to ask on, every request is denied and the
//! reason says so.

use std::sync::Arc;

use async_trait::async_trait;
use kopilot_core::safety::{ApprovalDecision, ApprovalRequest, Approver, Identity};
use tokio::sync::{mpsc, oneshot};

/// One approval request waiting for the person at the terminal.
pub(crate) struct Ask {
    pub(crate) request: ApprovalRequest,
    /// Who answers: the operating-system user at this terminal.
    pub(crate) by: Identity,
    pub(crate) reply: oneshot::Sender<ApprovalDecision>,
}

/// Why a request is denied when standard input is not a terminal.
pub(crate) const NO_TERMINAL: &str = "no terminal to ask for approval on (standard input is not a terminal), so the answer is No; run kopilot ask in a terminal to approve changes";

/// Why a request is denied under four-eyes: one terminal has one person.
pub(crate) fn four_eyes_reason(user: &Identity) -> String {
    format!(
        "the four-eyes policy (SAFETY_FOUR_EYES) needs a second person to approve, and this terminal has only you (`{user}`), who asked for it, so the answer is No"
    )
}

/// The approver for `kopilot ask`: asks through `asks` when `interactive`, else denies. Under
/// four-eyes it denies without asking: the person at the terminal is the requester.
pub(crate) fn for_terminal(
    interactive: bool,
    four_eyes: bool,
    user: Identity,
    asks: mpsc::Sender<Ask>,
) -> Arc<dyn Approver> {
    if four_eyes {
        let reason = four_eyes_reason(&user);
        Arc::new(Refuse { user, reason })
    } else if interactive {
        Arc::new(TerminalApprover { user, asks })
    } else {
        Arc::new(Refuse {
            user,
            reason: NO_TERMINAL.to_owned(),
        })
    }
}

struct TerminalApprover {
    user: Identity,
    asks: mpsc::Sender<Ask>,
}

#[async_trait]
impl Approver for TerminalApprover {
    async fn decide(&self, request: &ApprovalRequest) -> ApprovalDecision {
        let (reply, answer) = oneshot::channel();
        let ask = Ask {
            request: request.clone(),
            by: self.user.clone(),
            reply,
        };
        if self.asks.send(ask).await.is_err() {
            return ApprovalDecision::deny(request, &self.user, "the terminal prompt is gone");
        }
        answer.await.unwrap_or_else(|_| {
            ApprovalDecision::deny(request, &self.user, "the prompt ended without an answer")
        })
    }
}

/// Denies every request with one reason (no terminal, or four-eyes on one terminal).
struct Refuse {
    user: Identity,
    reason: String,
}

#[async_trait]
impl Approver for Refuse {
    async fn decide(&self, request: &ApprovalRequest) -> ApprovalDecision {
        ApprovalDecision::deny(request, &self.user, self.reason.clone())
    }
}
