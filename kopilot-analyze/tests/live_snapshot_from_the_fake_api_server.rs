//! A live snapshot through `kube` against the project's fake API server, seeded with the
//! fixture cluster: every list pages and runs concurrently, a resource the caller may not
//! list lands in `skipped` while the rest goes on, and the analyzers find the same problems
//! as from the file.

use kopilot_analyze::snapshot::{ClusterSnapshot, LiveOptions, NamespaceScope};
use kopilot_analyze::{AnalyzeOptions, analyze};
use kopilot_fake::{FakeCluster, ForbiddenRule};

const FIXTURE: &str = include_str!("fixtures/cluster.yaml");

async fn live(cluster: &FakeCluster, scope: NamespaceScope) -> ClusterSnapshot {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    cluster.write_kubeconfig(&kubeconfig).unwrap();
    ClusterSnapshot::load_live(&LiveOptions {
        namespaces: scope,
        kubeconfig: Some(kubeconfig),
        context: None,
    })
    .await
    .unwrap()
}

fn problems(snapshot: &ClusterSnapshot) -> Vec<String> {
    analyze(snapshot, &AnalyzeOptions::default())
        .findings
        .iter()
        .map(|f| format!("{} {}", f.check, f.object))
        .collect()
}

#[tokio::test]
async fn live_and_file_snapshots_find_the_same_problems() {
    let cluster = FakeCluster::builder()
        .seed_yaml(FIXTURE)
        .start()
        .await
        .unwrap();
    let snapshot = live(&cluster, NamespaceScope::All).await;
    assert!(snapshot.skipped.is_empty(), "{:?}", snapshot.skipped);
    assert_eq!(snapshot.pod_metrics.len(), 8);
    let file = ClusterSnapshot::from_yaml_str("cluster.yaml", FIXTURE).unwrap();
    assert_eq!(problems(&snapshot), problems(&file));
    let report = analyze(&snapshot, &AnalyzeOptions::default());
    let api = report
        .findings
        .iter()
        .find(|f| f.check == "cost.overprovisioned" && f.object.name == "api")
        .unwrap();
    assert_eq!(
        api.command.as_deref(),
        Some(
            "kubectl set resources deployment/api -n shop -c app --requests=cpu=240m,memory=390Mi"
        )
    );
    cluster.stop().await;
}

#[tokio::test]
async fn forbidden_resources_are_skipped_and_the_run_goes_on() {
    let cluster = FakeCluster::builder()
        .seed_yaml(FIXTURE)
        .forbid("list", "", "events")
        .forbid("*", "metrics.k8s.io", "*")
        .forbid_rule(ForbiddenRule {
            verb: "list".into(),
            group: String::new(),
            resource: "persistentvolumeclaims".into(),
            namespace: Some("data".into()),
        })
        .start()
        .await
        .unwrap();
    let snapshot = live(
        &cluster,
        NamespaceScope::Only(vec!["shop".into(), "data".into()]),
    )
    .await;
    let skipped: Vec<(String, String)> = snapshot
        .skipped
        .iter()
        .map(|s| (s.resource.clone(), s.reason.clone()))
        .collect();
    let resources: Vec<&str> = skipped.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(
        resources,
        [
            "persistentvolumeclaims in namespace data",
            "events in namespace shop",
            "events in namespace data",
            "pods.metrics.k8s.io in namespace shop",
            "pods.metrics.k8s.io in namespace data",
            "nodes.metrics.k8s.io",
        ]
    );
    assert!(
        skipped[1].1.starts_with("forbidden by RBAC: events is forbidden: User \"system:anonymous\" cannot list resource \"events\""),
        "{:?}",
        skipped[1]
    );
    // Everything else was read: the pods, the claims in shop, the nodes.
    assert_eq!(
        snapshot
            .pods
            .iter()
            .filter(|p| p.metadata.namespace.as_deref() == Some("shop"))
            .count(),
        13
    );
    assert_eq!(snapshot.persistent_volume_claims.len(), 1);
    let report = analyze(&snapshot, &AnalyzeOptions::default());
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.check == "health.crashloop")
    );
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.check != "health.warning_events")
    );
    assert!(report.summary.usage_source.starts_with("none"));
    assert_eq!(
        report.skipped.len(),
        6,
        "the report carries what was skipped"
    );
    cluster.stop().await;
}

#[tokio::test]
async fn an_unreachable_server_is_an_error_not_an_empty_report() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {{server: 'http://127.0.0.1:{port}'}}\n\
             users:\n- name: u\n  user: {{}}\ncontexts:\n- name: x\n  context: {{cluster: c, user: u}}\ncurrent-context: x\n"
        ),
    )
    .unwrap();
    let err = ClusterSnapshot::load_live(&LiveOptions {
        kubeconfig: Some(kubeconfig),
        ..LiveOptions::default()
    })
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("cannot reach the Kubernetes API server at http://127.0.0.1:{port}/")
    );
}
