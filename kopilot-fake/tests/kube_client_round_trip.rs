//! The `kube` client (as Kopilot's tools will use it) works against the fake: list, get,
//! patch in every format, status errors, logs, and a watcher that sees a change.

mod common;

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kopilot_fake::{FakeCluster, demo};
use kube::api::{
    Api, DeleteParams, ListParams, LogParams, Patch, PatchParams, PostParams, WatchEvent,
    WatchParams,
};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Config};

async fn client_for(cluster: &FakeCluster) -> anyhow::Result<Client> {
    let kubeconfig = kube::config::Kubeconfig::from_yaml(&cluster.kubeconfig())?;
    let config =
        Config::from_custom_kubeconfig(kubeconfig, &kube::config::KubeConfigOptions::default())
            .await?;
    Ok(Client::try_from(config)?)
}

#[tokio::test]
async fn list_get_and_patch_round_trip() -> anyhow::Result<()> {
    let cluster = demo::builder().start().await?;
    let client = client_for(&cluster).await?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "storefront");
    let web = pods.list(&ListParams::default().labels("app=web")).await?;
    assert_eq!(web.items.len(), 3);
    assert!(
        web.metadata.resource_version.is_some(),
        "lists carry a resourceVersion"
    );
    let all: Api<Pod> = Api::all(client.clone());
    let pending = all
        .list(&ListParams::default().fields("status.phase=Pending"))
        .await?;
    assert_eq!(pending.items.len(), 2);

    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "storefront");
    let patched = deployments
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"spec": {"replicas": 6}})),
        )
        .await?;
    assert_eq!(patched.spec.unwrap().replicas, Some(6));
    assert_eq!(
        patched.status.unwrap().available_replicas,
        Some(6),
        "the fake controller catches up"
    );
    let strategic = serde_json::json!({"spec": {"template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.28.0"}]}}}});
    deployments
        .patch("web", &PatchParams::default(), &Patch::Strategic(strategic))
        .await?;
    let applied = serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                                     "spec": {"replicas": 2}});
    deployments
        .patch(
            "web",
            &PatchParams::apply("kopilot").force(),
            &Patch::Apply(applied),
        )
        .await?;
    let web = deployments.get("web").await?;
    let spec = web.spec.unwrap();
    assert_eq!(spec.replicas, Some(2));
    assert_eq!(
        spec.template.spec.unwrap().containers[0].image.as_deref(),
        Some("nginx:1.28.0")
    );
    let scale = deployments.get_scale("web").await?;
    assert_eq!(scale.spec.unwrap().replicas, Some(2));
    assert_eq!(scale.status.unwrap().selector.as_deref(), Some("app=web"));
    Ok(())
}

#[tokio::test]
async fn errors_are_statuses_the_client_understands() -> anyhow::Result<()> {
    let cluster = demo::builder().start().await?;
    let client = client_for(&cluster).await?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "payments");
    assert!(pods.get_opt("missing").await?.is_none());
    let err = pods.get("missing").await.unwrap_err();
    match err {
        kube::Error::Api(status) => {
            assert_eq!(status.code, 404);
            assert_eq!(status.reason, "NotFound");
            assert_eq!(status.message, "pods \"missing\" not found");
        }
        other => panic!("expected an API error, got {other:?}"),
    }
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "payments");
    let mut cm = ConfigMap::default();
    cm.metadata.name = Some("flags".into());
    cms.create(&PostParams::default(), &cm).await?;
    let again = cms.create(&PostParams::default(), &cm).await.unwrap_err();
    assert!(
        matches!(&again, kube::Error::Api(s) if s.is_already_exists()),
        "{again:?}"
    );
    let deleted = cms.delete("flags", &DeleteParams::default()).await?;
    assert!(deleted.is_left(), "a delete returns the object");
    let logs = pods
        .logs(
            &cluster_pod(&cluster, "payments", "fraud-detector"),
            &LogParams {
                previous: true,
                ..LogParams::default()
            },
        )
        .await?;
    assert!(
        logs.contains("resident memory 251 MiB of 256 MiB limit"),
        "{logs}"
    );
    Ok(())
}

fn cluster_pod(cluster: &FakeCluster, ns: &str, app: &str) -> String {
    cluster
        .list("v1", "Pod", Some(ns))
        .into_iter()
        .find(|p| p["metadata"]["labels"]["app"] == app)
        .and_then(|p| p["metadata"]["name"].as_str().map(str::to_owned))
        .unwrap()
}

