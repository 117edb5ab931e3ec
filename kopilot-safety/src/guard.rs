//! The guard: assess a command line, decide under the policy, and hand out a
//! [`ClearedCommand`] only for what may run.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use time::OffsetDateTime;

use crate::approval::{ApprovalDecision, ApprovalRequest, Approver, Identity};
use crate::assess::Assessment;
use crate::audit::{AuditEvent, AuditSink, NullAuditSink};
use crate::policy::Policy;
use crate::redact::{redact, redact_command_line};
use crate::risk::{Decision, Mode, Risk};
use crate::shell::Walker;

/// Who is asking and for which task: carried into approval requests and audit records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    /// The identity behind the request, as the adapter established it (a user name, a token
    /// subject, a service account).
    pub requester: Identity,
    /// The task the command belongs to.
    pub task_id: Option<String>,
}

impl RequestContext {
    /// A context for `requester` with no task.
    pub fn new(requester: Identity) -> Self {
        Self {
            requester,
            task_id: None,
        }
    }

    /// Sets the task id.
    #[must_use]
    pub fn with_task(mut self, task_id: impl Into<String>) -> Self {
        self.task_id = Some(task_id.into());
        self
    }
}

/// A command the guard cleared: allowed by the policy, or approved by a human.
///
/// Only this crate can make one, so an executor that accepts `ClearedCommand` cannot run
/// anything the guard has not seen. It is not `Clone`: running it consumes it, so one approval
/// runs one command once.
///
/// ```compile_fail
/// fn spend_twice(cleared: kopilot_safety::ClearedCommand) -> (kopilot_safety::ClearedCommand, kopilot_safety::ClearedCommand) {
///     (cleared.clone(), cleared)
/// }
/// ```
#[derive(Debug)]
pub struct ClearedCommand {
    assessment: Assessment,
    approval: Option<ApprovalDecision>,
}

impl ClearedCommand {
    /// The command line as assessed.
    pub fn line(&self) -> &str {
        &self.assessment.command
    }

    /// The full assessment.
    pub fn assessment(&self) -> &Assessment {
        &self.assessment
    }

    /// The line as argv pipeline stages, when it is one plain pipeline of literal words.
    pub fn pipeline(&self) -> Option<&[Vec<String>]> {
        self.assessment.pipeline.as_deref()
    }

    /// The approval that cleared it, if it needed one.
    pub fn approval(&self) -> Option<&ApprovalDecision> {
        self.approval.as_ref()
    }
}

/// A command that waits for a human. Resolve it with [`Guard::resolve`] (once: it is not
/// `Clone`).
#[derive(Debug)]
pub struct ApprovalTicket {
    request: ApprovalRequest,
    assessment: Assessment,
}

impl ApprovalTicket {
    /// The request to show an approver.
    pub fn request(&self) -> &ApprovalRequest {
        &self.request
    }

    /// The assessment behind it.
    pub fn assessment(&self) -> &Assessment {
        &self.assessment
    }
}

/// What [`Guard::check`] says about a command line.
#[derive(Debug)]
pub enum Verdict {
    /// It may run now.
    Allowed(ClearedCommand),
    /// It may run only after approval.
    NeedsApproval(ApprovalTicket),
    /// It must not run.
    Blocked(Assessment),
}

/// Why a command did not clear.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Refusal {
    /// The policy blocks it.
    #[error("blocked ({}): {}", .0.risk, .0.reasons.join("; "))]
    Blocked(Box<Assessment>),
    /// A human (or the default approver) said no.
    #[error("denied by {}: {}", .decision.decided_by(), .decision.reason().unwrap_or("no reason given"))]
    Denied {
        /// The assessment.
        assessment: Box<Assessment>,
        /// The denial.
        decision: ApprovalDecision,
    },
    /// The decision could not be accepted (wrong request id, four-eyes, audit failure).
    #[error("not cleared: {reason}")]
    Invalid {
        /// The assessment.
        assessment: Box<Assessment>,
        /// What was wrong.
        reason: String,
    },
}

