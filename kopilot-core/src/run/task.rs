//! One task from the queue to its `response` event: its state, its turn for a slot, the race
//! between its work, its time limit and cancellation, and what the work is (a rejected request,
//! the offline answer, or the agents' answer with the session's history and reflection).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use super::finish::{Step, Stop};
use super::grounding::Evidence;
use super::persist::Persist;
use super::runtime::Runtime;
use super::text::{human_duration, tool_message};
use super::tool_call::{CallContext, CallEvents, CallOutcome, Refusals, ToolScope};
use crate::event::{EventKind, Status, TaskResult};
use crate::llm::{Message, ToolArguments, ToolCall, Usage};
use crate::log::EventLog;
use crate::names::agents::RUNTIME;
use crate::protocol::Warning;
use crate::request::{DirectCall, TaskRequest};
use crate::safety::{Guard, Identity};
use crate::store::TaskRecord;
use crate::{Budget, ErrorCode, Finding};

/// One task's state while it runs; every part of the runtime works on it.
pub(crate) struct TaskRun {
    /// What every task shares.
    pub(super) inner: Arc<Runtime>,
    id: String,
    pub(super) request: TaskRequest,
    /// The runtime's budget with the request's own limits in place of its.
    pub(super) budget: Budget,
    /// The runtime's guard, or, when the request asked for a stricter mode, the same guard
    /// narrowed to it.
    guard: Guard,
    log: Arc<EventLog>,
    /// The caller's cancellation ([`TaskHandle::cancel`](crate::TaskHandle::cancel)).
    cancel: CancellationToken,
    /// Cancelled when the task ends however it ends; running tools watch it.
    run_token: CancellationToken,
    /// Tokens used so far, against the token budget.
    pub(super) usage: Mutex<Usage>,
    /// Tool calls made so far, against the tool-call budget.
    tool_calls: AtomicUsize,
    next_call: AtomicU64,
    /// The findings of every tool call, in order, for the result.
    pub(super) findings: Mutex<Vec<Finding>>,
    /// The commands refused in this task (denied ones are never asked again).
    pub(super) refusals: Refusals,
    /// What the tools returned, to tell whether the answer rests on it.
    evidence: Mutex<Evidence>,
    /// Caveats about the answer, for the result.
    pub(super) warnings: Mutex<Vec<Warning>>,
    /// When it was submitted.
    created_at: OffsetDateTime,
}

/// Waits for the time budget to run out (forever without one) and returns it.
async fn time_limit(timeout: Option<std::time::Duration>) -> std::time::Duration {
    match timeout {
        Some(timeout) => {
            tokio::time::sleep(timeout).await;
            timeout
        }
        None => std::future::pending().await,
    }
}

/// Decrements the running-task gauge however the task ends.
struct Running<'a>(&'a AtomicUsize);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl TaskRun {
    pub(crate) fn new(
        inner: Arc<Runtime>,
        id: String,
        request: TaskRequest,
        log: Arc<EventLog>,
        cancel: CancellationToken,
    ) -> Self {
        let run_token = cancel.child_token();
        let budget = match &request.budget {
            Some(own) => inner.limits.budget.overridden_by(own),
            None => inner.limits.budget,
        };
        let guard = match request.mode {
            Some(mode) => inner.guard.narrowed_to(mode),
            None => inner.guard.clone(),
        };
        Self {
            inner,
            id,
            budget,
            guard,
            request,
            log,
            cancel,
            run_token,
            usage: Mutex::new(Usage::default()),
            tool_calls: AtomicUsize::new(0),
            next_call: AtomicU64::new(0),
            findings: Mutex::new(Vec::new()),
            refusals: Refusals::default(),
            evidence: Mutex::new(Evidence::default()),
            warnings: Mutex::new(Vec::new()),
            created_at: OffsetDateTime::now_utc(),
        }
    }

    /// The prompt as the record and the `task_started` event keep it: whole, or for a prompt
    /// over the limit (which is rejected), its first bytes up to the limit.
    fn kept_prompt(&self) -> &str {
        let prompt = self.request.prompt.as_str();
        let mut end = prompt.len().min(self.inner.limits.max_prompt_bytes);
        while !prompt.is_char_boundary(end) {
            end -= 1;
        }
        &prompt[..end]
    }

    pub(super) fn emit(&self, agent: &str, kind: EventKind) {
        self.inner.emit(&self.log, &self.id, agent, kind);
    }

    /// The task's record as the store and the task service keep it, without a result.
    pub(crate) fn record(&self) -> TaskRecord {
        TaskRecord {
            id: self.id.clone(),
            // Stored as shown: secret values in the prompt are redacted.
            prompt: crate::safety::redact::redact(self.kept_prompt()).into_owned(),
            skill: self.request.skill.clone(),
            session_id: self.request.session_id.clone(),
            requester: self.request.requester.clone(),
            created_at: self.created_at,
            result: None,
        }
    }

