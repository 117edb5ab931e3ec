//! What a model answers: complete responses, stream events, and the fold from one to the other.

use std::collections::BTreeMap;

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::message::{Message, ToolArguments, ToolCall};
use crate::model::ChatStream;
use crate::{Error, Result};

/// Tokens used by one call: the protocol's type.
pub use kopilot_protocol::Usage;

/// Why the model stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// It finished its answer (or hit a stop sequence).
    Stop,
    /// It hit the output token limit: the answer is cut short.
    Length,
    /// It wants the tool calls run.
    ToolCalls,
    /// The provider's safety filter stopped it.
    ContentFilter,
    /// Something else, as the provider named it.
    Other(String),
}

/// A complete answer: what [`ChatModel::chat`](crate::ChatModel::chat) returns and what
/// [`collect_stream`] folds a stream into.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    /// The text (empty when the model only called tools).
    pub text: String,
    /// The tool calls, in the order the model made them.
    pub tool_calls: Vec<ToolCall>,
    /// Why it stopped.
    pub finish_reason: FinishReason,
    /// Token usage, when the provider reported it.
    pub usage: Option<Usage>,
}

impl ChatResponse {
    /// A text-only answer that stopped normally.
    pub fn text(text: impl Into<String>) -> Self {
        ChatResponse {
            text: text.into(),
            tool_calls: Vec::new(),
            finish_reason: FinishReason::Stop,
            usage: None,
        }
    }

    /// An answer that calls these tools.
    pub fn tool_calls(calls: Vec<ToolCall>) -> Self {
        ChatResponse {
            text: String::new(),
            tool_calls: calls,
            finish_reason: FinishReason::ToolCalls,
            usage: None,
        }
    }

    /// Sets the usage.
    #[must_use]
    pub fn with_usage(mut self, input_tokens: u64, output_tokens: u64) -> Self {
        self.usage = Some(Usage {
            input_tokens,
            output_tokens,
        });
        self
    }

    /// The assistant message to append to the conversation for the next request.
    pub fn to_message(&self) -> Message {
        Message::Assistant {
            content: self.text.clone(),
            tool_calls: self.tool_calls.clone(),
        }
    }
}

/// One piece of a streamed answer.
///
/// A well-formed stream ends with exactly one [`StreamEvent::Finished`]; a stream that ends
/// without it ends with an error instead ([`Error::StreamInterrupted`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamEvent {
    /// More answer text.
    TextDelta {
        /// The new text.
        text: String,
    },
    /// A new tool call begins. `index` numbers the calls of this response from 0.
    ToolCallStarted {
        /// Position of the call in the response.
        index: usize,
        /// The call id.
        id: String,
        /// The tool's name.
        name: String,
        /// Opaque provider data to send back with the call (see [`ToolCall::provider_data`]).
        provider_data: Option<Value>,
    },
    /// More argument text for the call started with the same `index`.
    ToolCallArgumentsDelta {
        /// Position of the call in the response.
        index: usize,
        /// The next fragment of the JSON argument text.
        fragment: String,
    },
    /// Token usage so far; a later event replaces an earlier one.
    Usage(Usage),
    /// The answer is complete.
    Finished {
        /// Why the model stopped.
        reason: FinishReason,
    },
}

/// Folds stream events, one at a time, into a [`ChatResponse`].
///
/// Use it when you forward deltas as they arrive and also need the complete answer;
/// [`collect_stream`] does both steps for you.
#[derive(Debug, Default)]
pub struct ResponseCollector {
    text: String,
    calls: BTreeMap<usize, PartialCall>,
    usage: Option<Usage>,
    finish: Option<FinishReason>,
}

#[derive(Debug)]
struct PartialCall {
    id: String,
    name: String,
    arguments: String,
    provider_data: Option<Value>,
}

impl ResponseCollector {
    /// An empty collector.
    pub fn new() -> Self {
        ResponseCollector::default()
    }

