//! What a platform team cannot or will not act on stays out of the report, visibly: static
//! pods get no spec findings they cannot fix through the API, namespaces can be excluded, and
//! an object can opt out of checks with the `kopilot.dev/ignore` annotation. Each case sits
//! beside a clean neighbour that must still be flagged.

use kopilot_analyze::snapshot::ClusterSnapshot;
use kopilot_analyze::{
    AnalyzeOptions, AnalyzeRequest, IGNORE_ANNOTATION, Report, analyze, analyze_for_agent, render,
};

/// A Deployment `name` in `ns` whose one container has an untagged image and no requests,
/// with `annotations` (a flow mapping) on the object and `template_annotations` on its pods.
fn deployment(ns: &str, name: &str, annotations: &str, template_annotations: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\n\
         metadata: {{name: {name}, namespace: {ns}, annotations: {annotations}}}\n\
         spec:\n  replicas: 2\n  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n    \
         metadata: {{labels: {{app: {name}}}, annotations: {template_annotations}}}\n    \
         spec: {{containers: [{{name: app, image: 'registry.example/{name}'}}]}}\n---\n"
    )
}

/// A pod in kube-system with no requests, an untagged image and host networking; `extra`
/// completes its metadata (annotations, ownerReferences).
fn system_pod(name: &str, extra: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: kube-system{extra}}}\n\
         spec: {{nodeName: cp-1, hostNetwork: true, containers: [{{name: main, image: 'registry.example/{name}'}}]}}\n\
         status: {{phase: Running}}\n---\n"
    )
}

fn run(yaml: &str, options: &AnalyzeOptions) -> Report {
    let snapshot = ClusterSnapshot::from_yaml_str("suppress.yaml", yaml).unwrap();
    analyze(&snapshot, options)
}

fn has(report: &Report, check: &str, object: &str) -> bool {
    report
        .findings
        .iter()
        .any(|f| f.check == check && f.object.to_string() == object)
}

#[test]
fn static_pods_get_no_spec_findings_but_their_neighbours_do() {
    let yaml = [
        // A mirror pod as the kubelet writes it: the annotation and the node as controller.
        system_pod(
            "kube-apiserver-cp-1",
            ", annotations: {kubernetes.io/config.mirror: 3c1e, kubernetes.io/config.source: file}, \
             ownerReferences: [{apiVersion: v1, kind: Node, name: cp-1, uid: n1, controller: true}]",
        ),
        // Either sign is enough.
        system_pod(
            "etcd-cp-1",
            ", annotations: {kubernetes.io/config.mirror: 9f2a}",
        ),
        system_pod(
            "kube-scheduler-cp-1",
            ", ownerReferences: [{apiVersion: v1, kind: Node, name: cp-1, uid: n1, controller: true}]",
        ),
        // A bare pod someone created through the API: its spec can be fixed, so it is flagged.
        system_pod("debug-shell", ""),
    ]
    .concat();
    let report = run(&yaml, &AnalyzeOptions::default());
    for name in ["kube-apiserver-cp-1", "etcd-cp-1", "kube-scheduler-cp-1"] {
        let object = format!("Pod kube-system/{name}");
        for check in ["reliability.no_requests", "reliability.latest_tag"] {
            assert!(!has(&report, check, &object), "{check} on {object}");
        }
        // Security still looks at them: a static pod is also a way to persist on a node.
        assert!(has(&report, "security.host_access", &object), "{object}");
    }
    for check in ["reliability.no_requests", "reliability.latest_tag"] {
        assert!(
            has(&report, check, "Pod kube-system/debug-shell"),
            "{check}"
        );
    }
}

#[test]
fn a_crashing_static_pod_is_still_reported() {
    let yaml = "apiVersion: v1\nkind: Pod\nmetadata: {name: etcd-cp-1, namespace: kube-system, \
                annotations: {kubernetes.io/config.mirror: 9f2a}}\n\
                spec: {containers: [{name: etcd, image: 'registry.k8s.io/etcd:3.5.21-0'}]}\n\
                status: {phase: Running, containerStatuses: [{name: etcd, image: 'registry.k8s.io/etcd:3.5.21-0', imageID: '', \
                ready: false, restartCount: 9, state: {waiting: {reason: CrashLoopBackOff}}}]}\n";
    let report = run(yaml, &AnalyzeOptions::default());
    assert!(has(
        &report,
        "health.crashloop",
        "Pod kube-system/etcd-cp-1"
    ));
}

