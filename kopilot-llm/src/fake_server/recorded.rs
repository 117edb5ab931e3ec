//! The requests the fake server received, as a test reads them.

use serde_json::{Value, json};

use super::wire;

/// One request the fake server received.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// The route it matched, or `unmatched` when none did or the path was wrong.
    pub route: String,
    /// The request path, e.g. `/v1/chat/completions`.
    pub path: String,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// The JSON body (`Null` when it was not JSON).
    pub body: Value,
    /// Whether a scripted reply answered it.
    pub answered: bool,
}

impl RecordedRequest {
    /// The system prompt: the `system` and `developer` messages, one per line.
    pub fn system(&self) -> String {
        system_prompt(&self.body)
    }

    /// The messages sent.
    pub fn messages(&self) -> Vec<Value> {
        self.body
            .get("messages")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    }

    /// The text of the `user` messages, one per line.
    pub fn user_text(&self) -> String {
        texts_of(&self.body, |role| role == "user")
    }

    /// The names of the tools offered.
    pub fn tool_names(&self) -> Vec<String> {
        self.body
            .get("tools")
            .and_then(Value::as_array)
            .map(|tools| {
                tools
                    .iter()
                    .filter_map(|t| t.pointer("/function/name")?.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The content of the last `role: tool` message.
    pub fn last_tool_result(&self) -> Option<String> {
        wire::last_tool_result(&self.body)
    }

    /// Whether the request asked for a stream (`"stream": true`).
    pub fn streamed(&self) -> bool {
        self.body.get("stream") == Some(&json!(true))
    }
}

/// The `system` and `developer` messages of a request body, one per line.
pub(crate) fn system_prompt(body: &Value) -> String {
    texts_of(body, |role| matches!(role, "system" | "developer"))
}

fn texts_of(body: &Value, role: impl Fn(&str) -> bool) -> String {
    body.get("messages")
        .and_then(Value::as_array)
        .map(|messages| {
            messages
                .iter()
                .filter(|m| m.get("role").and_then(Value::as_str).is_some_and(&role))
                .map(|m| wire::content_text(m.get("content").unwrap_or(&Value::Null)))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}