    /// Adds one event. Arguments for a call that never started are an error, as is any
    /// event after [`StreamEvent::Finished`].
    pub fn push(&mut self, event: StreamEvent) -> Result<()> {
        if self.finish.is_some() {
            return Err(Error::InvalidResponse {
                reason: "stream event after the answer finished".into(),
                excerpt: format!("{event:?}"),
            });
        }
        match event {
            StreamEvent::TextDelta { text } => self.text.push_str(&text),
            StreamEvent::ToolCallStarted {
                index,
                id,
                name,
                provider_data,
            } => {
                // A repeated start for the same call (some servers repeat id and name on
                // every delta) must not duplicate or rename it.
                self.calls.entry(index).or_insert(PartialCall {
                    id,
                    name,
                    arguments: String::new(),
                    provider_data,
                });
            }
            StreamEvent::ToolCallArgumentsDelta { index, fragment } => {
                let call = self
                    .calls
                    .get_mut(&index)
                    .ok_or_else(|| Error::InvalidResponse {
                        reason: format!("arguments for tool call #{index}, which never started"),
                        excerpt: crate::error::excerpt(&fragment),
                    })?;
                call.arguments.push_str(&fragment);
            }
            StreamEvent::Usage(usage) => self.usage = Some(usage),
            StreamEvent::Finished { reason } => self.finish = Some(reason),
        }
        Ok(())
    }

    /// Whether the terminal [`StreamEvent::Finished`] has arrived.
    pub fn is_finished(&self) -> bool {
        self.finish.is_some()
    }

    /// The complete answer. Fails with [`Error::StreamInterrupted`] when no
    /// [`StreamEvent::Finished`] arrived: a short answer is never passed off as complete.
    pub fn finish(self) -> Result<ChatResponse> {
        let Some(mut finish_reason) = self.finish else {
            return Err(Error::StreamInterrupted {
                reason: "the stream ended without a finish event".into(),
            });
        };
        let tool_calls: Vec<ToolCall> = self
            .calls
            .into_values()
            .map(|call| ToolCall {
                id: call.id,
                name: call.name,
                arguments: ToolArguments::parse(&call.arguments),
                provider_data: call.provider_data,
            })
            .collect();
        // Ollama and Gemini say "stop" even when they called tools.
        if finish_reason == FinishReason::Stop && !tool_calls.is_empty() {
            finish_reason = FinishReason::ToolCalls;
        }
        Ok(ChatResponse {
            text: self.text,
            tool_calls,
            finish_reason,
            usage: self.usage,
        })
    }
}

/// Reads a whole stream and folds it into the same [`ChatResponse`] the non-streaming call
/// returns. The first error in the stream is returned as is.
pub async fn collect_stream(mut stream: ChatStream) -> Result<ChatResponse> {
    let mut collector = ResponseCollector::new();
    while let Some(event) = stream.next().await {
        collector.push(event?)?;
    }
    collector.finish()
}

/// The stream events that replay `response`, with text and arguments cut into pieces of at
/// most `piece_chars` characters. Folding them gives `response` back.
pub fn response_to_events(response: &ChatResponse, piece_chars: usize) -> Vec<StreamEvent> {
    let mut events: Vec<StreamEvent> = split_chars(&response.text, piece_chars)
        .map(|piece| StreamEvent::TextDelta {
            text: piece.to_owned(),
        })
        .collect();
    for (index, call) in response.tool_calls.iter().enumerate() {
        events.push(StreamEvent::ToolCallStarted {
            index,
            id: call.id.clone(),
            name: call.name.clone(),
            provider_data: call.provider_data.clone(),
        });
        let arguments = call.arguments.to_json_text();
        events.extend(split_chars(&arguments, piece_chars).map(|piece| {
            StreamEvent::ToolCallArgumentsDelta {
                index,
                fragment: piece.to_owned(),
            }
        }));
    }
    if let Some(usage) = response.usage {
        events.push(StreamEvent::Usage(usage));
    }
    events.push(StreamEvent::Finished {
        reason: response.finish_reason.clone(),
    });
    events
}

