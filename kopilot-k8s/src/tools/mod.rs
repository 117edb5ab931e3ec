//! The Kubernetes tools the agents use, each behind the guard: `run_kubectl`, `run_helm`,
//! `get_logs`, `get_events`, `read_resource`, `get_metrics` and (only when enabled)
//! `run_shell`. Every tool plans `kubectl`/`helm` command lines; all but `read_resource` run
//! the cleared lines through an [`Executor`]. `read_resource` plans the equivalent `kubectl get
//! KIND NAME -n NS -o yaml` (so the guard and the audit see what it reads) and, once that is
//! cleared, reads the object with one GET through the Kubernetes API (discovery resolves the
//! kind), using the executor's kubeconfig, context and timeout.
//!
//! Secrets are kept from the model by structure where the tool knows the structure (see
//! `output.rs`): `run_kubectl` refuses output formats redaction cannot see into for Secrets,
//! redacts JSON, YAML and raw API responses by field, and checks jsonpath and custom-columns
//! prints of pods and workloads against a JSON read of the same objects; `read_resource`
//! redacts the object by field. Every result then passes text redaction ([`redact`]) as a
//! second line; for logs, events, helm and `run_shell` that is the only line.
//!
//! ```no_run
//! use std::sync::Arc;
//! use kopilot_core::Kopilot;
//! use kopilot_core::safety::NullAuditSink;
//! use kopilot_k8s::tools::{register, K8sConfig};
//!
//! let config = K8sConfig::default();
//! let builder = register(Kopilot::builder(), &config, Arc::new(NullAuditSink));
//! ```

mod analyze;
mod args;
mod output;
mod read;
mod specs;

use std::sync::Arc;

use async_trait::async_trait;
use kopilot_core::safety::redact::redact_value;
use kopilot_core::safety::{AuditSink, ClearedCommand, Exposure, quote_argv};
use kopilot_core::{Exit, KopilotBuilder, Plan, Tool, ToolContext, ToolError, ToolOutput};
use serde_json::Value;

use crate::exec::{Ending, ExecConfig, ExecOutput, Executor, check_connection_flags};
use crate::redact::redact;

pub use analyze::AnalyzeTool;
pub use specs::ToolKind;

/// Configuration of the Kubernetes tools (from Kopilot's configuration, never from the model).
#[derive(Debug, Clone, Default)]
pub struct K8sConfig {
    /// How commands run: binaries, kubeconfig, context, timeout, output cap.
    pub exec: ExecConfig,
    /// Whether to register `run_shell` (and let the executor run non-pipeline lines via `sh -c`).
    pub enable_shell: bool,
}

/// One Kubernetes tool.
#[derive(Debug, Clone)]
pub struct K8sTool {
    kind: ToolKind,
    executor: Executor,
}

impl K8sTool {
    /// The tool of this kind, running commands through `executor`.
    pub fn new(kind: ToolKind, executor: Executor) -> Self {
        Self { kind, executor }
    }
}

/// The tools for this configuration: `run_shell` only when [`K8sConfig::enable_shell`] is on.
pub fn tools(config: &K8sConfig, audit: Arc<dyn AuditSink>) -> Vec<Arc<dyn Tool>> {
    let mut exec = config.exec.clone();
    exec.run_shell = config.enable_shell;
    let executor = Executor::new(exec, audit);
    let mut tools: Vec<Arc<dyn Tool>> = ToolKind::ALL
        .iter()
        .filter(|kind| config.enable_shell || **kind != ToolKind::RunShell)
        .map(|kind| Arc::new(K8sTool::new(*kind, executor.clone())) as Arc<dyn Tool>)
        .collect();
    tools.push(Arc::new(AnalyzeTool::new(
        config.exec.kubeconfig.clone(),
        config.exec.context.clone(),
    )));
    tools
}

