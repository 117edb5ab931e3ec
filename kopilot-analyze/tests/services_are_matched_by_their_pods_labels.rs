//! `health.service_no_endpoints` decides by the pods' own labels and readiness, never by a
//! workload's pod template: the analyzers look first at the pods of the workloads whose
//! template carries a Service's labels (a shortcut), and these cases are where that shortcut
//! alone would give the wrong answer.

use kopilot_analyze::snapshot::ClusterSnapshot;
use kopilot_analyze::{AnalyzeOptions, CheckSelection, Report, analyze};

fn run(yaml: &str) -> Report {
    let snapshot = ClusterSnapshot::from_yaml_str("services.yaml", yaml).unwrap();
    analyze(
        &snapshot,
        &AnalyzeOptions {
            checks: CheckSelection::parse(&["health.service_no_endpoints"]).unwrap(),
            ..AnalyzeOptions::default()
        },
    )
}

/// A Deployment `name` in `ns` whose template is labelled `labels` (a flow mapping body).
fn deployment(ns: &str, name: &str, labels: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: {ns}}}\n\
         spec: {{replicas: 1, selector: {{matchLabels: {{{labels}}}}}, template: {{metadata: {{labels: {{{labels}}}}}, \
         spec: {{containers: [{{name: app, image: 'nginx:1.27'}}]}}}}}}\n---\n"
    )
}

/// A pod `name` in `ns` labelled `labels`, owned by Deployment `owner` when given.
fn pod(ns: &str, name: &str, labels: &str, owner: Option<&str>, ready: bool) -> String {
    let owner = owner.map_or_else(String::new, |o| {
        format!(", ownerReferences: [{{apiVersion: apps/v1, kind: Deployment, name: {o}, uid: u-{o}, controller: true}}]")
    });
    let status = if ready { "True" } else { "False" };
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: {ns}, labels: {{{labels}}}{owner}}}\n\
         spec: {{containers: [{{name: app, image: 'nginx:1.27'}}]}}\n\
         status: {{phase: Running, conditions: [{{type: Ready, status: '{status}'}}]}}\n---\n"
    )
}

fn service(ns: &str, name: &str, selector: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: {ns}}}\n\
         spec: {{selector: {{{selector}}}, ports: [{{port: 80}}]}}\n---\n"
    )
}

fn flagged(report: &Report) -> Vec<String> {
    let mut objects: Vec<String> = report
        .findings
        .iter()
        .map(|f| f.object.to_string())
        .collect();
    objects.sort();
    objects
}

#[test]
fn a_template_that_matches_is_not_enough_the_pods_must() {
    let yaml = [
        // The template says app=web, but the only pod was relabelled by hand.
        deployment("shop", "web", "app: web"),
        pod("shop", "web-1", "app: web-old", Some("web"), true),
        service("shop", "web", "app: web"),
        // Two pairs in the template; the pod carries one of them.
        deployment("shop", "queue", "app: queue, tier: back"),
        pod("shop", "queue-1", "app: queue", Some("queue"), true),
        service("shop", "queue", "app: queue, tier: back"),
        // The same selector in another namespace: shop's ready pods do not serve it.
        deployment("shop", "cart", "app: cart"),
        pod("shop", "cart-1", "app: cart", Some("cart"), true),
        service("lab", "cart", "app: cart"),
        // The clean neighbour: template and pod agree, the pod is ready.
        service("shop", "cart", "app: cart"),
    ]
    .concat();
    let report = run(&yaml);
    assert_eq!(
        flagged(&report),
        ["Service lab/cart", "Service shop/queue", "Service shop/web"]
    );
    let web = report
        .findings
        .iter()
        .find(|f| f.object.to_string() == "Service shop/web")
        .unwrap();
    assert!(
        web.message
            .ends_with("selector app=web matches 0 pods, none ready"),
        "{}",
        web.message
    );
}

#[test]
fn a_ready_pod_outside_the_matching_workload_serves_the_service() {
    let yaml = [
        // The workload whose template matches has no ready pod...
        deployment("shop", "api", "app: api"),
        pod("shop", "api-1", "app: api", Some("api"), false),
        // ...but a bare pod carrying the label is ready, so the Service has an endpoint.
        pod("shop", "api-debug", "app: api", None, true),
        service("shop", "api", "app: api"),
        // Without such a pod the Service is flagged, with the not-ready pod as evidence.
        deployment("shop", "search", "app: search"),
        pod("shop", "search-1", "app: search", Some("search"), false),
        service("shop", "search", "app: search"),
    ]
    .concat();
    let report = run(&yaml);
    assert_eq!(flagged(&report), ["Service shop/search"]);
    assert_eq!(
        report.findings[0].evidence["matching_pods"],
        serde_json::json!(["search-1"])
    );
}