/// Splits `text` into pieces of at most `max` characters, never inside a character.
fn split_chars(text: &str, max: usize) -> impl Iterator<Item = &str> {
    let max = max.max(1);
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let cut = rest.char_indices().nth(max).map_or(rest.len(), |(i, _)| i);
        let (piece, tail) = rest.split_at(cut);
        rest = tail;
        Some(piece)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_of_a_response_fold_back_into_it() {
        let response = ChatResponse {
            text: "Grüße, Kubernetes".into(),
            tool_calls: vec![
                ToolCall::new("a", "run_kubectl", json!({"args": "get pods -A"})),
                ToolCall {
                    id: "b".into(),
                    name: "read".into(),
                    arguments: ToolArguments::parse("{oops"),
                    provider_data: Some(json!({"thoughtSignature": "sig"})),
                },
            ],
            finish_reason: FinishReason::ToolCalls,
            usage: Some(Usage {
                input_tokens: 3,
                output_tokens: 4,
            }),
        };
        for piece in [1, 3, 1000] {
            let mut collector = ResponseCollector::new();
            for event in response_to_events(&response, piece) {
                collector.push(event).unwrap();
            }
            assert_eq!(collector.finish().unwrap(), response);
        }
    }

    proptest::proptest! {
        /// Any answer, cut into pieces of any size, folds back into itself.
        #[test]
        fn any_response_survives_streaming(
            text in "\\PC{0,40}",
            raw_arguments in proptest::collection::vec("\\PC{0,30}", 0..4),
            piece in 1usize..12,
            usage in proptest::option::of((0u64..10_000, 0u64..10_000)),
        ) {
            let tool_calls: Vec<ToolCall> = raw_arguments
                .iter()
                .enumerate()
                .map(|(i, raw)| ToolCall {
                    id: format!("c{i}"),
                    name: format!("tool_{i}"),
                    arguments: ToolArguments::parse(raw),
                    provider_data: None,
                })
                .collect();
            let finish_reason = if tool_calls.is_empty() { FinishReason::Stop } else { FinishReason::ToolCalls };
            let response = ChatResponse {
                text,
                tool_calls,
                finish_reason,
                usage: usage.map(|(input_tokens, output_tokens)| Usage { input_tokens, output_tokens }),
            };
            let mut collector = ResponseCollector::new();
            for event in response_to_events(&response, piece) {
                collector.push(event).unwrap();
            }
            proptest::prop_assert_eq!(collector.finish().unwrap(), response);
        }
    }

    #[test]
    fn a_stream_without_finish_is_interrupted() {
        let mut collector = ResponseCollector::new();
        collector
            .push(StreamEvent::TextDelta {
                text: "half an ans".into(),
            })
            .unwrap();
        assert!(matches!(
            collector.finish(),
            Err(Error::StreamInterrupted { .. })
        ));
    }

    #[test]
    fn arguments_for_an_unknown_call_are_rejected() {
        let mut collector = ResponseCollector::new();
        let err = collector
            .push(StreamEvent::ToolCallArgumentsDelta {
                index: 2,
                fragment: "{}".into(),
            })
            .unwrap_err();
        assert!(matches!(err, Error::InvalidResponse { .. }));
    }

    #[test]
    fn stop_with_tool_calls_means_tool_calls() {
        let mut collector = ResponseCollector::new();
        for event in [
            StreamEvent::ToolCallStarted {
                index: 0,
                id: "x".into(),
                name: "t".into(),
                provider_data: None,
            },
            StreamEvent::Finished {
                reason: FinishReason::Stop,
            },
        ] {
            collector.push(event).unwrap();
        }
        assert_eq!(
            collector.finish().unwrap().finish_reason,
            FinishReason::ToolCalls
        );
    }
}
