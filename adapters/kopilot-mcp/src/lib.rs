//! Kopilot's MCP adapter: the runtime's guarded tools and whole tasks as an MCP server, on the
//! official Rust SDK (`rmcp`), for `kopilot mcp`.
//!
//! The embedder builds the [`Kopilot`] runtime (model, policy, tools, cluster, store, audit) with
//! an approval desk ([`ChannelApprover`](kopilot_core::safety::ChannelApprover)) and hands it to
//! [`McpServer::new`]; this crate depends on `kopilot-core` only. Every tool call is a task of
//! the runtime ([`TaskRequest::tool_call`], or a whole [`TaskRequest`] for `ask`), so it passes
//! the same guard, approvals, audit and history as an agent's call, in the name of the MCP
//! client (`mcp:<clientInfo.name>`). No tool takes a context, kubeconfig or server argument: the
//! server's configuration decides the cluster.
//!
//! A command that needs approval is put to the human at the client through MCP elicitation
//! (`elicitation/create`), bound to that approval id; a client that cannot elicit gets a denial
//! that says so, and with four-eyes on the answer is a denial too (the person at the client is
//! the one who asked). Nothing in a tool's arguments can approve.
//!
//! ```no_run
//! use kopilot_core::Kopilot;
//! use kopilot_core::safety::ChannelApprover;
//! use kopilot_mcp::McpServer;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let kopilot = Kopilot::builder().approval_desk(ChannelApprover::new()).build()?;
//! McpServer::new(kopilot).serve_stdio().await?;
//! # Ok(()) }
//! ```

mod approvals;
mod args;

use futures::StreamExt;
use kopilot_core::names::tools;
use kopilot_core::{EventKind, Status, TaskResult};
use kopilot_core::{Finding, Kopilot, TaskHandle, TaskRequest};
use rmcp::handler::server::common::schema_for_output;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolResult, ContentBlock, Implementation, ProgressNotificationParam, ServerCapabilities,
    ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{
    ErrorData, Peer, RoleServer, ServerHandler, ServiceExt, tool, tool_handler, tool_router,
};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

pub use args::{
    AnalyzeArgs, AskArgs, AssessArgs, GetEventsArgs, GetLogsArgs, GetMetricsArgs, KubectlArgs,
    ReadResourceArgs, Words,
};

/// Why serving stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The MCP session could not start (the client's `initialize` failed or never came).
    #[error("the MCP session did not start: {0}")]
    Start(String),
    /// The session ended abnormally.
    #[error("the MCP session failed: {0}")]
    Session(String),
}

/// The MCP server over one Kopilot runtime. Cheap to clone; clones share the runtime.
#[derive(Clone)]
pub struct McpServer {
    kopilot: Kopilot,
    tool_router: ToolRouter<Self>,
}

impl std::fmt::Debug for McpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpServer")
            .field("kopilot", &self.kopilot)
            .finish_non_exhaustive()
    }
}

/// What `analyze`, `read_resource`, `get_logs`, `get_events`, `get_metrics`, `run_kubectl` and
/// `ask` return as structured content: the task that ran and its result.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TaskOutcome {
    /// The Kopilot task that ran the call (its events and audit records carry this id).
    pub task_id: String,
    /// How it ended.
    pub status: Status,
    /// The tool's output, or the task's answer.
    pub answer: String,
    /// The analyzers' findings, when any ran.
    pub findings: Vec<Finding>,
    /// Why it failed, was cancelled or rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Commands that did not run (blocked, denied, not approved), one line each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<String>,
}

impl TaskOutcome {
    fn new(task_id: &str, result: TaskResult) -> Self {
        Self {
            task_id: task_id.to_owned(),
            status: result.status,
            answer: result.answer,
            findings: result.findings,
            error: result.error.map(|e| e.to_string()),
            refused: result
                .refused
                .iter()
                .map(|r| serde_json::to_string(r).unwrap_or_default())
                .collect(),
        }
    }

    fn into_result(self) -> CallToolResult {
        let failed = self.status != Status::Succeeded;
        let text = match (&self.error, self.answer.is_empty()) {
            (Some(error), true) => format!("{}: {error}", self.status),
            (Some(error), false) => format!("{}: {error}\n\n{}", self.status, self.answer),
            (None, _) => self.answer.clone(),
        };
        let value = serde_json::to_value(&self).unwrap_or(Value::Null);
        let mut result = if failed {
            CallToolResult::structured_error(value)
        } else {
            CallToolResult::structured(value)
        };
        result.content = vec![ContentBlock::text(text)];
        result
    }
}

/// The requester an MCP client's calls run as: `mcp:` and the name the client gave in
/// `initialize`, kept to printable characters and bounded (it goes into audit records).
fn requester(peer: &Peer<RoleServer>) -> String {
    let name = peer
        .peer_info()
        .map(|info| info.client_info.name.clone())
        .unwrap_or_default();
    let clean: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ' ' | '/' | '@'))
        .take(64)
        .collect();
    let clean = clean.trim();
    if clean.is_empty() {
        "mcp:unnamed-client".to_owned()
    } else {
        format!("mcp:{clean}")
    }
}

