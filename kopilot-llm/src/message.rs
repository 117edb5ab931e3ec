//! The conversation a model sees: requests, messages, tool specs and tool calls.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One call to a model: the system prompt, the conversation so far, the tools it may call
/// and the sampling settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    /// The system prompt, kept apart from the messages (each provider places it its own way).
    pub system: Option<String>,
    /// The conversation, oldest first.
    pub messages: Vec<Message>,
    /// The tools the model may call.
    pub tools: Vec<ToolSpec>,
    /// Sampling temperature; `None` leaves the provider's default.
    pub temperature: Option<f32>,
    /// The most tokens the model may generate; `None` leaves the provider's default
    /// (Anthropic requires one, so its provider sends 4096 then).
    pub max_output_tokens: Option<u32>,
    /// Sequences that stop generation.
    pub stop: Vec<String>,
}

impl ChatRequest {
    /// A request with these messages and nothing else set.
    pub fn new(messages: Vec<Message>) -> Self {
        ChatRequest {
            messages,
            ..ChatRequest::default()
        }
    }

    /// Sets the system prompt.
    #[must_use]
    pub fn with_system(mut self, system: impl Into<String>) -> Self {
        self.system = Some(system.into());
        self
    }

    /// Sets the tools the model may call.
    #[must_use]
    pub fn with_tools(mut self, tools: Vec<ToolSpec>) -> Self {
        self.tools = tools;
        self
    }

    /// Sets the sampling temperature.
    #[must_use]
    pub fn with_temperature(mut self, temperature: f32) -> Self {
        self.temperature = Some(temperature);
        self
    }

    /// Sets the output token limit.
    #[must_use]
    pub fn with_max_output_tokens(mut self, max: u32) -> Self {
        self.max_output_tokens = Some(max);
        self
    }

    /// Sets the stop sequences.
    #[must_use]
    pub fn with_stop(mut self, stop: Vec<String>) -> Self {
        self.stop = stop;
        self
    }
}

/// One turn of the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Message {
    /// What the user said.
    User {
        /// The text.
        content: String,
    },
    /// What the model answered: text, tool calls, or both.
    Assistant {
        /// The text (may be empty when the model only called tools).
        content: String,
        /// The tool calls, in the order the model made them.
        tool_calls: Vec<ToolCall>,
    },
    /// The result of one tool call, sent back to the model.
    Tool {
        /// The id of the [`ToolCall`] this answers.
        call_id: String,
        /// The tool's name (Gemini and Ollama match results by name).
        name: String,
        /// What the tool returned, or the error message.
        content: String,
        /// Whether the tool failed (Anthropic passes this on; others see only the content).
        is_error: bool,
    },
}

impl Message {
    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Message::User {
            content: content.into(),
        }
    }

    /// An assistant message with text only.
    pub fn assistant(content: impl Into<String>) -> Self {
        Message::Assistant {
            content: content.into(),
            tool_calls: Vec::new(),
        }
    }

    /// A successful tool result answering `call`.
    pub fn tool_result(call: &ToolCall, content: impl Into<String>) -> Self {
        Message::Tool {
            call_id: call.id.clone(),
            name: call.name.clone(),
            content: content.into(),
            is_error: false,
        }
    }

    /// A failed tool result answering `call` (e.g. its arguments were not valid JSON).
    pub fn tool_error(call: &ToolCall, content: impl Into<String>) -> Self {
        Message::Tool {
            call_id: call.id.clone(),
            name: call.name.clone(),
            content: content.into(),
            is_error: true,
        }
    }
}

/// A tool the model may call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    /// The name the model calls it by.
    pub name: String,
    /// What it does and when to use it.
    pub description: String,
    /// JSON Schema of its arguments (an object schema).
    pub parameters: Value,
}

impl ToolSpec {
    /// A tool spec.
    pub fn new(name: impl Into<String>, description: impl Into<String>, parameters: Value) -> Self {
        ToolSpec {
            name: name.into(),
            description: description.into(),
            parameters,
        }
    }
}

