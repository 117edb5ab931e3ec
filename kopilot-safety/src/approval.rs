//! Approvals: the only path from "needs approval" to "runs".
//!
//! An [`Approver`] answers an [`ApprovalRequest`] with an [`ApprovalDecision`]. Adapters
//! implement it (a terminal prompt, an HTTP endpoint, a Kubernetes object, an MCP elicitation);
//! this module ships three: [`DenyAll`] (the non-interactive default), [`ApproveAll`] (an explicit
//! opt-in for tests) and [`ChannelApprover`] (pending requests an adapter can list and answer).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::sync::{broadcast, oneshot};

use crate::error::{Error, Result};
use crate::risk::Risk;

/// Who someone is, as an adapter established it: the operating-system user at a terminal, the
/// owner of a bearer token the server verified, a Kubernetes user the API server authenticated.
/// Never a name taken from what the person sent (a field in a request body): four-eyes
/// compares identities, so an identity that anyone can claim would make it meaningless.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(transparent)]
pub struct Identity(String);

impl Identity {
    /// An identity the adapter established.
    pub fn new(name: impl Into<String>) -> Self {
        Self(name.into())
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether two identities are the same person for four-eyes (names compared without case
    /// and surrounding space, so `Alice` cannot approve what `alice ` asked for).
    pub fn same_person(&self, other: &Self) -> bool {
        self.0.trim().eq_ignore_ascii_case(other.0.trim())
    }
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A request for a human to allow one exact command. Only the [`crate::Guard`] issues them; a
/// copy rebuilt from JSON cannot be answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ApprovalRequest {
    /// Unique id; a decision must name it.
    pub id: String,
    /// The exact command line that will run if approved.
    pub command: String,
    /// Its risk.
    pub risk: Risk,
    /// Why it needs approval.
    pub reasons: Vec<String>,
    /// SHA-256 of the exact argv pipeline that will run
    /// ([`argv_sha256`](crate::audit::argv_sha256)), as the audit log records it when it
    /// runs; `None` for a line with shell syntax, which is never run as a pipeline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub argv_sha256: Option<String>,
    /// What the command would change, when the runtime could preview it (set by the runtime
    /// before the approver sees the request; the guard does not make it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview: Option<Box<kopilot_protocol::ChangePreview>>,
    /// Who asked (the user behind the task).
    pub requester: Identity,
    /// The task the command belongs to, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    /// When the request was made.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub created_at: OffsetDateTime,
    /// After this instant the request counts as denied.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub expires_at: OffsetDateTime,
    /// A random number only the issuing guard and decisions made from this request know.
    #[serde(skip)]
    pub(crate) binding: u64,
}

impl ApprovalRequest {
    /// How long is left before the request expires (zero when it has).
    pub fn remaining(&self) -> Duration {
        let left = self.expires_at - OffsetDateTime::now_utc();
        Duration::try_from(left).unwrap_or(Duration::ZERO)
    }
}

/// An answer to one [`ApprovalRequest`], made from that request by an [`Approver`]. Its fields
/// are read-only; the guard checks that it answers the request it holds, in time, and (under
/// four-eyes) by someone other than the requester.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApprovalDecision {
    request_id: String,
    #[serde(skip)]
    binding: u64,
    approved: bool,
    decided_by: Identity,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    decided_at: OffsetDateTime,
}

impl ApprovalDecision {
    /// An approval of `request` by `by`.
    pub fn approve(request: &ApprovalRequest, by: &Identity) -> Self {
        Self::new(request, true, by, None)
    }

    /// A denial of `request` by `by`, with a reason.
    pub fn deny(request: &ApprovalRequest, by: &Identity, reason: impl Into<String>) -> Self {
        Self::new(request, false, by, Some(reason.into()))
    }

    fn new(
        request: &ApprovalRequest,
        approved: bool,
        by: &Identity,
        reason: Option<String>,
    ) -> Self {
        Self {
            request_id: request.id.clone(),
            binding: request.binding,
            approved,
            decided_by: by.clone(),
            reason,
            decided_at: OffsetDateTime::now_utc(),
        }
    }

