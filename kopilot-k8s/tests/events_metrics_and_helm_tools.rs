//! `get_events`, `get_metrics` and `run_helm` end to end: planned, cleared by the default guard,
//! run by the executor. Events and metrics use the real kubectl against the demo cluster; helm
//! is a stand-in script first on the executor's search path (helm is not installed on the
//! development machines), except for one test that needs the real helm.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

use common::Harness;
use kopilot_core::safety::{Guard, MemoryAuditSink, Policy, RequestContext, Verdict};
use kopilot_core::{Tool, ToolContext};
use kopilot_k8s::exec::{ExecConfig, Executor};
use kopilot_k8s::tools::{K8sTool, ToolKind};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

fn exec_config(h: &Harness) -> ExecConfig {
    ExecConfig {
        kubeconfig: Some(h.kubeconfig.clone()),
        home: Some(h.dir.path().to_owned()),
        ..ExecConfig::default()
    }
}

fn ctx() -> ToolContext {
    ToolContext {
        task_id: "t1".into(),
        agent: "test".into(),
        call_id: "c1".into(),
        cancel: CancellationToken::new(),
    }
}

/// Plans, clears through the default guard (panics unless allowed), executes.
async fn call(kind: ToolKind, config: ExecConfig, args: Value) -> Result<String, String> {
    let tool = K8sTool::new(
        kind,
        Executor::new(config, Arc::new(MemoryAuditSink::default())),
    );
    let plan = tool.plan(&args).map_err(|e| e.message)?;
    let cleared = common::cleared_by_default_guard(&plan.commands);
    tool.execute(&args, cleared, &ctx())
        .await
        .map(|out| out.content)
        .map_err(|e| e.message)
}

/// The words of the first line (a kubectl table's column headers).
fn header_words(text: &str) -> Vec<&str> {
    text.lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect()
}

/// The first line containing `needle`, by position.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line contains {needle:?} in:\n{text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs kubectl"]
async fn get_events_lists_a_namespace_newest_last() -> anyhow::Result<()> {
    common::require_kubectl();
    let h = Harness::demo().await?;
    let out = call(
        ToolKind::GetEvents,
        exec_config(&h),
        json!({"namespace": "storefront"}),
    )
    .await
    .map_err(anyhow::Error::msg)?;
    let header = header_words(&out);
    assert_eq!(
        header,
        ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
        "{out}"
    );
    // Seeded lastTimestamps: the endpoint warning is a day old, the image pull back-off minutes.
    assert!(
        line_of(&out, "FailedToUpdateEndpoint") < line_of(&out, "Back-off pulling image"),
        "{out}"
    );
    assert!(!out.contains("payments"), "only storefront events:\n{out}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs kubectl"]
async fn get_events_about_one_object_in_every_namespace() -> anyhow::Result<()> {
    common::require_kubectl();
    let h = Harness::demo().await?;
    let out = call(
        ToolKind::GetEvents,
        exec_config(&h),
        json!({"object": "pod/cart-zk98gxtx6z-r29gb"}),
    )
    .await
    .map_err(anyhow::Error::msg)?;
    let mut lines = out.lines();
    assert!(
        lines.next().is_some_and(|h| h.starts_with("NAMESPACE")),
        "{out}"
    );
    let rows: Vec<&str> = lines.collect();
    assert!(rows.len() >= 2, "{out}");
    assert!(
        rows.iter()
            .all(|r| r.starts_with("storefront") && r.contains("pod/cart-zk98gxtx6z-r29gb")),
        "{out}"
    );
    assert!(
        out.contains("BackOff") && out.contains("Unhealthy"),
        "{out}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs kubectl"]
async fn get_metrics_shows_pod_usage_in_one_or_all_namespaces() -> anyhow::Result<()> {
    common::require_kubectl();
    let h = Harness::demo().await?;
    let out = call(
        ToolKind::GetMetrics,
        exec_config(&h),
        json!({"namespace": "storefront"}),
    )
    .await
    .map_err(anyhow::Error::msg)?;
    let header = header_words(&out);
    assert_eq!(header, ["NAME", "CPU(cores)", "MEMORY(bytes)"], "{out}");
    let row: Vec<&str> = out
        .lines()
        .nth(line_of(&out, "web-nh2k2jmdfr-l4ljm"))
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(row, ["web-nh2k2jmdfr-l4ljm", "61m", "97Mi"], "{out}");
    let all = call(ToolKind::GetMetrics, exec_config(&h), json!({}))
        .await
        .map_err(anyhow::Error::msg)?;
    assert!(all.starts_with("NAMESPACE"), "{all}");
    let namespaces: std::collections::BTreeSet<&str> = all
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(
        namespaces.contains("storefront") && namespaces.contains("payments"),
        "{all}"
    );
    Ok(())
}

/// A stand-in `helm`: prints its argv and `KUBECONFIG`, then what the real helm would print for
/// `list` or `get values`.
const FAKE_HELM: &str = r#"#!/bin/sh
echo "argv: $*"
echo "kubeconfig: $KUBECONFIG"
for word in "$@"; do
  case "$word" in
    list)
      printf 'NAME\tNAMESPACE\tREVISION\tUPDATED\tSTATUS\tCHART\tAPP VERSION\n'
      printf 'shop\tstorefront\t3\t2026-11-20 10:00:00.000000 +0000 UTC\tdeployed\tshop-1.4.0\t1.4.0\n'
      printf 'ledger\tpayments\t12\t2026-11-21 08:30:00.000000 +0000 UTC\tfailed\tledger-0.9.2\t0.9.2\n'
      exit 0 ;;
    values)
      printf 'USER-SUPPLIED VALUES:\nreplicas: 2\ndbPassword: helm-canary-8812\n'
      exit 0 ;;
  esac
