//! Tools: what the agents can do, always behind the guard.
//!
//! A [`Tool`] turns the model's arguments into a [`Plan`] of concrete command lines; the
//! runtime passes each one through the [`Guard`](crate::safety::Guard) (and, when needed, the
//! approver); only then does it call [`Tool::execute`] with the
//! [`ClearedCommand`](crate::safety::ClearedCommand)s, a type only the guard can make.

use async_trait::async_trait;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::safety::ClearedCommand;
use crate::{Exit, Finding};

/// What a tool would do, as command lines the guard can read.
///
/// A tool that reads through an API rather than a program plans the equivalent command line
/// (a `read_resource` tool plans `kubectl get deployment web -n shop -o yaml`), so the guard
/// and the approver see what it is about to touch.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// The command lines, in the order the tool will run them.
    pub commands: Vec<String>,
}

impl Plan {
    /// A plan of one command line.
    pub fn command(line: impl Into<String>) -> Self {
        Self {
            commands: vec![line.into()],
        }
    }

    /// A plan that touches nothing outside the process (pure computation).
    pub fn nothing() -> Self {
        Self::default()
    }
}

/// What a tool produced.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutput {
    /// The text the model sees (the runtime truncates and wraps it).
    pub content: String,
    /// The analyzers' findings, if the tool produced any (collected into the task result).
    pub findings: Vec<Finding>,
    /// How the command that decides the outcome ended (the first that did not succeed, else
    /// the last), for a tool that runs commands; the `tool_result` event carries it.
    pub exit: Option<Exit>,
    /// One line for a person following along (the command's first error line); the
    /// `tool_result` event carries it. A refused or failed call is summed up by the runtime.
    pub summary: Option<String>,
}

impl ToolOutput {
    /// Plain text output.
    pub fn text(content: impl Into<String>) -> Self {
        Self {
            content: content.into(),
            findings: Vec::new(),
            exit: None,
            summary: None,
        }
    }

    /// With these findings.
    #[must_use]
    pub fn with_findings(mut self, findings: Vec<Finding>) -> Self {
        self.findings = findings;
        self
    }

    /// With how its command ended.
    #[must_use]
    pub fn with_exit(mut self, exit: Exit) -> Self {
        self.exit = Some(exit);
        self
    }

    /// With a one-line summary.
    #[must_use]
    pub fn with_summary(mut self, summary: impl Into<String>) -> Self {
        self.summary = Some(summary.into());
        self
    }
}

/// Why a tool call failed; the message goes back to the model, which may try something else.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ToolError {
    /// What went wrong, written for the model.
    pub message: String,
}

impl ToolError {
    /// A tool error with a message for the model.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

/// Per-call context given to [`Tool::execute`].
#[derive(Debug, Clone)]
pub struct ToolContext {
    /// The task.
    pub task_id: String,
    /// The agent making the call.
    pub agent: String,
    /// The call id.
    pub call_id: String,
    /// Cancelled when the task is cancelled or runs out of time; long work must stop promptly.
    pub cancel: CancellationToken,
}

/// Something an agent can do.
#[async_trait]
pub trait Tool: Send + Sync {
    /// The name the model calls it by (`run_kubectl`).
    fn name(&self) -> &str;

    /// What it does, written for the model.
    fn description(&self) -> &str;

    /// JSON Schema of the arguments (an object schema). The runtime validates arguments against
    /// it before [`Tool::plan`] sees them.
    fn parameters(&self) -> Value;

    /// Turns the arguments into the command lines the tool would run. Errors go back to the
    /// model.
    fn plan(&self, args: &Value) -> Result<Plan, ToolError>;

    /// Runs the cleared commands: one [`ClearedCommand`] per planned line, in plan order. They
    /// are the tool's to spend: running one consumes it, so an approval runs its command once.
    async fn execute(
        &self,
        args: &Value,
        cleared: Vec<ClearedCommand>,
        ctx: &ToolContext,
    ) -> Result<ToolOutput, ToolError>;
}
