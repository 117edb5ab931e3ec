//! The agent's `analyze` tool: the deterministic checks over a live snapshot of the cluster.

use std::path::PathBuf;

use async_trait::async_trait;
use kopilot_core::safety::{ClearedCommand, quote_argv};
use kopilot_core::{Plan, Tool, ToolContext, ToolError, ToolOutput, names};
use serde_json::{Value, json};

use crate::redact::redact;
use kopilot_analyze::snapshot::{ClusterSnapshot, LiveOptions, NamespaceScope};
use kopilot_analyze::{AnalyzeRequest, analyze_for_agent};

/// The resource lists a snapshot reads, as the guard sees them.
const READS: &str = "nodes,pods,deployments,statefulsets,daemonsets,replicasets,jobs,cronjobs,\
services,endpoints,persistentvolumeclaims,persistentvolumes,horizontalpodautoscalers,\
poddisruptionbudgets,events,ingresses,networkpolicies";

/// Runs Kopilot's analyzers over a live snapshot taken with the configured kubeconfig and
/// context (never ones the model names) and returns the compact findings.
#[derive(Debug, Clone, Default)]
pub struct AnalyzeTool {
    kubeconfig: Option<PathBuf>,
    context: Option<String>,
}

impl AnalyzeTool {
    /// A tool reading the cluster of `kubeconfig`/`context` (the usual resolution when `None`).
    pub fn new(kubeconfig: Option<PathBuf>, context: Option<String>) -> Self {
        Self {
            kubeconfig,
            context,
        }
    }

    fn request(args: &Value) -> Result<AnalyzeRequest, ToolError> {
        serde_json::from_value(args.clone())
            .map_err(|e| ToolError::new(format!("invalid arguments for `analyze`: {e}")))
    }
}

#[async_trait]
impl Tool for AnalyzeTool {
    fn name(&self) -> &'static str {
        names::tools::ANALYZE
    }

    fn description(&self) -> &'static str {
        "Run Kopilot's deterministic checks over a fresh snapshot of the cluster and get compact \
         findings with evidence, estimated monthly cost and exact fix commands: wasted spend \
         (cost.overprovisioned, cost.idle, cost.orphaned_pvc, cost.released_pv), what is broken \
         (health.*: crashloops, image pulls, pending pods, OOM kills, unavailable workloads, node \
         problems, services without endpoints, warning events), reliability.* and security.*. \
         Prefer this to reading many objects one by one."
    }

    fn parameters(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "checks": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "Check ids or prefixes such as \"cost.*\"; empty or absent means all checks."
                },
                "namespaces": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "Namespaces to look at; empty or absent means all."
                },
                "exclude_namespaces": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "Namespaces whose findings to leave out (cluster-scoped findings stay)."
                }
            },
            "additionalProperties": false
        })
    }

    fn plan(&self, args: &Value) -> Result<Plan, ToolError> {
        let request = Self::request(args)?;
        if request.namespaces.is_empty() {
            return Ok(Plan::command(quote_argv(&["kubectl", "get", READS, "-A"])));
        }
        Ok(Plan {
            commands: request
                .namespaces
                .iter()
                .map(|ns| quote_argv(&["kubectl", "get", READS, "-n", ns.as_str()]))
                .collect(),
        })
    }

    async fn execute(
        &self,
        args: &Value,
        _cleared: Vec<ClearedCommand>,
        ctx: &ToolContext,
    ) -> Result<ToolOutput, ToolError> {
        let request = Self::request(args)?;
        let options = LiveOptions {
            namespaces: if request.namespaces.is_empty() {
                NamespaceScope::All
            } else {
                NamespaceScope::Only(request.namespaces.clone())
            },
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
        };
        let snapshot = tokio::select! {
            snapshot = ClusterSnapshot::load_live(&options) => snapshot
                .map_err(|e| ToolError::new(format!("could not read the cluster: {e}")))?,
            () = ctx.cancel.cancelled() => return Err(ToolError::new("cancelled")),
        };
        let report =
            analyze_for_agent(&snapshot, &request).map_err(|e| ToolError::new(e.to_string()))?;
        // The findings are redacted where they are made; text redaction stays the second line.
        let content = redact(&report.to_json().to_string()).into_owned();
        Ok(ToolOutput::text(content).with_findings(report.findings))
    }
}
