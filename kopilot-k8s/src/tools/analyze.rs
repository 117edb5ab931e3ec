//! The agent's `analyze` tool: the deterministic checks over a live snapshot of the cluster.

use std::path::PathBuf;

use async_trait::async_trait;
use kopilot_core::safety::{ClearedCommand, quote_argv};
use kopilot_core::{Plan, Tool, ToolContext, ToolError, ToolOutput, names};
use serde_json::{Value, json};

use crate::redact::redact;
use kopilot_analyze::snapshot::prometheus::{DEFAULT_WINDOW, fetch_history};
use kopilot_analyze::snapshot::{ClusterSnapshot, LiveOptions, NamespaceScope, Skipped};
use kopilot_analyze::{AnalyzeRequest, Pricing, analyze};

/// The resource lists a snapshot reads, as the guard sees them.
const READS: &str = "nodes,pods,deployments,statefulsets,daemonsets,replicasets,jobs,cronjobs,\
services,endpoints,persistentvolumeclaims,persistentvolumes,horizontalpodautoscalers,\
poddisruptionbudgets,events,ingresses,networkpolicies";

/// Runs Kopilot's analyzers over a live snapshot taken with the configured kubeconfig and
/// context (never ones the model names) and returns the compact findings.
///
/// Its prices come from the file `KOPILOT_PRICES` names, as `kopilot analyze`'s do, so the
/// agent's answer and the command give the same amounts. With `PROMETHEUS_URL` set, idle and
/// over-provisioned verdicts rest on usage history (p95 CPU, peak memory over
/// [`DEFAULT_WINDOW`]) rather than on one metrics-server sample; when Prometheus cannot be
/// read, the report's notes say so.
#[derive(Debug, Clone)]
pub struct AnalyzeTool {
    kubeconfig: Option<PathBuf>,
    context: Option<String>,
    /// The prices, or why the prices file could not be read (every call then fails with
    /// it, rather than pricing with defaults the user did not choose).
    pricing: Result<Pricing, String>,
    /// Prometheus's base URL, for usage history.
    prometheus: Option<String>,
}

impl Default for AnalyzeTool {
    fn default() -> Self {
        Self::new(None, None)
    }
}

impl AnalyzeTool {
    /// A tool reading the cluster of `kubeconfig`/`context` (the usual resolution when
    /// `None`), priced from the file `KOPILOT_PRICES` names (defaults when it is unset).
    pub fn new(kubeconfig: Option<PathBuf>, context: Option<String>) -> Self {
        Self {
            kubeconfig,
            context,
            pricing: Pricing::from_env().map_err(|e| e.to_string()),
            prometheus: std::env::var("PROMETHEUS_URL")
                .ok()
                .filter(|url| !url.trim().is_empty()),
        }
    }

    /// With usage history from the Prometheus at `url` (`None`: metrics-server samples only)
    /// instead of the environment's `PROMETHEUS_URL`.
    #[must_use]
    pub fn with_prometheus(mut self, url: Option<String>) -> Self {
        self.prometheus = url;
        self
    }

    /// With these prices instead of the environment's.
    #[must_use]
    pub fn with_pricing(mut self, pricing: Pricing) -> Self {
        self.pricing = Ok(pricing);
        self
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
        let pricing = self.pricing.clone().map_err(ToolError::new)?;
        let analyze_options = request
            .options(pricing)
            .map_err(|e| ToolError::new(e.to_string()))?;
        let options = LiveOptions {
            namespaces: if request.namespaces.is_empty() {
                NamespaceScope::All
            } else {
                NamespaceScope::Only(request.namespaces.clone())
            },
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
        };
        let mut snapshot = tokio::select! {
            snapshot = ClusterSnapshot::load_live(&options) => snapshot
                .map_err(|e| ToolError::new(format!("could not read the cluster: {e}")))?,
            () = ctx.cancel.cancelled() => return Err(ToolError::new("cancelled")),
        };
        if let Some(url) = &self.prometheus {
            let history = tokio::select! {
                history = fetch_history(url, DEFAULT_WINDOW, &request.namespaces) => history,
                () = ctx.cancel.cancelled() => return Err(ToolError::new("cancelled")),
            };
            match history {
                Ok(history) => snapshot.history = Some(history),
                // Not silent: the report's notes and skipped list say so.
                Err(e) => snapshot.skipped.push(Skipped {
                    resource: "prometheus".to_owned(),
                    reason: e.to_string(),
                }),
            }
        }
        let report = analyze(&snapshot, &analyze_options);
        // The findings are redacted where they are made; text redaction stays the second line.
        let content = redact(&report.to_json().to_string()).into_owned();
        let summary = &report.summary;
        let mut line = format!(
            "{} findings, estimated waste {:.2} {}/month",
            summary.findings, summary.monthly_cost_total, summary.currency
        );
        for note in &summary.notes {
            line.push_str("; ");
            line.push_str(note);
        }
        Ok(ToolOutput::text(content)
            .with_findings(report.findings)
            .with_summary(line))
    }
}

