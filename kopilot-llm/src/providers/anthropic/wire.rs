//! The Messages API wire format: request bodies, responses, and SSE events.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::message::{ChatRequest, Message, ToolArguments, ToolCall};
use crate::providers::framing::{Frame, StreamDecoder};
use crate::providers::http::{RequestContext, classify};
use crate::providers::{parse_json, set};
use crate::response::{ChatResponse, FinishReason, StreamEvent, Usage};
use crate::{Error, Result};

/// Anthropic requires `max_tokens`; this is sent when the request leaves it open.
const DEFAULT_MAX_TOKENS: u32 = 4096;

pub(crate) fn request_body(request: &ChatRequest, model: &str, stream: bool) -> Value {
    // Consecutive user-side turns (tool results, then maybe text) merge into one message:
    // all results for one assistant turn must come together right after it.
    let mut messages: Vec<(&'static str, Vec<Value>)> = Vec::new();
    let mut push = |role: &'static str, block: Value| match messages.last_mut() {
        Some((last, blocks)) if *last == role => blocks.push(block),
        _ => messages.push((role, vec![block])),
    };
    for message in &request.messages {
        match message {
            Message::User { content } => push("user", json!({"type": "text", "text": content})),
            Message::Assistant {
                content,
                tool_calls,
            } => {
                if !content.is_empty() {
                    push("assistant", json!({"type": "text", "text": content}));
                }
                for call in tool_calls {
                    push(
                        "assistant",
                        json!({"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments.to_object()}),
                    );
                }
            }
            Message::Tool {
                call_id,
                content,
                is_error,
                ..
            } => {
                let mut block =
                    json!({"type": "tool_result", "tool_use_id": call_id, "content": content});
                if *is_error {
                    set(&mut block, "is_error", json!(true));
                }
                push("user", block);
            }
        }
    }
    let messages: Vec<Value> = messages
        .into_iter()
        .map(|(role, content)| json!({"role": role, "content": content}))
        .collect();
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    body.insert(
        "max_tokens".into(),
        json!(request.max_output_tokens.unwrap_or(DEFAULT_MAX_TOKENS)),
    );
    if let Some(system) = &request.system {
        body.insert("system".into(), json!(system));
    }
    body.insert("messages".into(), Value::Array(messages));
    if !request.tools.is_empty() {
        let tools = request
            .tools
            .iter()
            .map(|tool| {
                json!({"name": tool.name, "description": tool.description, "input_schema": tool.parameters})
            })
            .collect();
        body.insert("tools".into(), Value::Array(tools));
    }
    if let Some(temperature) = request.temperature {
        body.insert("temperature".into(), json!(temperature));
    }
    if !request.stop.is_empty() {
        body.insert("stop_sequences".into(), json!(request.stop));
    }
    if stream {
        body.insert("stream".into(), json!(true));
    }
    Value::Object(body)
}

#[derive(Deserialize)]
struct WireMessage {
    #[serde(default)]
    content: Vec<Block>,
    stop_reason: Option<String>,
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Block {
    Text {
        text: String,
    },
    ToolUse {
        id: String,
        name: String,
        #[serde(default)]
        input: Value,
    },
    /// Thinking and other blocks we don't pass on.
    #[serde(other)]
    Other,
}

#[derive(Deserialize, Default, Clone, Copy)]
#[allow(clippy::struct_field_names)] // the wire names
struct WireUsage {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    cache_creation_input_tokens: Option<u64>,
    cache_read_input_tokens: Option<u64>,
}

impl WireUsage {
    /// All prompt tokens, cached or not.
    fn input(&self) -> Option<u64> {
        let parts = [
            self.input_tokens,
            self.cache_creation_input_tokens,
            self.cache_read_input_tokens,
        ];
        parts
            .iter()
            .any(Option::is_some)
            .then(|| parts.iter().flatten().sum())
    }
}

fn finish_reason(reason: &str) -> FinishReason {
    match reason {
        "end_turn" | "stop_sequence" => FinishReason::Stop,
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "tool_use" => FinishReason::ToolCalls,
        "refusal" => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_owned()),
    }
}

fn check_error(value: &Value, data: &str, context: &RequestContext) -> Result<()> {
    if value.get("type").and_then(Value::as_str) == Some("error") {
        return Err(classify(context, None, data, None));
    }
    Ok(())
}

pub(crate) fn parse_response(body: &str, context: &RequestContext) -> Result<ChatResponse> {
    let value: Value = parse_json(body, "Anthropic message")?;
    check_error(&value, body, context)?;
    let message: WireMessage = serde_json::from_value(value)
        .map_err(|err| Error::invalid_response(format!("Anthropic message: {err}"), body))?;
    let mut text = String::new();
    let mut tool_calls = Vec::new();
    for block in message.content {
        match block {
            Block::Text { text: piece } => text.push_str(&piece),
            Block::ToolUse { id, name, input } => tool_calls.push(ToolCall {
                id,
                name,
                arguments: match input {
                    object @ Value::Object(_) => ToolArguments::Valid(object),
                    other => ToolArguments::parse(&other.to_string()),
                },
                provider_data: None,
            }),
            Block::Other => {}
        }
    }
    let usage = message.usage.map(|usage| Usage {
        input_tokens: usage.input().unwrap_or(0),
        output_tokens: usage.output_tokens.unwrap_or(0),
    });
    Ok(ChatResponse {
        text,
        tool_calls,
        finish_reason: message
            .stop_reason
            .as_deref()
            .map_or(FinishReason::Stop, finish_reason),
        usage,
    })
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Event {
    MessageStart {
        message: StartMessage,
    },
    ContentBlockStart {
        index: u64,
        content_block: Block,
    },
    ContentBlockDelta {
        index: u64,
        delta: BlockDelta,
    },
    ContentBlockStop {},
    MessageDelta {
        delta: MessageDeltaBody,
        usage: Option<WireUsage>,
    },
    MessageStop {},
    Ping {},
    Error {},
    #[serde(other)]
    Unknown,
}

#[derive(Deserialize)]
struct StartMessage {
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum BlockDelta {
    TextDelta {
        text: String,
    },
    InputJsonDelta {
        partial_json: String,
    },
    /// Thinking, signature and future deltas.
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct MessageDeltaBody {
    stop_reason: Option<String>,
}

/// Parses Messages API stream events. Content blocks are numbered across text and tool
/// use; tool calls get their own 0-based numbering.
pub(crate) struct EventDecoder {
    context: RequestContext,
    tool_blocks: HashMap<u64, usize>,
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    stop_reason: Option<String>,
}

impl EventDecoder {
    pub(crate) fn new(context: RequestContext) -> Self {
        EventDecoder {
            context,
            tool_blocks: HashMap::new(),
            input_tokens: None,
            output_tokens: None,
            stop_reason: None,
        }
    }

    fn usage(&self) -> Option<Usage> {
        if self.input_tokens.is_none() && self.output_tokens.is_none() {
            return None;
        }
        Some(Usage {
            input_tokens: self.input_tokens.unwrap_or(0),
            output_tokens: self.output_tokens.unwrap_or(0),
        })
    }
}

impl StreamDecoder for EventDecoder {
    fn decode(&mut self, frame: Frame) -> Result<Vec<StreamEvent>> {
        if frame.event.as_deref() == Some("error") {
            return Err(classify(&self.context, None, &frame.data, None));
        }
        let value: Value = parse_json(&frame.data, "Anthropic stream event")?;
        check_error(&value, &frame.data, &self.context)?;
        let event: Event = serde_json::from_value(value).map_err(|err| {
            Error::invalid_response(format!("Anthropic stream event: {err}"), &frame.data)
        })?;
        let mut events = Vec::new();
        match event {
            Event::MessageStart { message } => {
                if let Some(usage) = message.usage {
                    self.input_tokens = usage.input();
                    self.output_tokens = usage.output_tokens;
                }
            }
            Event::ContentBlockStart {
                index,
                content_block,
            } => match content_block {
                Block::ToolUse { id, name, .. } => {
                    // The block's `input` is always `{}` here; the real input follows as
                    // `input_json_delta` fragments.
                    let call = self.tool_blocks.len();
                    self.tool_blocks.insert(index, call);
                    events.push(StreamEvent::ToolCallStarted {
                        index: call,
                        id,
                        name,
                        provider_data: None,
                    });
                }
                Block::Text { text } if !text.is_empty() => {
                    events.push(StreamEvent::TextDelta { text });
                }
                Block::Text { .. } | Block::Other => {}
            },
            Event::ContentBlockDelta { index, delta } => {
                match delta {
                    BlockDelta::TextDelta { text } => events.push(StreamEvent::TextDelta { text }),
                    BlockDelta::InputJsonDelta { partial_json } => {
                        let call = self.tool_blocks.get(&index).copied().ok_or_else(|| {
                        Error::invalid_response(
                            format!("input_json_delta for block {index}, which is not a tool_use block"),
                            &frame.data,
                        )
                    })?;
                        if !partial_json.is_empty() {
                            events.push(StreamEvent::ToolCallArgumentsDelta {
                                index: call,
                                fragment: partial_json,
                            });
                        }
                    }
                    BlockDelta::Other => {}
                }
            }
            Event::MessageDelta { delta, usage } => {
                if let Some(reason) = delta.stop_reason {
                    self.stop_reason = Some(reason);
                }
                if let Some(usage) = usage {
                    // message_delta usage is cumulative.
                    if let Some(input) = usage.input() {
                        self.input_tokens = Some(input);
                    }
                    if usage.output_tokens.is_some() {
                        self.output_tokens = usage.output_tokens;
                    }
                }
            }
            Event::MessageStop {} => {
                if let Some(usage) = self.usage() {
                    events.push(StreamEvent::Usage(usage));
                }
                let reason = self
                    .stop_reason
                    .as_deref()
                    .map_or(FinishReason::Stop, finish_reason);
                events.push(StreamEvent::Finished { reason });
            }
            Event::ContentBlockStop {} | Event::Ping {} | Event::Unknown => {}
            Event::Error {} => return Err(classify(&self.context, None, &frame.data, None)),
        }
        Ok(events)
    }

    fn end_of_body(&mut self) -> Result<Vec<StreamEvent>> {
        Err(Error::StreamInterrupted {
            reason: "the Anthropic stream ended without message_stop".into(),
        })
    }
}
