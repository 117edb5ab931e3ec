//! The `generateContent` wire format: request bodies, responses and SSE chunks.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::schema;
use crate::message::{ChatRequest, Message, ToolArguments, ToolCall};
use crate::providers::framing::{Frame, StreamDecoder};
use crate::providers::http::{RequestContext, classify};
use crate::providers::{CallIds, parse_json, set};
use crate::response::{ChatResponse, FinishReason, StreamEvent, Usage};
use crate::{Error, Result};

/// Keys of [`ToolCall::provider_data`] for Gemini calls.
const THOUGHT_SIGNATURE: &str = "thoughtSignature";
const FUNCTION_CALL_ID: &str = "functionCallId";

pub(crate) fn request_body(request: &ChatRequest) -> Value {
    // Gemini's own call ids, by our call id, to answer each functionCall with its id.
    let mut gemini_ids: HashMap<&str, &str> = HashMap::new();
    for message in &request.messages {
        if let Message::Assistant { tool_calls, .. } = message {
            for call in tool_calls {
                if let Some(id) = call
                    .provider_data
                    .as_ref()
                    .and_then(|d| d.get(FUNCTION_CALL_ID)?.as_str())
                {
                    gemini_ids.insert(&call.id, id);
                }
            }
        }
    }
    let mut contents: Vec<(&'static str, Vec<Value>)> = Vec::new();
    let mut push = |role: &'static str, part: Value| match contents.last_mut() {
        Some((last, parts)) if *last == role => parts.push(part),
        _ => contents.push((role, vec![part])),
    };
    for message in &request.messages {
        match message {
            Message::User { content } => push("user", json!({"text": content})),
            Message::Assistant {
                content,
                tool_calls,
            } => {
                if !content.is_empty() {
                    push("model", json!({"text": content}));
                }
                for call in tool_calls {
                    let mut function_call =
                        json!({"name": call.name, "args": call.arguments.to_object()});
                    if let Some(id) = gemini_ids.get(call.id.as_str()) {
                        set(&mut function_call, "id", json!(id));
                    }
                    let mut part = json!({"functionCall": function_call});
                    // The signature must go back exactly as it came, on the same part.
                    if let Some(signature) = call
                        .provider_data
                        .as_ref()
                        .and_then(|d| d.get(THOUGHT_SIGNATURE))
                    {
                        set(&mut part, THOUGHT_SIGNATURE, signature.clone());
                    }
                    push("model", part);
                }
            }
            Message::Tool {
                call_id,
                name,
                content,
                is_error,
            } => {
                let key = if *is_error { "error" } else { "content" };
                let mut response = json!({"name": name, "response": {key: content}});
                if let Some(id) = gemini_ids.get(call_id.as_str()) {
                    set(&mut response, "id", json!(id));
                }
                push("user", json!({"functionResponse": response}));
            }
        }
    }
    let contents: Vec<Value> = contents
        .into_iter()
        .map(|(role, parts)| json!({"role": role, "parts": parts}))
        .collect();
    let mut body = Map::new();
    if let Some(system) = &request.system {
        body.insert(
            "systemInstruction".into(),
            json!({"parts": [{"text": system}]}),
        );
    }
    body.insert("contents".into(), Value::Array(contents));
    if !request.tools.is_empty() {
        let declarations: Vec<Value> = request
            .tools
            .iter()
            .map(|tool| {
                let mut declaration = json!({"name": tool.name, "description": tool.description});
                if let Some(parameters) = schema::translate(&tool.parameters) {
                    set(&mut declaration, "parameters", parameters);
                }
                declaration
            })
            .collect();
        body.insert(
            "tools".into(),
            json!([{"functionDeclarations": declarations}]),
        );
    }
    let mut generation = Map::new();
    if let Some(temperature) = request.temperature {
        generation.insert("temperature".into(), json!(temperature));
    }
    if let Some(max) = request.max_output_tokens {
        generation.insert("maxOutputTokens".into(), json!(max));
    }
    if !request.stop.is_empty() {
        generation.insert("stopSequences".into(), json!(request.stop));
    }
    if !generation.is_empty() {
        body.insert("generationConfig".into(), Value::Object(generation));
    }
    Value::Object(body)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireResponse {
    #[serde(default)]
    candidates: Vec<Candidate>,
    usage_metadata: Option<UsageMetadata>,
    prompt_feedback: Option<PromptFeedback>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Candidate {
    content: Option<Content>,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Content {
    #[serde(default)]
    parts: Vec<Part>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Part {
    text: Option<String>,
    /// Thought summaries are not part of the answer.
    #[serde(default)]
    thought: bool,
    function_call: Option<FunctionCall>,
    thought_signature: Option<String>,
}

#[derive(Deserialize)]
struct FunctionCall {
    id: Option<String>,
    name: String,
    #[serde(default)]
    args: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(clippy::struct_field_names)] // the wire names
struct UsageMetadata {
    #[serde(default)]
    prompt_token_count: u64,
    #[serde(default)]
    candidates_token_count: u64,
    /// Thinking tokens are billed as output.
    #[serde(default)]
    thoughts_token_count: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PromptFeedback {
    block_reason: Option<String>,
}

impl From<UsageMetadata> for Usage {
    fn from(usage: UsageMetadata) -> Self {
        Usage {
            input_tokens: usage.prompt_token_count,
            output_tokens: usage
                .candidates_token_count
                .saturating_add(usage.thoughts_token_count),
        }
    }
}

fn finish_reason(reason: &str) -> FinishReason {
    match reason {
        "STOP" => FinishReason::Stop,
        "MAX_TOKENS" => FinishReason::Length,
        "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" | "IMAGE_SAFETY" => {
            FinishReason::ContentFilter
        }
        other => FinishReason::Other(other.to_owned()),
    }
}

fn tool_call(part_call: FunctionCall, signature: Option<String>, ids: &CallIds) -> ToolCall {
    let mut data = Map::new();
    if let Some(signature) = signature {
        data.insert(THOUGHT_SIGNATURE.into(), json!(signature));
    }
    let gemini_id = part_call.id.filter(|id| !id.is_empty());
    if let Some(id) = &gemini_id {
        data.insert(FUNCTION_CALL_ID.into(), json!(id));
    }
    ToolCall {
        id: gemini_id.unwrap_or_else(|| ids.next()),
        name: part_call.name,
        arguments: match part_call.args {
            Value::Null => ToolArguments::parse(""),
            object @ Value::Object(_) => ToolArguments::Valid(object),
            other => ToolArguments::parse(&other.to_string()),
        },
        provider_data: (!data.is_empty()).then_some(Value::Object(data)),
    }
}

fn parse_chunk(data: &str, context: &RequestContext) -> Result<WireResponse> {
    let value: Value = parse_json(data, "Gemini response")?;
    if value.get("error").is_some_and(|e| !e.is_null()) {
        return Err(classify(context, None, data, None));
    }
    serde_json::from_value(value)
        .map_err(|err| Error::invalid_response(format!("Gemini response: {err}"), data))
}

/// A prompt blocked before any candidate: no answer, a content-filter finish.
fn blocked(response: &WireResponse) -> Option<String> {
    if response.candidates.is_empty() {
        return response.prompt_feedback.as_ref()?.block_reason.clone();
    }
    None
}

pub(crate) fn parse_response(
    body: &str,
    context: &RequestContext,
    ids: &CallIds,
) -> Result<ChatResponse> {
    let response = parse_chunk(body, context)?;
    if blocked(&response).is_some() {
        return Ok(ChatResponse {
            text: String::new(),
            tool_calls: Vec::new(),
            finish_reason: FinishReason::ContentFilter,
            usage: response.usage_metadata.map(Usage::from),
        });
    }
    let candidate = response
        .candidates
        .into_iter()
        .next()
        .ok_or_else(|| Error::invalid_response("the response has no candidates", body))?;
    let mut text = String::new();
    let mut tool_calls = Vec::new();
    for part in candidate.content.map(|c| c.parts).unwrap_or_default() {
        if let Some(call) = part.function_call {
            tool_calls.push(tool_call(call, part.thought_signature, ids));
        } else if let Some(piece) = part.text.filter(|_| !part.thought) {
            text.push_str(&piece);
        }
    }
    let mut finish = candidate
        .finish_reason
        .as_deref()
        .map_or(FinishReason::Stop, finish_reason);
    if finish == FinishReason::Stop && !tool_calls.is_empty() {
        finish = FinishReason::ToolCalls;
    }
    Ok(ChatResponse {
        text,
        tool_calls,
        finish_reason: finish,
        usage: response.usage_metadata.map(Usage::from),
    })
}

/// Parses streamed chunks. Each is a whole `GenerateContentResponse`; function calls come
/// whole; the chunk with a `finishReason` is the last (there is no `[DONE]`).
pub(crate) struct ChunkDecoder {
    context: RequestContext,
    ids: Arc<CallIds>,
    calls: usize,
}

impl ChunkDecoder {
    pub(crate) fn new(context: RequestContext, ids: Arc<CallIds>) -> Self {
        ChunkDecoder {
            context,
            ids,
            calls: 0,
        }
    }
}

impl StreamDecoder for ChunkDecoder {
    fn decode(&mut self, frame: Frame) -> Result<Vec<StreamEvent>> {
        if frame.event.as_deref() == Some("error") {
            return Err(classify(&self.context, None, &frame.data, None));
        }
        let response = parse_chunk(&frame.data, &self.context)?;
        let mut events = Vec::new();
        let is_blocked = blocked(&response).is_some();
        let usage = response.usage_metadata.map(Usage::from);
        if is_blocked {
            events.extend(usage.map(StreamEvent::Usage));
            events.push(StreamEvent::Finished {
                reason: FinishReason::ContentFilter,
            });
            return Ok(events);
        }
        let mut finish = None;
        if let Some(candidate) = response.candidates.into_iter().next() {
            for part in candidate.content.map(|c| c.parts).unwrap_or_default() {
                if let Some(call) = part.function_call {
                    let call = tool_call(call, part.thought_signature, &self.ids);
                    let index = self.calls;
                    self.calls += 1;
                    events.push(StreamEvent::ToolCallStarted {
                        index,
                        id: call.id,
                        name: call.name,
                        provider_data: call.provider_data,
                    });
                    events.push(StreamEvent::ToolCallArgumentsDelta {
                        index,
                        fragment: call.arguments.to_json_text(),
                    });
                } else if let Some(text) = part.text.filter(|t| !part.thought && !t.is_empty()) {
                    events.push(StreamEvent::TextDelta { text });
                }
            }
            finish = candidate.finish_reason.as_deref().map(finish_reason);
        }
        if let Some(reason) = finish {
            events.extend(usage.map(StreamEvent::Usage));
            events.push(StreamEvent::Finished { reason });
        }
        Ok(events)
    }

    fn end_of_body(&mut self) -> Result<Vec<StreamEvent>> {
        Err(Error::StreamInterrupted {
            reason: "the Gemini stream ended without a finishReason".into(),
        })
    }
}
