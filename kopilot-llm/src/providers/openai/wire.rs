//! The chat completions wire format: request bodies, responses, and SSE chunks.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::message::{ChatRequest, Message, ToolArguments, ToolCall};
use crate::providers::framing::{Frame, StreamDecoder};
use crate::providers::http::{RequestContext, classify};
use crate::providers::{CallIds, parse_json, set};
use crate::response::{ChatResponse, FinishReason, StreamEvent, Usage};
use crate::{Error, Result};

pub(crate) struct BodyOptions<'a> {
    pub(crate) model: Option<&'a str>,
    pub(crate) max_tokens_field: &'static str,
    pub(crate) stream: bool,
}

pub(crate) fn request_body(request: &ChatRequest, options: &BodyOptions<'_>) -> Value {
    let mut messages = Vec::with_capacity(request.messages.len() + 1);
    if let Some(system) = &request.system {
        messages.push(json!({"role": "system", "content": system}));
    }
    for message in &request.messages {
        messages.push(match message {
            Message::User { content } => json!({"role": "user", "content": content}),
            Message::Assistant { content, tool_calls } => {
                let mut out = json!({
                    "role": "assistant",
                    "content": if content.is_empty() && !tool_calls.is_empty() { Value::Null } else { json!(content) },
                });
                if !tool_calls.is_empty() {
                    let calls = tool_calls
                        .iter()
                        .map(|call| {
                            json!({
                                "id": call.id,
                                "type": "function",
                                "function": {"name": call.name, "arguments": call.arguments.to_json_text()},
                            })
                        })
                        .collect();
                    set(&mut out, "tool_calls", calls);
                }
                out
            }
            Message::Tool { call_id, content, .. } => {
                json!({"role": "tool", "tool_call_id": call_id, "content": content})
            }
        });
    }
    let mut body = Map::new();
    if let Some(model) = options.model {
        body.insert("model".into(), json!(model));
    }
    body.insert("messages".into(), Value::Array(messages));
    if !request.tools.is_empty() {
        let tools = request
            .tools
            .iter()
            .map(|tool| {
                json!({
                    "type": "function",
                    "function": {"name": tool.name, "description": tool.description, "parameters": tool.parameters},
                })
            })
            .collect();
        body.insert("tools".into(), Value::Array(tools));
    }
    if let Some(temperature) = request.temperature {
        body.insert("temperature".into(), json!(temperature));
    }
    if let Some(max) = request.max_output_tokens {
        body.insert(options.max_tokens_field.into(), json!(max));
    }
    if !request.stop.is_empty() {
        body.insert("stop".into(), json!(request.stop));
    }
    body.insert("stream".into(), json!(options.stream));
    if options.stream {
        body.insert("stream_options".into(), json!({"include_usage": true}));
    }
    Value::Object(body)
}