impl McpServer {
    /// The server over `kopilot`, which must have been built with an approval desk for
    /// commands that need approval to be asked of the client's human (without one they are
    /// denied by the runtime's approver).
    pub fn new(kopilot: Kopilot) -> Self {
        Self {
            kopilot,
            tool_router: Self::tool_router(),
        }
    }

    /// The runtime.
    pub fn kopilot(&self) -> &Kopilot {
        &self.kopilot
    }

    /// Serves one MCP session on this process's stdin and stdout until the client closes it.
    /// Nothing else may write to stdout meanwhile.
    pub async fn serve_stdio(self) -> Result<(), Error> {
        self.serve_on(rmcp::transport::stdio()).await
    }

    /// Serves one MCP session on any transport rmcp accepts (an `(AsyncRead, AsyncWrite)`
    /// pair, say), until the client closes it.
    pub async fn serve_on<T, E, A>(self, transport: T) -> Result<(), Error>
    where
        T: rmcp::transport::IntoTransport<RoleServer, E, A>,
        E: std::error::Error + Send + Sync + 'static,
    {
        let running = self
            .serve(transport)
            .await
            .map_err(|e| Error::Start(e.to_string()))?;
        running
            .waiting()
            .await
            .map_err(|e| Error::Session(e.to_string()))?;
        Ok(())
    }

    /// Runs one of the runtime's tools as a task for the client.
    async fn call_tool(
        &self,
        context: &RequestContext<RoleServer>,
        tool: &str,
        args: Value,
    ) -> Result<CallToolResult, ErrorData> {
        let request = TaskRequest::tool_call(tool, args).requester(requester(&context.peer));
        self.run_task(context, request).await
    }

    /// Submits `request`, answers its approvals through the client, sends progress
    /// notifications when the client asked for them, and cancels the task when the request is
    /// cancelled.
    async fn run_task(
        &self,
        context: &RequestContext<RoleServer>,
        request: TaskRequest,
    ) -> Result<CallToolResult, ErrorData> {
        let handle = self.kopilot.submit(request);
        let result = self.follow(&handle, context).await;
        Ok(TaskOutcome::new(handle.id(), result).into_result())
    }

    async fn follow(
        &self,
        handle: &TaskHandle,
        context: &RequestContext<RoleServer>,
    ) -> TaskResult {
        let progress = context.meta.get_progress_token();
        let mut events = handle.events();
        loop {
            let next = tokio::select! {
                () = context.ct.cancelled() => {
                    handle.cancel();
                    return handle.result().await;
                }
                next = events.next() => next,
            };
            let Some(event) = next else {
                // The stream ends after the response event (or if the runtime stops).
                return handle.result().await;
            };
            if let Some(token) = &progress
                && let Some(message) = progress_message(&event.event)
            {
                // Sequence numbers stay far below 2^52: exact as f64.
                #[allow(clippy::cast_precision_loss)]
                let step = event.seq as f64;
                let _ = context
                    .peer
                    .notify_progress(
                        ProgressNotificationParam::new(token.clone(), step).with_message(message),
                    )
                    .await;
            }
            match event.event {
                EventKind::ApprovalRequested {
                    approval_id,
                    command,
                    ..
                } => {
                    tokio::select! {
                        () = context.ct.cancelled() => {
                            handle.cancel();
                            return handle.result().await;
                        }
                        () = approvals::decide(&self.kopilot, &context.peer, handle.id(), &approval_id, &command) => {}
                    }
                }
                EventKind::Response(result) => return result,
                _ => {}
            }
        }
    }
}

/// One line about an event for a progress notification (`None`: not worth one).
fn progress_message(event: &EventKind) -> Option<String> {
    match event {
        EventKind::TaskStarted { .. } => Some("task started".to_owned()),
        EventKind::Delegated { skill, .. } => Some(format!("delegated to {skill}")),
        EventKind::ToolCall { tool, commands, .. } => Some(if commands.is_empty() {
            format!("calling {tool}")
        } else {
            format!("calling {tool}: {}", commands.join("; "))
        }),
        EventKind::ApprovalRequested { command, .. } => {
            Some(format!("waiting for approval: {command}"))
        }
        EventKind::ApprovalDecided {
            approved,
            decided_by,
            ..
        } => Some(format!(
            "{} by {decided_by}",
            if *approved { "approved" } else { "denied" }
        )),
        EventKind::ToolResult { tool, ok, .. } => Some(format!(
            "{tool} {}",
            if *ok { "finished" } else { "failed" }
        )),
        EventKind::Notification { message } => Some(message.clone()),
        EventKind::Response(result) => Some(format!("task {}", result.status)),
        _ => None,
    }
}

fn to_args<T: Serialize>(args: &T) -> Result<Value, ErrorData> {
    serde_json::to_value(args).map_err(|e| ErrorData::invalid_params(e.to_string(), None))
}

