//! The Quick start's cost question gets the same total from `kopilot ask` (offline, through
//! the agent's `analyze` tool) as from `kopilot analyze` on the same cluster: one workload, one
//! recommendation, one amount.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use kopilot_fake::demo;
use serde_json::Value;
use support::Scenario;

/// Enough for a whole task on a busy 2-core machine; a hang fails instead of stalling CI.
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// The Quick start's question.
const QUESTION: &str = "Find over-provisioned deployments and orphaned PVCs across all namespaces";

#[test]
fn the_quick_start_total_is_the_analyze_total() {
    agree(&Scenario::new().with_cluster(demo::builder()));
}

/// `KOPILOT_PRICES` prices both: the tool does not fall back to default prices.
#[test]
fn both_read_the_same_prices_file() {
    let scenario = Scenario::new().with_cluster(demo::builder());
    let prices = scenario.dir.path().join("prices.yaml");
    std::fs::write(&prices, "storage_per_gib_month: 1.0\n").unwrap();
    let prices = prices.display().to_string();
    let total = agree(&scenario.env("KOPILOT_PRICES", &prices));
    // The demo's orphaned 500Gi claim and its released 200Gi volume, at $1 a GiB-month, and
    // the idle and over-provisioned workloads.
    assert!(total > 700.0, "{total}");
}

/// Runs `analyze` and the Quick start's question offline on `scenario`'s cluster, checks they
/// agree, and returns the total.
fn agree(scenario: &Scenario) -> f64 {
    let kubeconfig = scenario.kubeconfig().display().to_string();
    let analyzed = scenario
        .kopilot(&["analyze", "--kubeconfig", &kubeconfig, "-o", "json"])
        .run(RUN_LIMIT);
    analyzed.expect_code(0);
    let report: Value = serde_json::from_str(&analyzed.stdout).unwrap();
    let total = report["summary"]["monthly_cost_total"].as_f64().unwrap();
    assert!(total > 0.0, "the demo has known waste: {report}");

    let asked = scenario
        .ask(&["--offline", "--output", "json", QUESTION])
        .run(RUN_LIMIT);
    asked.expect_code(0);
    let result = asked.result();
    let mut cost_findings = BTreeMap::new();
    for f in result.findings.iter().filter(|f| f.monthly_cost.is_some()) {
        if let Some(other) = cost_findings.insert(f.object.to_string(), f.check.clone()) {
            panic!(
                "{} has two cost findings: {other} and {}",
                f.object, f.check
            );
        }
    }
    // The idle workload is idle, and only that.
    assert_eq!(
        cost_findings
            .get("Deployment analytics/report-builder")
            .map(String::as_str),
        Some("cost.idle"),
        "{cost_findings:?}"
    );
    let sum: f64 = result.findings.iter().filter_map(|f| f.monthly_cost).sum();
    assert_eq!(format!("{sum:.2}"), format!("{total:.2}"));
    let said = format!("${total:.2}");
    assert!(
        result.answer.contains(&said),
        "the answer does not give the total {said}:\n{}",
        result.answer
    );
    total
}
