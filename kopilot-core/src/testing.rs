//! Reusable test doubles and checks (feature `test-util`): a recording tool, a model that
//! routes requests to per-agent scripts, so runs with parallel sub-agents stay deterministic,
//! and [`EventExpectation`], the steps an event stream should take, for adapters' tests.

mod expect;

pub use expect::{EventExpectation, EventType, ExpectationFailure, Step};

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};

use crate::Finding;
use crate::llm::{ChatModel, ChatRequest, ChatStream, ScriptedModel};
use crate::tool::{Plan, Tool, ToolContext, ToolError, ToolOutput};

/// A tool that plans `"{prefix} {args}"`, records every cleared command line it is given, and
/// answers with a fixed output. Optionally it takes a while, or runs until cancelled.
#[derive(Clone)]
pub struct RecordingTool {
    name: String,
    prefix: String,
    output: String,
    findings: Vec<Finding>,
    delay: Option<Duration>,
    parameters: Value,
    state: Arc<RecordingState>,
}

#[derive(Default)]
struct RecordingState {
    executed: Mutex<Vec<String>>,
    active: AtomicUsize,
    max_active: AtomicUsize,
    cancelled: AtomicUsize,
}

impl std::fmt::Debug for RecordingTool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordingTool")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl RecordingTool {
    /// A tool called `name` that plans `"{prefix} {args}"` and answers `output`.
    pub fn new(
        name: impl Into<String>,
        prefix: impl Into<String>,
        output: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            prefix: prefix.into(),
            output: output.into(),
            findings: Vec::new(),
            delay: None,
            parameters: json!({
                "type": "object",
                "properties": {"args": {"type": "string"}},
                "required": ["args"],
                "additionalProperties": false
            }),
            state: Arc::default(),
        }
    }

    /// Also returns these findings.
    #[must_use]
    pub fn with_findings(mut self, findings: Vec<Finding>) -> Self {
        self.findings = findings;
        self
    }

    /// Uses another argument schema (the plan still appends an `args` string when present).
    #[must_use]
    pub fn with_parameters(mut self, schema: Value) -> Self {
        self.parameters = schema;
        self
    }

    /// Takes `delay` to run (or until cancelled, whichever is first).
    #[must_use]
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// The command lines executed so far, in order.
    pub fn executed(&self) -> Vec<String> {
        self.state
            .executed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The most executions that overlapped in time.
    pub fn max_concurrent(&self) -> usize {
        self.state.max_active.load(Ordering::SeqCst)
    }

    /// How many executions stopped because the task was cancelled.
    pub fn cancelled(&self) -> usize {
        self.state.cancelled.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl Tool for RecordingTool {
    fn name(&self) -> &str {
        &self.name
    }

    fn description(&self) -> &'static str {
        "A test tool that records the command lines it runs."
    }

    fn parameters(&self) -> Value {
        self.parameters.clone()
    }

    fn plan(&self, args: &Value) -> Result<Plan, ToolError> {
        let args = args.get("args").and_then(Value::as_str).unwrap_or_default();
        Ok(Plan::command(
            format!("{} {args}", self.prefix).trim().to_owned(),
        ))
    }

    async fn execute(
        &self,
        _args: &Value,
        cleared: Vec<crate::safety::ClearedCommand>,
        ctx: &ToolContext,
    ) -> Result<ToolOutput, ToolError> {
        let active = self.state.active.fetch_add(1, Ordering::SeqCst) + 1;
        self.state.max_active.fetch_max(active, Ordering::SeqCst);
        let _leave = Leave(&self.state.active);
        if let Some(delay) = self.delay {
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = ctx.cancel.cancelled() => {
                    self.state.cancelled.fetch_add(1, Ordering::SeqCst);
                    return Err(ToolError::new("cancelled"));
                }
            }
        }
        let mut executed = self
            .state
            .executed
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        executed.extend(cleared.iter().map(|c| c.line().to_owned()));
        Ok(ToolOutput::text(self.output.clone()).with_findings(self.findings.clone()))
    }
}

struct Leave<'a>(&'a AtomicUsize);

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A model that sends each request to the script whose marker appears in the request's system
/// prompt (first match wins), so concurrent sub-agents each follow their own script.
#[derive(Debug, Default)]
pub struct RoutedModel {
    routes: Vec<(String, Arc<ScriptedModel>)>,
}

impl RoutedModel {
    /// No routes yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Requests whose system prompt contains `marker` go to `script`.
    #[must_use]
    pub fn route(mut self, marker: impl Into<String>, script: Arc<ScriptedModel>) -> Self {
        self.routes.push((marker.into(), script));
        self
    }

    fn pick(&self, request: &ChatRequest) -> crate::llm::Result<&Arc<ScriptedModel>> {
        let system = request.system.as_deref().unwrap_or_default();
        self.routes
            .iter()
            .find(|(marker, _)| system.contains(marker.as_str()))
            .map(|(_, script)| script)
            .ok_or_else(|| crate::llm::Error::Provider {
                message: format!(
                    "no scripted route matches the system prompt: {}",
                    system.chars().take(80).collect::<String>()
                ),
            })
    }
}

#[async_trait]
impl ChatModel for RoutedModel {
    fn model(&self) -> &'static str {
        "routed-script"
    }

    async fn chat_stream(&self, request: &ChatRequest) -> crate::llm::Result<ChatStream> {
        self.pick(request)?.chat_stream(request).await
    }
}
