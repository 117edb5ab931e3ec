//! Approvals on the terminal: the runtime's [`Approver`] hands each request to the UI loop,
//! which shows it and asks y/N. With no terminal to ask on, every request is denied and the
//! reason says so.

use std::sync::Arc;

use async_trait::async_trait;
use kopilot_core::safety::{ApprovalDecision, ApprovalRequest, Approver};
use tokio::sync::{mpsc, oneshot};

/// One approval request waiting for the person at the terminal.
pub(crate) struct Ask {
    pub(crate) request: ApprovalRequest,
    pub(crate) reply: oneshot::Sender<ApprovalDecision>,
}

/// Why a request is denied when standard input is not a terminal.
pub(crate) const NO_TERMINAL: &str = "no terminal to ask for approval on (standard input is not a terminal), so the answer is No; run kopilot ask in a terminal to approve changes";

/// The approver for `kopilot ask`: asks through `asks` when `interactive`, else denies.
pub(crate) fn for_terminal(
    interactive: bool,
    user: String,
    asks: mpsc::Sender<Ask>,
) -> Arc<dyn Approver> {
    if interactive {
        Arc::new(TerminalApprover { user, asks })
    } else {
        Arc::new(NoTerminal { user })
    }
}

struct TerminalApprover {
    user: String,
    asks: mpsc::Sender<Ask>,
}

#[async_trait]
impl Approver for TerminalApprover {
    async fn decide(&self, request: &ApprovalRequest) -> ApprovalDecision {
        let (reply, answer) = oneshot::channel();
        let ask = Ask {
            request: request.clone(),
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

struct NoTerminal {
    user: String,
}

#[async_trait]
impl Approver for NoTerminal {
    async fn decide(&self, request: &ApprovalRequest) -> ApprovalDecision {
        ApprovalDecision::deny(request, &self.user, NO_TERMINAL)
    }
}
