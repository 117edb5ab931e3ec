//! The fake server's payloads, shaped like OpenAI's (see `kopilot-llm/tests/fixtures/openai`): a
//! `chat.completion` object, or `chat.completion.chunk` SSE events with the text and each tool
//! call's arguments split over several chunks, a final chunk with `finish_reason`, a usage
//! chunk when `stream_options.include_usage` is set, and `data: [DONE]`.

use serde_json::{Map, Value, json};

const CREATED: u64 = 1_763_892_000;
const FINGERPRINT: &str = "fp_0ba0d124f1";
/// Characters of text per streamed chunk (OpenAI sends about one token per chunk).
const TEXT_PIECE: usize = 12;
/// Pieces each tool call's arguments are split into.
const ARGUMENT_PIECES: usize = 3;

/// The text of a message `content`: a string, or the `text` of its parts.
pub(crate) fn content_text(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    }
}

/// The content of the last `role: tool` message of a request body.
pub(crate) fn last_tool_result(body: &Value) -> Option<String> {
    body.get("messages")?
        .as_array()?
        .iter()
        .rev()
        .find(|m| m.get("role").and_then(Value::as_str) == Some("tool"))
        .map(|m| content_text(m.get("content").unwrap_or(&Value::Null)))
}

/// One answer, ready to be sent either way.
pub(crate) struct Answer {
    id: String,
    model: String,
    text: String,
    /// (call id, name, arguments as JSON text)
    calls: Vec<(String, String, String)>,
    prompt_tokens: u64,
}

impl Answer {
    pub(crate) fn new(n: u64, request: &Value, text: String, calls: Vec<(String, Value)>) -> Self {
        let calls = calls
            .into_iter()
            .enumerate()
            .map(|(i, (name, args))| (format!("call_fake{n}x{i}"), name, args.to_string()))
            .collect();
        Self {
            id: format!("chatcmpl-fake{n}"),
            model: request
                .get("model")
                .and_then(Value::as_str)
                .unwrap_or("gpt-4o-mini")
                .to_owned(),
            text,
            calls,
            prompt_tokens: tokens(&request.to_string()),
        }
    }

    fn finish_reason(&self) -> &'static str {
        if self.calls.is_empty() {
            "stop"
        } else {
            "tool_calls"
        }
    }

    fn usage(&self) -> Value {
        let completion = tokens(&self.text)
            + self
                .calls
                .iter()
                .map(|(_, name, args)| tokens(name) + tokens(args))
                .sum::<u64>();
        json!({
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": completion,
            "total_tokens": self.prompt_tokens + completion,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
        })
    }

    /// The non-streaming `chat.completion`.
    pub(crate) fn completion(&self) -> Value {
        let mut message = Map::new();
        message.insert("role".into(), json!("assistant"));
        message.insert(
            "content".into(),
            if self.text.is_empty() && !self.calls.is_empty() {
                Value::Null
            } else {
                json!(self.text)
            },
        );
        if !self.calls.is_empty() {
            let calls: Vec<Value> = self
                .calls
                .iter()
                .map(|(id, name, args)| {
                    json!({"id": id, "type": "function", "function": {"name": name, "arguments": args}})
                })
                .collect();
            message.insert("tool_calls".into(), Value::Array(calls));
        }
        message.insert("refusal".into(), Value::Null);
        message.insert("annotations".into(), json!([]));
        json!({
            "id": self.id,
            "object": "chat.completion",
            "created": CREATED,
            "model": self.model,
            "choices": [{"index": 0, "message": message, "logprobs": null,
                "finish_reason": self.finish_reason()}],
            "usage": self.usage(),
            "service_tier": "default",
            "system_fingerprint": FINGERPRINT
        })
    }

    /// The SSE events of the streamed answer, each `data: …\n\n`.
    pub(crate) fn chunks(&self, include_usage: bool) -> Vec<String> {
        let chunk = |delta: Value, finish: Option<&str>| {
            let mut c = json!({
                "id": self.id,
                "object": "chat.completion.chunk",
                "created": CREATED,
                "model": self.model,
                "system_fingerprint": FINGERPRINT,
                "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]
            });
            if let (true, Some(fields)) = (include_usage, c.as_object_mut()) {
                fields.insert("usage".into(), Value::Null);
            }
            c
        };
        let mut events = Vec::new();
        let opening = if self.text.is_empty() && !self.calls.is_empty() {
            Value::Null
        } else {
            json!("")
        };
        events.push(chunk(
            json!({"role": "assistant", "content": opening, "refusal": null}),
            None,
        ));
        for piece in split_chars(&self.text, TEXT_PIECE) {
            events.push(chunk(json!({"content": piece}), None));
        }
        for (index, (id, name, args)) in self.calls.iter().enumerate() {
            events.push(chunk(
                json!({"tool_calls": [{"index": index, "id": id, "type": "function",
                    "function": {"name": name, "arguments": ""}}]}),
                None,
            ));
            let piece = args.chars().count().div_ceil(ARGUMENT_PIECES).max(1);
            for fragment in split_chars(args, piece) {
                events.push(chunk(
                    json!({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]}),
                    None,
                ));
            }
        }
        events.push(chunk(json!({}), Some(self.finish_reason())));
        if include_usage {
            events.push(json!({
                "id": self.id,
                "object": "chat.completion.chunk",
                "created": CREATED,
                "model": self.model,
                "system_fingerprint": FINGERPRINT,
                "choices": [],
                "usage": self.usage()
            }));
        }
        let mut out: Vec<String> = events
            .into_iter()
            .map(|e| format!("data: {e}\n\n"))
            .collect();
        out.push("data: [DONE]\n\n".to_owned());
        out
    }
}

/// Roughly OpenAI's count: four characters a token, at least one.
fn tokens(text: &str) -> u64 {
    u64::try_from(text.chars().count().div_ceil(4).max(1)).unwrap_or(u64::MAX)
}

/// `text` cut into pieces of `size` characters (never inside a character).
fn split_chars(text: &str, size: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars
        .chunks(size.max(1))
        .map(|c| c.iter().collect())
        .collect()
}
