//! Implementing `ChatModel` for a provider of your own.
//!
//! `RuleModel` is a tiny offline "model": asked about pods it calls the `run_kubectl` tool,
//! and once it has a tool result it summarises it. A real provider would send the request
//! over HTTP and translate the answer; the contract is the same:
//!
//! - `chat_stream` returns events (`TextDelta`, `ToolCallStarted`, `ToolCallArgumentsDelta`,
//!   `Usage`) ending with exactly one `Finished`; a stream that ends without it is an error.
//! - `chat` may be left out: the default folds the stream with `collect_stream`.
//!
//! Run it with `cargo run -p kopilot-llm --example custom_provider`.

use async_trait::async_trait;
use futures::StreamExt;
use kopilot_llm::{
    ChatModel, ChatRequest, ChatStream, FinishReason, Message, Result, StreamEvent, ToolSpec, Usage,
};
use serde_json::json;

/// A rule-based model that needs no network.
struct RuleModel {
    /// The model id reported in events and logs.
    name: String,
}

impl RuleModel {
    /// Decides the answer from the conversation: the events a real provider would stream.
    fn answer(request: &ChatRequest) -> Vec<StreamEvent> {
        let last_tool_result = request
            .messages
            .iter()
            .rev()
            .find_map(|message| match message {
                Message::Tool { content, .. } => Some(content.clone()),
                _ => None,
            });
        let asked_about_pods = request.messages.iter().any(
            |message| matches!(message, Message::User { content } if content.contains("pods")),
        );
        let can_call_kubectl = request.tools.iter().any(|tool| tool.name == "run_kubectl");
        let usage = StreamEvent::Usage(Usage {
            input_tokens: 12,
            output_tokens: 8,
        });

        match last_tool_result {
            Some(result) => {
                let running = result
                    .lines()
                    .filter(|line| line.contains("Running"))
                    .count();
                vec![
                    StreamEvent::TextDelta {
                        text: format!("{running} pods are "),
                    },
                    StreamEvent::TextDelta {
                        text: "running.".into(),
                    },
                    usage,
                    StreamEvent::Finished {
                        reason: FinishReason::Stop,
                    },
                ]
            }
            None if asked_about_pods && can_call_kubectl => vec![
                StreamEvent::ToolCallStarted {
                    index: 0,
                    id: "rule-call-1".into(),
                    name: "run_kubectl".into(),
                    provider_data: None,
                },
                // Arguments may arrive in any number of fragments.
                StreamEvent::ToolCallArgumentsDelta {
                    index: 0,
                    fragment: r#"{"args": "get "#.into(),
                },
                StreamEvent::ToolCallArgumentsDelta {
                    index: 0,
                    fragment: r#"pods -A"}"#.into(),
                },
                usage,
                StreamEvent::Finished {
                    reason: FinishReason::ToolCalls,
                },
            ],
            None => vec![
                StreamEvent::TextDelta {
                    text: "I can only talk about pods.".into(),
                },
                usage,
                StreamEvent::Finished {
                    reason: FinishReason::Stop,
                },
            ],
        }
    }
}

#[async_trait]
impl ChatModel for RuleModel {
    fn model(&self) -> &str {
        &self.name
    }

    async fn chat_stream(&self, request: &ChatRequest) -> Result<ChatStream> {
        let events = Self::answer(request);
        Ok(Box::pin(futures::stream::iter(events.into_iter().map(Ok))))
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let model: std::sync::Arc<dyn ChatModel> = std::sync::Arc::new(RuleModel {
        name: "rule-model-v1".into(),
    });
    let tools = vec![ToolSpec::new(
        "run_kubectl",
        "Run a read-only kubectl command",
        json!({"type": "object", "properties": {"args": {"type": "string"}}, "required": ["args"]}),
    )];
    let mut request =
        ChatRequest::new(vec![Message::user("Are my pods healthy?")]).with_tools(tools);

    // First turn: the default `chat` folds the stream into a response with a tool call.
    let first = model.chat(&request).await?;
    let call = &first.tool_calls[0];
    println!(
        "{} calls {}({})",
        model.model(),
        call.name,
        call.arguments.to_json_text()
    );

    // Run the tool (here: a canned kubectl output) and send the result back.
    request.messages.push(first.to_message());
    let output = "web-1  1/1  Running\nweb-2  1/1  Running\njob-1  0/1  Completed";
    request.messages.push(Message::tool_result(call, output));

    // Second turn, streamed: print text as it arrives.
    let mut stream = model.chat_stream(&request).await?;
    while let Some(event) = stream.next().await {
        if let StreamEvent::TextDelta { text } = event? {
            print!("{text}");
        }
    }
    println!();
    Ok(())
}