/// Assesses command lines under a [`Policy`] and audits every assessment and decision.
///
/// ```
/// use kopilot_safety::{Decision, Guard, Policy, Risk};
///
/// let guard = Guard::new(Policy::default());
/// let a = guard.assess("kubectl get pods -n shop | grep -v Running");
/// assert_eq!((a.decision, a.risk), (Decision::Allow, Risk::Low));
///
/// let a = guard.assess("kubectl get pods; kubectl delete ns kube-system");
/// assert_eq!((a.decision, a.risk), (Decision::Block, Risk::Critical));
/// ```
#[derive(Clone)]
pub struct Guard {
    policy: Arc<Policy>,
    audit: Arc<dyn AuditSink>,
    clock: Clock,
}

/// What the guard reads the time from (approval creation and expiry).
type Clock = Arc<dyn Fn() -> OffsetDateTime + Send + Sync>;

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

static NEXT_APPROVAL: AtomicU64 = AtomicU64::new(1);

impl Guard {
    /// A guard that audits nowhere (use [`Guard::with_audit`] in real deployments).
    pub fn new(policy: Policy) -> Self {
        Self {
            policy: Arc::new(policy),
            audit: Arc::new(NullAuditSink),
            clock: Arc::new(OffsetDateTime::now_utc),
        }
    }

    /// Reads the time from `clock` instead of the system clock (approval requests are dated
    /// and their expiry checked with it; for tests and simulations).
    #[must_use]
    pub fn with_clock(
        mut self,
        clock: impl Fn() -> OffsetDateTime + Send + Sync + 'static,
    ) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Sends every assessment and decision to `sink`.
    #[must_use]
    pub fn with_audit(mut self, sink: Arc<dyn AuditSink>) -> Self {
        self.audit = sink;
        self
    }

