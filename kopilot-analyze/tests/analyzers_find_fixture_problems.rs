//! Every check fires on its known problem in `tests/fixtures/cluster.yaml` and stays quiet on
//! the clean near miss beside it; the whole report is pinned as golden JSON.

use kopilot_analyze::snapshot::ClusterSnapshot;
use kopilot_analyze::{
    AnalyzeOptions, AnalyzeRequest, CHECKS, CheckSelection, Finding, Report, Severity, analyze,
    render, run_for_agent,
};

fn fixture() -> ClusterSnapshot {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/cluster.yaml");
    ClusterSnapshot::from_files(&[path]).unwrap()
}

fn report() -> Report {
    analyze(&fixture(), &AnalyzeOptions::default())
}

/// `Kind ns/name` of every finding of `check`.
fn objects(report: &Report, check: &str) -> Vec<String> {
    report
        .findings
        .iter()
        .filter(|f| f.check == check)
        .map(|f| f.object.to_string())
        .collect()
}

fn finding<'r>(report: &'r Report, check: &str, object: &str) -> &'r Finding {
    report
        .findings
        .iter()
        .find(|f| f.check == check && f.object.to_string() == object)
        .unwrap_or_else(|| panic!("no {check} finding for {object}"))
}

fn fires_on_problem_only(check: &str, problems: &[&str], near_misses: &[&str]) -> Report {
    let report = report();
    let found = objects(&report, check);
    assert_eq!(found, problems, "{check}");
    for clean in near_misses {
        assert!(
            !found.iter().any(|f| f == clean),
            "{check} must not fire on {clean}"
        );
    }
    report
}

#[test]
fn overprovisioned_uses_the_rule_and_states_the_weak_source() {
    let r = fires_on_problem_only(
        "cost.overprovisioned",
        &["Deployment shop/api"],
        &[
            // Idle: reported by cost.idle with its whole cost, not rightsized as well.
            "Deployment shop/sleepy",
            "Deployment shop/web",
            "Deployment shop/worker",
            "StatefulSet shop/cache",
        ],
    );
    let api = finding(&r, "cost.overprovisioned", "Deployment shop/api");
    assert_eq!(
        api.command.as_deref(),
        Some(
            "kubectl set resources deployment/api -n shop -c app --requests=cpu=240m,memory=390Mi"
        )
    );
    let source = api.evidence["usage_source"].as_str().unwrap();
    assert!(
        source.starts_with("metrics-server: one point-in-time sample"),
        "{source}"
    );
    assert!(source.contains("weak evidence for rightsizing"), "{source}");
    assert_eq!(
        api.evidence["containers"][0]["observed_peak"]["cpu"],
        "200m"
    );
    assert_eq!(
        api.evidence["containers"][0]["observed_peak"]["memory"],
        "300Mi"
    );
    // Two pods, each 760m and 634Mi over, at the default (AWS us-east-1) prices:
    // 1.52 x 0.04048 x 730 + 1268/1024 x 0.004445 x 730.
    assert_eq!(api.evidence["waste"]["cpu"], "1520m");
    assert_eq!(api.monthly_cost, Some(48.93));
}

#[test]
fn idle_needs_every_pod_at_or_below_5m() {
    let r = fires_on_problem_only(
        "cost.idle",
        &["Deployment shop/sleepy"],
        &["Deployment shop/quiet"],
    );
    let sleepy = finding(&r, "cost.idle", "Deployment shop/sleepy");
    assert_eq!(
        sleepy.command.as_deref(),
        Some("kubectl scale deployment/sleepy -n shop --replicas=0")
    );
    assert_eq!(sleepy.monthly_cost, Some(6.72));
}

