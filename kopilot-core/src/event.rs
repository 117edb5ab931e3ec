//! The event protocol: everything a task does, as a stream of JSON-serialisable events.
//!
//! Producers (the runtime) and consumers (CLI, server, operator, MCP) meet here and nowhere
//! else, so these types need only `serde`.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::llm::Usage;
use crate::safety::Risk;

/// One event of a task's stream.
///
/// ```json
/// {"task_id":"t-…","seq":4,"ts":"2026-11-22T10:00:01.2Z","agent":"cost_optimization",
///  "event":{"type":"tool_call","call_id":"c-2","tool":"run_kubectl","args":{"args":"top pods -A"}}}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The task.
    pub task_id: String,
    /// Position in the task's stream, from 1, strictly increasing.
    pub seq: u64,
    /// When it happened.
    #[serde(with = "time::serde::rfc3339")]
    pub ts: OffsetDateTime,
    /// Which agent produced it: `supervisor`, a skill name, or `kopilot` for the runtime.
    pub agent: String,
    /// What happened.
    pub event: EventKind,
}

impl Event {
    /// Whether this is the terminal `response` event.
    pub fn is_terminal(&self) -> bool {
        matches!(self.event, EventKind::Response(_))
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    },
    /// A command needs a human's approval.
    ApprovalRequested {
        /// The approval request id.
        approval_id: String,
        /// The tool call it belongs to.
        call_id: String,
        /// The command line, with secret values redacted (the approver is shown the exact
        /// line through the [`Approver`](crate::safety::Approver)).
        command: String,
        /// Its risk.
        risk: Risk,
        /// Why it needs approval.
        reasons: Vec<String>,
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
        /// Whether it succeeded.
        ok: bool,
        /// What the model was given (after redaction and truncation).
        output: String,
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

impl EventKind {
    /// The event as it may be shown and stored: secret values the model or the user put in
    /// a prompt, a tool's arguments, a command line or text are replaced by markers
    /// ([`crate::safety::redact`]). Tool output is redacted where it is produced.
    pub(crate) fn redacted(self) -> Self {
        use crate::safety::redact::{redact, redact_command_line};
        let text = |s: String| match redact(&s) {
            std::borrow::Cow::Borrowed(_) => s,
            std::borrow::Cow::Owned(r) => r,
        };
        match self {
            Self::TaskStarted {
                prompt,
                skill,
                session_id,
                model,
            } => Self::TaskStarted {
                prompt: text(prompt),
                skill,
                session_id,
                model,
            },
            Self::Delegated {
                call_id,
                skill,
                task,
            } => Self::Delegated {
                call_id,
                skill,
                task: text(task),
            },
            Self::Thinking { text: t } => Self::Thinking { text: text(t) },
            Self::ToolCall {
                call_id,
                tool,
                args,
            } => Self::ToolCall {
                call_id,
                tool,
                args: redacted_args(args),
            },
            Self::ApprovalRequested {
                approval_id,
                call_id,
                command,
                risk,
                reasons,
            } => Self::ApprovalRequested {
                approval_id,
                call_id,
                command: redact_command_line(&command).into_owned(),
                risk,
                reasons: reasons.into_iter().map(text).collect(),
            },
            Self::ApprovalDecided {
                approval_id,
                call_id,
                approved,
                decided_by,
                reason,
            } => Self::ApprovalDecided {
                approval_id,
                call_id,
                approved,
                decided_by,
                reason: reason.map(text),
            },
            other @ (Self::Delta { .. }
            | Self::ToolResult { .. }
            | Self::Reflection { .. }
            | Self::Notification { .. }
            | Self::Response(_)) => other,
        }
    }
}

/// A tool's arguments with secret values redacted: a list of strings is read as an argv, a
/// string as a command line, anything else is walked.
pub(crate) fn redacted_args(args: Value) -> Value {
    use crate::safety::redact::{redact_argv, redact_command_line};
    match args {
        Value::String(line) => Value::String(redact_command_line(&line).into_owned()),
        Value::Array(items) if items.iter().all(Value::is_string) => {
            let words: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
            Value::Array(redact_argv(&words).into_iter().map(Value::String).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(redacted_args).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, value)| {
                    let value = match value {
                        // A value under a secret-looking key is a secret whatever it looks like.
                        Value::String(s)
                            if !s.is_empty() && crate::safety::redact::is_secret_name(&key) =>
                        {
                            Value::String(crate::safety::redact::CREDENTIAL.to_owned())
                        }
                        other => redacted_args(other),
                    };
                    (key, value)
                })
                .collect(),
        ),
        other => other,
    }
}

/// Where a task is in its life: one of three live states, then how it ended. A
/// [`TaskResult`] always holds a terminal one ([`Status::is_terminal`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Submitted, and waiting for one of the slots that bound how many tasks run at once.
    Queued,
    /// Running.
    Running,
    /// Running, and at least one of its commands waits for a human's approval.
    WaitingForApproval,
    /// It answered.
    Succeeded,
    /// It could not answer (model error, a limit reached, ...).
    Failed,
    /// Someone cancelled it.
    Cancelled,
    /// It was refused before it started (invalid request, unknown skill).
    Rejected,
    /// It was running when the process stopped (found after a restart).
    Interrupted,
}

impl Status {
    /// The snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::WaitingForApproval => "waiting_for_approval",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Rejected => "rejected",
            Self::Interrupted => "interrupted",
        }
    }
}

impl Status {
    /// Every status, in the order of a task's life.
    pub const ALL: [Self; 8] = [
        Self::Queued,
        Self::Running,
        Self::WaitingForApproval,
        Self::Succeeded,
        Self::Failed,
        Self::Cancelled,
        Self::Rejected,
        Self::Interrupted,
    ];

    /// Whether the task has ended: nothing follows a terminal status.
    pub const fn is_terminal(self) -> bool {
        !matches!(
            self,
            Self::Queued | Self::Running | Self::WaitingForApproval
        )
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The result of a task: the payload of the terminal `response` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskResult {
    /// How it ended.
    pub status: Status,
    /// The answer in markdown (empty when there is none).
    pub answer: String,
    /// Why it failed, was cancelled or rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Structured findings gathered from analyzers, when any ran.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Value>,
    /// Tokens used by every model call of the task.
    pub usage: Usage,
    /// Wall-clock time from start to end, in milliseconds (queue time excluded).
    pub duration_ms: u64,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::redacted_args;

    #[test]
    fn tool_arguments_lose_their_secret_values_whatever_their_shape() {
        let args = json!({
            "args": ["create", "secret", "generic", "db", "--from-literal=pw=hunter2"],
            "command": "DB_PASSWORD=hunter2 ./migrate",
            "password": "hunter2",
            "nested": [{"token": "hunter2"}, 3, "plain"],
            "name": "web"
        });
        let redacted = redacted_args(args).to_string();
        assert!(!redacted.contains("hunter2"), "{redacted}");
        assert!(redacted.contains("\"name\":\"web\""), "{redacted}");
        assert!(redacted.contains("\"plain\""), "{redacted}");
    }
}
