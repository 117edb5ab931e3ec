//! The guarded tool call: the one way a tool runs. The arguments are checked against the tool's
//! schema and the tool plans its command lines; the `tool_call` event shows them; each passes
//! through `Guard::check`, the [`Approver`] and `Guard::resolve`, and only cleared commands are
//! executed; the output is redacted and truncated. It emits `tool_call`,
//! `approval_requested`/`approval_decided` and `tool_result`, and the guard audits every
//! assessment and decision.
//!
//! It knows nothing of agents or budgets: it takes a [`CallContext`] (who asks, for which task,
//! what may be called, how to stop it) and a tool name with arguments, so it can serve callers
//! other than the agent loop.
//!
//! [`Approver`]: crate::safety::Approver

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::runtime::Runtime;
use super::text::{excerpt, summary_line, truncate};
use crate::event::EventKind;
use crate::llm::ToolArguments;
use crate::log::EventLog;
use crate::protocol::{ChangePreview, RefusalKind, RefusedCommand, Risk};
use crate::safety::{ClearedCommand, Guard, Identity, Refusal, RequestContext, Verdict};
use crate::schema;
use crate::tool::{Plan, Tool, ToolContext, ToolOutput};
use crate::{Exit, Finding};

/// Where a call's events go and whom they name: the task's log, the agent, the call.
pub(crate) struct CallEvents<'a> {
    pub(crate) log: &'a EventLog,
    pub(crate) task_id: &'a str,
    pub(crate) agent: &'a str,
    pub(crate) call_id: &'a str,
}

impl CallEvents<'_> {
    fn emit(&self, runtime: &Runtime, kind: EventKind) {
        runtime.emit(self.log, self.task_id, self.agent, kind);
    }
}

/// Which tools a caller may use (the guard's policy then decides which commands run).
#[derive(Debug, Clone, Copy)]
pub(crate) enum ToolScope<'a> {
    /// Any registered tool: the runtime's own calls.
    Any,
    /// Only these: a skill's tools.
    Only(&'a [String]),
}

impl ToolScope<'_> {
    fn allows(self, tool: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Only(tools) => tools.iter().any(|t| t == tool),
        }
    }
}

/// The terms one guarded tool call runs under, given by whoever asks for it.
pub(crate) struct CallContext<'a> {
    /// The guard the call's commands pass: the runtime's, or one narrowed for its task.
    pub(crate) guard: &'a Guard,
    /// Who asks: the guard audits it, the approver sees it, four-eyes compares it.
    pub(crate) requester: Identity,
    /// Where the call's events go.
    pub(crate) events: CallEvents<'a>,
    /// The tools that may be called.
    pub(crate) scope: ToolScope<'a>,
    /// The commands refused under this context so far: a line denied earlier is refused
    /// without asking again, and every refusal is recorded for the result.
    pub(crate) refusals: &'a Refusals,
    /// Stops the tool while it runs.
    pub(crate) cancel: CancellationToken,
}

/// The commands a task wanted to run that did not run.
#[derive(Debug, Default)]
pub(crate) struct Refusals {
    inner: Mutex<RefusalsInner>,
}

#[derive(Debug, Default)]
struct RefusalsInner {
    /// Lines a human (or the default approver) refused: never asked again in the task.
    denied: HashSet<String>,
    /// Every refusal, in order, once per command line and kind.
    refused: Vec<RefusedCommand>,
}

impl Refusals {
    fn was_denied(&self, line: &str) -> bool {
        self.lock().denied.contains(line)
    }

    fn record(&self, line: &str, risk: Risk, refusal: RefusalKind, reason: &str) {
        let command = crate::safety::redact::redact_command_line(line).into_owned();
        let reason = crate::safety::redact::redact(reason).into_owned();
        let mut inner = self.lock();
        if refusal != RefusalKind::Blocked {
            inner.denied.insert(line.to_owned());
        }
        let seen = inner
            .refused
            .iter()
            .any(|r| r.command == command && r.refusal == refusal);
        if !seen {
            inner.refused.push(RefusedCommand {
                command,
                risk,
                refusal,
                reason,
            });
        }
    }

