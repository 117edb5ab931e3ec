//! What a caller asks for.

/// One prompt to run as a task.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TaskRequest {
    /// The question or instruction, in plain words.
    pub prompt: String,
    /// Answer with this skill directly (the supervisor steps aside).
    pub skill: Option<String>,
    /// Continue a conversation: earlier turns of the session are given to the model.
    pub session_id: Option<String>,
    /// Who asks (goes into approval requests and the audit log).
    pub requester: String,
    /// Score the answer with a second model call and re-plan once when it is weak
    /// (`None`: the runtime's default).
    pub reflect: Option<bool>,
    /// Answer from the analyzers only, even when a model is configured.
    pub offline: bool,
    /// Override the model turns per agent for this task.
    pub max_steps: Option<usize>,
    /// Override the time limit for this task (wins over `budget.seconds`, and allows
    /// sub-second limits).
    pub timeout: Option<std::time::Duration>,
    /// This task's own limits: each one it sets replaces the runtime's
    /// ([`Limits::budget`](crate::Limits)); those it leaves out stay as they are.
    pub budget: Option<crate::Budget>,
    /// The namespace the question is about: the agents are told to stay in it, and offline
    /// mode reports on it only.
    pub namespace: Option<String>,
    /// Run this one tool instead of asking a model ([`TaskRequest::tool_call`]).
    pub call: Option<DirectCall>,
    /// A stricter safety mode for this task's commands than the policy's (`read-only` for a
    /// question that must change nothing). It only narrows: a mode more lenient than the
    /// policy's is ignored ([`Guard::narrowed_to`](crate::safety::Guard::narrowed_to)).
    pub mode: Option<crate::safety::Mode>,
}

/// One tool with its arguments, run as a whole task without a model: the way an adapter (the
/// MCP server's `run_kubectl`, say) runs a tool for its caller under the same guard, approvals,
/// events, audit and history as an agent's call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectCall {
    /// The tool's name.
    pub tool: String,
    /// Its arguments (checked against the tool's schema like a model's).
    pub args: serde_json::Value,
}

impl TaskRequest {
    /// A request for `prompt` by `requester`.
    pub fn new(prompt: impl Into<String>) -> Self {
        Self {
            prompt: prompt.into(),
            requester: "anonymous".to_owned(),
            ..Self::default()
        }
    }

    /// Sets who asks.
    #[must_use]
    pub fn requester(mut self, requester: impl Into<String>) -> Self {
        self.requester = requester.into();
        self
    }

    /// Answers with one skill directly.
    #[must_use]
    pub fn skill(mut self, skill: impl Into<String>) -> Self {
        self.skill = Some(skill.into());
        self
    }

    /// Continues a session.
    #[must_use]
    pub fn session(mut self, session_id: impl Into<String>) -> Self {
        self.session_id = Some(session_id.into());
        self
    }

    /// Turns reflection on or off for this task.
    #[must_use]
    pub fn reflect(mut self, yes: bool) -> Self {
        self.reflect = Some(yes);
        self
    }

    /// Scopes the question to one namespace.
    #[must_use]
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }

    /// The prompt as the model gets it: with the namespace scope, when there is one.
    pub(crate) fn scoped_prompt(&self) -> String {
        match &self.namespace {
            Some(ns) => format!(
                "{}\n\n(Scope: the `{ns}` namespace. Stay in it unless the question says otherwise.)",
                self.prompt
            ),
            None => self.prompt.clone(),
        }
    }

    /// Sets this task's own budget: the limits it sets replace the runtime's.
    #[must_use]
    pub fn budget(mut self, budget: crate::Budget) -> Self {
        self.budget = Some(budget);
        self
    }

    /// A task whose work is one guarded call of `tool` with `args`, by `requester`'s rights
    /// (the requester is the caller the adapter authenticated). Its events are those of an
    /// agent's tool call between `task_started` and `response`; it succeeds with the tool's
    /// output as the answer, fails when the tool fails or a command is blocked or denied, and
    /// is rejected when no tool has that name.
    pub fn tool_call(tool: impl Into<String>, args: serde_json::Value) -> Self {
        let tool = tool.into();
        Self {
            // What the history shows: the call with secret values in its arguments redacted.
            prompt: format!("{tool} {}", crate::event::redacted_args(args.clone())),
            call: Some(DirectCall { tool, args }),
            ..Self::new("")
        }
    }

    /// Narrows the safety mode for this task (never widens it).
    #[must_use]
    pub fn mode(mut self, mode: crate::safety::Mode) -> Self {
        self.mode = Some(mode);
        self
    }

    /// Answers from the analyzers only.
    #[must_use]
    pub fn offline(mut self, yes: bool) -> Self {
        self.offline = yes;
        self
    }
}
