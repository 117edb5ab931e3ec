//! `read_resource` plans a `kubectl get … -o yaml` line for the guard, then reads the object with
//! one GET through the Kubernetes API (no kubectl process): kinds resolve like kubectl's
//! (short names, `.group`, `.version.group`, cluster-scoped kinds), errors read like kubectl's,
//! and Secret values are redacted.

mod common;

use std::sync::Arc;

use common::Harness;
use kopilot_core::safety::{AuditEvent, MemoryAuditSink};
use kopilot_core::{Tool, ToolContext};
use kopilot_k8s::exec::{ExecConfig, Executor};
use kopilot_k8s::tools::{K8sTool, ToolKind};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// The tool, with kubectl pointed at a path that does not exist: any kubectl run would fail.
fn read_tool(h: &Harness) -> (K8sTool, Arc<MemoryAuditSink>) {
    let audit = Arc::new(MemoryAuditSink::default());
    let config = ExecConfig {
        kubectl: Some("/nonexistent/kubectl".into()),
        kubeconfig: Some(h.kubeconfig.clone()),
        home: Some(h.dir.path().to_owned()),
        ..ExecConfig::default()
    };
    (
        K8sTool::new(ToolKind::ReadResource, Executor::new(config, audit.clone())),
        audit,
    )
}

/// Plans, clears through the default guard, executes: the output or the error message.
async fn read(tool: &K8sTool, args: Value) -> Result<String, String> {
    let plan = tool.plan(&args).map_err(|e| e.message)?;
    let cleared = common::cleared_by_default_guard(&plan.commands);
    let ctx = ToolContext {
        task_id: "t1".into(),
        agent: "test".into(),
        call_id: "c1".into(),
        cancel: CancellationToken::new(),
    };
    tool.execute(&args, cleared, &ctx)
        .await
        .map(|out| out.content)
        .map_err(|e| e.message)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kinds_resolve_like_kubectl_and_no_process_runs() -> anyhow::Result<()> {
    let h = Harness::demo().await?;
    let (tool, audit) = read_tool(&h);
    for kind in [
        "deploy",
        "deployment",
        "Deployment",
        "deployments.apps",
        "deploy.v1.apps",
    ] {
        let yaml = read(
            &tool,
            json!({"kind": kind, "name": "web", "namespace": "storefront"}),
        )
        .await
        .map_err(anyhow::Error::msg)?;
        for line in [
            "apiVersion: apps/v1",
            "kind: Deployment",
            "  name: web",
            "  namespace: storefront",
        ] {
            assert!(
                yaml.lines().any(|l| l == line),
                "{kind}: no {line:?} in\n{yaml}"
            );
        }
        assert!(yaml.contains("replicas: 3"), "{kind}:\n{yaml}");
        assert!(!yaml.contains("managedFields"), "{kind}:\n{yaml}");
    }
    let node = read(&tool, json!({"kind": "no", "name": "shop-control-plane"}))
        .await
        .map_err(anyhow::Error::msg)?;
    assert!(node.lines().any(|l| l == "kind: Node"), "{node}");
    let pvc = read(
        &tool,
        json!({"kind": "pvc", "name": "nope", "namespace": "storefront"}),
    )
    .await;
    assert_eq!(
        pvc.unwrap_err(),
        "Error from server (NotFound): persistentvolumeclaims \"nope\" not found"
    );
    let unknown = read(
        &tool,
        json!({"kind": "gadget", "name": "x", "namespace": "storefront"}),
    )
    .await;
    assert_eq!(
        unknown.unwrap_err(),
        "error: the server doesn't have a resource type \"gadget\""
    );
    let ran = audit
        .events()
        .iter()
        .filter(|e| matches!(e, AuditEvent::Execution { .. }))
        .count();
    assert_eq!(ran, 0, "read_resource started a process");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_planned_line_is_the_equivalent_kubectl_get() -> anyhow::Result<()> {
    let h = Harness::demo().await?;
    let (tool, _) = read_tool(&h);
    let plan = tool.plan(
        &json!({"kind": "ingress.networking.k8s.io", "name": "shop", "namespace": "storefront"}),
    )?;
    assert_eq!(
        plan.commands,
        ["kubectl get ingress.networking.k8s.io shop -n storefront -o yaml"]
    );
    Ok(())
}

const CANARY: &str = "kopilot-canary-0d3e61aa";
const CANARY_B64: &str = "a29waWxvdC1jYW5hcnktMGQzZTYxYWE=";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_values_never_come_back() -> anyhow::Result<()> {
    let h = Harness::with_yaml(&format!(
        "apiVersion: v1\nkind: Namespace\nmetadata: {{name: shop}}\n---\n\
         apiVersion: v1\nkind: Secret\nmetadata: {{name: db, namespace: shop}}\ntype: Opaque\n\
         data: {{password: {CANARY_B64}}}\n---\n\
         apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: app, namespace: shop}}\n\
         data: {{DB_URL: 'postgres://app:{CANARY}@db:5432/shop'}}\n"
    ))
    .await?;
    let (tool, _) = read_tool(&h);
    let secret = read(
        &tool,
        json!({"kind": "secret", "name": "db", "namespace": "shop"}),
    )
    .await
    .map_err(anyhow::Error::msg)?;
    assert!(
        secret.contains("password: \"[REDACTED: secret data]\""),
        "{secret}"
    );
    let config = read(
        &tool,
        json!({"kind": "cm", "name": "app", "namespace": "shop"}),
    )
    .await
    .map_err(anyhow::Error::msg)?;
    assert!(config.contains("db:5432/shop"), "{config}");
    for text in [&secret, &config] {
        assert!(
            !text.contains(CANARY) && !text.contains(CANARY_B64),
            "{text}"
        );
    }
    Ok(())
}
