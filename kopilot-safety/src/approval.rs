//! Approvals: the only path from "needs approval" to "runs".
//!
//! An [`Approver`] answers an [`ApprovalRequest`] with an [`ApprovalDecision`]. Adapters
//! implement it (a terminal prompt, an HTTP endpoint, a Kubernetes object, an MCP elicitation);
//! this module ships three: [`DenyAll`] (the non-interactive default), [`ApproveAll`] (an explicit
//! opt-in for tests) and [`ChannelApprover`] (pending requests an adapter can list and answer).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::sync::{broadcast, oneshot};

use crate::error::{Error, Result};
use crate::risk::Risk;

/// A request for a human to allow one exact command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRequest {
    /// Unique id; a decision must name it.
    pub id: String,
    /// The exact command line that will run if approved.
    pub command: String,
    /// Its risk.
    pub risk: Risk,
    /// Why it needs approval.
    pub reasons: Vec<String>,
    /// Who asked (the user behind the task).
    pub requester: String,
    /// The task the command belongs to, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    /// When the request was made.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// After this instant the request counts as denied.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

impl ApprovalRequest {
    /// How long is left before the request expires (zero when it has).
    pub fn remaining(&self) -> Duration {
        let left = self.expires_at - OffsetDateTime::now_utc();
        Duration::try_from(left).unwrap_or(Duration::ZERO)
    }
}

/// A human's answer to an [`ApprovalRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalDecision {
    /// The request this answers.
    pub request_id: String,
    /// Whether the command may run.
    pub approved: bool,
    /// Who decided.
    pub decided_by: String,
    /// Why (optional for approvals, expected for denials).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub decided_at: OffsetDateTime,
}

impl ApprovalDecision {
    /// An approval of `request` by `by`.
    pub fn approve(request: &ApprovalRequest, by: impl Into<String>) -> Self {
        Self {
            request_id: request.id.clone(),
            approved: true,
            decided_by: by.into(),
            reason: None,
            decided_at: OffsetDateTime::now_utc(),
        }
    }

    /// A denial of `request` by `by`, with a reason.
    pub fn deny(
        request: &ApprovalRequest,
        by: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Self {
            request_id: request.id.clone(),
            approved: false,
            decided_by: by.into(),
            reason: Some(reason.into()),
            decided_at: OffsetDateTime::now_utc(),
        }
    }
}

/// Decides approval requests. Implementations must never approve by accident: on any error,
/// timeout or missing human, answer with a denial.
#[async_trait]
pub trait Approver: Send + Sync {
    /// Answers one request. Dropping the future (the task was cancelled) withdraws the request.
    async fn decide(&self, request: &ApprovalRequest) -> ApprovalDecision;
}

/// Denies everything: the default when nobody can be asked.
#[derive(Debug, Clone)]
pub struct DenyAll {
    reason: String,
}

impl DenyAll {
    /// Denies with the given reason (e.g. "no terminal to ask on").
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
        }
    }
}

impl Default for DenyAll {
    fn default() -> Self {
        Self::new("no approver is configured, so commands that need approval are denied")
    }
}

#[async_trait]
impl Approver for DenyAll {
    async fn decide(&self, request: &ApprovalRequest) -> ApprovalDecision {
        ApprovalDecision::deny(request, "kopilot:deny-all", self.reason.clone())
    }
}

/// Approves everything in the name of a given identity. An explicit opt-in for tests and
/// sandboxes; never a default.
#[derive(Debug, Clone)]
pub struct ApproveAll {
    identity: String,
}

impl ApproveAll {
    /// Approves as `identity` (recorded in the audit log).
    pub fn new(identity: impl Into<String>) -> Self {
        Self {
            identity: identity.into(),
        }
    }
}

#[async_trait]
impl Approver for ApproveAll {
    async fn decide(&self, request: &ApprovalRequest) -> ApprovalDecision {
        ApprovalDecision::approve(request, self.identity.clone())
    }
}

struct Pending {
    request: ApprovalRequest,
    reply: oneshot::Sender<ApprovalDecision>,
}

type PendingMap = Arc<Mutex<HashMap<String, Pending>>>;

/// An approver whose pending requests an adapter lists ([`ChannelApprover::pending`]), watches
/// ([`ChannelApprover::subscribe`]) and answers ([`ChannelApprover::answer`]). A request that is
/// not answered before it expires is denied.
#[derive(Clone)]
pub struct ChannelApprover {
    pending: PendingMap,
    notify: broadcast::Sender<ApprovalRequest>,
    four_eyes: bool,
}

impl std::fmt::Debug for ChannelApprover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelApprover")
            .field("pending", &self.pending().len())
            .field("four_eyes", &self.four_eyes)
            .finish_non_exhaustive()
    }
}

impl Default for ChannelApprover {
    fn default() -> Self {
        Self::new()
    }
}

impl ChannelApprover {
    /// An approver with no pending requests.
    pub fn new() -> Self {
        let (notify, _) = broadcast::channel(64);
        Self {
            pending: Arc::default(),
            notify,
            four_eyes: false,
        }
    }

    /// Refuses answers where the approver is the requester.
    #[must_use]
    pub fn with_four_eyes(mut self, yes: bool) -> Self {
        self.four_eyes = yes;
        self
    }

    /// The requests waiting for an answer, oldest first.
    pub fn pending(&self) -> Vec<ApprovalRequest> {
        let map = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let mut list: Vec<ApprovalRequest> = map.values().map(|p| p.request.clone()).collect();
        list.sort_by_key(|r| r.created_at);
        list
    }

    /// New requests as they arrive.
    pub fn subscribe(&self) -> broadcast::Receiver<ApprovalRequest> {
        self.notify.subscribe()
    }

    /// Answers a pending request.
    pub fn answer(
        &self,
        id: &str,
        approved: bool,
        by: impl Into<String>,
        reason: Option<String>,
    ) -> Result<()> {
        let by = by.into();
        let mut map = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(entry) = map.get(id) else {
            return Err(Error::UnknownApproval(id.to_owned()));
        };
        if self.four_eyes && approved && entry.request.requester == by {
            return Err(Error::FourEyes(by));
        }
        let Some(entry) = map.remove(id) else {
            return Err(Error::UnknownApproval(id.to_owned()));
        };
        let decision = ApprovalDecision {
            request_id: id.to_owned(),
            approved,
            decided_by: by,
            reason,
            decided_at: OffsetDateTime::now_utc(),
        };
        // The waiting task may have been cancelled meanwhile; then nothing runs anyway.
        let _ = entry.reply.send(decision);
        Ok(())
    }
}

/// Removes a request from the pending map when its waiter goes away (answered, expired or
/// cancelled).
struct Withdraw {
    pending: PendingMap,
    id: String,
}

impl Drop for Withdraw {
    fn drop(&mut self) {
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.id);
    }
}

#[async_trait]
impl Approver for ChannelApprover {
    async fn decide(&self, request: &ApprovalRequest) -> ApprovalDecision {
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                request.id.clone(),
                Pending {
                    request: request.clone(),
                    reply: tx,
                },
            );
        let _withdraw = Withdraw {
            pending: Arc::clone(&self.pending),
            id: request.id.clone(),
        };
        let _ = self.notify.send(request.clone());
        match tokio::time::timeout(request.remaining(), rx).await {
            Ok(Ok(decision)) => decision,
            Ok(Err(_)) => ApprovalDecision::deny(request, "kopilot", "the approver went away"),
            Err(_) => ApprovalDecision::deny(request, "kopilot", "the approval request expired"),
        }
    }
}