    /// With a reason (also for approvals).
    #[must_use]
    pub fn because(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// The request this answers.
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// Whether the command may run (if the guard accepts the decision).
    pub fn approved(&self) -> bool {
        self.approved
    }

    /// Who decided.
    pub fn decided_by(&self) -> &Identity {
        &self.decided_by
    }

    /// Why, if a reason was given.
    pub fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }

    /// When the decision was made (the guard checks expiry with its own clock, not this).
    pub fn decided_at(&self) -> OffsetDateTime {
        self.decided_at
    }

    /// Whether it was made from `request` itself (not from another request or a copy rebuilt
    /// from JSON).
    pub(crate) fn answers(&self, request: &ApprovalRequest) -> bool {
        self.request_id == request.id && self.binding == request.binding && request.binding != 0
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
        ApprovalDecision::deny(
            request,
            &Identity::new("kopilot:deny-all"),
            self.reason.clone(),
        )
    }
}

/// Approves everything in the name of a given identity. An explicit opt-in for tests and
/// sandboxes; never a default.
#[derive(Debug, Clone)]
pub struct ApproveAll {
    identity: Identity,
}

impl ApproveAll {
    /// Approves as `identity` (recorded in the audit log).
    pub fn new(identity: impl Into<String>) -> Self {
        Self {
            identity: Identity::new(identity),
        }
    }
}

#[async_trait]
impl Approver for ApproveAll {
    async fn decide(&self, request: &ApprovalRequest) -> ApprovalDecision {
        ApprovalDecision::approve(request, &self.identity)
    }
}

/// Decisions Kopilot makes itself (timeouts, a vanished approver).
static KOPILOT: std::sync::LazyLock<Identity> =
    std::sync::LazyLock::new(|| Identity::new("kopilot"));

struct Pending {
    request: ApprovalRequest,
    reply: oneshot::Sender<ApprovalDecision>,
}

type PendingMap = Arc<Mutex<HashMap<String, Pending>>>;

/// The ids of the latest requests that expired unanswered, so a late answer is told so
/// (`approval.expired`) instead of "unknown"; bounded to [`EXPIRED_REMEMBERED`].
type ExpiredIds = Arc<Mutex<VecDeque<String>>>;

/// How many expired request ids a [`ChannelApprover`] remembers.
const EXPIRED_REMEMBERED: usize = 1024;

/// An approver whose pending requests an adapter lists ([`ChannelApprover::pending`]), watches
/// ([`ChannelApprover::subscribe`]) and answers ([`ChannelApprover::answer`]). A request that is
/// not answered before it expires is denied.
#[derive(Clone)]
pub struct ChannelApprover {
    pending: PendingMap,
    expired: ExpiredIds,
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
            expired: Arc::default(),
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

    /// Answers a pending request in the name of `by`, an identity the adapter established
    /// (the caller's verified token, not a name the caller sent).
    pub fn answer(
        &self,
        id: &str,
        approved: bool,
        by: &Identity,
        reason: Option<String>,
    ) -> Result<()> {
        let mut map = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(entry) = map.get(id) else {
            let expired = self
                .expired
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .any(|e| e == id);
            return Err(if expired {
                Error::ApprovalExpired(id.to_owned())
            } else {
                Error::UnknownApproval(id.to_owned())
            });
        };
        if self.four_eyes && approved && entry.request.requester.same_person(by) {
            return Err(Error::FourEyes(by.to_string()));
        }
        let Some(entry) = map.remove(id) else {
            return Err(Error::UnknownApproval(id.to_owned()));
        };
        let decision = ApprovalDecision::new(&entry.request, approved, by, reason);
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
            Ok(Err(_)) => ApprovalDecision::deny(request, &KOPILOT, "the approver went away"),
            Err(_) => {
                // Withdrawn and remembered as expired in one step (the pending lock first, as
                // `answer` takes them), so a late answer is told it expired, never accepted.
                let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
                pending.remove(&request.id);
                let mut expired = self.expired.lock().unwrap_or_else(PoisonError::into_inner);
                if expired.len() == EXPIRED_REMEMBERED {
                    expired.pop_front();
                }
                expired.push_back(request.id.clone());
                ApprovalDecision::deny(request, &KOPILOT, "the approval request expired")
            }
        }
    }
}
