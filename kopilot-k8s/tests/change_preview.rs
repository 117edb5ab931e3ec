//! The change preview for a command waiting for approval, with the real kubectl against the fake
//! API server: it shows what would change, changes nothing itself, previews only single kubectl
//! mutations, runs only what the guard clears as low risk, and never shows a secret value.

mod common;

use std::sync::Arc;

use common::Harness;
use kopilot_core::safety::{AuditEvent, Guard, MemoryAuditSink, Policy};
use kopilot_k8s::exec::{ExecConfig, Executor};
use kopilot_k8s::preview::{ChangeAction, ChangePreview, preview};

/// An executor for the harness's cluster, auditing to the returned sink.
fn executor(h: &Harness) -> (Executor, Arc<MemoryAuditSink>) {
    let audit = Arc::new(MemoryAuditSink::default());
    let config = ExecConfig {
        kubeconfig: Some(h.kubeconfig.clone()),
        home: Some(h.dir.path().to_owned()),
        ..ExecConfig::default()
    };
    (Executor::new(config, audit.clone()), audit)
}

/// The command lines executed, as audited.
fn executions(audit: &MemoryAuditSink) -> Vec<String> {
    audit
        .events()
        .into_iter()
        .filter_map(|e| match e {
            AuditEvent::Execution { argv, .. } => Some(
                argv.iter()
                    .map(|stage| stage.join(" "))
                    .collect::<Vec<_>>()
                    .join(" | "),
            ),
            _ => None,
        })
        .collect()
}