done
echo "Error: unknown command" >&2
exit 1
"#;

fn helm_config(h: &Harness, context: Option<&str>) -> anyhow::Result<ExecConfig> {
    let bin = h.dir.path().join("bin");
    std::fs::create_dir_all(&bin)?;
    let helm = bin.join("helm");
    std::fs::write(&helm, FAKE_HELM)?;
    std::fs::set_permissions(&helm, std::fs::Permissions::from_mode(0o755))?;
    let path = std::env::join_paths([bin.as_path(), "/usr/bin".as_ref(), "/bin".as_ref()])?;
    Ok(ExecConfig {
        search_path: Some(path),
        context: context.map(str::to_owned),
        ..exec_config(h)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_helm_runs_the_configured_helm_with_kopilots_cluster() -> anyhow::Result<()> {
    let h = Harness::demo().await?;
    let out = call(
        ToolKind::RunHelm,
        helm_config(&h, Some("demo"))?,
        json!({"args": ["list", "-A"]}),
    )
    .await
    .map_err(anyhow::Error::msg)?;
    let mut lines = out.lines();
    assert_eq!(
        lines.next(),
        Some("argv: --kube-context demo list -A"),
        "{out}"
    );
    assert_eq!(
        lines.next().map(str::to_owned),
        Some(format!("kubeconfig: {}", h.kubeconfig.display()))
    );
    assert!(
        lines
            .next()
            .is_some_and(|l| l.starts_with("NAME\tNAMESPACE\tREVISION")),
        "{out}"
    );
    assert!(out.contains("ledger\tpayments\t12"), "{out}");
    // One string is split like a shell would, and a leading `helm` is dropped.
    let out = call(
        ToolKind::RunHelm,
        helm_config(&h, None)?,
        json!({"args": "helm list -n storefront"}),
    )
    .await
    .map_err(anyhow::Error::msg)?;
    assert!(out.starts_with("argv: list -n storefront\n"), "{out}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_helm_output_is_redacted_and_failures_are_reported() -> anyhow::Result<()> {
    let h = Harness::demo().await?;
    let out = call(
        ToolKind::RunHelm,
        helm_config(&h, None)?,
        json!({"args": ["get", "values", "shop", "-n", "storefront"]}),
    )
    .await
    .map_err(anyhow::Error::msg)?;
    assert!(out.contains("replicas: 2"), "{out}");
    assert!(out.contains("dbPassword: [REDACTED"), "{out}");
    assert!(!out.contains("helm-canary-8812"), "{out}");
    let out = call(
        ToolKind::RunHelm,
        helm_config(&h, None)?,
        json!({"args": ["status", "shop", "-n", "storefront"]}),
    )
    .await
    .map_err(anyhow::Error::msg)?;
    assert!(
        out.contains("[stderr]\nError: unknown command") && out.contains("[exit code 1]"),
        "{out}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_helm_says_when_helm_is_missing_and_leaves_changes_to_approval() -> anyhow::Result<()> {
    let h = Harness::demo().await?;
    let empty = tempfile::tempdir()?;
    let config = ExecConfig {
        search_path: Some(empty.path().as_os_str().to_owned()),
        ..exec_config(&h)
    };
    let err = call(ToolKind::RunHelm, config, json!({"args": ["list", "-A"]}))
        .await
        .unwrap_err();
    assert!(err.contains("program \"helm\" not found"), "{err}");
    let tool = K8sTool::new(
        ToolKind::RunHelm,
        Executor::new(exec_config(&h), Arc::new(MemoryAuditSink::default())),
    );
    let plan = tool.plan(&json!({"args": ["uninstall", "shop", "-n", "storefront"]}))?;
    let guard = Guard::new(Policy::default());
    for line in &plan.commands {
        assert!(
            matches!(
                guard.check(
                    line,
                    &RequestContext::new(kopilot_core::safety::Identity::new("test"))
                ),
                Verdict::NeedsApproval(_)
            ),
            "{line}"
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs helm"]
async fn run_helm_list_with_the_real_helm_against_the_fake() -> anyhow::Result<()> {
    let h = Harness::demo().await?;
    let out = call(
        ToolKind::RunHelm,
        exec_config(&h),
        json!({"args": ["list", "-A"]}),
    )
    .await
    .map_err(anyhow::Error::msg)?;
    assert!(out.starts_with("NAME"), "{out}");
    Ok(())
}