    /// This guard, with the same audit sink and clock, under a mode no more lenient than
    /// `mode`: the guard of one request that asked for a stricter mode than the policy's (an
    /// HTTP request's `mode`, a custom resource's). It never widens the policy: asking for
    /// `full-access` under an `approve` policy keeps `approve`.
    ///
    /// ```
    /// use kopilot_safety::{Guard, Mode, Policy};
    ///
    /// let guard = Guard::new(Policy::default());
    /// assert_eq!(guard.narrowed_to(Mode::ReadOnly).policy().mode(), Mode::ReadOnly);
    /// assert_eq!(guard.narrowed_to(Mode::FullAccess).policy().mode(), Mode::Approve);
    /// ```
    #[must_use]
    pub fn narrowed_to(&self, mode: Mode) -> Guard {
        let narrowed = self.policy.mode().stricter(mode);
        if narrowed == self.policy.mode() {
            return self.clone();
        }
        Guard {
            policy: Arc::new(self.policy.as_ref().clone().with_mode(narrowed)),
            audit: Arc::clone(&self.audit),
            clock: Arc::clone(&self.clock),
        }
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The audit sink.
    pub fn audit_sink(&self) -> &Arc<dyn AuditSink> {
        &self.audit
    }

    /// Assesses a command line. Pure: nothing is audited.
    pub fn assess(&self, line: &str) -> Assessment {
        let mut walker = Walker::new(&self.policy);
        walker.line(line, 0);
        if walker.out.is_empty() {
            // Syntax with no simple command in it at all (`!`, `( )`): nothing to vouch for.
            walker.finding(
                "(input)",
                line,
                Risk::Critical,
                "contains no command".to_owned(),
            );
        }
        let commands = walker.out;
        let risk = commands
            .iter()
            .map(|c| c.risk)
            .max()
            .unwrap_or(Risk::Critical);
        let mut reasons: Vec<String> = Vec::new();
        for command in commands.iter().filter(|c| c.risk == risk) {
            for reason in command.significant_reasons() {
                if !reasons.contains(reason) {
                    reasons.push(reason.clone());
                }
            }
        }
        let (decision, policy_reason) = decide(&self.policy, risk);
        if let Some(reason) = policy_reason {
            reasons.push(reason);
        }
        Assessment {
            command: line.to_owned(),
            decision,
            risk,
            reasons,
            commands,
            pipeline: walker.plain_pipeline,
        }
    }

    /// Assesses raw bytes: input that is not UTF-8 is blocked with a reason.
    pub fn assess_bytes(&self, line: &[u8]) -> Assessment {
        match std::str::from_utf8(line) {
            Ok(text) => self.assess(text),
            Err(e) => {
                let command = String::from_utf8_lossy(line).into_owned();
                Assessment {
                    command,
                    decision: Decision::Block,
                    risk: Risk::Critical,
                    reasons: vec![format!(
                        "input is not valid UTF-8 (invalid byte at offset {})",
                        e.valid_up_to()
                    )],
                    commands: Vec::new(),
                    pipeline: None,
                }
            }
        }
    }

    /// Assesses, audits and decides. An assessment that cannot be audited is blocked.
    pub fn check(&self, line: &str, ctx: &RequestContext) -> Verdict {
        let mut assessment = self.assess(line);
        // What reaches the audit log has its secret values redacted.
        let recorded = redact_command_line(&assessment.command).into_owned();
        let event = AuditEvent::Assessment {
            command: recorded.clone(),
            decision: assessment.decision,
            risk: assessment.risk,
            reasons: assessment
                .reasons
                .iter()
                .map(|r| redact(r).into_owned())
                .collect(),
            requester: ctx.requester.to_string(),
            task_id: ctx.task_id.clone(),
        };
        if let Err(e) = self.audit.record(&event) {
            assessment.decision = Decision::Block;
            assessment
                .reasons
                .push(format!("the audit log cannot be written: {e}"));
            return Verdict::Blocked(assessment);
        }
        match assessment.decision {
            Decision::Allow => Verdict::Allowed(ClearedCommand {
                assessment,
                approval: None,
            }),
            Decision::Block => Verdict::Blocked(assessment),
            Decision::Approve => {
                let now = (self.clock)();
                let request = ApprovalRequest {
                    id: format!(
                        "a-{}-{}",
                        now.unix_timestamp(),
                        NEXT_APPROVAL.fetch_add(1, Ordering::Relaxed)
                    ),
                    command: assessment.command.clone(),
                    risk: assessment.risk,
                    reasons: assessment.reasons.clone(),
                    argv_sha256: assessment
                        .pipeline
                        .as_deref()
                        .map(crate::audit::argv_sha256),
                    preview: None,
                    requester: ctx.requester.clone(),
                    task_id: ctx.task_id.clone(),
                    created_at: now,
                    expires_at: now + self.policy.approval_ttl(),
                    binding: rand::random::<u64>() | 1,
                };
                let event = AuditEvent::ApprovalRequested {
                    id: request.id.clone(),
                    command: recorded,
                    risk: request.risk,
                    requester: request.requester.to_string(),
                    task_id: request.task_id.clone(),
                };
                if let Err(e) = self.audit.record(&event) {
                    assessment.decision = Decision::Block;
                    assessment
                        .reasons
                        .push(format!("the audit log cannot be written: {e}"));
                    return Verdict::Blocked(assessment);
                }
                Verdict::NeedsApproval(ApprovalTicket {
                    request,
                    assessment,
                })
            }
        }
    }

    /// Turns a ticket and an approver's decision into a cleared command, or a refusal. The
    /// decision must have been made from this ticket's request (not another request, not a copy
    /// rebuilt from JSON), arrive before the request expires by the guard's clock, respect
    /// four-eyes (the decider is not the requester), and be audited.
    pub fn resolve(
        &self,
        ticket: ApprovalTicket,
        decision: ApprovalDecision,
    ) -> Result<ClearedCommand, Refusal> {
        let ApprovalTicket {
            request,
            assessment,
        } = ticket;
        let invalid = |assessment: Assessment, reason: String| Refusal::Invalid {
            assessment: Box::new(assessment),
            reason,
        };
        let mut problem = None;
        if !decision.answers(&request) {
            problem = Some(format!(
                "the decision (for request `{}`) was not made from request `{}` by the approval machinery",
                decision.request_id(),
                request.id
            ));
        } else if decision.approved() && (self.clock)() > request.expires_at {
            problem = Some(format!(
                "the approval came after the request expired at {}",
                request
                    .expires_at
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default()
            ));
        } else if decision.approved()
            && self.policy.four_eyes()
            && decision.decided_by().same_person(&request.requester)
        {
            problem = Some(format!(
                "four-eyes policy: `{}` asked for this command and cannot also approve it",
                decision.decided_by()
            ));
        }
        let event = AuditEvent::ApprovalDecided {
            id: request.id.clone(),
            command: redact_command_line(&request.command).into_owned(),
            approved: decision.approved() && problem.is_none(),
            decided_by: decision.decided_by().to_string(),
            reason: problem
                .clone()
                .or_else(|| decision.reason().map(|r| redact(r).into_owned())),
            task_id: request.task_id.clone(),
        };
        if let Err(e) = self.audit.record(&event) {
            return Err(invalid(
                assessment,
                format!("the audit log cannot be written: {e}"),
            ));
        }
        if let Some(problem) = problem {
            return Err(invalid(assessment, problem));
        }
        if decision.approved() {
            Ok(ClearedCommand {
                assessment,
                approval: Some(decision),
            })
        } else {
            Err(Refusal::Denied {
                assessment: Box::new(assessment),
                decision,
            })
        }
    }

    /// The whole path for one command line: check, ask `approver` when needed, resolve.
    pub async fn authorize(
        &self,
        line: &str,
        ctx: &RequestContext,
        approver: &dyn Approver,
    ) -> Result<ClearedCommand, Refusal> {
        match self.check(line, ctx) {
            Verdict::Allowed(cleared) => Ok(cleared),
            Verdict::Blocked(assessment) => Err(Refusal::Blocked(Box::new(assessment))),
            Verdict::NeedsApproval(ticket) => {
                let decision = approver.decide(ticket.request()).await;
                self.resolve(ticket, decision)
            }
        }
    }
}

/// The guard's parse of one command given as argv (no shell involved): its program, verb,
/// resource types, names, namespaces, flags, connection flags and what sensitive data its
/// output can carry, with the risk the default policy gives it.
///
/// Executors and tools read this instead of keeping flag tables of their own:
///
/// ```
/// let parsed = kopilot_safety::parse_argv(&["kubectl", "get", "pods", "-As", "https://x"]);
/// assert_eq!(parsed.connection_flags, ["server"]);
/// assert!(parsed.all_namespaces);
/// ```
pub fn parse_argv<S: AsRef<str>>(argv: &[S]) -> crate::assess::CommandAssessment {
    crate::shell::parse_argv(&Policy::default(), argv)
}

/// The decision for a line's risk under the policy, and the policy's reason when it matters.
fn decide(policy: &Policy, risk: Risk) -> (Decision, Option<String>) {
    match (policy.mode(), risk) {
        (_, Risk::Critical) => (Decision::Block, None),
        (_, Risk::Low) => (Decision::Allow, None),
        (Mode::ReadOnly, Risk::Medium | Risk::High) => (
            Decision::Block,
            Some("read-only mode runs only low-risk commands".to_owned()),
        ),
        (Mode::Approve, Risk::Medium | Risk::High) => (Decision::Approve, None),
        (Mode::FullAccess, Risk::Medium) => (Decision::Allow, None),
        (Mode::FullAccess, Risk::High) => {
            if policy.require_approval_destructive() {
                (Decision::Approve, None)
            } else {
                (
                    Decision::Allow,
                    Some("full-access mode with SAFETY_REQUIRE_APPROVAL_DESTRUCTIVE=false runs high-risk commands without approval".to_owned()),
                )
            }
        }
    }
}
