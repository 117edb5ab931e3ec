//! Seeding from YAML: defaults the API server would fill, references resolved by name,
//! logs side documents, the seed clock, clear errors, and the handle's view of the store.

use std::time::Duration;

use kopilot_fake::Error;
use kopilot_fake::{ContainerLogs, FakeCluster};

const SHOP: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: app, image: "web:1"}]}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-abc
  namespace: shop
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, controller: true}]
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: app, image: "web:1"}]}
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata:
    name: web-abc-1
    namespace: shop
    creationTimestamp: "2026-01-01T11:00:00Z"
    ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-abc, controller: true}]
  spec: {containers: [{name: app, image: "web:1"}]}
- apiVersion: v1
  kind: Event
  metadata: {name: web-abc-1.1, namespace: shop}
  involvedObject: {kind: Pod, name: web-abc-1, namespace: shop}
  reason: Started
  message: Started container app
---
apiVersion: fake.kopilot.dev/v1
kind: PodLogs
metadata: {name: web-abc-1, namespace: shop}
containers:
- name: app
  log: "hello\n"
  previous: "before\n"
"#;

#[tokio::test]
async fn seeds_get_uids_namespaces_and_resolved_references() -> anyhow::Result<()> {
    let cluster = FakeCluster::builder().seed_yaml(SHOP).start().await?;
    let d = cluster.get("apps/v1", "Deployment", "shop", "web").unwrap();
    let rs = cluster
        .get("apps/v1", "ReplicaSet", "shop", "web-abc")
        .unwrap();
    let pod = cluster.get("v1", "Pod", "shop", "web-abc-1").unwrap();
    let ev = cluster.get("v1", "Event", "shop", "web-abc-1.1").unwrap();
    assert_eq!(
        rs["metadata"]["ownerReferences"][0]["uid"],
        d["metadata"]["uid"]
    );
    assert_eq!(
        pod["metadata"]["ownerReferences"][0]["uid"],
        rs["metadata"]["uid"]
    );
    assert_eq!(ev["involvedObject"]["uid"], pod["metadata"]["uid"]);
    assert_eq!(d["metadata"]["generation"], 1);
    assert!(d["metadata"]["resourceVersion"].is_string());
    for ns in ["shop", "default", "kube-system"] {
        assert!(
            cluster.get("v1", "Namespace", "", ns).is_some(),
            "namespace {ns} exists"
        );
    }
    assert_eq!(
        cluster.logs("shop", "web-abc-1", "app"),
        Some(ContainerLogs {
            current: "hello\n".into(),
            previous: Some("before\n".into())
        })
    );
    assert!(
        cluster
            .get("fake.kopilot.dev/v1", "PodLogs", "shop", "web-abc-1")
            .is_none(),
        "log documents are not objects"
    );
    // Seeded uids are stable across runs.
    let again = FakeCluster::builder().seed_yaml(SHOP).start().await?;
    assert_eq!(
        again.get("apps/v1", "Deployment", "shop", "web").unwrap()["metadata"]["uid"],
        d["metadata"]["uid"]
    );
    Ok(())
}

#[tokio::test]
async fn the_seed_clock_moves_fixture_times_to_now() -> anyhow::Result<()> {
    let cluster = FakeCluster::builder()
        .seed_yaml(SHOP)
        .seed_clock("2026-01-01T12:00:00Z")
        .start()
        .await?;
    let pod = cluster.get("v1", "Pod", "shop", "web-abc-1").unwrap();
    let created = time::OffsetDateTime::parse(
        pod["metadata"]["creationTimestamp"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )?;
    let age = time::OffsetDateTime::now_utc() - created;
    assert!(
        age > time::Duration::minutes(59) && age < time::Duration::minutes(61),
        "one hour old: {age}"
    );
    let err = FakeCluster::builder()
        .seed_clock("yesterday")
        .start()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::BadClockAnchor(_)), "{err}");
    Ok(())
}

#[tokio::test]
async fn bad_seeds_are_errors_that_say_where() -> anyhow::Result<()> {
    let err = FakeCluster::builder()
        .seed_yaml_named("broken.yaml", "kind: [unclosed")
        .start()
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("seed broken.yaml: invalid YAML"),
        "{err}"
    );
    assert!(
        std::error::Error::source(&err).is_some(),
        "the parser's error is kept as the source"
    );

    let unknown = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n";
    let err = FakeCluster::builder()
        .seed_yaml_named("w.yaml", unknown)
        .start()
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("w.yaml (document 1)") && text.contains("\"Widget\""),
        "{text}"
    );

    let nameless = "apiVersion: v1\nkind: ConfigMap\nmetadata: {namespace: a}\n";
    let err = FakeCluster::builder()
        .seed_yaml(nameless)
        .start()
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("ConfigMap has no metadata.name"),
        "{err}"
    );

    let twice = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n";
    let err = FakeCluster::builder()
        .seed_yaml_named("t.yaml", twice)
        .start()
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("t.yaml (document 2): configmaps \"a\" is seeded twice"),
        "{err}"
    );

    let scalar = "just a string\n";
    assert!(
        FakeCluster::builder()
            .seed_yaml(scalar)
            .start()
            .await
            .is_err()
    );
    Ok(())
}

#[tokio::test]
async fn kubeconfig_points_at_the_server_and_bad_paths_are_errors() -> anyhow::Result<()> {
    let cluster = FakeCluster::builder()
        .context_name("my-fake")
        .pod_logs(
            "default",
            "p",
            "c",
            ContainerLogs {
                current: "x".into(),
                previous: None,
            },
        )
        .start()
        .await?;
    let text = cluster.kubeconfig();
    assert!(
        text.contains(&format!("server: {}", cluster.url())),
        "{text}"
    );
    assert!(text.contains("current-context: my-fake"), "{text}");
    assert!(cluster.url().starts_with("http://127.0.0.1:"));
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("nested/dir/kubeconfig");
    cluster.write_kubeconfig(&path)?;
    assert_eq!(std::fs::read_to_string(&path)?, text);
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "")?;
    let err = cluster
        .write_kubeconfig(blocker.join("kubeconfig"))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("could not write the kubeconfig to"),
        "{err}"
    );
    assert_eq!(cluster.logs("default", "p", "c").unwrap().current, "x");
    Ok(())
}

#[tokio::test]
async fn a_taken_port_is_a_bind_error_and_stop_releases_the_port() -> anyhow::Result<()> {
    let first = FakeCluster::builder().start().await?;
    let port = first.addr().port();
    let err = FakeCluster::builder().port(port).start().await.unwrap_err();
    assert!(matches!(err, Error::Bind { .. }), "{err}");
    first.stop().await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let again = FakeCluster::builder().port(port).start().await?;
    assert_eq!(again.addr().port(), port);
    Ok(())
}
