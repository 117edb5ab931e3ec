//! The events of a task's stream ([`Event`], [`EventKind`]) and its result ([`TaskResult`]).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::budget::Usage;
use crate::code::Failure;
use crate::finding::Finding;
use crate::risk::Risk;
use crate::status::Status;

/// One event of a task's stream.
///
/// `seq` starts at 1 and grows by exactly one per event of a task: no gaps, no repeats. Reading
/// "from `seq` N" includes event N; a client that saw up to N (SSE `Last-Event-ID: N`) resumes
/// from N + 1 ([`Event::resume_from`]).
///
/// ```json
/// {"task_id":"t-…","seq":4,"ts":"2026-11-22T10:00:01.2Z","agent":"cost_optimization",
///  "event":{"type":"tool_call","call_id":"c-2","tool":"run_kubectl","args":{"args":"top pods -A"}}}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Event {
    /// The task.
    pub task_id: String,
    /// Position in the task's stream: from 1, one more per event, no gaps.
    pub seq: u64,
    /// When it happened.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub ts: OffsetDateTime,
    /// Which agent produced it: [`agents::SUPERVISOR`](crate::names::agents::SUPERVISOR), a
    /// skill name, or [`agents::RUNTIME`](crate::names::agents::RUNTIME) (`kopilot`) for the
    /// runtime.
    pub agent: String,
    /// What happened.
    pub event: EventKind,
}

impl Event {
    /// Whether this is the terminal `response` event.
    pub fn is_terminal(&self) -> bool {
        matches!(self.event, EventKind::Response(_))
    }

    /// The first `seq` to read after a client saw up to `last_seen` (SSE `Last-Event-ID`):
    /// `last_seen + 1`.
    ///
    /// ```
    /// assert_eq!(kopilot_protocol::Event::resume_from(4), 5);
    /// ```
    pub const fn resume_from(last_seen: u64) -> u64 {
        last_seen.saturating_add(1)
    }
}

/// A note from the transport that carries a task's events (an SSE stream, a WebSocket), not
/// an event of the task: it has no `seq` and is not stored.
///
/// ```
/// use kopilot_protocol::StreamNotice;
///
/// let notice = StreamNotice::Lagged { resume_from: 42, message: "too slow".into() };
/// assert_eq!(
///     serde_json::to_string(&notice)?,
///     r#"{"type":"lagged","resume_from":42,"message":"too slow"}"#
/// );
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum StreamNotice {
    /// The subscriber read too slowly: its buffer filled and stayed full, so the stream ends
    /// here (the task goes on). Follow again from `resume_from` to lose nothing.
    Lagged {
        /// The `seq` of the first event this subscriber has not received.
        resume_from: u64,
        /// Why, for people.
        message: String,
    },
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// The task started running (after waiting in the queue, if it had to).
    TaskStarted {
        /// The prompt.
        prompt: String,
        /// The skill requested explicitly, if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        skill: Option<String>,
        /// The session, if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        session_id: Option<String>,
        /// The model, or `None` in offline mode.
        #[serde(skip_serializing_if = "Option::is_none")]
        model: Option<String>,
    },
    /// The supervisor handed a sub-task to a skill.
    Delegated {
        /// The delegate call's id.
        call_id: String,
        /// The skill.
        skill: String,
        /// The sub-task.
        task: String,
    },
    /// Text the model wrote alongside tool calls: its reasoning before acting.
    Thinking {
        /// The text.
        text: String,
    },
    /// A piece of the answer as it streams.
    Delta {
        /// The new text.
        text: String,
    },
    /// A tool call is about to be checked and run.
    ToolCall {
        /// The call id (unique within the task).
        call_id: String,
        /// The tool.
        tool: String,
        /// The arguments the model gave, with secret values redacted.
        args: Value,
        /// The command lines the tool plans to run, in order, with secret values redacted;
        /// each one passes the guard before it runs. Empty when the call was refused before a
        /// plan (unknown tool, invalid arguments) or plans nothing.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        commands: Vec<String>,
    },
    /// A command needs a human's approval.
    ApprovalRequested {
        /// The approval request id.
        approval_id: String,
        /// The tool call it belongs to.
        call_id: String,
        /// The command line, with secret values redacted (the approver is shown the exact
        /// line).
        command: String,
        /// Its risk.
        risk: Risk,
        /// Why it needs approval.
        reasons: Vec<String>,
        /// What it would change, when the runtime has a previewer and the command is one it
        /// can preview (a server-side dry run and a redacted diff).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        preview: Option<crate::ChangePreview>,
    },
    /// The approver answered.
    ApprovalDecided {
        /// The approval request id.
        approval_id: String,
        /// The tool call it belongs to.
        call_id: String,
        /// Whether it may run.
        approved: bool,
        /// Who decided.
        decided_by: String,
        /// Why.
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// A tool call finished (or was refused).
    ToolResult {
        /// The call id.
        call_id: String,
        /// The tool.
        tool: String,
        /// Whether the tool ran: `false` when it was refused (unknown tool, invalid arguments,
        /// a blocked or denied command) or failed itself. A command it ran may still have
        /// exited with an error: see `exit`.
        ok: bool,
        /// What the model was given (after redaction and truncation).
        output: String,
        /// How the command that decides the call's outcome ended (the first one that did not
        /// succeed, else the last one), when the tool ran commands.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exit: Option<Exit>,
        /// One line for a person following along: why the call failed (the command's first
        /// error line, or why it was refused), when it did.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        summary: Option<String>,
        /// How long it took, including approval waits.
        duration_ms: u64,
    },
    /// A reviewer's score of the answer.
    Reflection {
        /// 0 to 10.
        score: u8,
        /// What could be better.
        critique: String,
        /// Whether the supervisor re-plans because the score is below the threshold.
        replan: bool,
    },
    /// Anything else worth telling a user (queued, a limit nearing, offline mode).
    Notification {
        /// The message.
        message: String,
    },
    /// The terminal event: the task's result.
    Response(TaskResult),
}

/// How a command a tool ran ended.
///
/// ```
/// use kopilot_protocol::Exit;
///
/// assert_eq!(serde_json::to_string(&Exit::Exited { code: 1 })?, r#"{"ending":"exited","code":1}"#);
/// assert_eq!(serde_json::to_string(&Exit::TimedOut)?, r#"{"ending":"timed_out"}"#);
/// assert_eq!(Exit::Exited { code: 1 }.to_string(), "exit code 1");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "ending", rename_all = "snake_case")]
pub enum Exit {
    /// It exited with this code.
    Exited {
        /// The exit code (0: success).
        code: i32,
    },
    /// A signal it did not get from Kopilot killed it.
    Signalled,
    /// It ran past its timeout and was killed.
    TimedOut,
    /// The task was cancelled and the command killed.
    Cancelled,
}

impl Exit {
    /// Whether it exited with code 0.
    pub const fn success(self) -> bool {
        matches!(self, Self::Exited { code: 0 })
    }
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exited { code } => write!(f, "exit code {code}"),
            Self::Signalled => f.write_str("killed by a signal"),
            Self::TimedOut => f.write_str("timed out"),
            Self::Cancelled => f.write_str("cancelled"),
        }
    }
}