#[test]
fn orphaned_claims_are_bound_and_unmounted_by_live_pods() {
    let r = fires_on_problem_only(
        "cost.orphaned_pvc",
        &[
            "PersistentVolumeClaim data/old-exports",
            "PersistentVolumeClaim data/scratch",
        ],
        &[
            "PersistentVolumeClaim shop/data-cache-0",
            "PersistentVolumeClaim data/waiting-claim",
        ],
    );
    let old = finding(
        &r,
        "cost.orphaned_pvc",
        "PersistentVolumeClaim data/old-exports",
    );
    assert_eq!(
        old.command.as_deref(),
        Some("kubectl delete pvc old-exports -n data")
    );
    assert_eq!(old.monthly_cost, Some(4.0));
}

#[test]
fn released_volumes_warn_that_retain_keeps_the_disk() {
    let r = fires_on_problem_only(
        "cost.released_pv",
        &["PersistentVolume pv-released"],
        &["PersistentVolume pv-exports"],
    );
    let pv = finding(&r, "cost.released_pv", "PersistentVolume pv-released");
    assert_eq!(pv.command.as_deref(), Some("kubectl delete pv pv-released"));
    assert_eq!(pv.monthly_cost, Some(8.0));
    assert!(
        pv.recommendation.contains("vol-0abc123"),
        "{}",
        pv.recommendation
    );
}