#[tool_router]
impl McpServer {
    /// Run Kopilot's deterministic checks (cost, reliability, security, storage) over a
    /// snapshot of the cluster; the findings come back as structured content.
    #[tool(
        name = "analyze",
        output_schema = schema_for_output::<TaskOutcome>(),
        annotations(
            title = "Analyze the cluster",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn analyze(
        &self,
        Parameters(args): Parameters<AnalyzeArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        self.call_tool(&context, tools::ANALYZE, to_args(&args)?)
            .await
    }

    /// Read one Kubernetes object (secrets redacted).
    #[tool(
        name = "read_resource",
        output_schema = schema_for_output::<TaskOutcome>(),
        annotations(
            title = "Read a Kubernetes object",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn read_resource(
        &self,
        Parameters(args): Parameters<ReadResourceArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        self.call_tool(&context, tools::READ_RESOURCE, to_args(&args)?)
            .await
    }

    /// Read a container's logs (bounded, secrets redacted).
    #[tool(
        name = "get_logs",
        output_schema = schema_for_output::<TaskOutcome>(),
        annotations(
            title = "Read container logs",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn get_logs(
        &self,
        Parameters(args): Parameters<GetLogsArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        self.call_tool(&context, tools::GET_LOGS, to_args(&args)?)
            .await
    }

    /// Read Kubernetes events, of one namespace or all, optionally about one object.
    #[tool(
        name = "get_events",
        output_schema = schema_for_output::<TaskOutcome>(),
        annotations(
            title = "Read Kubernetes events",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn get_events(
        &self,
        Parameters(args): Parameters<GetEventsArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        self.call_tool(&context, tools::GET_EVENTS, to_args(&args)?)
            .await
    }

    /// Read CPU and memory usage from the metrics API.
    #[tool(
        name = "get_metrics",
        output_schema = schema_for_output::<TaskOutcome>(),
        annotations(
            title = "Read resource usage",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn get_metrics(
        &self,
        Parameters(args): Parameters<GetMetricsArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        self.call_tool(&context, tools::GET_METRICS, to_args(&args)?)
            .await
    }

    /// Run a kubectl command line. It passes Kopilot's guard first: reads run, a mutation
    /// needs the approval of the human at this client (asked through elicitation; denied when
    /// the client cannot ask), destructive patterns are blocked.
    #[tool(
        name = "run_kubectl",
        output_schema = schema_for_output::<TaskOutcome>(),
        annotations(
            title = "Run kubectl (guarded)",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn run_kubectl(
        &self,
        Parameters(args): Parameters<KubectlArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        self.call_tool(&context, tools::RUN_KUBECTL, to_args(&args)?)
            .await
    }

    /// The guard's verdict on a command line under this server's policy (allowed, needs
    /// approval, or blocked, with the risk and the reasons). Nothing runs.
    #[tool(
        name = "assess_command",
        annotations(
            title = "Assess a command (no execution)",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn assess_command(
        &self,
        Parameters(args): Parameters<AssessArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let assessment = self.kopilot.guard().assess(&args.command);
        let value = serde_json::to_value(&assessment)
            .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
        let mut result = CallToolResult::structured(value);
        let reasons = if assessment.reasons.is_empty() {
            String::new()
        } else {
            format!("\n- {}", assessment.reasons.join("\n- "))
        };
        result.content = vec![ContentBlock::text(format!(
            "{}: {} (risk {}){reasons}",
            assessment.command,
            assessment.decision.as_str(),
            assessment.risk.as_str(),
        ))];
        Ok(result)
    }

    /// Ask Kopilot a question or give it an instruction: a whole task (supervisor, skills,
    /// tools). Progress notifications follow its events; cancelling the request cancels the
    /// task. Commands it wants to run that need approval are put to the human at this client.
    #[tool(
        name = "ask",
        output_schema = schema_for_output::<TaskOutcome>(),
        annotations(
            title = "Ask Kopilot",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn ask(
        &self,
        Parameters(args): Parameters<AskArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        if args.prompt.trim().is_empty() {
            return Err(ErrorData::invalid_params(
                "ask: `prompt` is empty; say what to look at or do",
                None,
            ));
        }
        let request = args.into_request(requester(&context.peer));
        self.run_task(&context, request).await
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for McpServer {
    fn get_info(&self) -> ServerConfig {
        let mut info = ServerConfig::new(ServerCapabilities::builder().enable_tools().build());
        info.server_info = Implementation::new("kopilot", env!("CARGO_PKG_VERSION"));
        info.with_instructions(
            "Kopilot: an approval-gated operator for the Kubernetes cluster this server is \
             configured for. Read tools observe; `run_kubectl` and `ask` may change the cluster, \
             and every command passes Kopilot's guard: mutations wait for the approval of the \
             human at this client (asked through elicitation), destructive patterns are blocked. \
             `assess_command` shows the guard's verdict without running anything.",
        )
    }
}
