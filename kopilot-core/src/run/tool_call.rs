//! The guarded tool call: the tool's arguments checked, its plan passed line by line through
//! `Guard::check`, the approver and `Guard::resolve`, only cleared commands executed, and the
//! output redacted, truncated and wrapped for the model, with its events.

use std::sync::PoisonError;
use std::sync::atomic::Ordering;
use std::time::Instant;

use serde_json::Value;

use super::finish::{Step, Stop};
use super::task::TaskRun;
use super::text::{excerpt, truncate, wrap};
use crate::event::EventKind;
use crate::llm::{Message, ToolArguments, ToolCall};
use crate::safety::{ClearedCommand, Identity, Refusal, RequestContext, Verdict};
use crate::schema;
use crate::tool::{ToolContext, ToolOutput};

impl TaskRun {
    /// One tool call of a skill agent: checked, guarded, run, truncated and wrapped.
    pub(super) async fn tool_call(
        &self,
        agent: &str,
        call: &ToolCall,
        allowed: bool,
    ) -> Step<Message> {
        let n = self.tool_calls.fetch_add(1, Ordering::SeqCst) + 1;
        let max = self.inner.limits.max_tool_calls;
        if n > max {
            return Err(Stop::Limit(format!(
                "the task made more than {max} tool calls"
            )));
        }
        let call_id = self.call_id();
        let started = Instant::now();
        let args = match &call.arguments {
            ToolArguments::Valid(v) => v.clone(),
            ToolArguments::Invalid { raw, .. } => Value::String(raw.clone()),
        };
        self.emit(
            agent,
            EventKind::ToolCall {
                call_id: call_id.clone(),
                tool: call.name.clone(),
                args,
            },
        );
        let outcome = self.run_tool(agent, &call_id, call, allowed).await?;
        let (ok, content) = match outcome {
            Ok(output) => {
                self.findings
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .extend(output.findings);
                (true, output.content)
            }
            Err(message) => (false, message),
        };
        Ok(self.tool_message(agent, &call_id, call, ok, content, started))
    }

    /// Emits the `tool_result` event and builds the message the model sees.
    pub(super) fn tool_message(
        &self,
        agent: &str,
        call_id: &str,
        call: &ToolCall,
        ok: bool,
        content: String,
        started: Instant,
    ) -> Message {
        // Every tool redacts its own output; this second line also covers tools that forget.
        let content = match crate::safety::redact::redact(&content) {
            std::borrow::Cow::Borrowed(_) => content,
            std::borrow::Cow::Owned(redacted) => redacted,
        };
        let shown = truncate(content, self.inner.limits.max_tool_output_bytes);
        self.emit(
            agent,
            EventKind::ToolResult {
                call_id: call_id.to_owned(),
                tool: call.name.clone(),
                ok,
                output: shown.clone(),
                duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            },
        );
        let wrapped = wrap(&call.name, &shown);
        if ok {
            Message::tool_result(call, wrapped)
        } else {
            Message::tool_error(call, wrapped)
        }
    }

    async fn run_tool(
        &self,
        agent: &str,
        call_id: &str,
        call: &ToolCall,
        allowed: bool,
    ) -> Step<Result<ToolOutput, String>> {
        let Some(tool) = self.inner.tools.get(&call.name) else {
            return Ok(Err(format!(
                "unknown tool `{}`; available tools: {}",
                call.name,
                self.inner.tool_order.join(", ")
            )));
        };
        if !allowed {
            return Ok(Err(format!(
                "the tool `{}` is not available to the `{agent}` skill",
                call.name
            )));
        }
        let args = match &call.arguments {
            ToolArguments::Valid(v) => v,
            ToolArguments::Invalid { raw, error } => {
                return Ok(Err(format!(
                    "the arguments are not a valid JSON object ({error}); you sent: {}. Call the tool again with a JSON object that matches its schema.",
                    excerpt(raw, 200)
                )));
            }
        };
        if let Err(problems) = schema::validate(&tool.parameters(), args) {
            return Ok(Err(format!(
                "the arguments do not match the tool's schema: {}",
                problems.join("; ")
            )));
        }
        let plan = match tool.plan(args) {
            Ok(plan) => plan,
            Err(e) => return Ok(Err(e.message)),
        };
        let mut cleared = Vec::with_capacity(plan.commands.len());
        for line in &plan.commands {
            match self.clear(agent, call_id, line).await {
                Ok(command) => cleared.push(command),
                Err(refusal) => return Ok(Err(refusal)),
            }
        }
        let ctx = ToolContext {
            task_id: self.id.clone(),
            agent: agent.to_owned(),
            call_id: call_id.to_owned(),
            cancel: self.run_token.clone(),
        };
        Ok(tool
            .execute(args, cleared, &ctx)
            .await
            .map_err(|e| e.message))
    }

    /// Passes one planned command line through the guard and, when needed, the approver.
    async fn clear(
        &self,
        agent: &str,
        call_id: &str,
        line: &str,
    ) -> Result<ClearedCommand, String> {
        if self
            .denied
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(line)
        {
            return Err(format!(
                "`{line}` was already denied in this task and will not be asked again. Do not retry it; tell the user what you wanted to do instead."
            ));
        }
        let ctx = RequestContext {
            requester: Identity::new(self.request.requester.clone()),
            task_id: Some(self.id.clone()),
        };
        match self.inner.guard.check(line, &ctx) {
            Verdict::Allowed(command) => Ok(command),
            Verdict::Blocked(assessment) => Err(format!(
                "blocked by the safety policy ({} risk): {}. Do not retry this command or a variant of it; explain to the user what you wanted to do.",
                assessment.risk,
                assessment.reasons.join("; ")
            )),
            Verdict::NeedsApproval(ticket) => {
                let request = ticket.request().clone();
                self.emit(
                    agent,
                    EventKind::ApprovalRequested {
                        approval_id: request.id.clone(),
                        call_id: call_id.to_owned(),
                        command: request.command.clone(),
                        risk: request.risk,
                        reasons: request.reasons.clone(),
                    },
                );
                let decision = self.inner.approver.decide(&request).await;
                let decided_by = decision.decided_by().to_string();
                let given_reason = decision.reason().map(str::to_owned);
                // The event says what the guard made of the decision, so it is emitted after
                // `resolve` (which may still refuse an approval: expired, four-eyes, audit).
                let resolved = self.inner.guard.resolve(ticket, decision);
                let (approved, reason) = match &resolved {
                    Ok(_) => (true, given_reason),
                    Err(Refusal::Invalid { reason, .. }) => (false, Some(reason.clone())),
                    Err(_) => (false, given_reason),
                };
                self.emit(
                    agent,
                    EventKind::ApprovalDecided {
                        approval_id: request.id.clone(),
                        call_id: call_id.to_owned(),
                        approved,
                        decided_by,
                        reason,
                    },
                );
                resolved.map_err(|refusal| {
                    self.denied.lock().unwrap_or_else(PoisonError::into_inner).insert(line.to_owned());
                    format!(
                        "not run: {refusal}. The command was not executed. Do not retry it; tell the user what you wanted to do and why."
                    )
                })
            }
        }
    }
}