/// One tool call the model made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// Unique within the response; the provider's id, or a generated one for providers
    /// that give none (Ollama, Gemini).
    pub id: String,
    /// The tool's name.
    pub name: String,
    /// The arguments, parsed, or the raw text when they were not a JSON object.
    pub arguments: ToolArguments,
    /// Opaque provider data that must be sent back unchanged with this call in the next
    /// request (Gemini's thought signature). Don't interpret it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_data: Option<Value>,
}

impl ToolCall {
    /// A tool call with valid arguments and no provider data.
    pub fn new(id: impl Into<String>, name: impl Into<String>, arguments: Value) -> Self {
        ToolCall {
            id: id.into(),
            name: name.into(),
            arguments: ToolArguments::Valid(arguments),
            provider_data: None,
        }
    }
}

/// The arguments of a tool call: a JSON object, or the raw text the model produced when it
/// was not one, so the runtime can tell the model what was wrong and let it retry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ToolArguments {
    /// A JSON object.
    Valid(Value),
    /// Not a JSON object.
    Invalid {
        /// Exactly what the model sent.
        raw: String,
        /// Why it was rejected (the JSON parser's message).
        error: String,
    },
}

impl ToolArguments {
    /// Parses the raw argument text a model produced. Empty text means "no arguments" (`{}`);
    /// anything that is not a JSON object is [`ToolArguments::Invalid`].
    pub fn parse(raw: &str) -> Self {
        if raw.trim().is_empty() {
            return ToolArguments::Valid(Value::Object(serde_json::Map::new()));
        }
        match serde_json::from_str::<Value>(raw) {
            Ok(value @ Value::Object(_)) => ToolArguments::Valid(value),
            Ok(other) => ToolArguments::Invalid {
                raw: raw.to_owned(),
                error: format!("expected a JSON object, got {}", json_kind(&other)),
            },
            Err(err) => ToolArguments::Invalid {
                raw: raw.to_owned(),
                error: err.to_string(),
            },
        }
    }

    /// The parsed object, if valid.
    pub fn value(&self) -> Option<&Value> {
        match self {
            ToolArguments::Valid(value) => Some(value),
            ToolArguments::Invalid { .. } => None,
        }
    }

    /// The arguments as JSON text: the serialised object, or the raw text when invalid.
    pub fn to_json_text(&self) -> String {
        match self {
            ToolArguments::Valid(value) => value.to_string(),
            ToolArguments::Invalid { raw, .. } => raw.clone(),
        }
    }

    /// The arguments as an object for providers that need one on the wire (Anthropic,
    /// Gemini, Ollama): invalid arguments become `{}`, the tool error explains the rest.
    #[cfg_attr(not(feature = "providers"), allow(dead_code))]
    pub(crate) fn to_object(&self) -> Value {
        match self {
            ToolArguments::Valid(value) => value.clone(),
            ToolArguments::Invalid { .. } => Value::Object(serde_json::Map::new()),
        }
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn empty_arguments_mean_no_arguments() {
        assert_eq!(ToolArguments::parse(" "), ToolArguments::Valid(json!({})));
    }

    #[test]
    fn non_object_arguments_are_invalid_with_the_raw_text() {
        let ToolArguments::Invalid { raw, error } = ToolArguments::parse("[1]") else {
            panic!("an array must be rejected");
        };
        assert_eq!(raw, "[1]");
        assert!(error.contains("an array"), "{error}");
        assert!(matches!(
            ToolArguments::parse("{\"a\":"),
            ToolArguments::Invalid { .. }
        ));
    }

    #[test]
    fn messages_round_trip_through_json() {
        let call = ToolCall::new("c1", "get", json!({"a": 1}));
        let messages = vec![
            Message::user("hi"),
            Message::Assistant {
                content: String::new(),
                tool_calls: vec![call.clone()],
            },
            Message::tool_error(&call, "boom"),
        ];
        let text = serde_json::to_string(&messages).unwrap();
        let back: Vec<Message> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, messages);
    }
}
