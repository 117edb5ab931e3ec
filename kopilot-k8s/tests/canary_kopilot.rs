//! A full Kopilot run (scripted model) reads a Secret and a pod holding a canary with the real
//! kubectl against the fake API server: the canary appears in no event, model request, result
//! or audit record.

use std::sync::Arc;

use futures::StreamExt;
use kopilot_core::llm::ScriptedModel;
use kopilot_core::safety::{ApproveAll, MemoryAuditSink};
use kopilot_core::skills::{InlineSource, Skill, SkillLoader};
use kopilot_core::{Kopilot, TaskRequest};
use kopilot_k8s::exec::ExecConfig;
use kopilot_k8s::fake::{ContainerLogs, FakeCluster};
use kopilot_k8s::tools::{K8sConfig, register};
use serde_json::json;

const CANARY: &str = "kopilot-canary-31b8f0c2";
const CANARY_B64: &str = "a29waWxvdC1jYW5hcnktMzFiOGYwYzI=";

#[tokio::test]
async fn canary_never_reaches_events_model_or_audit() {
    let on_path = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("kubectl").is_file()));
    if !on_path {
        eprintln!("skipping: kubectl is not on PATH");
        return;
    }
    let seed = format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: db, namespace: shop}}\ndata: {{password: {CANARY_B64}}}\n---\n\
         apiVersion: v1\nkind: Pod\nmetadata: {{name: web, namespace: shop}}\n\
         spec: {{containers: [{{name: app, image: 'nginx:1.27', env: [{{name: DB_PASSWORD, value: {CANARY}}}]}}]}}\n"
    );
    let cluster = FakeCluster::builder()
        .seed_yaml(seed)
        .pod_logs(
            "shop",
            "web",
            "app",
            ContainerLogs {
                current: format!("DB_PASSWORD={CANARY}\n"),
                previous: None,
            },
        )
        .start()
        .await
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    let kubeconfig = home.path().join("kubeconfig");
    cluster.write_kubeconfig(&kubeconfig).unwrap();
    let config = K8sConfig {
        exec: ExecConfig {
            kubeconfig: Some(kubeconfig),
            home: Some(home.path().to_owned()),
            ..ExecConfig::default()
        },
        enable_shell: false,
    };
    let mut skill = Skill::new(
        "ops",
        "OPS",
        "The ops specialist.",
        "You are the ops specialist.",
    );
    skill.tools = ["run_kubectl", "read_resource", "get_logs"]
        .map(str::to_owned)
        .to_vec();
    let skills = SkillLoader::new()
        .source(InlineSource::new("tests", [skill]))
        .load()
        .unwrap();
    let model = Arc::new(
        ScriptedModel::new("m")
            .then_call_tool(
                "run_kubectl",
                json!({"args": ["get", "secret", "db", "-n", "shop", "-o", "json"]}),
            )
            .then_call_tool(
                "read_resource",
                json!({"kind": "pod", "name": "web", "namespace": "shop"}),
            )
            .then_call_tool("get_logs", json!({"pod": "web", "namespace": "shop"}))
            .then_answer("Done."),
    );
    let audit = Arc::new(MemoryAuditSink::default());
    let kopilot = register(Kopilot::builder(), &config, audit.clone())
        .model(model.clone())
        .skills(skills)
        .audit(audit.clone())
        .approver(Arc::new(ApproveAll::new("bob")))
        .build()
        .unwrap();
    let task = kopilot.submit(TaskRequest::new("read the db secret").skill("ops"));
    let result = task.result().await;
    let events: Vec<_> = task.events().collect().await;
    let tool_results = model
        .requests()
        .iter()
        .map(|r| format!("{:?}", r.messages))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        tool_results.contains("REDACTED"),
        "the reads reached the model: {tool_results}"
    );
    for (what, text) in [
        ("events", serde_json::to_string(&events).unwrap()),
        ("result", serde_json::to_string(&result).unwrap()),
        ("model requests", tool_results),
        ("audit", serde_json::to_string(&audit.events()).unwrap()),
    ] {
        assert!(
            !text.contains(CANARY) && !text.contains(CANARY_B64),
            "{what} leaked the canary"
        );
    }
    cluster.stop().await;
}
