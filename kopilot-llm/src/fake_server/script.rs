//! What the fake server answers: replies, grouped in routes picked by the system prompt.

use std::collections::VecDeque;
use std::time::Duration;

use serde_json::{Value, json};

/// In a text reply, replaced by the content of the last `role: tool` message of the request,
/// so an answer can quote what a tool returned.
pub const LAST_TOOL_RESULT: &str = "{{last_tool_result}}";

/// One scripted reply: an answer (text, tool calls, or both) or an HTTP error, optionally
/// after a delay.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub(crate) delay: Duration,
    pub(crate) kind: ReplyKind,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ReplyKind {
    Answer {
        text: String,
        calls: Vec<(String, Value)>,
    },
    Error {
        status: u16,
        body: Value,
    },
}

impl Reply {
    /// A text answer (it may contain [`LAST_TOOL_RESULT`]).
    pub fn text(text: impl Into<String>) -> Self {
        Self::answer(text.into(), Vec::new())
    }

    /// One tool call.
    pub fn tool_call(name: &str, arguments: Value) -> Self {
        Self::tool_calls([(name, arguments)])
    }

    /// Several tool calls in one turn.
    pub fn tool_calls<'a>(calls: impl IntoIterator<Item = (&'a str, Value)>) -> Self {
        let calls = calls
            .into_iter()
            .map(|(name, args)| (name.to_owned(), args))
            .collect();
        Self::answer(String::new(), calls)
    }

    /// Kopilot's supervisor's `delegate(skill, task)` call.
    pub fn delegate(skill: &str, task: &str) -> Self {
        Self::tool_call(
            kopilot_protocol::names::tools::DELEGATE,
            json!({"skill": skill, "task": task}),
        )
    }

    /// An HTTP error with OpenAI's error body (`{"error": {"message", "type", "param",
    /// "code"}}`). A status that is not a valid HTTP status is answered as 400.
    pub fn error(status: u16, message: &str, kind: &str, code: Option<&str>) -> Self {
        Self {
            delay: Duration::ZERO,
            kind: ReplyKind::Error {
                status,
                body: error_body(message, kind, code),
            },
        }
    }

    /// OpenAI's 500, as recorded in `kopilot-llm/tests/fixtures/openai/error_500.json`.
    pub fn server_error() -> Self {
        Self::error(
            500,
            "The server had an error while processing your request. Sorry about that!",
            "server_error",
            None,
        )
    }

    /// Text the model writes alongside its tool calls (replaces the text of an answer; no
    /// effect on an error).
    #[must_use]
    pub fn with_text(mut self, text: impl Into<String>) -> Self {
        if let ReplyKind::Answer { text: t, .. } = &mut self.kind {
            *t = text.into();
        }
        self
    }

    /// Waits this long before answering (before the status line is sent).
    #[must_use]
    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    fn answer(text: String, calls: Vec<(String, Value)>) -> Self {
        Self {
            delay: Duration::ZERO,
            kind: ReplyKind::Answer { text, calls },
        }
    }
}

/// OpenAI's error body.
pub(crate) fn error_body(message: &str, kind: &str, code: Option<&str>) -> Value {
    json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
}

/// The replies, grouped in routes. A request goes to the first route (in the order they were
/// added) whose marker its system prompt contains, or that has no marker.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Script {
    pub(crate) routes: Vec<Route>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Route {
    pub(crate) name: String,
    /// Text the system prompt must contain; `None` matches every request.
    pub(crate) marker: Option<String>,
    pub(crate) replies: VecDeque<Reply>,
}

impl Script {
    /// An empty script: every request is answered with a 400 saying nothing was scripted.
    pub fn new() -> Self {
        Self::default()
    }

    /// Requests whose system prompt (the `system` and `developer` messages) contains `marker`
    /// get these replies, in order. `name` labels the route in [`RecordedRequest::route`]
    /// and in errors.
    ///
    /// [`RecordedRequest::route`]: super::RecordedRequest::route
    #[must_use]
    pub fn route(
        mut self,
        name: &str,
        marker: &str,
        replies: impl IntoIterator<Item = Reply>,
    ) -> Self {
        self.routes.push(Route {
            name: name.to_owned(),
            marker: Some(marker.to_owned()),
            replies: replies.into_iter().collect(),
        });
        self
    }

    /// Every request not taken by an earlier route gets these replies, in order (the route
    /// is named `any`).
    #[must_use]
    pub fn any(self, replies: impl IntoIterator<Item = Reply>) -> Self {
        self.any_named("any", replies)
    }

    /// Like [`Script::any`], with the route named `name`.
    #[must_use]
    pub fn any_named(mut self, name: &str, replies: impl IntoIterator<Item = Reply>) -> Self {
        self.routes.push(Route {
            name: name.to_owned(),
            marker: None,
            replies: replies.into_iter().collect(),
        });
        self
    }
}
