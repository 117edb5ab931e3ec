//! What analyzers report: [`Finding`]s with a [`Severity`], collected in a [`Report`]. The
//! finding types themselves are the protocol's (`kopilot-protocol`), so the runtime and every
//! adapter read the same type.

use std::collections::BTreeMap;

pub use kopilot_protocol::{Finding, ObjectRef, Severity};
use serde::{Deserialize, Serialize};

use super::pricing::Pricing;
use super::suppress::Ignored;
use crate::snapshot::Skipped;

/// Totals over a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Number of findings.
    pub findings: usize,
    /// Findings per severity (every severity present, zeros included).
    pub by_severity: BTreeMap<Severity, usize>,
    /// Findings per check id (checks with findings only).
    pub by_check: BTreeMap<String, usize>,
    /// Sum of `monthly_cost` over all findings, rounded to cents. No object has two cost
    /// findings (an idle workload is reported as idle, not also as over-provisioned), so
    /// adding up the findings' own costs gives this total.
    pub monthly_cost_total: f64,
    /// The currency of the costs.
    pub currency: String,
    /// Unit prices used.
    pub pricing: Pricing,
    /// Where usage figures came from.
    pub usage_source: String,
    /// What a reader must know to weigh the findings, in sentences: that idle and
    /// over-provisioned verdicts rest on a single metrics-server sample, that Prometheus was
    /// asked for and could not be read. Agents should repeat them in their answer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The check ids that ran.
    pub checks_run: Vec<String>,
    /// The namespaces analyzed (empty: all).
    pub namespaces: Vec<String>,
    /// The namespaces left out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded_namespaces: Vec<String>,
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
    /// Findings dropped because their object's
    /// [`IGNORE_ANNOTATION`](crate::IGNORE_ANNOTATION) ignores the check.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<Ignored>,
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
