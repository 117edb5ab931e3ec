//! `read_resource` and `analyze` read the cluster through the in-process client; given a
//! `KUBECONFIG`-style list (as `kopilot ask` passes on `KUBECONFIG=a:b`), they merge it as
//! kubectl does, a missing file skipped, and reach the cluster of the merged current context.

mod common;

use std::sync::Arc;

use common::Harness;
use kopilot_core::safety::MemoryAuditSink;
use kopilot_core::{Tool, ToolContext};
use kopilot_k8s::exec::{ExecConfig, Executor};
use kopilot_k8s::tools::{AnalyzeTool, K8sTool, ToolKind};
use serde_json::json;
use tokio_util::sync::CancellationToken;

fn ctx() -> ToolContext {
    ToolContext {
        task_id: "t1".into(),
        agent: "test".into(),
        call_id: "c1".into(),
        cancel: CancellationToken::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kubeconfig_list_with_a_missing_file_reaches_the_merged_current_context()
-> anyhow::Result<()> {
    let h = Harness::demo().await?;
    // First a file with another context and no current-context, then one that is not there,
    // then the demo cluster's (whose current context is the demo's).
    let other = h.file(
        "other.yaml",
        "apiVersion: v1\nkind: Config\n\
         clusters:\n- name: elsewhere\n  cluster:\n    server: http://127.0.0.1:9\n\
         contexts:\n- name: elsewhere\n  context: {cluster: elsewhere}\n",
    )?;
    let missing = h.dir.path().join("missing.yaml");
    let list = std::env::join_paths([
        std::path::Path::new(&other),
        missing.as_path(),
        h.kubeconfig.as_path(),
    ])?;
    let config = ExecConfig {
        kubectl: Some("/nonexistent/kubectl".into()),
        kubeconfig: Some(list.clone().into()),
        home: Some(h.dir.path().to_owned()),
        ..ExecConfig::default()
    };
    let tool = K8sTool::new(
        ToolKind::ReadResource,
        Executor::new(config, Arc::new(MemoryAuditSink::default())),
    );
    let args = json!({"kind": "deploy", "name": "web", "namespace": "storefront"});
    let plan = tool.plan(&args).map_err(|e| anyhow::anyhow!(e.message))?;
    let cleared = common::cleared_by_default_guard(&plan.commands);
    let yaml = tool
        .execute(&args, cleared, &ctx())
        .await
        .map_err(|e| anyhow::anyhow!(e.message))?
        .content;
    assert!(yaml.contains("kind: Deployment"), "{yaml}");

    let analyze = AnalyzeTool::new(Some(list.into()), None);
    let args = json!({});
    let plan = analyze
        .plan(&args)
        .map_err(|e| anyhow::anyhow!(e.message))?;
    let cleared = common::cleared_by_default_guard(&plan.commands);
    let report = analyze
        .execute(&args, cleared, &ctx())
        .await
        .map_err(|e| anyhow::anyhow!(e.message))?
        .content;
    assert!(report.contains("warehouse-data"), "{report}");
    Ok(())
}