#[cfg(test)]
mod tests {
    use kopilot_fake::demo;
    use tokio_util::sync::CancellationToken;

    use super::*;

    fn ctx() -> ToolContext {
        ToolContext {
            task_id: "t1".into(),
            agent: "test".into(),
            call_id: "c1".into(),
            cancel: CancellationToken::new(),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_configured_prices_price_the_findings() {
        let cluster = demo::builder().start().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        cluster.write_kubeconfig(&kubeconfig).unwrap();
        let prices = dir.path().join("prices.yaml");
        std::fs::write(&prices, "storage_per_gib_month: 1.0\ncurrency: EUR\n").unwrap();
        let tool = AnalyzeTool::new(Some(kubeconfig), None)
            .with_pricing(Pricing::from_file(&prices).unwrap());
        let args = json!({"checks": ["cost.orphaned_pvc"]});
        let output = tool.execute(&args, Vec::new(), &ctx()).await.unwrap();
        let warehouse = output
            .findings
            .iter()
            .find(|f| f.object.name == "warehouse-data")
            .expect("the demo's orphaned 500Gi claim");
        assert_eq!(warehouse.monthly_cost, Some(500.0));
        let report: Value = serde_json::from_str(&output.content).unwrap();
        assert_eq!(report["summary"]["currency"], "EUR");
        assert_eq!(report["summary"]["monthly_cost_total"], 500.0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_unreachable_prometheus_is_said_not_skipped_silently() {
        let cluster = demo::builder().start().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        cluster.write_kubeconfig(&kubeconfig).unwrap();
        // The discard port: nothing listens.
        let tool = AnalyzeTool::new(Some(kubeconfig), None)
            .with_pricing(Pricing::default())
            .with_prometheus(Some("http://127.0.0.1:9".to_owned()));
        let args = json!({"checks": ["cost.*"]});
        let output = tool.execute(&args, Vec::new(), &ctx()).await.unwrap();
        let report: Value = serde_json::from_str(&output.content).unwrap();
        let notes = report["summary"]["notes"].as_array().unwrap();
        assert!(
            notes[0]
                .as_str()
                .unwrap()
                .starts_with("Prometheus history was asked for but could not be read (Prometheus at http://127.0.0.1:9"),
            "{notes:?}"
        );
        // The demo's idle and over-provisioned verdicts then rest on one sample, and say so.
        assert!(
            notes[1]
                .as_str()
                .unwrap()
                .contains("rest on a single metrics-server sample"),
            "{notes:?}"
        );
        let summary = output.summary.unwrap();
        assert!(summary.contains("could not be read"), "{summary}");
    }

    #[tokio::test]
    async fn a_bad_prices_file_fails_every_call_naming_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let prices = dir.path().join("prices.yaml");
        std::fs::write(&prices, "currency: USD\nstorage_per_gib_month: -3\n").unwrap();
        let tool = AnalyzeTool {
            pricing: Pricing::from_file(&prices).map_err(|e| e.to_string()),
            ..AnalyzeTool::new(Some(dir.path().join("no-kubeconfig")), None)
        };
        let err = tool
            .execute(&json!({}), Vec::new(), &ctx())
            .await
            .unwrap_err()
            .message;
        assert!(
            err.starts_with(&format!("prices file {}: ", prices.display())),
            "{err}"
        );
        assert!(err.contains("line 2"), "{err}");
    }
}