/// Adds [`tools`] to a Kopilot builder.
pub fn register(
    mut builder: KopilotBuilder,
    config: &K8sConfig,
    audit: Arc<dyn AuditSink>,
) -> KopilotBuilder {
    for tool in tools(config, Arc::clone(&audit)) {
        builder = builder.tool(tool);
    }
    // Approvers see what a kubectl change would do: a server-side dry run on the same cluster.
    let mut exec = config.exec.clone();
    exec.run_shell = false;
    builder.previewer(Arc::new(crate::preview::KubectlPreviewer::new(
        Executor::new(exec, audit),
    )))
}

#[async_trait]
impl Tool for K8sTool {
    fn name(&self) -> &str {
        self.kind.name()
    }

    fn description(&self) -> &str {
        self.kind.description()
    }

    fn parameters(&self) -> Value {
        self.kind.parameters()
    }

    fn plan(&self, args: &Value) -> Result<Plan, ToolError> {
        if self.kind == ToolKind::RunShell {
            let command = args::required_str(args, "command")?;
            return Ok(Plan::command(command));
        }
        Ok(Plan {
            commands: self
                .steps(args)?
                .iter()
                .map(|step| quote_argv(&step.argv))
                .collect(),
        })
    }

    async fn execute(
        &self,
        args: &Value,
        cleared: Vec<ClearedCommand>,
        ctx: &ToolContext,
    ) -> Result<ToolOutput, ToolError> {
        if self.kind == ToolKind::ReadResource {
            return self.read_resource(args, cleared, ctx).await;
        }
        let steps = if self.kind == ToolKind::RunShell {
            Vec::new()
        } else {
            self.steps(args)?
        };
        // Each cleared command is read as the plan said: the plan is rebuilt from the arguments
        // and must be the lines that were cleared, in order.
        let planned: Vec<String> = steps.iter().map(|s| quote_argv(&s.argv)).collect();
        if self.kind != ToolKind::RunShell
            && !planned
                .iter()
                .map(String::as_str)
                .eq(cleared.iter().map(ClearedCommand::line))
        {
            return Err(ToolError::new(
                "the cleared commands are not the ones this tool planned; nothing was run",
            ));
        }
        let text = output::Step {
            argv: Vec::new(),
            reading: output::Reading::Text,
        };
        let shown = cleared.len().saturating_sub(
            steps
                .iter()
                .filter(|s| s.reading == output::Reading::Companion)
                .count(),
        );
        let mut content = String::new();
        let mut check = output::Check::None;
        // The command that decides the outcome: the first that did not succeed, else the last.
        let mut deciding: Option<(Exit, String)> = None;
        for (i, command) in cleared.into_iter().enumerate() {
            let step = steps.get(i).unwrap_or(&text);
            let line = command.line().to_owned();
            let mut out = self
                .executor
                .run(command, &ctx.cancel, Some(&ctx.task_id))
                .await
                .map_err(|e| ToolError::new(redact(&e.to_string()).into_owned()))?;
            if step.reading == output::Reading::Companion {
                check = output::Check::of(
                    &out.stdout,
                    out.ending == Ending::Exited(0),
                    out.discarded_bytes > 0,
                );
                continue;
            }
            out.stdout = output::redact_stdout(&out.stdout, &step.reading, &check);
            if shown > 1 {
                content.push_str("$ ");
                content.push_str(&line);
                content.push('\n');
            }
            render(&out, &mut content);
            if deciding.as_ref().is_none_or(|(exit, _)| exit.success()) {
                deciding = Some((exit_of(out.ending), first_line(&out.stderr, &out.stdout)));
            }
        }
        let mut result = ToolOutput::text(redact(&content).into_owned());
        if let Some((exit, line)) = deciding {
            result = result.with_exit(exit);
            if !exit.success() && !line.is_empty() {
                result = result.with_summary(redact(&line).into_owned());
            }
        }
        Ok(result)
    }
}

impl K8sTool {
    /// The commands this tool runs for `args` (not for `run_shell`), each with how its output
    /// is read.
    fn steps(&self, args: &Value) -> Result<Vec<output::Step>, ToolError> {
        let argv = self.kind.argv(args)?;
        if let Some((program, rest)) = argv.split_first() {
            check_connection_flags(program, rest).map_err(|e| ToolError::new(e.to_string()))?;
        }
        if self.kind == ToolKind::RunKubectl {
            return output::plan_kubectl(argv);
        }
        Ok(vec![output::Step {
            argv,
            reading: output::Reading::Text,
        }])
    }

