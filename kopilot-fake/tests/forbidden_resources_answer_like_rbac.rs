//! Resources forbidden on the builder answer 403 like RBAC, `kubectl auth can-i` agrees,
//! and other resources keep working (what a live snapshot must cope with).

mod common;

use common::Harness;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kopilot_fake::{ForbiddenRule, demo};
use kube::api::{Api, ListParams};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs kubectl"]
async fn kubectl_prints_forbidden_and_can_i_agrees() -> anyhow::Result<()> {
    common::require_kubectl();
    let cluster = demo::builder()
        .forbid("*", "", "secrets")
        .forbid_rule(ForbiddenRule {
            verb: "get".into(),
            group: String::new(),
            resource: "pods/log".into(),
            namespace: Some("payments".into()),
        })
        .start()
        .await?;
    let h = Harness::from_cluster(cluster)?;
    let run = h
        .kubectl(&["get", "secrets", "-n", "payments"])
        .await?
        .failed();
    assert_eq!(
        run.stderr.trim(),
        "Error from server (Forbidden): secrets is forbidden: User \"system:anonymous\" cannot list resource \"secrets\" in API group \"\" in the namespace \"payments\""
    );
    let all = h.kubectl(&["get", "secrets", "-A"]).await?.failed();
    assert!(
        all.stderr.contains("at the cluster scope"),
        "{}",
        all.stderr
    );
    let logs = h
        .kubectl(&["logs", "postgres-0", "-n", "payments"])
        .await?
        .failed();
    assert!(
        logs.stderr.contains("cannot get resource \"pods/log\""),
        "{}",
        logs.stderr
    );
    h.kubectl(&["get", "pods", "-n", "payments"]).await?.ok();
    let no = h
        .kubectl(&["auth", "can-i", "get", "secrets", "-n", "payments"])
        .await?;
    assert_eq!((no.code, no.stdout.trim()), (1, "no"));
    let yes = h
        .kubectl(&["auth", "can-i", "list", "pods", "-n", "payments"])
        .await?
        .ok();
    assert_eq!(yes.stdout.trim(), "yes");
    Ok(())
}

#[tokio::test]
async fn kube_sees_a_forbidden_status_and_metadata_only_lists() -> anyhow::Result<()> {
    let cluster = demo::builder()
        .forbid("list", "", "secrets")
        .start()
        .await?;
    let kubeconfig = kube::config::Kubeconfig::from_yaml(&cluster.kubeconfig())?;
    let config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &kube::config::KubeConfigOptions::default(),
    )
    .await?;
    let client = kube::Client::try_from(config)?;
    let secrets: Api<Secret> = Api::all(client.clone());
    match secrets.list(&ListParams::default()).await {
        Err(kube::Error::Api(s)) => {
            assert_eq!((s.code, s.reason.as_str()), (403, "Forbidden"));
        }
        other => panic!("expected 403, got {other:?}"),
    }
    let one: Api<Secret> = Api::namespaced(client.clone(), "payments");
    assert!(
        one.get("payments-db").await.is_ok(),
        "only list is forbidden"
    );
    let cms: Api<ConfigMap> = Api::namespaced(client, "storefront");
    let meta = cms.list_metadata(&ListParams::default()).await?;
    assert_eq!(meta.items.len(), 1);
    assert_eq!(
        meta.items[0].metadata.name.as_deref(),
        Some("storefront-config")
    );
    assert_eq!(
        meta.items[0].types.as_ref().map(|t| t.kind.as_str()),
        Some("PartialObjectMetadata")
    );
    Ok(())
}
