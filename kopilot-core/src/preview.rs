//! Previews of what a command waiting for approval would change: the [`ChangePreviewer`] trait
//! a Kubernetes crate implements (`kopilot_k8s::preview::KubectlPreviewer`: a server-side dry
//! run and a redacted diff). The runtime calls it before it asks anyone, attaches the preview
//! to the approval request and to its `approval_requested` event, so the terminal prompt, an
//! HTTP approval list, a custom resource and an MCP elicitation all show the same thing.

use std::time::Duration;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use crate::protocol::ChangePreview;
use crate::safety::{Guard, RequestContext};

/// How long the runtime waits for a preview before it asks without one (the preview then says
/// it timed out).
pub const PREVIEW_TIMEOUT: Duration = Duration::from_secs(20);

/// Shows what a command would change before anyone approves it.
#[async_trait]
pub trait ChangePreviewer: Send + Sync {
    /// Previews `command` (the exact line waiting for approval). `Ok(None)` when it is not a
    /// command this previewer can preview. Every command the preview itself runs must pass
    /// `guard` (the runtime's own) as a low-risk read under `ctx`, and stop when `cancel`
    /// fires. Everything in the preview must be redacted.
    ///
    /// # Errors
    /// Why no preview could be made (a program missing, say): the approver is told.
    async fn preview(
        &self,
        guard: &Guard,
        command: &str,
        ctx: &RequestContext,
        cancel: &CancellationToken,
    ) -> Result<Option<ChangePreview>, String>;
}

/// A preview that says why there is none, for the approver.
pub(crate) fn unavailable(command: &str, why: &str) -> ChangePreview {
    ChangePreview {
        command: command.to_owned(),
        ran: Vec::new(),
        changes: Vec::new(),
        failure: Some(format!("no preview: {why}")),
        notes: Vec::new(),
    }
}
