//! The event protocol's types are `kopilot-protocol`'s (re-exported here and as
//! [`crate::protocol`]); what the runtime adds is redaction: every event is redacted before
//! anyone sees or stores it.

use serde_json::Value;

pub use kopilot_protocol::{Event, EventKind, Status, TaskResult};

/// The event as it may be shown and stored: secret values the model or the user put in a
/// prompt, a tool's arguments, a command line or text are replaced by markers
/// ([`crate::safety::redact`]). Tool output is redacted where it is produced.
pub(crate) fn redacted(kind: EventKind) -> EventKind {
    use crate::safety::redact::{redact, redact_command_line};
    let text = |s: String| match redact(&s) {
        std::borrow::Cow::Borrowed(_) => s,
        std::borrow::Cow::Owned(r) => r,
    };
    match kind {
        EventKind::TaskStarted {
            prompt,
            skill,
            session_id,
            model,
        } => EventKind::TaskStarted {
            prompt: text(prompt),
            skill,
            session_id,
            model,
        },
        EventKind::Delegated {
            call_id,
            skill,
            task,
        } => EventKind::Delegated {
            call_id,
            skill,
            task: text(task),
        },
        EventKind::Thinking { text: t } => EventKind::Thinking { text: text(t) },
        EventKind::ToolCall {
            call_id,
            tool,
            args,
            commands,
        } => EventKind::ToolCall {
            call_id,
            tool,
            args: redacted_args(args),
            commands: commands
                .iter()
                .map(|line| redact_command_line(line).into_owned())
                .collect(),
        },
        EventKind::ApprovalRequested {
            approval_id,
            call_id,
            command,
            risk,
            reasons,
            preview,
        } => EventKind::ApprovalRequested {
            approval_id,
            call_id,
            command: redact_command_line(&command).into_owned(),
            risk,
            reasons: reasons.into_iter().map(text).collect(),
            // The previewer redacts by structure; this is the second line, by shape.
            preview: preview.map(|p| crate::protocol::ChangePreview {
                command: redact_command_line(&p.command).into_owned(),
                ran: p
                    .ran
                    .iter()
                    .map(|line| redact_command_line(line).into_owned())
                    .collect(),
                changes: p
                    .changes
                    .into_iter()
                    .map(|c| crate::protocol::ObjectChange {
                        diff: text(c.diff),
                        ..c
                    })
                    .collect(),
                failure: p.failure.map(text),
                notes: p.notes.into_iter().map(text).collect(),
            }),
        },
        EventKind::ApprovalDecided {
            approval_id,
            call_id,
            approved,
            decided_by,
            reason,
        } => EventKind::ApprovalDecided {
            approval_id,
            call_id,
            approved,
            decided_by,
            reason: reason.map(text),
        },
        other @ (EventKind::Delta { .. }
        | EventKind::ToolResult { .. }
        | EventKind::Reflection { .. }
        | EventKind::Notification { .. }
        | EventKind::Response(_)) => other,
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