    pub(crate) async fn run(self) -> TaskResult {
        let _ = self.inner.persist.send(Persist::Create(self.record()));
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
                    Err(_) => return self.finish(Instant::now(), Err(Stop::failed(ErrorCode::RuntimeShutdown, "the runtime is shutting down"))),
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
                prompt: self.kept_prompt().to_owned(),
                skill: self.request.skill.clone(),
                session_id: self.request.session_id.clone(),
                model: if offline {
                    None
                } else {
                    self.inner.model.as_ref().map(|m| m.model().to_owned())
                },
            },
        );
        let timeout = self
            .request
            .timeout
            .or(self.budget.seconds.map(std::time::Duration::from_secs));
        // Cancellation wins over an answer that completes in the same poll (a tool that
        // noticed the cancel and returned at once must not turn into a normal ending).
        let outcome = tokio::select! {
            biased;
            () = self.cancel.cancelled() => Err(Stop::Cancelled),
            outcome = self.drive(offline) => outcome,
            timeout = time_limit(timeout) => Err(Stop::Limit(ErrorCode::LimitTime, format!(
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

    async fn drive(&self, offline: bool) -> Step<String> {
        if self.request.prompt.trim().is_empty() {
            return Err(Stop::rejected(
                ErrorCode::RejectedEmptyPrompt,
                "the prompt is empty",
            ));
        }
        let max_prompt = self.inner.limits.max_prompt_bytes;
        if self.request.prompt.len() > max_prompt {
            return Err(Stop::rejected(
                ErrorCode::RejectedPromptTooLarge,
                format!(
                    "the prompt is {} bytes, over the limit of {max_prompt} bytes",
                    self.request.prompt.len()
                ),
            ));
        }
        if let Some(skill) = &self.request.skill
            && self.inner.skills.get(skill).is_none()
        {
            return Err(Stop::rejected(
                ErrorCode::RejectedUnknownSkill,
                format!(
                    "unknown skill `{skill}`; enabled skills: {}",
                    self.inner.skills.names().join(", ")
                ),
            ));
        }
        if let Some(call) = &self.request.call {
            return self.direct_call(call).await;
        }
        if offline {
            return self.offline().await;
        }
        let mut messages = self.history().await;
        messages.push(Message::user(self.request.scoped_prompt()));
        let answer = self.answer(&mut messages).await?;
        let reflect = self
            .request
            .reflect
            .unwrap_or(self.inner.reflect_by_default);
        let answer = if reflect {
            self.reflect(&mut messages, answer).await?
        } else {
            answer
        };
        *self.warnings.lock().unwrap_or_else(PoisonError::into_inner) = self
            .evidence
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .warnings(&self.request.prompt, &answer);
        Ok(answer)
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

    /// The work of a [`TaskRequest::tool_call`]: one guarded call, made by the runtime for
    /// the requester; the tool's output is the answer.
    async fn direct_call(&self, call: &DirectCall) -> Step<String> {
        if !self.inner.tools.contains_key(&call.tool) {
            return Err(Stop::rejected(
                ErrorCode::RejectedUnknownTool,
                format!(
                    "unknown tool `{}`; available tools: {}",
                    call.tool,
                    self.inner.tool_order.join(", ")
                ),
            ));
        }
        let outcome = self
            .guarded_call(
                RUNTIME,
                &ToolCall {
                    id: self.call_id(),
                    name: call.tool.clone(),
                    arguments: ToolArguments::Valid(call.args.clone()),
                    provider_data: None,
                },
                ToolScope::Any,
            )
            .await?;
        if outcome.ok {
            Ok(outcome.output)
        } else {
            Err(Stop::failed(ErrorCode::ToolFailed, outcome.output))
        }
    }

    pub(super) fn call_id(&self) -> String {
        format!("c-{}", self.next_call.fetch_add(1, Ordering::Relaxed) + 1)
    }

    /// Where the events of `agent`'s call `call_id` go.
    pub(super) fn call_events<'a>(&'a self, agent: &'a str, call_id: &'a str) -> CallEvents<'a> {
        CallEvents {
            log: &self.log,
            task_id: &self.id,
            agent,
            call_id,
        }
    }

    /// One tool call of an agent, as a guarded call counted against the task's budget; its
    /// findings join the task's and its result is the message the model sees.
    pub(super) async fn tool_call(
        &self,
        agent: &str,
        call: &ToolCall,
        scope: ToolScope<'_>,
    ) -> Step<Message> {
        let outcome = self.guarded_call(agent, call, scope).await?;
        Ok(tool_message(call, outcome.ok, &outcome.output))
    }

    /// One guarded tool call counted against the task's budget; its findings join the task's.
    pub(super) async fn guarded_call(
        &self,
        agent: &str,
        call: &ToolCall,
        scope: ToolScope<'_>,
    ) -> Step<CallOutcome> {
        let n = self.tool_calls.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some(max) = self.budget.tool_calls
            && u64::try_from(n).unwrap_or(u64::MAX) > max
        {
            return Err(Stop::Limit(
                ErrorCode::LimitToolCalls,
                format!("the task made more than {max} tool calls"),
            ));
        }
        let call_id = self.call_id();
        let ctx = CallContext {
            guard: &self.guard,
            requester: Identity::new(self.request.requester.clone()),
            events: self.call_events(agent, &call_id),
            scope,
            refusals: &self.refusals,
            cancel: self.run_token.clone(),
        };
        let outcome = self
            .inner
            .call_tool(&ctx, &call.name, &call.arguments)
            .await;
        self.findings
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(outcome.findings.iter().cloned());
        if outcome.ok {
            self.evidence
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .add(&outcome.output);
        }
        Ok(outcome)
    }
}
