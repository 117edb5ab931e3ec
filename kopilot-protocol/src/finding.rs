//! What analyzers report and the runtime renders: a [`Finding`] about an [`ObjectRef`], with a
//! [`Severity`]. `kopilot-analyze` makes them; `kopilot-core` collects them into a task's result
//! and writes the offline answer from them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How much a finding matters, from `info` to `critical`. Ordered: `Critical` is greatest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{Finding, ObjectRef, Severity};

    #[test]
    fn a_finding_keeps_its_json_shape() {
        let finding = Finding {
            check: "cost.overprovisioned".to_owned(),
            severity: Severity::Medium,
            object: ObjectRef::new("Deployment", Some("shop"), "web"),
            message: "requests 4 CPU, uses 0.2".to_owned(),
            evidence: json!({"cpu_request": 4.0}),
            recommendation: "lower the request".to_owned(),
            command: None,
            monthly_cost: Some(87.6),
        };
        let value = serde_json::to_value(&finding).unwrap();
        assert_eq!(
            value,
            json!({
                "check": "cost.overprovisioned",
                "severity": "medium",
                "object": {"kind": "Deployment", "namespace": "shop", "name": "web"},
                "message": "requests 4 CPU, uses 0.2",
                "evidence": {"cpu_request": 4.0},
                "recommendation": "lower the request",
                "command": null,
                "monthly_cost": 87.6
            })
        );
        assert_eq!(serde_json::from_value::<Finding>(value).unwrap(), finding);
    }

    #[test]
    fn severities_are_ordered_and_read_leniently() {
        assert!(Severity::Critical > Severity::High && Severity::Low > Severity::Info);
        assert_eq!(" HIGH ".parse::<Severity>(), Ok(Severity::High));
        assert!("urgent".parse::<Severity>().is_err());
        assert_eq!(
            ObjectRef::new("Node", Some(""), "n1").to_string(),
            "Node n1"
        );
        assert_eq!(
            ObjectRef::new("Pod", Some("shop"), "web-1").to_string(),
            "Pod shop/web-1"
        );
    }
}
