//! With no model, Kopilot routes by keywords, runs the chosen skills' analyzers through the
//! guarded `analyze` tool against a live cluster (the demo), and answers from the findings.

use std::sync::Arc;

use kopilot_core::safety::MemoryAuditSink;
use kopilot_core::{Kopilot, Status, TaskRequest};
use kopilot_fake::demo;
use kopilot_k8s::exec::ExecConfig;
use kopilot_k8s::tools::{K8sConfig, register};

/// Kopilot with no model and the Kubernetes tools, against the demo cluster.
struct OfflineDemo {
    kopilot: Kopilot,
    audit: Arc<MemoryAuditSink>,
    _cluster: kopilot_fake::FakeCluster,
    _dir: tempfile::TempDir,
}

impl OfflineDemo {
    async fn start() -> Self {
        let cluster = demo::builder().start().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        cluster.write_kubeconfig(&kubeconfig).unwrap();
        let config = K8sConfig {
            exec: ExecConfig {
                kubeconfig: Some(kubeconfig),
                home: Some(dir.path().to_owned()),
                ..ExecConfig::default()
            },
            enable_shell: false,
        };
        let audit = Arc::new(MemoryAuditSink::default());
        let kopilot = register(
            Kopilot::builder().audit(audit.clone()),
            &config,
            audit.clone(),
        )
        .build()
        .unwrap();
        Self {
            kopilot,
            audit,
            _cluster: cluster,
            _dir: dir,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_answer_on_the_demo_cluster_names_its_known_waste() {
    let demo = OfflineDemo::start().await;
    let (kopilot, audit) = (&demo.kopilot, &demo.audit);
    assert!(!kopilot.has_model());

    let task = kopilot.submit(TaskRequest::new(
        "Find over-provisioned deployments, idle workloads and orphaned PVCs",
    ));
    let result = task.result().await;
    assert_eq!(result.status, Status::Succeeded, "{:?}", result.error);
    assert!(
        result.answer.contains("no language model was used"),
        "{}",
        result.answer
    );
    // The demo's documented waste (kopilot-fake/demo/README.md).
    for expected in ["report-builder", "warehouse-data", "catalog"] {
        assert!(
            result.answer.contains(expected),
            "{expected} missing from:\n{}",
            result.answer
        );
    }
    assert!(
        result
            .answer
            .contains("kubectl delete pvc warehouse-data -n analytics"),
        "{}",
        result.answer
    );
    assert!(
        result.answer.contains("Estimated total monthly waste"),
        "{}",
        result.answer
    );
    assert!(
        result.findings.iter().any(|f| f.check == "cost.idle"),
        "{:?}",
        result.findings
    );
    // The snapshot's reads went through the guard and were audited as an assessment.
    assert!(audit.events().iter().any(|e| matches!(
        e,
        kopilot_core::safety::AuditEvent::Assessment { command, .. } if command.starts_with("kubectl get nodes,pods")
    )));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs kubectl"]
async fn offline_answer_to_a_crashloop_question_quotes_the_exit_and_the_log_line_that_names_the_cause()
 {
    kopilot_fake::kubectl::require_kubectl();
    let demo = OfflineDemo::start().await;
    let (kopilot, audit) = (&demo.kopilot, &demo.audit);
    let result = kopilot
        .submit(TaskRequest::new("why is cart crashlooping?"))
        .result()
        .await;
    assert_eq!(result.status, Status::Succeeded, "{:?}", result.error);
    let answer = &result.answer;
    // The workload asked about comes first, with how its container ended and the log line
    // that names the cause (kopilot-fake/demo/README.md, "Known problems").
    let asked = answer.find("### Asked about").expect(answer);
    let crash = answer
        .find("**Deployment/cart in `storefront`** `health.crashloop`")
        .expect(answer);
    assert!(asked < crash, "{answer}");
    assert!(
        answer.contains(
            "Last termination of `app` in pod `cart-zk98gxtx6z-r29gb`: Error, exit code 1"
        ),
        "{answer}"
    );
    assert!(
        answer.contains("FATAL cart: cannot start without session store"),
        "{answer}"
    );
    assert!(answer.contains("### Also noticed"), "{answer}");
    // The logs were read through the guard like any tool call.
    assert!(audit.events().iter().any(|e| matches!(
        e,
        kopilot_core::safety::AuditEvent::Assessment { command, .. }
            if command.starts_with("kubectl logs cart-zk98gxtx6z-r29gb -n storefront -c app")
    )));
}
