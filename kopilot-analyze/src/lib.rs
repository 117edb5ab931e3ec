//! Cluster snapshots and deterministic analyzers: a [`snapshot::ClusterSnapshot`] holds what
//! the checks need (gathered live through `kube`, from Prometheus history, or from files of
//! YAML/JSON objects), and [`analyze`] runs cost, health, reliability and security checks over
//! it, returning [`Finding`]s with evidence, a recommendation and, where one exists, the exact
//! `kubectl` command that fixes the problem. No model and no agent runtime: the checks are pure
//! functions over the snapshot, and this crate does not depend on `kopilot-core`.
//!
//! ```
//! use kopilot_analyze::snapshot::ClusterSnapshot;
//! use kopilot_analyze::{AnalyzeOptions, CheckSelection, analyze};
//!
//! let yaml = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\n\
//!             spec:\n  selector: {matchLabels: {app: web}}\n  template:\n    \
//!             metadata: {labels: {app: web}}\n    \
//!             spec: {containers: [{name: app, image: 'nginx:latest'}]}\n";
//! let snapshot = ClusterSnapshot::from_yaml_str("web.yaml", yaml)?;
//! let options = AnalyzeOptions {
//!     checks: CheckSelection::parse(&["reliability.*"])?,
//!     ..AnalyzeOptions::default()
//! };
//! let report = analyze(&snapshot, &options);
//! assert!(report.findings.iter().any(|f| f.check == "reliability.latest_tag"));
//! # Ok::<(), kopilot_analyze::Error>(())
//! ```
//!
//! Objects owned by a workload are reported once, at the workload; the pods are evidence.
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod checks;
mod commands;
mod cost;
mod error;
mod findings;
mod health;
mod index;
mod pricing;
mod reliability;
pub mod render;
mod security;
pub mod selector;
pub mod snapshot;
mod suppress;

use kopilot_safety::Exposure;
use kopilot_safety::redact::{redact, redact_value};
use serde::Deserialize;

pub use checks::{CHECKS, CheckInfo, CheckSelection, check_info};
pub use error::{Error, Result};
pub use findings::{Finding, ObjectRef, Report, Severity, SkippedEntry, Summary};
pub use pricing::{HOURS_PER_MONTH, PRICES_VARIABLE, Pricing};
pub use suppress::{IGNORE_ANNOTATION, Ignored};

use crate::snapshot::ClusterSnapshot;
use index::Context;

/// What to analyze.
#[derive(Debug, Clone, Default)]
pub struct AnalyzeOptions {
    /// Which checks run (default: all).
    pub checks: CheckSelection,
    /// Only findings about objects in these namespaces (empty: all namespaces, and
    /// cluster-scoped objects such as nodes and PVs, which are left out otherwise).
    pub namespaces: Vec<String>,
    /// No findings about objects in these namespaces (cluster-scoped findings stay).
    pub exclude_namespaces: Vec<String>,
    /// Unit prices for cost estimates.
    pub pricing: Pricing,
}

/// Runs the selected checks over `snapshot`.
pub fn analyze(snapshot: &ClusterSnapshot, options: &AnalyzeOptions) -> Report {
    let mut ctx = Context::new(snapshot, &options.pricing);
    let mut out = Out {
        selection: &options.checks,
        findings: Vec::new(),
    };
    cost::run(&mut ctx, &mut out);
    health::run(&mut ctx, &mut out);
    reliability::run(&mut ctx, &mut out);
    security::run(&mut ctx, &mut out);
    let mut findings = out.findings;
    if !options.namespaces.is_empty() {
        findings.retain(|f| {
            f.object
                .namespace
                .as_ref()
                .is_some_and(|ns| options.namespaces.contains(ns))
        });
    }
    if !options.exclude_namespaces.is_empty() {
        findings.retain(|f| {
            f.object
                .namespace
                .as_ref()
                .is_none_or(|ns| !options.exclude_namespaces.contains(ns))
        });
    }
    let ignores = suppress::Ignores::collect(&ctx);
    let ignored = ignores.apply(&mut findings);
    ctx.problems.extend(ignores.problems);
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.check.cmp(&b.check))
            .then_with(|| a.object.cmp(&b.object))
    });
    let mut skipped: Vec<SkippedEntry> = snapshot.skipped.iter().map(SkippedEntry::from).collect();
    skipped.extend(ctx.problems.iter().cloned());
    let summary = summarize(&findings, &ctx, options, snapshot);
    Report {
        findings,
        summary,
        skipped,
        ignored,
    }
}

fn summarize(
    findings: &[Finding],
    ctx: &Context<'_>,
    options: &AnalyzeOptions,
    snapshot: &ClusterSnapshot,
) -> Summary {
    let mut by_severity = std::collections::BTreeMap::new();
    for s in Severity::ALL {
        by_severity.insert(s, 0);
    }
    let mut by_check = std::collections::BTreeMap::new();
    // Each object has at most one cost finding (an idle workload is not also reported as
    // over-provisioned), so the total is the plain sum every reader of the findings gets.
    let mut total = 0.0;
    for f in findings {
        *by_severity.entry(f.severity).or_insert(0) += 1;
        *by_check.entry(f.check.clone()).or_insert(0) += 1;
        total += f.monthly_cost.unwrap_or(0.0);
    }
    Summary {
        findings: findings.len(),
        by_severity,
        by_check,
        monthly_cost_total: pricing::round_cents(total),
        currency: options.pricing.currency.clone(),
        pricing: options.pricing.clone(),
        usage_source: ctx.usage_source().to_owned(),
        notes: notes(findings, ctx, snapshot),
        checks_run: options
            .checks
            .ids()
            .into_iter()
            .map(str::to_owned)
            .collect(),
        namespaces: options.namespaces.clone(),
        excluded_namespaces: options.exclude_namespaces.clone(),
        objects: snapshot.object_count(),
    }
}