/// The result of a task: the payload of the terminal `response` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TaskResult {
    /// How it ended: always a terminal [`Status`].
    pub status: Status,
    /// The answer in markdown (empty when there is none).
    pub answer: String,
    /// Why it failed, was cancelled, interrupted or rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Failure>,
    /// The analyzers' findings, when any ran. Entries that are not findings (from results
    /// stored before findings were typed) are skipped when read.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "readable_findings"
    )]
    pub findings: Vec<Finding>,
    /// Tokens used by every model call of the task.
    pub usage: Usage,
    /// Wall-clock time from start to end, in milliseconds (queue time excluded).
    pub duration_ms: u64,
    /// Commands the task wanted to run that did not run (blocked by the policy, denied or
    /// not cleared at approval), in the order they were refused. An answer with refusals
    /// did not do everything it set out to do.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<RefusedCommand>,
    /// What a reader should know about how well the answer rests on evidence.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Warning>,
}

/// A command a task wanted to run that did not run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RefusedCommand {
    /// The command line, secret values redacted.
    pub command: String,
    /// The guard's risk for it.
    pub risk: Risk,
    /// How it was refused.
    pub refusal: RefusalKind,
    /// Why, for people (the policy's reasons, or the approver's).
    pub reason: String,
}

/// How a command was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum RefusalKind {
    /// The policy blocks it: no approval can make it run.
    Blocked,
    /// The approver said no, or nobody could be asked.
    Denied,
    /// An approval was given but could not be accepted (expired, four-eyes, audit failure).
    NotCleared,
}

impl RefusalKind {
    /// The snake-case name used in JSON and on the terminal.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Blocked => "blocked",
            Self::Denied => "denied",
            Self::NotCleared => "not_cleared",
        }
    }
}

impl fmt::Display for RefusalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A caveat about an answer: a stable code for programs and a message for people.
///
/// Codes this version produces: [`Warning::NO_EVIDENCE`] and [`Warning::UNGROUNDED`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Warning {
    /// What kind of caveat (`answer.no_evidence`, ...); unknown codes may appear.
    pub code: String,
    /// What it means for this answer.
    pub message: String,
}

impl Warning {
    /// `answer.no_evidence`: the answer was given without any tool having run, so nothing in
    /// it was read from the cluster.
    pub const NO_EVIDENCE: &'static str = "answer.no_evidence";
    /// `answer.ungrounded`: tools ran, but the answer quotes none of what they returned.
    pub const UNGROUNDED: &'static str = "answer.ungrounded";

    /// A warning with `code` and `message`.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

impl TaskResult {
    /// A result that ends without an answer: `status` with `failure`, no findings, no usage.
    pub fn failed(status: Status, failure: Failure) -> Self {
        Self {
            status,
            answer: String::new(),
            error: Some(failure),
            findings: Vec::new(),
            usage: Usage::default(),
            duration_ms: 0,
            refused: Vec::new(),
            warnings: Vec::new(),
        }
    }
}

fn readable_findings<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Finding>, D::Error> {
    let values = Vec::<Value>::deserialize(deserializer)?;
    Ok(values
        .into_iter()
        .filter_map(|value| serde_json::from_value(value).ok())
        .collect())
}