#[derive(Deserialize)]
struct Completion {
    #[serde(default)]
    choices: Vec<Choice>,
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct Choice {
    message: ResponseMessage,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct ResponseMessage {
    content: Option<String>,
    tool_calls: Option<Vec<ResponseToolCall>>,
}

#[derive(Deserialize)]
struct ResponseToolCall {
    id: Option<String>,
    function: ResponseFunction,
}

#[derive(Deserialize)]
struct ResponseFunction {
    name: String,
    /// A JSON string by the spec; some servers send the object itself.
    arguments: Option<Value>,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

impl From<WireUsage> for Usage {
    fn from(usage: WireUsage) -> Self {
        Usage {
            input_tokens: usage.prompt_tokens,
            output_tokens: usage.completion_tokens,
        }
    }
}

fn finish_reason(reason: &str) -> FinishReason {
    match reason {
        "stop" | "eos" => FinishReason::Stop,
        "length" => FinishReason::Length,
        "tool_calls" | "function_call" => FinishReason::ToolCalls,
        "content_filter" => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_owned()),
    }
}

fn arguments(raw: Option<Value>) -> ToolArguments {
    match raw {
        None | Some(Value::Null) => ToolArguments::parse(""),
        Some(Value::String(text)) => ToolArguments::parse(&text),
        Some(object @ Value::Object(_)) => ToolArguments::Valid(object),
        Some(other) => ToolArguments::parse(&other.to_string()),
    }
}

pub(crate) fn parse_response(
    body: &str,
    context: &RequestContext,
    ids: &CallIds,
) -> Result<ChatResponse> {
    let value: Value = parse_json(body, "chat completion")?;
    if value.get("error").is_some_and(|e| !e.is_null()) {
        return Err(classify(context, None, body, None));
    }
    let completion: Completion = serde_json::from_value(value)
        .map_err(|err| Error::invalid_response(format!("chat completion: {err}"), body))?;
    let choice = completion
        .choices
        .into_iter()
        .next()
        .ok_or_else(|| Error::invalid_response("the completion has no choices", body))?;
    let tool_calls = choice
        .message
        .tool_calls
        .unwrap_or_default()
        .into_iter()
        .map(|call| ToolCall {
            id: call
                .id
                .filter(|id| !id.is_empty())
                .unwrap_or_else(|| ids.next()),
            name: call.function.name,
            arguments: arguments(call.function.arguments),
            provider_data: None,
        })
        .collect::<Vec<_>>();
    let mut finish = choice
        .finish_reason
        .as_deref()
        .map_or(FinishReason::Stop, finish_reason);
    if finish == FinishReason::Stop && !tool_calls.is_empty() {
        finish = FinishReason::ToolCalls;
    }
    Ok(ChatResponse {
        text: choice.message.content.unwrap_or_default(),
        tool_calls,
        finish_reason: finish,
        usage: completion.usage.map(Usage::from),
    })
}

#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    choices: Vec<ChunkChoice>,
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct ChunkChoice {
    #[serde(default)]
    index: u32,
    delta: Option<Delta>,
    finish_reason: Option<String>,
}

/// Only the fields we read: the legacy `function_call` some servers add is ignored.
#[derive(Deserialize)]
struct Delta {
    content: Option<String>,
    tool_calls: Option<Vec<DeltaToolCall>>,
}

#[derive(Deserialize)]
struct DeltaToolCall {
    index: Option<u32>,
    id: Option<String>,
    function: Option<DeltaFunction>,
}

#[derive(Deserialize)]
struct DeltaFunction {
    name: Option<String>,
    arguments: Option<String>,
}

/// One tool call being streamed.
struct StreamedCall {
    wire_index: Option<u32>,
    id: Option<String>,
    /// Set once, from the first delta that names it: later repeats are ignored.
    name: Option<String>,
    started: bool,
    /// Argument text that arrived before the name did.
    held_back: String,
}

/// Parses chat completion chunks into events.
///
/// Robust to servers that repeat `id`, `type` and `function.name` in every delta
/// (llama-cpp-python): a call's id and name are taken once, only its arguments accumulate.
pub(crate) struct ChunkDecoder {
    context: RequestContext,
    ids: Arc<CallIds>,
    calls: Vec<StreamedCall>,
    by_wire_index: HashMap<u32, usize>,
    finish: Option<FinishReason>,
}

impl ChunkDecoder {
    pub(crate) fn new(context: RequestContext, ids: Arc<CallIds>) -> Self {
        ChunkDecoder {
            context,
            ids,
            calls: Vec::new(),
            by_wire_index: HashMap::new(),
            finish: None,
        }
    }

    /// Our index for a delta: by its `index`, else by its `id`, else the latest call.
    fn slot(&mut self, delta: &DeltaToolCall) -> usize {
        if let Some(wire_index) = delta.index {
            if let Some(slot) = self.by_wire_index.get(&wire_index) {
                return *slot;
            }
        } else if let Some(id) = delta.id.as_deref().filter(|id| !id.is_empty()) {
            if let Some(slot) = self.calls.iter().position(|c| c.id.as_deref() == Some(id)) {
                return slot;
            }
        } else if !self.calls.is_empty() {
            return self.calls.len() - 1;
        }
        let slot = self.calls.len();
        if let Some(wire_index) = delta.index {
            self.by_wire_index.insert(wire_index, slot);
        }
        self.calls.push(StreamedCall {
            wire_index: delta.index,
            id: None,
            name: None,
            started: false,
            held_back: String::new(),
        });
        slot
    }

    fn tool_delta(&mut self, delta: DeltaToolCall, events: &mut Vec<StreamEvent>) {
        let slot = self.slot(&delta);
        let Some(call) = self.calls.get_mut(slot) else {
            return;
        };
        if call.id.is_none() {
            call.id = delta.id.filter(|id| !id.is_empty());
        }
        let (name, fragment) = match delta.function {
            Some(function) => (function.name, function.arguments.unwrap_or_default()),
            None => (None, String::new()),
        };
        if call.name.is_none() {
            call.name = name.filter(|name| !name.is_empty());
        }
        if call.started {
            if !fragment.is_empty() {
                events.push(StreamEvent::ToolCallArgumentsDelta {
                    index: slot,
                    fragment,
                });
            }
            return;
        }
        call.held_back.push_str(&fragment);
        if let Some(name) = call.name.clone() {
            call.started = true;
            let id = call.id.get_or_insert_with(|| self.ids.next()).clone();
            events.push(StreamEvent::ToolCallStarted {
                index: slot,
                id,
                name,
                provider_data: None,
            });
            let held = std::mem::take(&mut call.held_back);
            if !held.is_empty() {
                events.push(StreamEvent::ToolCallArgumentsDelta {
                    index: slot,
                    fragment: held,
                });
            }
        }
    }

    fn finished(&self) -> Result<Vec<StreamEvent>> {
        if let Some(call) = self.calls.iter().find(|call| !call.started) {
            return Err(Error::InvalidResponse {
                reason: format!(
                    "tool call #{} never got a name",
                    call.wire_index
                        .map_or_else(|| "?".to_owned(), |i| i.to_string())
                ),
                excerpt: crate::error::excerpt(&call.held_back),
            });
        }
        let reason = self.finish.clone().unwrap_or(FinishReason::Stop);
        Ok(vec![StreamEvent::Finished { reason }])
    }
}

impl StreamDecoder for ChunkDecoder {
    fn decode(&mut self, frame: Frame) -> Result<Vec<StreamEvent>> {
        let data = frame.data.trim();
        if data == "[DONE]" {
            return self.finished();
        }
        if frame.event.as_deref() == Some("error") {
            return Err(classify(&self.context, None, data, None));
        }
        let value: Value = parse_json(data, "stream chunk")?;
        if value.get("error").is_some_and(|e| !e.is_null()) {
            return Err(classify(&self.context, None, data, None));
        }
        let chunk: Chunk = serde_json::from_value(value)
            .map_err(|err| Error::invalid_response(format!("stream chunk: {err}"), data))?;
        let mut events = Vec::new();
        for choice in chunk.choices.into_iter().filter(|choice| choice.index == 0) {
            if let Some(delta) = choice.delta {
                if let Some(text) = delta.content.filter(|text| !text.is_empty()) {
                    events.push(StreamEvent::TextDelta { text });
                }
                for call in delta.tool_calls.unwrap_or_default() {
                    self.tool_delta(call, &mut events);
                }
            }
            if let Some(reason) = choice.finish_reason {
                self.finish = Some(finish_reason(&reason));
            }
        }
        if let Some(usage) = chunk.usage {
            events.push(StreamEvent::Usage(usage.into()));
        }
        Ok(events)
    }

    fn end_of_body(&mut self) -> Result<Vec<StreamEvent>> {
        // A server that sent its finish reason but closed before `[DONE]` delivered the
        // whole answer; one that sent neither was cut off.
        if self.finish.is_some() {
            return self.finished();
        }
        Err(Error::StreamInterrupted {
            reason: "the chat completion stream ended without a finish reason or [DONE]".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ProviderKind;
    use crate::response::ResponseCollector;

    fn decoder() -> ChunkDecoder {
        let context = RequestContext {
            provider: ProviderKind::OpenAiCompatible,
            model: "m".into(),
            url: "http://127.0.0.1/v1/chat/completions".into(),
        };
        ChunkDecoder::new(context, CallIds::new("openai"))
    }

    fn fold(decoder: &mut ChunkDecoder, sse_data: &[&str]) -> ChatResponse {
        let mut collector = ResponseCollector::new();
        for data in sse_data {
            let frame = Frame {
                event: None,
                data: (*data).to_owned(),
            };
            for event in decoder.decode(frame).unwrap() {
                collector.push(event).unwrap();
            }
        }
        collector.finish().unwrap()
    }

    /// The shape llama-cpp-python streams: `id`, `type` and `function.name` repeated in
    /// every delta, plus a legacy `function_call` field, and no usage.
    #[test]
    fn repeated_ids_and_names_are_not_concatenated() {
        let stream = include_str!("../../../tests/fixtures/openai/llama_cpp_python_tool_call.sse");
        let data: Vec<&str> = stream
            .lines()
            .filter_map(|line| line.strip_prefix("data: "))
            .collect();
        let response = fold(&mut decoder(), &data);
        assert_eq!(response.tool_calls.len(), 1);
        let call = &response.tool_calls[0];
        assert_eq!(call.name, "run_kubectl");
        assert_eq!(
            call.id,
            "call__0_run_kubectl_cmpl-5c3e4a1f-8b2d-4e77-9a61-0f3d2c1b7e90"
        );
        assert_eq!(
            call.arguments,
            ToolArguments::Valid(json!({"args": "get pods -n shop"}))
        );
        assert_eq!(response.finish_reason, FinishReason::ToolCalls);
        assert_eq!(response.usage, None);
    }

    #[test]
    fn arguments_before_the_name_are_held_back() {
        let response = fold(
            &mut decoder(),
            &[
                r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c1","function":{"arguments":"{\"a\""}}]}}]}"#,
                r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"name":"t","arguments":":1}"}}]}}]}"#,
                r#"{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#,
                "[DONE]",
            ],
        );
        assert_eq!(
            response.tool_calls[0].arguments,
            ToolArguments::Valid(json!({"a": 1}))
        );
        assert_eq!(response.tool_calls[0].id, "c1");
    }

    #[test]
    fn calls_without_ids_get_generated_ones() {
        let response = fold(
            &mut decoder(),
            &[
                r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"name":"a","arguments":"{}"}},{"index":1,"function":{"name":"b","arguments":"{}"}}]},"finish_reason":"tool_calls"}]}"#,
                "[DONE]",
            ],
        );
        let ids: Vec<&str> = response.tool_calls.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["openai-call-1", "openai-call-2"]);
    }

    #[test]
    fn a_call_that_never_gets_a_name_is_an_error() {
        let mut decoder = decoder();
        decoder
            .decode(Frame {
                event: None,
                data: r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]}}]}"#.into(),
            })
            .unwrap();
        let err = decoder
            .decode(Frame {
                event: None,
                data: "[DONE]".into(),
            })
            .unwrap_err();
        assert!(matches!(err, Error::InvalidResponse { .. }), "{err:?}");
    }
}
