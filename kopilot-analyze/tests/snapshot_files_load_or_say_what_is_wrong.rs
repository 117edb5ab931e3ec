//! Snapshot files: YAML and JSON, several documents, `kind: List`, typed lists from
//! `kubectl get --raw`; and errors that name the file, the document and what is wrong.

use std::fmt::Write as _;
use std::io::Write as _;

use kopilot_analyze::snapshot::ClusterSnapshot;

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::File::create(&path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    path
}

#[test]
fn multi_document_yaml_lists_and_json_combine() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = write(
        &dir,
        "a.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\n---\n\
         apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Node\n  metadata: {name: n1}\n\
         - apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: ignored, namespace: shop}\n",
    );
    // What `kubectl get --raw /api/v1/pods` writes: items without apiVersion and kind.
    let json = write(
        &dir,
        "pods.json",
        r#"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"7"},
            "items":[{"metadata":{"name":"p1","namespace":"shop"},"spec":{"containers":[{"name":"c","image":"x:1"}]}}]}"#,
    );
    let s = ClusterSnapshot::from_files(&[yaml, json]).unwrap();
    assert_eq!(s.namespaces.len(), 1);
    assert_eq!(s.nodes.len(), 1);
    assert_eq!(s.pods.len(), 1);
    assert_eq!(s.pods[0].metadata.name.as_deref(), Some("p1"));
    assert_eq!(
        s.object_count(),
        3,
        "the ConfigMap is not something the analyzers use"
    );
}

#[test]
fn a_missing_file_is_named() {
    let err = ClusterSnapshot::from_files(&["/nonexistent/cluster.yaml"]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "could not read snapshot file /nonexistent/cluster.yaml"
    );
    assert!(std::error::Error::source(&err).is_some());
}

#[test]
fn invalid_yaml_names_the_file_and_the_line() {
    let err = ClusterSnapshot::from_yaml_str(
        "broken.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: [unclosed\n",
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "broken.yaml: invalid YAML");
    let cause = std::error::Error::source(&err).unwrap().to_string();
    assert!(cause.contains("line"), "{cause}");
}

#[test]
fn invalid_json_names_the_file() {
    let err = ClusterSnapshot::from_yaml_str("dump.json", "{\"kind\": \"List\",").unwrap_err();
    assert_eq!(err.to_string(), "dump.json: invalid JSON");
    assert!(
        std::error::Error::source(&err)
            .unwrap()
            .to_string()
            .contains("line 1")
    );
}

#[test]
fn objects_without_kind_or_with_wrong_fields_are_named() {
    let err = ClusterSnapshot::from_yaml_str("x.yaml", "---\nfoo: bar\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "x.yaml: document 1: has no `kind`: not a Kubernetes object"
    );
    let err =
        ClusterSnapshot::from_yaml_str("x.yaml", "kind: Pod\nmetadata: {name: p}\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "x.yaml: document 1: Pod has no `apiVersion`"
    );
    let err = ClusterSnapshot::from_yaml_str("x.yaml", "- 1\n- 2\n").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("x.yaml: document 1: expected a Kubernetes object")
    );
    let err = ClusterSnapshot::from_yaml_str(
        "deploy.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n\
         apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec: {replicas: three}\n",
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(
            "deploy.yaml: document 2: Deployment shop/web: invalid type: string \"three\""
        ),
        "{text}"
    );
    let err = ClusterSnapshot::from_yaml_str(
        "list.yaml",
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Node\n  metadata: {name: node-a}\n  spec: {unschedulable: sometimes}\n",
    )
    .unwrap_err();
    assert!(err.to_string().starts_with("list.yaml: document 1, item 1: Node node-a: invalid type: string \"sometimes\", expected a boolean"), "{err}");
}

#[test]
fn unparseable_quantities_are_reported_for_their_object_not_a_panic() {
    let s = ClusterSnapshot::from_yaml_str(
        "q.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\n\
         spec:\n  replicas: 1\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    \
         spec: {containers: [{name: app, image: 'nginx:1.27', resources: {requests: {cpu: lots, memory: 1GB}}}]}\n\
         ---\napiVersion: v1\nkind: Pod\nmetadata: {name: web-1, namespace: shop, labels: {app: web}, \
         ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, uid: u, controller: true}]}\n\
         spec: {containers: [{name: app, image: 'nginx:1.27'}]}\nstatus: {phase: Running}\n\
         ---\napiVersion: metrics.k8s.io/v1beta1\nkind: PodMetrics\nmetadata: {name: web-1, namespace: shop}\n\
         containers: [{name: app, usage: {cpu: 5m, memory: 12Mi}}]\n",
    )
    .unwrap();
    let report = kopilot_analyze::analyze(&s, &kopilot_analyze::AnalyzeOptions::default());
    let skipped: Vec<String> = report
        .skipped
        .iter()
        .map(|s| format!("{}: {}", s.resource, s.reason))
        .collect();
    assert_eq!(
        skipped,
        [
            "Deployment shop/web: container app requests.cpu: \"lots\" is not a Kubernetes quantity: it has no digits",
            "Deployment shop/web: container app requests.memory: \"1GB\" is not a Kubernetes quantity: unknown suffix (expected one of n u m k M G T P E Ki Mi Gi Ti Pi Ei or an exponent like e3)",
        ]
    );
}

#[test]
fn long_yaml_lists_load() {
    let mut text = String::from("apiVersion: v1\nkind: List\nitems:\n");
    for i in 0..1000 {
        let _ = write!(
            text,
            "- apiVersion: v1\n  kind: Pod\n  metadata: {{name: p{i}, namespace: ns, labels: {{app: a{i}, tier: t}}}}\n  \
             spec: {{containers: [{{name: c, image: 'x:1', resources: {{requests: {{cpu: 10m, memory: 10Mi}}}}}}]}}\n  \
             status: {{phase: Running, conditions: [{{type: Ready, status: 'True'}}]}}\n"
        );
    }
    let s = ClusterSnapshot::from_yaml_str("big.yaml", &text).unwrap();
    assert_eq!(s.pods.len(), 1000);
}