/// The report's notes: how far to trust the usage-based verdicts.
fn notes(findings: &[Finding], ctx: &Context<'_>, snapshot: &ClusterSnapshot) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(failed) = snapshot.skipped.iter().find(|s| s.resource == "prometheus") {
        notes.push(format!(
            "Prometheus history was asked for but could not be read ({}), so usage comes from metrics-server instead.",
            failed.reason
        ));
    }
    let verdicts = findings
        .iter()
        .filter(|f| matches!(f.check.as_str(), "cost.idle" | "cost.overprovisioned"))
        .count();
    if verdicts > 0 && ctx.usage_kind() == Some(index::UsageKind::Sample) {
        notes.push(format!(
            "{verdicts} idle or over-provisioned verdict{} rest on a single metrics-server sample per pod, not on usage over time: confirm with Prometheus history (kopilot analyze --prometheus URL, or PROMETHEUS_URL for the agent) before acting on {}.",
            if verdicts == 1 { "" } else { "s" },
            if verdicts == 1 { "it" } else { "them" }
        ));
    }
    notes
}

/// The arguments of the agent's `analyze` tool.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalyzeRequest {
    /// Check ids or prefixes (`cost.*`); empty means all.
    #[serde(default)]
    pub checks: Vec<String>,
    /// Namespaces to report on; empty means all.
    #[serde(default)]
    pub namespaces: Vec<String>,
    /// Namespaces to leave out.
    #[serde(default)]
    pub exclude_namespaces: Vec<String>,
}

/// The agent's `analyze` tool: runs the requested checks and returns the report as compact
/// JSON (`{"findings":[...],"summary":{...},"skipped":[...]}`), or `{"error": "..."}` for an
/// unknown check id, so the model can correct itself.
pub fn run_for_agent(snapshot: &ClusterSnapshot, request: &AnalyzeRequest) -> serde_json::Value {
    match analyze_for_agent(snapshot, request) {
        Ok(report) => report.to_json(),
        Err(e) => serde_json::json!({ "error": e.to_string() }),
    }
}

/// The agent's `analyze` tool, typed: the [`Report`] for `request` at the default prices, or
/// why a check id is unknown. [`run_for_agent`] is this as the JSON the model reads.
pub fn analyze_for_agent(snapshot: &ClusterSnapshot, request: &AnalyzeRequest) -> Result<Report> {
    Ok(analyze(snapshot, &request.options(Pricing::default())?))
}

impl AnalyzeRequest {
    /// The options this request asks for, priced with `pricing` (the tool's configuration,
    /// never the model's); an unknown check id is an error.
    pub fn options(&self, pricing: Pricing) -> Result<AnalyzeOptions> {
        Ok(AnalyzeOptions {
            checks: CheckSelection::parse(&self.checks)?,
            namespaces: self.namespaces.clone(),
            exclude_namespaces: self.exclude_namespaces.clone(),
            pricing,
        })
    }
}

/// Where analyzers put their findings.
pub(crate) struct Out<'s> {
    selection: &'s CheckSelection,
    findings: Vec<Finding>,
}

impl Out<'_> {
    /// Whether `check` runs.
    pub(crate) fn wants(&self, check: &str) -> bool {
        self.selection.contains(check)
    }

    /// Adds a finding of `check` (its severity comes from the registry). Checks say where a
    /// secret-looking value is, never what it is; the message and evidence are still redacted
    /// here (evidence by field), since they quote cluster text such as event and probe
    /// messages.
    pub(crate) fn push(&mut self, check: &'static str, draft: Draft) {
        let severity = check_info(check).map_or(Severity::Medium, |c| c.severity);
        let mut evidence = draft.evidence;
        redact_value(&mut evidence, Exposure::None);
        self.findings.push(Finding {
            check: check.to_owned(),
            severity,
            object: draft.object,
            message: redact(&draft.message).into_owned(),
            evidence,
            recommendation: draft.recommendation,
            command: draft.command,
            monthly_cost: draft.monthly_cost.map(pricing::round_cents),
        });
    }
}

/// A JSON object of `fields`, in this order. Unlike `json!`, which serializes a copy of
/// every value it is given, this moves the values in, so a list of evidence about many pods
/// is not copied once more.
pub(crate) fn json_object<const N: usize>(
    fields: [(&str, serde_json::Value); N],
) -> serde_json::Value {
    serde_json::Value::Object(
        fields
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value))
            .collect(),
    )
}

/// A finding before the registry adds id and severity.
pub(crate) struct Draft {
    pub(crate) object: ObjectRef,
    pub(crate) message: String,
    pub(crate) evidence: serde_json::Value,
    pub(crate) recommendation: String,
    pub(crate) command: Option<String>,
    pub(crate) monthly_cost: Option<f64>,
}