#[test]
fn crashloop_is_one_finding_at_the_deployment() {
    let r = fires_on_problem_only(
        "health.crashloop",
        &["Deployment shop/cart"],
        &["Deployment shop/api"],
    );
    let cart = finding(&r, "health.crashloop", "Deployment shop/cart");
    assert_eq!(cart.evidence["pods"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        cart.message,
        "Deployment shop/cart: 2 of 2 pods crash-looping (container cart, 7 restarts)"
    );
}

#[test]
fn image_pull_failures_but_not_containers_still_creating() {
    fires_on_problem_only(
        "health.image_pull",
        &["Deployment shop/images"],
        &["Pod shop/warming"],
    );
}

#[test]
fn pending_carries_the_scheduler_reason() {
    let r = fires_on_problem_only(
        "health.pending",
        &["Deployment shop/batch-big"],
        &["Pod shop/warming"],
    );
    let f = finding(&r, "health.pending", "Deployment shop/batch-big");
    assert!(
        f.message.ends_with("2 Insufficient memory."),
        "{}",
        f.message
    );
}

#[test]
fn oomkilled_raises_the_limit_by_half() {
    let r = fires_on_problem_only(
        "health.oomkilled",
        &["StatefulSet shop/cache"],
        &["Deployment shop/api"],
    );
    let f = finding(&r, "health.oomkilled", "StatefulSet shop/cache");
    assert_eq!(
        f.command.as_deref(),
        Some("kubectl set resources statefulset/cache -n shop -c redis --limits=memory=384Mi")
    );
}

#[test]
fn unavailable_workloads_include_daemonsets() {
    fires_on_problem_only(
        "health.unavailable_workload",
        &[
            "DaemonSet ops/node-agent",
            "Deployment shop/batch-big",
            "Deployment shop/cart",
            "Deployment shop/images",
        ],
        &["Deployment shop/api", "StatefulSet shop/cache"],
    );
}

#[test]
fn nodes_not_ready_and_under_pressure() {
    fires_on_problem_only(
        "health.node_not_ready",
        &["Node node-down"],
        &["Node node-ok", "Node node-disk"],
    );
    fires_on_problem_only(
        "health.node_pressure",
        &["Node node-disk"],
        &["Node node-ok"],
    );
}

#[test]
fn services_without_ready_pods_but_not_manual_or_external_ones() {
    fires_on_problem_only(
        "health.service_no_endpoints",
        &["Service shop/ghost"],
        &[
            "Service shop/api",
            "Service shop/external",
            "Service shop/docs",
        ],
    );
}

#[test]
fn warning_events_are_grouped_at_the_workload() {
    let r = fires_on_problem_only(
        "health.warning_events",
        &["Deployment shop/cart", "Node node-down"],
        &["Deployment shop/api"],
    );
    let cart = finding(&r, "health.warning_events", "Deployment shop/cart");
    assert_eq!(
        cart.message,
        "Deployment shop/cart: 21 Warning events (BackOff x21)"
    );
}

#[test]
fn readiness_probes_on_deployments_and_statefulsets() {
    fires_on_problem_only(
        "reliability.no_readiness_probe",
        &["Deployment shop/sleepy"],
        &["Deployment shop/api", "DaemonSet ops/node-agent"],
    );
}

#[test]
fn single_replica_behind_a_blocking_budget() {
    let r = fires_on_problem_only(
        "reliability.single_replica_pdb",
        &["Deployment shop/worker"],
        &["Deployment shop/web"],
    );
    let f = finding(
        &r,
        "reliability.single_replica_pdb",
        "Deployment shop/worker",
    );
    assert_eq!(
        f.command.as_deref(),
        Some("kubectl scale deployment/worker -n shop --replicas=2")
    );
}

#[test]
fn missing_requests_but_not_limits_only() {
    let r = fires_on_problem_only(
        "reliability.no_requests",
        &["Deployment shop/legacy"],
        &["Deployment shop/quiet"],
    );
    let f = finding(&r, "reliability.no_requests", "Deployment shop/legacy");
    assert_eq!(
        f.command.as_deref(),
        Some(
            "kubectl set resources deployment/legacy -n shop -c legacy --requests=cpu=50m,memory=91Mi"
        )
    );
}

#[test]
fn latest_and_untagged_images_get_pinned_to_the_running_digest() {
    let r = fires_on_problem_only(
        "reliability.latest_tag",
        &["Deployment shop/legacy"],
        &["StatefulSet shop/cache", "Deployment shop/web"],
    );
    let f = finding(&r, "reliability.latest_tag", "Deployment shop/legacy");
    assert_eq!(
        f.command.as_deref(),
        Some(
            "kubectl set image deployment/legacy -n shop legacy=registry.local:5000/legacy@sha256:3333333333333333333333333333333333333333333333333333333333333333"
        )
    );
}

#[test]
fn privileged_and_host_access() {
    fires_on_problem_only(
        "security.privileged",
        &["DaemonSet ops/node-agent"],
        &["Deployment shop/api"],
    );
    let r = fires_on_problem_only(
        "security.host_access",
        &["DaemonSet ops/node-agent"],
        &["Deployment shop/api"],
    );
    let f = finding(&r, "security.host_access", "DaemonSet ops/node-agent");
    assert_eq!(
        f.message,
        "DaemonSet ops/node-agent: uses the host: hostNetwork, hostPath /var/lib, 1 host port"
    );
}

#[test]
fn run_as_root_respects_container_overrides() {
    fires_on_problem_only(
        "security.run_as_root",
        &["Deployment shop/legacy"],
        &["Deployment shop/web"],
    );
}

#[test]
fn secret_literals_are_reported_without_their_values() {
    let r = fires_on_problem_only(
        "security.secret_env_literal",
        &["Deployment shop/legacy"],
        &["Deployment shop/api"],
    );
    let f = finding(&r, "security.secret_env_literal", "Deployment shop/legacy");
    let text = serde_json::to_string(f).unwrap();
    assert!(
        !text.contains("tok-abc123") && !text.contains("hunter2"),
        "{text}"
    );
    assert!(text.contains("API_TOKEN") && text.contains("DATABASE_URL"));
    assert!(!text.contains("TOKEN_TTL"));
}

#[test]
fn every_check_has_a_positive_case_in_the_fixture() {
    let r = report();
    for c in CHECKS {
        assert!(
            !objects(&r, c.id).is_empty(),
            "{} never fires on the fixture",
            c.id
        );
    }
}

#[test]
fn commands_are_single_kubectl_lines() {
    for f in report().findings {
        if let Some(cmd) = &f.command {
            assert!(cmd.starts_with("kubectl "), "{cmd}");
            assert!(!cmd.contains('\n') && !cmd.contains(';'), "{cmd}");
        }
    }
}

#[test]
fn namespace_filter_and_check_selection() {
    let snapshot = fixture();
    let options = AnalyzeOptions {
        checks: CheckSelection::parse(&["cost.*"]).unwrap(),
        namespaces: vec!["data".into()],
        ..AnalyzeOptions::default()
    };
    let r = analyze(&snapshot, &options);
    assert_eq!(
        r.findings
            .iter()
            .map(|f| f.object.to_string())
            .collect::<Vec<_>>(),
        [
            "PersistentVolumeClaim data/old-exports",
            "PersistentVolumeClaim data/scratch"
        ]
    );
    assert!((r.summary.monthly_cost_total - 5.6).abs() < 1e-9);
}

/// Every consumer of the findings (the table, the agent's answer, a script summing
/// `monthly_cost`) gets the report's total: one cost finding per object, never two
/// conflicting fixes for the same workload.
#[test]
fn one_cost_finding_per_object_and_the_findings_add_up_to_the_total() {
    let r = report();
    let mut seen = std::collections::BTreeMap::new();
    for f in r.findings.iter().filter(|f| f.monthly_cost.is_some()) {
        if let Some(other) = seen.insert(f.object.to_string(), f.check.clone()) {
            panic!(
                "{} has two cost findings: {other} and {}",
                f.object, f.check
            );
        }
    }
    assert!(seen.len() >= 5, "{seen:?}");
    // The idle workload is reported as idle, with its whole cost, and not also rightsized.
    assert_eq!(
        seen.get("Deployment shop/sleepy").map(String::as_str),
        Some("cost.idle")
    );
    let sum: f64 = r.findings.iter().filter_map(|f| f.monthly_cost).sum();
    assert_eq!(
        format!("{sum:.2}"),
        format!("{:.2}", r.summary.monthly_cost_total)
    );
    assert!(r.summary.monthly_cost_total > 0.0);
}

#[test]
fn without_the_idle_check_an_idle_workload_is_still_rightsized() {
    let r = analyze(
        &fixture(),
        &AnalyzeOptions {
            checks: CheckSelection::parse(&["cost.overprovisioned"]).unwrap(),
            ..AnalyzeOptions::default()
        },
    );
    assert_eq!(
        objects(&r, "cost.overprovisioned"),
        ["Deployment shop/api", "Deployment shop/sleepy"]
    );
}

#[test]
fn fail_on_thresholds() {
    let r = report();
    assert!(r.has_findings_at_least(Severity::Critical));
    let quiet = analyze(
        &fixture(),
        &AnalyzeOptions {
            checks: CheckSelection::parse(&["reliability.latest_tag"]).unwrap(),
            ..AnalyzeOptions::default()
        },
    );
    assert!(quiet.has_findings_at_least(Severity::Low));
    assert!(!quiet.has_findings_at_least(Severity::Medium));
}

#[test]
fn agent_tool_returns_compact_json_or_an_error() {
    let snapshot = fixture();
    let value = run_for_agent(
        &snapshot,
        &AnalyzeRequest {
            checks: vec!["health.node_not_ready".into()],
            ..AnalyzeRequest::default()
        },
    );
    assert_eq!(value["findings"][0]["object"]["name"], "node-down");
    assert_eq!(value["summary"]["findings"], 1);
    assert!(value["skipped"].as_array().unwrap().is_empty());
    let bad = run_for_agent(
        &snapshot,
        &AnalyzeRequest {
            checks: vec!["cost.nope".into()],
            ..AnalyzeRequest::default()
        },
    );
    assert!(
        bad["error"]
            .as_str()
            .unwrap()
            .starts_with("unknown check \"cost.nope\"")
    );
}

#[test]
fn golden_json() {
    insta::assert_json_snapshot!("fixture_report", report());
}

#[test]
fn golden_markdown_and_table() {
    let r = report();
    insta::assert_snapshot!("fixture_markdown", render::markdown(&r));
    insta::assert_snapshot!("fixture_table", render::table(&r, &render::Plain));
}