async fn previewed(h: &Harness, line: &str) -> anyhow::Result<ChangePreview> {
    let (exec, _) = executor(h);
    let guard = Guard::new(Policy::default());
    preview(&exec, &guard, line)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no preview for {line}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs kubectl"]
async fn scale_shows_the_replica_change_and_changes_nothing() -> anyhow::Result<()> {
    common::require_kubectl();
    let h = Harness::demo().await?;
    let before = h.cluster.get("apps/v1", "Deployment", "storefront", "web");
    let rv = h.cluster.resource_version();
    let p = previewed(&h, "kubectl scale deploy/web -n storefront --replicas=5").await?;
    assert_eq!(p.failure, None, "{p}");
    let [change] = p.changes.as_slice() else {
        panic!("one object expected:\n{p}");
    };
    assert_eq!(
        (
            change.kind.as_str(),
            change.name.as_str(),
            change.namespace.as_deref()
        ),
        ("Deployment", "web", Some("storefront"))
    );
    assert_eq!(change.action, ChangeAction::Update);
    let changed: Vec<&str> = change
        .diff
        .lines()
        .filter(|l| l.starts_with(['-', '+']))
        .collect();
    assert_eq!(changed, ["-  replicas: 3", "+  replicas: 5"], "{p}");
    assert!(change.diff.starts_with("@@ -"), "{p}");
    assert!(
        !change.diff.contains("resourceVersion") && !change.diff.contains("status:"),
        "noisy fields are left out:\n{p}"
    );
    assert!(
        p.ran
            .first()
            .is_some_and(|l| l.ends_with("--replicas=5 --dry-run=server -o yaml")),
        "{:?}",
        p.ran
    );
    assert!(
        p.to_string()
            .contains("update Deployment web -n storefront")
    );
    assert_eq!(
        h.cluster.resource_version(),
        rv,
        "the preview stored nothing"
    );
    assert_eq!(
        h.cluster.get("apps/v1", "Deployment", "storefront", "web"),
        before
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs kubectl"]
async fn delete_says_what_would_go_and_everything_stays() -> anyhow::Result<()> {
    common::require_kubectl();
    let h = Harness::demo().await?;
    let rv = h.cluster.resource_version();
    let p = previewed(&h, "kubectl delete deployment web cart -n storefront").await?;
    assert_eq!(p.failure, None, "{p}");
    let gone: Vec<(&str, &str, ChangeAction)> = p
        .changes
        .iter()
        .map(|c| (c.kind.as_str(), c.name.as_str(), c.action))
        .collect();
    assert_eq!(
        gone,
        [
            ("Deployment", "web", ChangeAction::Delete),
            ("Deployment", "cart", ChangeAction::Delete)
        ],
        "{p}"
    );
    for change in &p.changes {
        let body: Vec<&str> = change.diff.lines().skip(1).collect();
        assert!(
            !body.is_empty() && body.iter().all(|l| l.starts_with('-')),
            "{p}"
        );
        assert!(body.contains(&"-kind: Deployment"), "{p}");
    }
    assert!(
        p.to_string()
            .contains("delete Deployment cart -n storefront")
    );
    assert_eq!(
        h.cluster.resource_version(),
        rv,
        "the preview deleted nothing"
    );
    for name in ["web", "cart"] {
        assert!(
            h.cluster
                .get("apps/v1", "Deployment", "storefront", name)
                .is_some()
        );
    }
    // A label selector and extra delete-only flags work the same way.
    let p = previewed(
        &h,
        "kubectl delete pods -l app=web -n storefront --grace-period 0 --wait=false",
    )
    .await?;
    assert_eq!(p.changes.len(), 3, "{p}");
    assert!(
        p.changes
            .iter()
            .all(|c| c.kind == "Pod" && c.action == ChangeAction::Delete)
    );
    assert_eq!(h.cluster.resource_version(), rv);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs kubectl"]
async fn create_shows_the_whole_object_as_added() -> anyhow::Result<()> {
    common::require_kubectl();
    let h = Harness::demo().await?;
    let p = previewed(
        &h,
        "kubectl create configmap feature-flags -n storefront --from-literal=checkout=v2",
    )
    .await?;
    let [change] = p.changes.as_slice() else {
        panic!("one object expected:\n{p}");
    };
    assert_eq!(change.action, ChangeAction::Create);
    let body: Vec<&str> = change.diff.lines().skip(1).collect();
    assert!(body.iter().all(|l| l.starts_with('+')), "{p}");
    assert!(body.contains(&"+  checkout: v2"), "{p}");
    assert!(
        h.cluster
            .get("v1", "ConfigMap", "storefront", "feature-flags")
            .is_none()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs kubectl"]
async fn rollout_restart_shows_the_annotation_it_sets() -> anyhow::Result<()> {
    common::require_kubectl();
    let h = Harness::demo().await?;
    let rv = h.cluster.resource_version();
    let p = previewed(&h, "kubectl rollout restart deploy/web -n storefront").await?;
    let [change] = p.changes.as_slice() else {
        panic!("one object expected:\n{p}");
    };
    assert_eq!(change.action, ChangeAction::Update);
    assert!(
        change
            .diff
            .lines()
            .any(|l| l.starts_with("+        kubectl.kubernetes.io/restartedAt: ")),
        "{p}"
    );
    assert!(p.notes.iter().any(|n| n.contains("no dry run")), "{p}");
    assert_eq!(h.cluster.resource_version(), rv);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs kubectl"]
async fn a_rejected_dry_run_says_why() -> anyhow::Result<()> {
    common::require_kubectl();
    let h = Harness::demo().await?;
    let p = previewed(
        &h,
        "kubectl scale deploy/no-such-app -n storefront --replicas=2",
    )
    .await?;
    assert!(p.changes.is_empty());
    let failure = p.failure.clone().unwrap_or_default();
    assert!(failure.contains("not found"), "{p}");
    assert!(p.to_string().contains("rejected the dry run"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs kubectl"]
async fn only_single_kubectl_mutations_are_previewed() -> anyhow::Result<()> {
    common::require_kubectl();
    let h = Harness::demo().await?;
    let (exec, audit) = executor(&h);
    let guard = Guard::new(Policy::default());
    for line in [
        "kubectl get pods -n storefront",
        "kubectl scale deploy/web -n storefront --replicas=5 | tee /tmp/out",
        "kubectl get pods -n storefront | grep web",
        "helm upgrade web ./chart -n storefront",
        "helm list -A",
        "kubectl edit deploy web -n storefront",
        "kubectl scale deploy/web -n storefront --replicas=5; kubectl get pods",
        "sh -c 'kubectl scale deploy/web -n storefront --replicas=5'",
        "kubectl scale deploy/web -n storefront --replicas=5 --dry-run=server",
        "kubectl delete ns kube-system",
        "kubectl apply -f /tmp/x.yaml --prune -l app=web -n storefront",
        "kubectl exec web -n storefront -- env",
        // Only the configured kubectl runs a preview, never a binary the line points at.
        "/tmp/kubectl scale deploy/web -n storefront --replicas=5",
        "./kubectl delete deploy web -n storefront",
    ] {
        let got = preview(&exec, &guard, line).await?;
        assert!(got.is_none(), "{line} gave a preview:\n{got:?}");
    }
    assert_eq!(executions(&audit), Vec::<String>::new(), "nothing ran");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs kubectl"]
async fn nothing_runs_that_the_guard_does_not_clear() -> anyhow::Result<()> {
    common::require_kubectl();
    let h = Harness::demo().await?;
    let (exec, audit) = executor(&h);
    let line = "kubectl scale deploy/web -n storefront --replicas=5";
    // The dry run is cleared but reading the current object is not: no preview, and the read
    // never ran.
    let guard = Guard::new(Policy::builder().hard_block("kubectl get").build()?);
    assert!(preview(&exec, &guard, line).await?.is_none());
    let ran = executions(&audit);
    assert_eq!(ran.len(), 1, "{ran:?}");
    assert!(
        ran.iter().all(|l| l.contains("--dry-run=server")),
        "{ran:?}"
    );
    Ok(())
}

const CANARY_B64: &str = "a29waWxvdC1jYW5hcnktNWUwYjc3ZDE="; // kopilot-canary-5e0b77d1
const NEW_CANARY_B64: &str = "a29waWxvdC1uZXctY2FuYXJ5LWQ0ZjE="; // kopilot-new-canary-d4f1

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs kubectl"]
async fn a_secret_patch_shows_the_change_but_no_value() -> anyhow::Result<()> {
    common::require_kubectl();
    let h = Harness::with_yaml(&format!(
        "apiVersion: v1\nkind: Namespace\nmetadata: {{name: shop}}\n---\n\
         apiVersion: v1\nkind: Secret\nmetadata: {{name: db, namespace: shop}}\ntype: Opaque\n\
         data: {{password: {CANARY_B64}, user: YXBw}}\n"
    ))
    .await?;
    let line = format!(
        "kubectl patch secret db -n shop --type=merge -p '{{\"data\":{{\"password\":\"{NEW_CANARY_B64}\"}}}}'"
    );
    let p = previewed(&h, &line).await?;
    let [change] = p.changes.as_slice() else {
        panic!("one object expected:\n{p}");
    };
    assert_eq!(change.action, ChangeAction::Update, "{p}");
    let changed: Vec<&str> = change
        .diff
        .lines()
        .filter(|l| l.starts_with(['-', '+']))
        .collect();
    assert_eq!(
        changed,
        [
            "-  password: [REDACTED: secret data]",
            "+  password: [REDACTED: secret data]"
        ],
        "{p}"
    );
    let everything = format!("{p}\n{p:?}");
    for value in [
        CANARY_B64,
        NEW_CANARY_B64,
        "kopilot-canary-5e0b77d1",
        "kopilot-new-canary-d4f1",
    ] {
        assert!(
            !everything.contains(value),
            "the preview shows {value}:\n{everything}"
        );
    }
    let stored = h
        .cluster
        .get("v1", "Secret", "shop", "db")
        .unwrap_or_default();
    assert_eq!(
        stored["data"]["password"], CANARY_B64,
        "the patch was not applied"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs kubectl"]
async fn a_flag_kubectl_gives_a_value_does_not_swallow_the_dry_run() -> anyhow::Result<()> {
    common::require_kubectl();
    let h = Harness::demo().await?;
    let rv = h.cluster.resource_version();
    let before = h.cluster.get("apps/v1", "Deployment", "storefront", "web");
    // `--prefix` takes a value in kubectl, not in the guard's table: an appended
    // `--dry-run=server` would be its value, and the change would be made before approval.
    let line = "kubectl set env deploy/web -n storefront KOPILOT_PREVIEW=1 --prefix";
    let (exec, audit) = executor(&h);
    let guard = Guard::new(Policy::default());
    let p = preview(&exec, &guard, line).await?;
    assert_eq!(
        h.cluster.resource_version(),
        rv,
        "the preview changed {p:?}"
    );
    assert_eq!(
        h.cluster.get("apps/v1", "Deployment", "storefront", "web"),
        before
    );
    let ran = executions(&audit);
    assert!(
        ran.first()
            .is_some_and(|l| l.contains(" set env --dry-run=server -o yaml deploy/web")),
        "{ran:?}"
    );
    Ok(())
}
