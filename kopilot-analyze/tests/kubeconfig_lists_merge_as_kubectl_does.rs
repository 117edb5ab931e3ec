//! A kubeconfig list (`KUBECONFIG=a:b`, or the same in `LiveOptions::kubeconfig`) is read as
//! kubectl reads it: files merged with the first to name a cluster, user or context winning
//! whole, `current-context` from the first file that sets it, and a file that does not exist
//! skipped. A snapshot through the merged list reaches the cluster of the context it names.

use std::path::Path;

use kopilot_analyze::snapshot::{
    ClusterSnapshot, KubeconfigSource, LiveOptions, NamespaceScope, read_kubeconfig_list,
};
use kopilot_fake::FakeCluster;

/// A kubeconfig with one context `context` on cluster `cluster` at `server`.
fn kubeconfig(context: &str, cluster: &str, server: &str, current: Option<&str>) -> String {
    let current = current.map_or(String::new(), |c| format!("current-context: \"{c}\"\n"));
    format!(
        "apiVersion: v1\nkind: Config\n{current}\
         clusters:\n- name: {cluster}\n  cluster:\n    server: {server}\n\
         users:\n- name: {context}-user\n  user: {{}}\n\
         contexts:\n- name: {context}\n  context:\n    cluster: {cluster}\n    user: {context}-user\n    namespace: {context}-ns\n"
    )
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

fn list(paths: &[&Path]) -> std::ffi::OsString {
    std::env::join_paths(paths).unwrap()
}

#[tokio::test]
async fn the_first_file_to_name_something_wins_and_missing_files_are_skipped() {
    let shop = FakeCluster::builder()
        .seed_yaml(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop}\n\
             spec: {containers: [{name: app, image: nginx:1.27}]}\n",
        )
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first.yaml");
    let missing = dir.path().join("not-there.yaml");
    let second = dir.path().join("second.yaml");
    // The first file sets no current-context (an empty one counts as unset, as in kubectl)
    // and names the cluster `shared` at a port where nothing listens.
    write(
        &first,
        &kubeconfig("dev", "shared", "http://127.0.0.1:9", Some("")),
    );
    // The second names `shared` too (ignored: the first file's wins), and the context `prod`
    // on its own cluster, the fake one, and sets current-context.
    let mut second_text = kubeconfig("prod", "prod-cluster", shop.url(), Some("prod"));
    second_text = second_text.replace(
        "clusters:\n",
        &format!(
            "clusters:\n- name: shared\n  cluster:\n    server: {}\n",
            shop.url()
        ),
    );
    write(&second, &second_text);

    let loaded = read_kubeconfig_list(
        &list(&[&first, &missing, &second]),
        KubeconfigSource::Environment,
    )
    .unwrap()
    .expect("two of the files exist");
    assert_eq!(loaded.context_names(), ["dev", "prod"]);
    assert_eq!(loaded.read, [first.clone(), second.clone()]);
    assert_eq!(loaded.missing, std::slice::from_ref(&missing));
    assert_eq!(loaded.context_name(None), Some("prod"));
    let shared = loaded
        .merged
        .clusters
        .iter()
        .find(|c| c.name == "shared")
        .and_then(|c| c.cluster.as_ref())
        .and_then(|c| c.server.clone());
    assert_eq!(shared.as_deref(), Some("http://127.0.0.1:9"));

    // Through LiveOptions, the current context (from the second file) reaches the fake.
    let options = LiveOptions {
        namespaces: NamespaceScope::Only(vec!["shop".into()]),
        kubeconfig: Some(list(&[&first, &missing, &second]).into()),
        context: None,
    };
    let config = options.config().await.unwrap();
    assert_eq!(config.default_namespace, "prod-ns");
    let snapshot = ClusterSnapshot::load_live(&options).await.unwrap();
    assert_eq!(snapshot.pods.len(), 1, "{:?}", snapshot.skipped);

    // The first file's context, on the first file's `shared`, not the second's.
    let dev = LiveOptions {
        context: Some("dev".into()),
        ..options.clone()
    };
    let config = dev.config().await.unwrap();
    assert_eq!(config.cluster_url.to_string(), "http://127.0.0.1:9/");
    assert_eq!(config.default_namespace, "dev-ns");
    shop.stop().await;
}

#[test]
fn a_file_that_exists_but_cannot_be_read_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.yaml");
    let bad = dir.path().join("bad.yaml");
    write(
        &good,
        &kubeconfig("a", "a", "http://127.0.0.1:9", Some("a")),
    );
    write(&bad, "clusters: [this is: not: a kubeconfig\n");
    let error = read_kubeconfig_list(&list(&[&good, &bad]), KubeconfigSource::Environment)
        .unwrap_err()
        .to_string();
    assert!(error.contains("bad.yaml"), "{error}");
    // A directory is not a missing file either.
    let error = read_kubeconfig_list(&list(&[dir.path()]), KubeconfigSource::Environment)
        .unwrap_err()
        .to_string();
    assert!(error.contains(&dir.path().display().to_string()), "{error}");
}

#[test]
fn no_file_of_the_list_existing_is_no_kubeconfig_unless_it_was_configured() {
    let dir = tempfile::tempdir().unwrap();
    let gone = dir.path().join("gone.yaml");
    let also_gone = dir.path().join("also-gone.yaml");
    let names = list(&[&gone, &also_gone]);
    assert!(
        read_kubeconfig_list(&names, KubeconfigSource::Environment)
            .unwrap()
            .is_none()
    );
    let configured = LiveOptions {
        kubeconfig: Some(names.into()),
        ..LiveOptions::default()
    };
    let error = configured.kubeconfig().unwrap_err().to_string();
    assert!(error.contains("gone.yaml"), "{error}");
}
