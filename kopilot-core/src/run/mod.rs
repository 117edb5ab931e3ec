//! Running one task: the queue, the supervisor, skill sub-agents, guarded tool calls, budgets,
//! cancellation, reflection and offline mode.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use futures::StreamExt;
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use crate::event::{EventKind, Status, TaskResult};
use crate::llm::{
    ChatRequest, ChatResponse, Message, ResponseCollector, StreamEvent, ToolArguments, ToolCall,
    ToolSpec, Usage,
};
use crate::log::EventLog;
use crate::request::TaskRequest;
use crate::safety::{ClearedCommand, Identity, Refusal, RequestContext, Verdict};
use crate::store::TaskRecord;
use crate::tool::{ToolContext, ToolOutput};
use crate::{prompts, schema};

/// The supervisor's routing tool.
pub(crate) const DELEGATE_TOOL: &str = "delegate";
/// The agent name of the supervisor's events.
pub(crate) const SUPERVISOR: &str = "supervisor";
/// The agent name of the runtime's own events.
pub(crate) const RUNTIME: &str = "kopilot";
/// The tool offline mode calls.
pub(crate) const ANALYZE_TOOL: &str = "analyze";

/// Why a task stopped early.
enum Stop {
    Cancelled,
    Limit(String),
    Failed(String),
    Rejected(String),
}

type Step<T> = Result<T, Stop>;

/// Drives one task from the queue to its `response` event.
pub(crate) struct Driver {
    inner: Arc<Runtime>,
    id: String,
    request: TaskRequest,
    log: Arc<EventLog>,
    cancel: CancellationToken,
    run_token: CancellationToken,
    usage: Mutex<Usage>,
    tool_calls: AtomicUsize,
    next_call: AtomicU64,
    findings: Mutex<Vec<Value>>,
    denied: Mutex<HashSet<String>>,
}

/// Decrements the running-task gauge however the task ends.
struct Running<'a>(&'a AtomicUsize);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Driver {
    pub(crate) fn new(
        inner: Arc<Runtime>,
        id: String,
        request: TaskRequest,
        log: Arc<EventLog>,
        cancel: CancellationToken,
    ) -> Self {
        let run_token = cancel.child_token();
        Self {
            inner,
            id,
            request,
            log,
            cancel,
            run_token,
            usage: Mutex::new(Usage::default()),
            tool_calls: AtomicUsize::new(0),
            next_call: AtomicU64::new(0),
            findings: Mutex::new(Vec::new()),
            denied: Mutex::new(HashSet::new()),
        }
    }

    fn emit(&self, agent: &str, kind: EventKind) {
        self.inner.emit(&self.log, &self.id, agent, kind);
    }