#[tokio::test]
async fn a_watcher_sees_a_change_made_through_the_api() -> anyhow::Result<()> {
    let cluster = demo::builder().start().await?;
    let client = client_for(&cluster).await?;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "payments");
    let stream = watcher(
        deployments.clone(),
        watcher::Config::default().fields("metadata.name=payments-api"),
    )
    .applied_objects()
    .boxed();
    let mut stream = stream;
    let first = tokio::time::timeout(Duration::from_secs(10), stream.try_next())
        .await??
        .unwrap();
    assert_eq!(first.spec.unwrap().replicas, Some(2));
    deployments
        .patch(
            "payments-api",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"spec": {"replicas": 3}})),
        )
        .await?;
    let changed = tokio::time::timeout(Duration::from_secs(10), stream.try_next())
        .await??
        .unwrap();
    assert_eq!(changed.spec.unwrap().replicas, Some(3));

    // Streaming lists: initial ADDED events, then the BOOKMARK that ends them (InitDone).
    let mut streaming = watcher(
        deployments.clone(),
        watcher::Config::default().streaming_lists(),
    )
    .boxed();
    let mut names = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(10), streaming.try_next())
            .await??
            .unwrap()
        {
            watcher::Event::InitApply(d) => names.push(d.metadata.name.unwrap()),
            watcher::Event::InitDone => break,
            watcher::Event::Init => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    names.sort();
    assert_eq!(names, ["fraud-detector", "payments-api"]);
    Ok(())
}

#[tokio::test]
async fn watches_resume_from_a_resource_version_and_end_at_their_timeout() -> anyhow::Result<()> {
    let cluster = FakeCluster::builder()
        .bookmark_interval(Duration::from_millis(200))
        .seed_yaml("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: default}\ndata: {k: v}\n")
        .start()
        .await?;
    let client = client_for(&cluster).await?;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let rv = cms
        .list(&ListParams::default())
        .await?
        .metadata
        .resource_version
        .unwrap();
    let mut cm = ConfigMap::default();
    cm.metadata.name = Some("b".into());
    cms.create(&PostParams::default(), &cm).await?;
    let params = WatchParams::default().timeout(1); // kube allows bookmarks by default
    let events: Vec<WatchEvent<ConfigMap>> = tokio::time::timeout(
        Duration::from_secs(10),
        cms.watch(&params, &rv).await?.try_collect(),
    )
    .await??;
    let names: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            WatchEvent::Added(o) => o.metadata.name.clone(),
            _ => None,
        })
        .collect();
    assert_eq!(
        names,
        ["b"],
        "only changes after the list's resourceVersion: {events:?}"
    );
    assert!(
        events.iter().any(|e| matches!(e, WatchEvent::Bookmark(_))),
        "bookmarks when allowed: {events:?}"
    );
    let from_zero: Vec<WatchEvent<ConfigMap>> = tokio::time::timeout(
        Duration::from_secs(10),
        cms.watch(&WatchParams::default().timeout(1), "0")
            .await?
            .try_collect(),
    )
    .await??;
    assert_eq!(
        from_zero
            .iter()
            .filter(|e| matches!(e, WatchEvent::Added(_)))
            .count(),
        2,
        "{from_zero:?}"
    );
    Ok(())
}

#[tokio::test]
async fn stop_ends_open_watches_and_closes_the_listener() -> anyhow::Result<()> {
    let cluster = demo::builder().start().await?;
    let client = client_for(&cluster).await?;
    let pods: Api<Pod> = Api::namespaced(client, "storefront");
    let mut stream = pods.watch(&WatchParams::default(), "0").await?.boxed();
    assert!(matches!(
        stream.try_next().await?,
        Some(WatchEvent::Added(_))
    ));
    let addr = cluster.addr();
    tokio::time::timeout(Duration::from_secs(5), cluster.stop()).await?;
    let rest: Vec<_> =
        tokio::time::timeout(Duration::from_secs(5), stream.collect::<Vec<_>>()).await?;
    assert!(rest.len() < 100, "the stream ended");
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "nothing listens after stop"
    );
    Ok(())
}

#[tokio::test]
async fn lists_page_with_limit_and_continue() -> anyhow::Result<()> {
    let cluster = demo::builder().start().await?;
    let client = client_for(&cluster).await?;
    let pods: Api<Pod> = Api::all(client);
    let everything = pods.list(&ListParams::default()).await?.items.len();
    let mut seen = Vec::new();
    let mut params = ListParams::default().limit(7);
    loop {
        let page = pods.list(&params).await?;
        assert!(page.items.len() <= 7);
        seen.extend(page.items.into_iter().map(|p| p.metadata.name.unwrap()));
        match page.metadata.continue_ {
            Some(token) if !token.is_empty() => params = params.continue_token(&token),
            _ => break,
        }
    }
    assert_eq!(seen.len(), everything);
    let unique: std::collections::BTreeSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), everything, "no pod twice");
    let bad = pods
        .list(&ListParams::default().continue_token("garbage"))
        .await
        .unwrap_err();
    assert!(
        matches!(bad, kube::Error::Api(s) if s.code == 400),
        "a bad token is a 400"
    );
    Ok(())
}
