//! Ollama's `/api/chat` wire format: request bodies and (streamed) response lines.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::message::{ChatRequest, Message, ToolArguments, ToolCall};
use crate::providers::framing::{Frame, StreamDecoder};
use crate::providers::http::{RequestContext, classify};
use crate::providers::{CallIds, parse_json, set};
use crate::response::{ChatResponse, FinishReason, StreamEvent, Usage};
use crate::{Error, Result};

pub(crate) fn request_body(
    request: &ChatRequest,
    model: &str,
    stream: bool,
    context_window: Option<u32>,
) -> Value {
    let mut messages = Vec::with_capacity(request.messages.len() + 1);
    if let Some(system) = &request.system {
        messages.push(json!({"role": "system", "content": system}));
    }
    for message in &request.messages {
        messages.push(match message {
            Message::User { content } => json!({"role": "user", "content": content}),
            Message::Assistant { content, tool_calls } => {
                let mut out = json!({"role": "assistant", "content": content});
                if !tool_calls.is_empty() {
                    let calls = tool_calls
                        .iter()
                        .map(|call| {
                            json!({"function": {"name": call.name, "arguments": call.arguments.to_object()}})
                        })
                        .collect();
                    set(&mut out, "tool_calls", calls);
                }
                out
            }
            Message::Tool { name, content, .. } => {
                json!({"role": "tool", "tool_name": name, "content": content})
            }
        });
    }
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
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
    // Ollama streams unless told not to.
    body.insert("stream".into(), json!(stream));
    let mut options = Map::new();
    if let Some(temperature) = request.temperature {
        options.insert("temperature".into(), json!(temperature));
    }
    if let Some(max) = request.max_output_tokens {
        options.insert("num_predict".into(), json!(max));
    }
    if !request.stop.is_empty() {
        options.insert("stop".into(), json!(request.stop));
    }
    if let Some(tokens) = context_window {
        options.insert("num_ctx".into(), json!(tokens));
    }
    if !options.is_empty() {
        body.insert("options".into(), Value::Object(options));
    }
    Value::Object(body)
}

/// One answer line (or the whole non-streaming answer).
#[derive(Deserialize)]
struct ChatLine {
    message: Option<LineMessage>,
    #[serde(default)]
    done: bool,
    done_reason: Option<String>,
    prompt_eval_count: Option<u64>,
    eval_count: Option<u64>,
}

#[derive(Deserialize)]
struct LineMessage {
    #[serde(default)]
    content: String,
    tool_calls: Option<Vec<LineToolCall>>,
}

#[derive(Deserialize)]
struct LineToolCall {
    /// Recent versions send an id; older ones none.
    id: Option<String>,
    function: LineFunction,
}

#[derive(Deserialize)]
struct LineFunction {
    name: String,
    /// An object (Ollama parses the model's JSON itself).
    #[serde(default)]
    arguments: Value,
}

impl ChatLine {
    fn usage(&self) -> Option<Usage> {
        if self.prompt_eval_count.is_none() && self.eval_count.is_none() {
            return None;
        }
        Some(Usage {
            input_tokens: self.prompt_eval_count.unwrap_or(0),
            output_tokens: self.eval_count.unwrap_or(0),
        })
    }

    fn finish_reason(&self) -> FinishReason {
        match self.done_reason.as_deref() {
            None | Some("stop" | "") => FinishReason::Stop,
            Some("length") => FinishReason::Length,
            Some(other) => FinishReason::Other(other.to_owned()),
        }
    }
}

fn tool_call(call: LineToolCall, ids: &CallIds) -> ToolCall {
    let arguments = match call.function.arguments {
        Value::Null => ToolArguments::parse(""),
        Value::String(text) => ToolArguments::parse(&text),
        object @ Value::Object(_) => ToolArguments::Valid(object),
        other => ToolArguments::parse(&other.to_string()),
    };
    ToolCall {
        id: call
            .id
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| ids.next()),
        name: call.function.name,
        arguments,
        provider_data: None,
    }
}

fn parse_line(data: &str, context: &RequestContext) -> Result<ChatLine> {
    let value: Value = parse_json(data, "Ollama chat answer")?;
    if value.get("error").is_some_and(|e| !e.is_null()) {
        return Err(classify(context, None, data, None));
    }
    serde_json::from_value(value)
        .map_err(|err| Error::invalid_response(format!("Ollama chat answer: {err}"), data))
}

pub(crate) fn parse_response(
    body: &str,
    context: &RequestContext,
    ids: &CallIds,
) -> Result<ChatResponse> {
    let line = parse_line(body, context)?;
    if !line.done {
        return Err(Error::invalid_response(
            "the answer is not marked done",
            body,
        ));
    }
    let usage = line.usage();
    let mut finish_reason = line.finish_reason();
    let message = line.message.unwrap_or(LineMessage {
        content: String::new(),
        tool_calls: None,
    });
    let tool_calls: Vec<ToolCall> = message
        .tool_calls
        .unwrap_or_default()
        .into_iter()
        .map(|c| tool_call(c, ids))
        .collect();
    if finish_reason == FinishReason::Stop && !tool_calls.is_empty() {
        finish_reason = FinishReason::ToolCalls;
    }
    Ok(ChatResponse {
        text: message.content,
        tool_calls,
        finish_reason,
        usage,
    })
}

/// Parses the NDJSON lines of a streamed answer. Tool calls arrive whole, one line each.
pub(crate) struct LineDecoder {
    context: RequestContext,
    ids: Arc<CallIds>,
    calls: usize,
}

impl LineDecoder {
    pub(crate) fn new(context: RequestContext, ids: Arc<CallIds>) -> Self {
        LineDecoder {
            context,
            ids,
            calls: 0,
        }
    }
}

impl StreamDecoder for LineDecoder {
    fn decode(&mut self, frame: Frame) -> Result<Vec<StreamEvent>> {
        let line = parse_line(&frame.data, &self.context)?;
        let mut events = Vec::new();
        if let Some(message) = &line.message
            && !message.content.is_empty()
        {
            events.push(StreamEvent::TextDelta {
                text: message.content.clone(),
            });
        }
        let usage = line.usage();
        let finish = line.done.then(|| line.finish_reason());
        for call in line.message.and_then(|m| m.tool_calls).unwrap_or_default() {
            let call = tool_call(call, &self.ids);
            let index = self.calls;
            self.calls += 1;
            events.push(StreamEvent::ToolCallStarted {
                index,
                id: call.id,
                name: call.name,
                provider_data: None,
            });
            events.push(StreamEvent::ToolCallArgumentsDelta {
                index,
                fragment: call.arguments.to_json_text(),
            });
        }
        if let Some(reason) = finish {
            if let Some(usage) = usage {
                events.push(StreamEvent::Usage(usage));
            }
            events.push(StreamEvent::Finished { reason });
        }
        Ok(events)
    }

    fn end_of_body(&mut self) -> Result<Vec<StreamEvent>> {
        Err(Error::StreamInterrupted {
            reason: "the Ollama stream ended without a line marked \"done\": true".into(),
        })
    }
}