#[test]
fn excluded_namespaces_drop_their_findings_only() {
    let yaml = [
        deployment("shop", "web", "{}", "{}"),
        deployment("lab", "toy", "{}", "{}"),
        system_pod("debug-shell", ""),
        "apiVersion: v1\nkind: Node\nmetadata: {name: n1}\nstatus: {conditions: [{type: Ready, status: 'False'}]}\n"
            .to_owned(),
    ]
    .concat();
    let options = AnalyzeOptions {
        exclude_namespaces: vec!["kube-system".into(), "lab".into()],
        ..AnalyzeOptions::default()
    };
    let report = run(&yaml, &options);
    let namespaces: std::collections::BTreeSet<Option<&str>> = report
        .findings
        .iter()
        .map(|f| f.object.namespace.as_deref())
        .collect();
    // The shop's findings and the cluster-scoped node stay.
    assert_eq!(namespaces, [None, Some("shop")].into_iter().collect());
    assert!(has(&report, "health.node_not_ready", "Node n1"));
    assert_eq!(report.summary.excluded_namespaces, ["kube-system", "lab"]);
    assert!(report.ignored.is_empty(), "exclusion is not an annotation");
    let table = render::table(&report, &render::Plain);
    assert!(
        table.contains("Excluded namespaces: kube-system, lab"),
        "{table}"
    );
}

#[test]
fn the_ignore_annotation_drops_named_checks_and_lists_them() {
    let key = IGNORE_ANNOTATION;
    let yaml = [
        // On the object, one check.
        deployment(
            "shop",
            "legacy",
            &format!("{{{key}: reliability.latest_tag}}"),
            "{}",
        ),
        // On the pod template (where Helm charts let users put annotations), a family.
        deployment(
            "shop",
            "vendor",
            "{}",
            &format!("{{{key}: 'reliability.*'}}"),
        ),
        // Everything.
        deployment("shop", "frozen", &format!("{{{key}: '*'}}"), "{}"),
        // The clean neighbour: the same problems, no annotation.
        deployment("shop", "web", "{}", "{}"),
    ]
    .concat();
    let report = run(&yaml, &AnalyzeOptions::default());
    assert!(!has(
        &report,
        "reliability.latest_tag",
        "Deployment shop/legacy"
    ));
    assert!(has(
        &report,
        "reliability.no_requests",
        "Deployment shop/legacy"
    ));
    assert!(!has(
        &report,
        "reliability.latest_tag",
        "Deployment shop/vendor"
    ));
    assert!(!has(
        &report,
        "reliability.no_requests",
        "Deployment shop/vendor"
    ));
    assert!(
        !report
            .findings
            .iter()
            .any(|f| f.object.to_string() == "Deployment shop/frozen")
    );
    for check in [
        "reliability.latest_tag",
        "reliability.no_requests",
        "reliability.no_readiness_probe",
    ] {
        assert!(has(&report, check, "Deployment shop/web"), "{check}");
    }
    // Nothing is dropped silently.
    let ignored: Vec<String> = report
        .ignored
        .iter()
        .map(|i| format!("{} {}", i.check, i.object))
        .collect();
    assert!(
        ignored.contains(&"reliability.latest_tag Deployment shop/legacy".to_owned()),
        "{ignored:?}"
    );
    assert!(
        ignored.contains(&"reliability.no_requests Deployment shop/vendor".to_owned()),
        "{ignored:?}"
    );
    assert!(
        ignored
            .iter()
            .any(|i| i.ends_with("Deployment shop/frozen")),
        "{ignored:?}"
    );
    assert!(
        !ignored.iter().any(|i| i.contains("shop/web")),
        "{ignored:?}"
    );
    let json = report.to_json();
    assert_eq!(json["ignored"].as_array().unwrap().len(), ignored.len());
    let table = render::table(&report, &render::Plain);
    assert!(
        table.contains(
            "Ignored by its kopilot.dev/ignore annotation: reliability.latest_tag on Deployment shop/legacy"
        ),
        "{table}"
    );
    assert!(render::markdown(&report).contains("## Suppressed"));
}

#[test]
fn an_unknown_check_in_the_annotation_ignores_nothing_and_says_so() {
    let key = IGNORE_ANNOTATION;
    let yaml = deployment(
        "shop",
        "typo",
        &format!("{{{key}: 'reliability.latest-tag, nonsense'}}"),
        "{}",
    );
    let report = run(&yaml, &AnalyzeOptions::default());
    assert!(has(
        &report,
        "reliability.latest_tag",
        "Deployment shop/typo"
    ));
    assert!(report.ignored.is_empty());
    let reasons: Vec<String> = report
        .skipped
        .iter()
        .map(|s| format!("{}: {}", s.resource, s.reason))
        .collect();
    for entry in ["\"reliability.latest-tag\"", "\"nonsense\""] {
        assert!(
            reasons.iter().any(|r| r
                .starts_with("Deployment shop/typo: annotation kopilot.dev/ignore: ")
                && r.contains(entry)),
            "{reasons:?}"
        );
    }
}

#[test]
fn the_agent_tool_excludes_namespaces_too() {
    let yaml = [
        deployment("shop", "web", "{}", "{}"),
        system_pod("debug-shell", ""),
    ]
    .concat();
    let snapshot = ClusterSnapshot::from_yaml_str("suppress.yaml", &yaml).unwrap();
    let request: AnalyzeRequest =
        serde_json::from_value(serde_json::json!({"exclude_namespaces": ["kube-system"]})).unwrap();
    let report = analyze_for_agent(&snapshot, &request).unwrap();
    assert!(!report.findings.is_empty());
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.object.namespace.as_deref() == Some("shop"))
    );
}
