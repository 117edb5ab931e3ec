//! What analyzers report: [`Finding`]s with a [`Severity`], collected in a [`Report`].

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::pricing::Pricing;
use crate::snapshot::Skipped;

/// How much a finding matters, from `info` to `critical`. Ordered: `Critical` is greatest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Hygiene; fix when convenient.
    Low,
    /// Costs money or risks an outage later.
    Medium,
    /// Something is broken or exposed now.
    High,
    /// The cluster itself is degraded.
    Critical,
}

impl Severity {
    /// Every severity, most severe first.
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    /// The lowercase name (`high`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("{s:?} is not a severity (critical, high, medium, low or info)"))
    }
}

/// The object a finding is about (a workload, not its pods, when a workload owns them).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ObjectRef {
    /// `Deployment`, `Pod`, `Node`, ...
    pub kind: String,
    /// `None` for cluster-scoped objects.
    pub namespace: Option<String>,
    /// The object's name.
    pub name: String,
}

impl ObjectRef {
    /// A reference to a namespaced or (with an empty namespace) cluster-scoped object.
    pub fn new(kind: &str, namespace: Option<&str>, name: &str) -> Self {
        Self {
            kind: kind.to_owned(),
            namespace: namespace.filter(|n| !n.is_empty()).map(str::to_owned),
            name: name.to_owned(),
        }
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {ns}/{}", self.kind, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// One problem found, with the numbers behind it and, where one exists, the exact
/// `kubectl` command that would fix it (to be run through the safety guard like any other).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The check's stable id (`cost.overprovisioned`).
    pub check: String,
    /// The check's severity.
    pub severity: Severity,
    /// What it is about.
    pub object: ObjectRef,
    /// One line for a person.
    pub message: String,
    /// The figures used (a JSON object).
    pub evidence: serde_json::Value,
    /// What to do about it.
    pub recommendation: String,
    /// A runnable `kubectl` line that fixes it, when there is one.
    pub command: Option<String>,
    /// Estimated monthly cost of the waste (cost checks only), in the pricing's currency.
    pub monthly_cost: Option<f64>,
}

/// Totals over a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Number of findings.
    pub findings: usize,
    /// Findings per severity (every severity present, zeros included).
    pub by_severity: BTreeMap<Severity, usize>,
    /// Findings per check id (checks with findings only).
    pub by_check: BTreeMap<String, usize>,
    /// Sum of `monthly_cost` over all findings, rounded to cents; an idle workload counts
    /// once (its whole cost, not also its over-provisioning).
    pub monthly_cost_total: f64,
    /// The currency of the costs.
    pub currency: String,
    /// Unit prices used.
    pub pricing: Pricing,
    /// Where usage figures came from.
    pub usage_source: String,
    /// The check ids that ran.
    pub checks_run: Vec<String>,
    /// The namespaces analyzed (empty: all).
    pub namespaces: Vec<String>,
    /// Objects in the snapshot.
    pub objects: usize,
}

/// The result of an analysis: findings (most severe first), totals, and what was skipped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Findings, most severe first, then by check and object.
    pub findings: Vec<Finding>,
    /// Totals.
    pub summary: Summary,
    /// Resources or objects that could not be read or evaluated.
    pub skipped: Vec<SkippedEntry>,
}

/// A skipped resource or object in a [`Report`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SkippedEntry {
    /// What was skipped.
    pub resource: String,
    /// Why.
    pub reason: String,
}

impl From<&Skipped> for SkippedEntry {
    fn from(s: &Skipped) -> Self {
        Self {
            resource: s.resource.clone(),
            reason: s.reason.clone(),
        }
    }
}

impl Report {
    /// Whether any finding is at least `threshold` severe (for `--fail-on`).
    pub fn has_findings_at_least(&self, threshold: Severity) -> bool {
        self.findings.iter().any(|f| f.severity >= threshold)
    }

    /// The report as the compact JSON the CLI prints with `--output json`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() }))
    }
}