    pub(crate) async fn run(self) -> TaskResult {
        let _ = self.inner.persist.send(Persist::Create(TaskRecord {
            id: self.id.clone(),
            // Stored as shown: secret values in the prompt are redacted.
            prompt: crate::safety::redact::redact(&self.request.prompt).into_owned(),
            skill: self.request.skill.clone(),
            session_id: self.request.session_id.clone(),
            requester: self.request.requester.clone(),
            created_at: OffsetDateTime::now_utc(),
            result: None,
        }));
        let slots = Arc::clone(&self.inner.slots);
        let permit = if let Ok(permit) = slots.clone().try_acquire_owned() {
            permit
        } else {
            self.emit(
                RUNTIME,
                EventKind::Notification {
                    message: format!(
                        "queued: {} tasks are running, the most allowed at once; this one starts when one of them ends",
                        self.inner.limits.max_concurrent_tasks
                    ),
                },
            );
            tokio::select! {
                permit = slots.acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => return self.finish(Instant::now(), Err(Stop::Failed("the runtime is shutting down".to_owned()))),
                },
                () = self.cancel.cancelled() => return self.finish(Instant::now(), Err(Stop::Cancelled)),
            }
        };
        self.inner.running.fetch_add(1, Ordering::SeqCst);
        let running = Running(&self.inner.running);
        let started = Instant::now();
        let offline = self.request.offline || self.inner.model.is_none();
        self.emit(
            RUNTIME,
            EventKind::TaskStarted {
                prompt: self.request.prompt.clone(),
                skill: self.request.skill.clone(),
                session_id: self.request.session_id.clone(),
                model: if offline {
                    None
                } else {
                    self.inner.model.as_ref().map(|m| m.model().to_owned())
                },
            },
        );
        let timeout = self.request.timeout.unwrap_or(self.inner.limits.timeout);
        // Cancellation wins over an answer that completes in the same poll (a tool that
        // noticed the cancel and returned at once must not turn into a normal ending).
        let outcome = tokio::select! {
            biased;
            () = self.cancel.cancelled() => Err(Stop::Cancelled),
            outcome = self.drive(offline) => outcome,
            () = tokio::time::sleep(timeout) => Err(Stop::Limit(format!(
                "the task reached its time limit of {}", human_duration(timeout)
            ))),
        };
        let outcome = if self.cancel.is_cancelled() {
            Err(Stop::Cancelled)
        } else {
            outcome
        };
        // Whatever happened, tools still running must stop now.
        self.run_token.cancel();
        let result = self.finish(started, outcome);
        drop(running);
        drop(permit);
        result
    }

    fn finish(&self, started: Instant, outcome: Step<String>) -> TaskResult {
        let (status, answer, error) = match outcome {
            Ok(answer) => (Status::Succeeded, answer, None),
            Err(Stop::Cancelled) => (
                Status::Cancelled,
                String::new(),
                Some("the task was cancelled".to_owned()),
            ),
            Err(Stop::Limit(reason)) => (
                Status::Failed,
                String::new(),
                Some(format!("limit reached: {reason}")),
            ),
            Err(Stop::Failed(reason)) => (Status::Failed, String::new(), Some(reason)),
            Err(Stop::Rejected(reason)) => (Status::Rejected, String::new(), Some(reason)),
        };
        let result = TaskResult {
            status,
            answer,
            error,
            findings: self
                .findings
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
            usage: *self.usage.lock().unwrap_or_else(PoisonError::into_inner),
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        };
        // Emitting the response also queues the result for the store.
        self.emit(RUNTIME, EventKind::Response(result.clone()));
        result
    }

    async fn drive(&self, offline: bool) -> Step<String> {
        if self.request.prompt.trim().is_empty() {
            return Err(Stop::Rejected("the prompt is empty".to_owned()));
        }
        if let Some(skill) = &self.request.skill
            && self.inner.skills.get(skill).is_none()
        {
            return Err(Stop::Rejected(format!(
                "unknown skill `{skill}`; enabled skills: {}",
                self.inner.skills.names().join(", ")
            )));
        }
        if offline {
            return self.offline().await;
        }
        let mut messages = self.history().await;
        messages.push(Message::user(self.request.scoped_prompt()));
        let mut answer = self.answer(&mut messages).await?;
        let reflect = self
            .request
            .reflect
            .unwrap_or(self.inner.reflect_by_default);
        if reflect && let Some((score, critique)) = self.reflect(&answer).await? {
            let replan = score < self.inner.reflection_threshold;
            self.emit(
                SUPERVISOR,
                EventKind::Reflection {
                    score,
                    critique: critique.clone(),
                    replan,
                },
            );
            if replan {
                messages.push(Message::assistant(answer.clone()));
                messages.push(Message::user(format!(
                    "A reviewer scored this answer {score}/10: {critique}\nImprove it: gather what is missing and write the complete answer again."
                )));
                answer = self.answer(&mut messages).await?;
            }
        }
        Ok(answer)
    }

    /// The supervisor, or the requested skill directly.
    async fn answer(&self, messages: &mut Vec<Message>) -> Step<String> {
        match &self.request.skill {
            Some(skill) => self.skill_agent(skill, messages).await,
            None => self.supervisor(messages).await,
        }
    }

    /// Earlier turns of the session, oldest dropped first.
    async fn history(&self) -> Vec<Message> {
        let Some(session) = &self.request.session_id else {
            return Vec::new();
        };
        let turns = match self
            .inner
            .store
            .session(session, self.inner.limits.max_session_turns)
            .await
        {
            Ok(turns) => turns,
            Err(e) => {
                self.emit(
                    RUNTIME,
                    EventKind::Notification {
                        message: format!("the session history could not be read: {e}"),
                    },
                );
                return Vec::new();
            }
        };
        let mut messages = Vec::new();
        for turn in turns {
            if let Some(result) = turn.result.filter(|r| r.status == Status::Succeeded) {
                messages.push(Message::user(turn.prompt));
                messages.push(Message::assistant(result.answer));
            }
        }
        messages
    }

    fn max_steps(&self, skill_steps: Option<usize>) -> usize {
        let limit = self
            .request
            .max_steps
            .unwrap_or(self.inner.limits.max_steps_per_agent);
        skill_steps.map_or(limit, |s| s.min(limit)).max(1)
    }

    async fn supervisor(&self, messages: &mut Vec<Message>) -> Step<String> {
        let catalogue = self.inner.skills.catalogue();
        let mut system = format!("{}\n\n## Specialists\n", prompts::SUPERVISOR);
        for entry in &catalogue {
            let _ = writeln!(system, "- `{}`: {}", entry.name, entry.description);
        }
        let names: Vec<&str> = catalogue.iter().map(|c| c.name.as_str()).collect();
        let delegate = ToolSpec::new(
            DELEGATE_TOOL,
            "Hand a self-contained task to a specialist and get its answer back. Several calls in one turn run in parallel.",
            json!({
                "type": "object",
                "properties": {
                    "skill": {"type": "string", "enum": names, "description": "The specialist."},
                    "task": {"type": "string", "description": "What the specialist should find out or do, with all the context it needs."}
                },
                "required": ["skill", "task"],
                "additionalProperties": false
            }),
        );
        let max_steps = self.max_steps(None);
        // One request, grown in place: no copy of the conversation per turn.
        let mut request = ChatRequest::new(std::mem::take(messages))
            .with_system(system)
            .with_tools(vec![delegate]);
        for _ in 0..max_steps {
            let response = self.model_call(SUPERVISOR, &request).await?;
            if response.tool_calls.is_empty() {
                *messages = request.messages;
                return Ok(response.text);
            }
            self.thinking(SUPERVISOR, &response);
            request.messages.push(response.to_message());
            let results = futures::future::join_all(
                response.tool_calls.iter().map(|call| self.delegate(call)),
            )
            .await;
            for result in results {
                request.messages.push(result?);
            }
        }
        Err(Stop::Limit(format!(
            "the supervisor used its {max_steps} model turns without answering"
        )))
    }

    async fn delegate(&self, call: &ToolCall) -> Step<Message> {
        let call_id = self.call_id();
        if call.name != DELEGATE_TOOL {
            let msg = format!(
                "unknown tool `{}`: the supervisor has only `{DELEGATE_TOOL}`",
                call.name
            );
            return Ok(self.tool_message(SUPERVISOR, &call_id, call, false, msg, Instant::now()));
        }
        let started = Instant::now();
        let (skill, task) = match call.arguments.value() {
            Some(v) => (
                v.get("skill")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                v.get("task")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            ),
            None => (String::new(), String::new()),
        };
        if self.inner.skills.get(&skill).is_none() || task.trim().is_empty() {
            let msg = format!(
                "`delegate` needs a known `skill` (one of: {}) and a non-empty `task`; got {}",
                self.inner.skills.names().join(", "),
                call.arguments.to_json_text()
            );
            return Ok(self.tool_message(SUPERVISOR, &call_id, call, false, msg, started));
        }
        self.emit(
            SUPERVISOR,
            EventKind::Delegated {
                call_id: call_id.clone(),
                skill: skill.clone(),
                task: task.clone(),
            },
        );
        let mut messages = vec![Message::user(task)];
        let answer = self.skill_agent(&skill, &mut messages).await?;
        Ok(self.tool_message(SUPERVISOR, &call_id, call, true, answer, started))
    }

    async fn skill_agent(&self, name: &str, messages: &mut Vec<Message>) -> Step<String> {
        let Some(skill) = self.inner.skills.get(name) else {
            return Err(Stop::Rejected(format!("unknown skill `{name}`")));
        };
        let system = format!("{}\n\n{}", skill.instructions(), prompts::AGENT_RULES);
        let tools: Vec<ToolSpec> = self
            .inner
            .tool_order
            .iter()
            .filter(|t| skill.tools.iter().any(|allowed| allowed == *t))
            .filter_map(|t| self.inner.tools.get(t))
            .map(|t| ToolSpec::new(t.name(), t.description(), t.parameters()))
            .collect();
        let max_steps =
            self.max_steps(Some(usize::try_from(skill.max_steps).unwrap_or(usize::MAX)));
        let mut request = ChatRequest::new(std::mem::take(messages))
            .with_system(system)
            .with_tools(tools);
        for _ in 0..max_steps {
            let response = self.model_call(name, &request).await?;
            if response.tool_calls.is_empty() {
                *messages = request.messages;
                return Ok(response.text);
            }
            self.thinking(name, &response);
            request.messages.push(response.to_message());
            for call in &response.tool_calls {
                let allowed = skill.tools.contains(&call.name);
                let result = self.tool_call(name, call, allowed).await?;
                request.messages.push(result);
            }
        }
        Err(Stop::Limit(format!(
            "the `{name}` agent used its {max_steps} model turns without answering"
        )))
    }

    fn thinking(&self, agent: &str, response: &ChatResponse) {
        if !response.text.trim().is_empty() {
            self.emit(
                agent,
                EventKind::Thinking {
                    text: response.text.clone(),
                },
            );
        }
    }

    fn call_id(&self) -> String {
        format!("c-{}", self.next_call.fetch_add(1, Ordering::Relaxed) + 1)
    }

    /// One model turn, streamed: text deltas become events as they arrive.
    async fn model_call(&self, agent: &str, request: &ChatRequest) -> Step<ChatResponse> {
        let Some(model) = &self.inner.model else {
            return Err(Stop::Failed("no model is configured".to_owned()));
        };
        let failed = |e: crate::llm::Error| Stop::Failed(format!("the model failed: {e}"));
        let mut stream = model.chat_stream(request).await.map_err(failed)?;
        let mut collector = ResponseCollector::new();
        while let Some(event) = stream.next().await {
            let event = event.map_err(failed)?;
            if let StreamEvent::TextDelta { text } = &event
                && !text.is_empty()
            {
                self.emit(agent, EventKind::Delta { text: text.clone() });
            }
            collector.push(event).map_err(failed)?;
        }
        let response = collector.finish().map_err(failed)?;
        self.count_usage(response.usage)?;
        Ok(response)
    }

    fn count_usage(&self, usage: Option<Usage>) -> Step<()> {
        let Some(usage) = usage else { return Ok(()) };
        let total = {
            let mut sum = self.usage.lock().unwrap_or_else(PoisonError::into_inner);
            sum.input_tokens = sum.input_tokens.saturating_add(usage.input_tokens);
            sum.output_tokens = sum.output_tokens.saturating_add(usage.output_tokens);
            sum.total()
        };
        match self.inner.limits.max_tokens {
            Some(max) if total > max => Err(Stop::Limit(format!(
                "the task used {total} tokens, over its budget of {max}"
            ))),
            _ => Ok(()),
        }
    }

    /// One tool call of a skill agent: checked, guarded, run, truncated and wrapped.
    async fn tool_call(&self, agent: &str, call: &ToolCall, allowed: bool) -> Step<Message> {
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
    fn tool_message(
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

    /// A second model call scoring the answer; `None` when the reply cannot be read.
    async fn reflect(&self, answer: &str) -> Step<Option<(u8, String)>> {
        let Some(model) = &self.inner.model else {
            return Ok(None);
        };
        let request = ChatRequest::new(vec![Message::user(format!(
            "Question:\n{}\n\nAnswer:\n{answer}",
            self.request.scoped_prompt()
        ))])
        .with_system(prompts::REVIEWER);
        let response = match model.chat(&request).await {
            Ok(response) => response,
            Err(e) => {
                self.emit(
                    SUPERVISOR,
                    EventKind::Notification {
                        message: format!("reflection skipped: the model failed: {e}"),
                    },
                );
                return Ok(None);
            }
        };
        self.count_usage(response.usage)?;
        let parsed = parse_review(&response.text);
        if parsed.is_none() {
            self.emit(
                SUPERVISOR,
                EventKind::Notification {
                    message: format!(
                        "reflection skipped: the review is not the expected JSON: {}",
                        excerpt(&response.text, 200)
                    ),
                },
            );
        }
        Ok(parsed)
    }
}

mod offline;
mod persist;
mod runtime;
mod text;

pub(crate) use persist::{Persist, store_writer};
pub(crate) use runtime::Runtime;

use text::{excerpt, human_duration, parse_review, truncate, wrap};