    /// The refusals so far, in order.
    pub(crate) fn list(&self) -> Vec<RefusedCommand> {
        self.lock().refused.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RefusalsInner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What a guarded tool call came to.
pub(crate) struct CallOutcome {
    /// Whether the tool ran and succeeded; `false` for a refusal, a blocked or denied command,
    /// or the tool's own error.
    pub(crate) ok: bool,
    /// The output (or why there is none) as the `tool_result` event shows it: redacted and
    /// truncated.
    pub(crate) output: String,
    /// What the tool found, if it ran.
    pub(crate) findings: Vec<Finding>,
}

/// A call whose tool exists, may be called, has valid arguments and made its plan.
struct Planned<'a> {
    tool: Arc<dyn Tool>,
    args: &'a Value,
    plan: Plan,
}

/// What a `tool_result` event reports, before redaction and truncation.
pub(crate) struct Ran {
    pub(crate) ok: bool,
    pub(crate) content: String,
    pub(crate) exit: Option<Exit>,
    pub(crate) summary: Option<String>,
}

impl Ran {
    /// A call that did not run (or failed itself): `why`, for the model.
    pub(crate) fn refused(why: String) -> Self {
        Self {
            ok: false,
            content: why,
            exit: None,
            summary: None,
        }
    }
}

impl Runtime {
    /// Runs `tool` with `args` under `ctx`, from the `tool_call` event to the `tool_result`.
    pub(crate) async fn call_tool(
        &self,
        ctx: &CallContext<'_>,
        tool: &str,
        args: &ToolArguments,
    ) -> CallOutcome {
        let started = Instant::now();
        let shown_args = match args {
            ToolArguments::Valid(v) => v.clone(),
            ToolArguments::Invalid { raw, .. } => Value::String(raw.clone()),
        };
        let planned = self.plan(ctx, tool, args);
        ctx.events.emit(
            self,
            EventKind::ToolCall {
                call_id: ctx.events.call_id.to_owned(),
                tool: tool.to_owned(),
                args: shown_args,
                commands: planned
                    .as_ref()
                    .map(|p| p.plan.commands.clone())
                    .unwrap_or_default(),
            },
        );
        let (ran, findings) = match planned {
            Ok(planned) => match self.run_planned(ctx, planned).await {
                Ok(output) => (
                    Ran {
                        ok: true,
                        content: output.content,
                        exit: output.exit,
                        summary: output.summary,
                    },
                    output.findings,
                ),
                Err(message) => (Ran::refused(message), Vec::new()),
            },
            Err(message) => (Ran::refused(message), Vec::new()),
        };
        let ok = ran.ok;
        let output = self.tool_result(&ctx.events, tool, ran, started);
        CallOutcome {
            ok,
            output,
            findings,
        }
    }

    /// Emits the `tool_result` event and returns the output as shown in it.
    pub(crate) fn tool_result(
        &self,
        events: &CallEvents<'_>,
        tool: &str,
        ran: Ran,
        started: Instant,
    ) -> String {
        // Every tool redacts its own output; this second line also covers tools that forget.
        let redact = |text: String| match crate::safety::redact::redact(&text) {
            std::borrow::Cow::Borrowed(_) => text,
            std::borrow::Cow::Owned(redacted) => redacted,
        };
        let content = redact(ran.content);
        // A refusal is summed up by its first line; a tool that ran says its own summary.
        let summary = match ran.summary {
            Some(summary) => Some(summary_line(&redact(summary))),
            None if !ran.ok => Some(summary_line(&content)).filter(|s| !s.is_empty()),
            None => None,
        };
        let shown = truncate(content, self.limits.max_tool_output_bytes);
        events.emit(
            self,
            EventKind::ToolResult {
                call_id: events.call_id.to_owned(),
                tool: tool.to_owned(),
                ok: ran.ok,
                output: shown.clone(),
                exit: ran.exit,
                summary,
                duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            },
        );
        shown
    }