    /// `read_resource`: one API GET once the planned `kubectl get` line was cleared.
    async fn read_resource(
        &self,
        args: &Value,
        cleared: Vec<ClearedCommand>,
        ctx: &ToolContext,
    ) -> Result<ToolOutput, ToolError> {
        // The one planned read, spent by this API GET.
        let [read]: [ClearedCommand; 1] = cleared.try_into().map_err(|_| {
            ToolError::new("read_resource runs only after its one planned read was cleared")
        })?;
        // What the guard knows the planned `kubectl get` shows; the object's own `kind` also
        // counts when it is redacted by field.
        let exposure = read
            .assessment()
            .commands
            .iter()
            .map(|c| c.exposure)
            .max()
            .unwrap_or(Exposure::Secrets);
        let target = read::Target {
            kind: args::required_str(args, "kind")?,
            name: args::required_str(args, "name")?,
            namespace: args::optional_str(args, "namespace")?,
        };
        let config = self.executor.config();
        let object = tokio::select! {
            read = tokio::time::timeout(config.timeout, read::read(config, &target)) => match read {
                Ok(read) => read,
                Err(_) => Err(ToolError::new(format!(
                    "timed out after {:?} reading the object", config.timeout
                ))),
            },
            () = ctx.cancel.cancelled() => Err(ToolError::new("cancelled")),
        };
        let mut object = object.map_err(|e| ToolError::new(redact(&e.message).into_owned()))?;
        redact_value(&mut object, exposure);
        let yaml = serde_saphyr::to_string(&object).map_err(|e| {
            ToolError::new(format!("error: the object could not be shown as YAML: {e}"))
        })?;
        Ok(ToolOutput::text(redact(&yaml).into_owned()))
    }
}

/// The protocol's name for how a command ended.
fn exit_of(ending: Ending) -> Exit {
    match ending {
        Ending::Exited(code) => Exit::Exited { code },
        Ending::Signalled => Exit::Signalled,
        Ending::TimedOut => Exit::TimedOut,
        Ending::Cancelled => Exit::Cancelled,
    }
}

/// The first non-blank line of a command's error output, else of its output: why it failed,
/// in one line.
fn first_line(stderr: &str, stdout: &str) -> String {
    [stderr, stdout]
        .iter()
        .flat_map(|text| text.lines())
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or_default()
        .to_owned()
}

/// Output for the model: stdout, then stderr and how it ended when that says something.
/// The `tool_result` event also carries how it ended and why as fields ([`exit_of`],
/// [`first_line`]); these markers are for the model.
fn render(output: &ExecOutput, content: &mut String) {
    content.push_str(&output.stdout);
    if !output.stderr.is_empty() {
        if !content.is_empty() && !content.ends_with('\n') {
            content.push('\n');
        }
        content.push_str("[stderr]\n");
        content.push_str(&output.stderr);
    }
    let ending = match output.ending {
        Ending::Exited(0) => None,
        Ending::Exited(code) => Some(format!("exit code {code}")),
        Ending::Signalled => Some("killed by a signal".to_owned()),
        Ending::TimedOut => Some(format!(
            "timed out after {:?}; the command was killed",
            output.duration
        )),
        Ending::Cancelled => Some("cancelled".to_owned()),
    };
    if let Some(ending) = ending {
        if !content.is_empty() && !content.ends_with('\n') {
            content.push('\n');
        }
        content.push('[');
        content.push_str(&ending);
        content.push_str("]\n");
    }
    if output.discarded_bytes > 0 {
        content.push_str("[output truncated: ");
        content.push_str(&output.discarded_bytes.to_string());
        content.push_str(
            " bytes discarded; narrow the query with -l, --field-selector, -o jsonpath or --tail]\n",
        );
    }
    if content.is_empty() {
        content.push_str("[no output]\n");
    }
}

#[cfg(test)]
mod tests;
