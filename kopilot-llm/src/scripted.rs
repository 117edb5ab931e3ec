//! A deterministic model that replays a script, for tests, examples and offline demos.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use serde_json::Value;

use crate::message::{ChatRequest, ToolCall};
use crate::model::{ChatModel, ChatStream};
use crate::response::{ChatResponse, response_to_events};
use crate::{Error, Result};

/// One scripted reply.
#[derive(Debug)]
pub enum ScriptedReply {
    /// Answer with this response.
    Respond(ChatResponse),
    /// Fail with this error (consumed when replayed).
    Fail(Error),
}

/// A [`ChatModel`] that replays a script of replies in order, streams them in small pieces,
/// and records every request it receives.
///
/// When the script runs out, calls fail with [`Error::ScriptExhausted`].
///
/// ```
/// # use kopilot_llm::{ChatModel, ChatRequest, Message, ScriptedModel};
/// # use serde_json::json;
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> kopilot_llm::Result<()> {
/// let model = ScriptedModel::new("scripted")
///     .then_call_tool("run_kubectl", json!({"args": "get pods"}))
///     .then_answer("All pods are running.");
/// let first = model.chat(&ChatRequest::new(vec![Message::user("how are my pods?")])).await?;
/// assert_eq!(first.tool_calls[0].name, "run_kubectl");
/// let second = model.chat(&ChatRequest::new(vec![Message::user("and now?")])).await?;
/// assert_eq!(second.text, "All pods are running.");
/// assert_eq!(model.requests().len(), 2);
/// assert!(model.chat(&ChatRequest::default()).await.is_err());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ScriptedModel {
    model: String,
    script: Mutex<VecDeque<ScriptedReply>>,
    requests: Mutex<Vec<ChatRequest>>,
    scripted: Mutex<usize>,
    /// Tool calls scripted so far, for their ids.
    scripted_calls: usize,
    piece_chars: usize,
    step_delay: Option<Duration>,
}

impl ScriptedModel {
    /// An empty script for a model called `model`.
    pub fn new(model: impl Into<String>) -> Self {
        ScriptedModel {
            model: model.into(),
            script: Mutex::new(VecDeque::new()),
            requests: Mutex::new(Vec::new()),
            scripted: Mutex::new(0),
            scripted_calls: 0,
            piece_chars: 4,
            step_delay: None,
        }
    }

    /// Appends a text answer.
    #[must_use]
    pub fn then_answer(self, text: impl Into<String>) -> Self {
        self.then(ScriptedReply::Respond(ChatResponse::text(text)))
    }

    /// Appends an answer calling one tool (its id is `call-N`, N counting scripted calls).
    #[must_use]
    pub fn then_call_tool(self, name: impl Into<String>, arguments: Value) -> Self {
        self.then_call_tools(vec![(name.into(), arguments)])
    }

    /// Appends an answer calling several tools in one turn.
    #[must_use]
    pub fn then_call_tools(mut self, calls: Vec<(String, Value)>) -> Self {
        let calls = calls
            .into_iter()
            .map(|(name, args)| {
                self.scripted_calls += 1;
                ToolCall::new(format!("call-{}", self.scripted_calls), name, args)
            })
            .collect();
        self.then(ScriptedReply::Respond(ChatResponse::tool_calls(calls)))
    }

    /// Appends a complete response (any text, calls, usage and finish reason).
    #[must_use]
    pub fn then_respond(self, response: ChatResponse) -> Self {
        self.then(ScriptedReply::Respond(response))
    }

    /// Appends a failure.
    #[must_use]
    pub fn then_fail(self, error: Error) -> Self {
        self.then(ScriptedReply::Fail(error))
    }

    /// Appends any reply.
    #[must_use]
    pub fn then(self, reply: ScriptedReply) -> Self {
        self.push(reply);
        self
    }

    /// Appends a reply to a model already in use.
    pub fn push(&self, reply: ScriptedReply) {
        lock(&self.script).push_back(reply);
        *lock(&self.scripted) += 1;
    }

    /// Streams text and arguments in pieces of at most `chars` characters (default 4).
    #[must_use]
    pub fn with_piece_chars(mut self, chars: usize) -> Self {
        self.piece_chars = chars.max(1);
        self
    }

    /// Waits this long before answering and before each streamed event, so callers can
    /// test cancellation and timeouts.
    #[must_use]
    pub fn with_step_delay(mut self, delay: Duration) -> Self {
        self.step_delay = Some(delay);
        self
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<ChatRequest> {
        lock(&self.requests).clone()
    }

    /// How many scripted replies are left.
    pub fn remaining(&self) -> usize {
        lock(&self.script).len()
    }

    async fn next_reply(&self, request: &ChatRequest) -> Result<ChatResponse> {
        lock(&self.requests).push(request.clone());
        let reply = lock(&self.script).pop_front();
        if let Some(delay) = self.step_delay {
            tokio::time::sleep(delay).await;
        }
        match reply {
            Some(ScriptedReply::Respond(response)) => Ok(response),
            Some(ScriptedReply::Fail(error)) => Err(error),
            None => Err(Error::ScriptExhausted {
                served: *lock(&self.scripted),
            }),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic elsewhere while holding the lock leaves plain data behind; keep using it.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[async_trait]
impl ChatModel for ScriptedModel {
    fn model(&self) -> &str {
        &self.model
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse> {
        self.next_reply(request).await
    }

    async fn chat_stream(&self, request: &ChatRequest) -> Result<ChatStream> {
        let response = self.next_reply(request).await?;
        let events = response_to_events(&response, self.piece_chars);
        let delay = self.step_delay;
        let stream = futures::stream::iter(events).then(move |event| async move {
            if let Some(delay) = delay {
                tokio::time::sleep(delay).await;
            }
            Ok(event)
        });
        Ok(Box::pin(stream))
    }
}