    /// Finds the tool, checks that the caller may use it and that the arguments fit its
    /// schema, and has it plan its command lines. Nothing runs yet.
    fn plan<'a>(
        &self,
        ctx: &CallContext<'_>,
        name: &str,
        args: &'a ToolArguments,
    ) -> Result<Planned<'a>, String> {
        let Some(tool) = self.tools.get(name) else {
            return Err(format!(
                "unknown tool `{name}`; available tools: {}",
                self.tool_order.join(", ")
            ));
        };
        if !ctx.scope.allows(name) {
            return Err(format!(
                "the tool `{name}` is not available to the `{}` skill",
                ctx.events.agent
            ));
        }
        let args = match args {
            ToolArguments::Valid(v) => v,
            ToolArguments::Invalid { raw, error } => {
                return Err(format!(
                    "the arguments are not a valid JSON object ({error}); you sent: {}. Call the tool again with a JSON object that matches its schema.",
                    excerpt(raw, 200)
                ));
            }
        };
        if let Err(problems) = schema::validate(&tool.parameters(), args) {
            return Err(format!(
                "the arguments do not match the tool's schema: {}",
                problems.join("; ")
            ));
        }
        let plan = tool.plan(args).map_err(|e| e.message)?;
        Ok(Planned {
            tool: Arc::clone(tool),
            args,
            plan,
        })
    }

    /// Clears each planned line (the guard, and the approver when needed), then runs the tool
    /// with the cleared commands.
    async fn run_planned(
        &self,
        ctx: &CallContext<'_>,
        planned: Planned<'_>,
    ) -> Result<ToolOutput, String> {
        let Planned { tool, args, plan } = planned;
        let mut cleared = Vec::with_capacity(plan.commands.len());
        for line in &plan.commands {
            cleared.push(self.clear(ctx, line).await?);
        }
        let tool_ctx = ToolContext {
            task_id: ctx.events.task_id.to_owned(),
            agent: ctx.events.agent.to_owned(),
            call_id: ctx.events.call_id.to_owned(),
            cancel: ctx.cancel.clone(),
        };
        tool.execute(args, cleared, &tool_ctx)
            .await
            .map_err(|e| e.message)
    }

    /// What `line` would change, from the runtime's previewer (if it has one), for the
    /// approval request: the preview's own commands pass the same guard, under the requester's
    /// name marked as a preview, and stop with the call or after [`PREVIEW_TIMEOUT`].
    ///
    /// [`PREVIEW_TIMEOUT`]: crate::preview::PREVIEW_TIMEOUT
    async fn preview(&self, ctx: &CallContext<'_>, line: &str) -> Option<ChangePreview> {
        let previewer = self.previewer.as_ref()?;
        let preview_ctx = RequestContext {
            requester: Identity::new(format!("{} (change preview)", ctx.requester)),
            task_id: Some(ctx.events.task_id.to_owned()),
        };
        let cancel = ctx.cancel.child_token();
        let run = previewer.preview(ctx.guard, line, &preview_ctx, &cancel);
        match tokio::time::timeout(crate::preview::PREVIEW_TIMEOUT, run).await {
            Ok(Ok(preview)) => preview,
            Ok(Err(why)) => Some(crate::preview::unavailable(line, &why)),
            Err(_) => {
                cancel.cancel();
                Some(crate::preview::unavailable(
                    line,
                    &format!(
                        "the dry run took longer than {} s",
                        crate::preview::PREVIEW_TIMEOUT.as_secs()
                    ),
                ))
            }
        }
    }

    /// Passes one planned command line through the guard and, when needed, the approver.
    async fn clear(&self, ctx: &CallContext<'_>, line: &str) -> Result<ClearedCommand, String> {
        if ctx.refusals.was_denied(line) {
            return Err(format!(
                "`{line}` was already denied in this task and will not be asked again. Do not retry it; tell the user what you wanted to do instead."
            ));
        }
        let request_ctx = RequestContext {
            requester: ctx.requester.clone(),
            task_id: Some(ctx.events.task_id.to_owned()),
        };
        match ctx.guard.check(line, &request_ctx) {
            Verdict::Allowed(command) => Ok(command),
            Verdict::Blocked(assessment) => {
                let reasons = assessment.reasons.join("; ");
                ctx.refusals
                    .record(line, assessment.risk, RefusalKind::Blocked, &reasons);
                Err(format!(
                    "blocked by the safety policy ({} risk): {reasons}. Do not retry this command or a variant of it; explain to the user what you wanted to do.",
                    assessment.risk,
                ))
            }
            Verdict::NeedsApproval(ticket) => {
                let mut request = ticket.request().clone();
                request.preview = self.preview(ctx, line).await.map(Box::new);
                ctx.events.emit(
                    self,
                    EventKind::ApprovalRequested {
                        approval_id: request.id.clone(),
                        call_id: ctx.events.call_id.to_owned(),
                        command: request.command.clone(),
                        risk: request.risk,
                        reasons: request.reasons.clone(),
                        preview: request.preview.as_deref().cloned(),
                    },
                );
                let decision = self.approver.decide(&request).await;
                let decided_by = decision.decided_by().to_string();
                let given_reason = decision.reason().map(str::to_owned);
                // The event says what the guard made of the decision, so it is emitted after
                // `resolve` (which may still refuse an approval: expired, four-eyes, audit).
                let resolved = ctx.guard.resolve(ticket, decision);
                let (approved, reason) = match &resolved {
                    Ok(_) => (true, given_reason),
                    Err(Refusal::Invalid { reason, .. }) => (false, Some(reason.clone())),
                    Err(_) => (false, given_reason),
                };
                ctx.events.emit(
                    self,
                    EventKind::ApprovalDecided {
                        approval_id: request.id.clone(),
                        call_id: ctx.events.call_id.to_owned(),
                        approved,
                        decided_by,
                        reason,
                    },
                );
                resolved.map_err(|refusal| {
                    let (kind, why) = match &refusal {
                        Refusal::Blocked(assessment) => {
                            (RefusalKind::Blocked, assessment.reasons.join("; "))
                        }
                        Refusal::Denied { decision, .. } => (
                            RefusalKind::Denied,
                            decision.reason().unwrap_or("no reason given").to_owned(),
                        ),
                        Refusal::Invalid { reason, .. } => (RefusalKind::NotCleared, reason.clone()),
                    };
                    ctx.refusals.record(line, request.risk, kind, &why);
                    format!(
                        "not run: {refusal}. The command was not executed. Do not retry it; tell the user what you wanted to do and why."
                    )
                })
            }
        }
    }
}
