use std::sync::Arc;

use kopilot_core::safety::{AuditEvent, Guard, MemoryAuditSink, Policy, RequestContext, Verdict};
use kopilot_core::{Tool, ToolContext};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::*;
use kopilot_fake::{ContainerLogs, FakeCluster};

const CANARY: &str = "kopilot-canary-7c1d9e5a";
/// base64 of [`CANARY`].
const CANARY_B64: &str = "a29waWxvdC1jYW5hcnktN2MxZDllNWE=";

fn tool(kind: ToolKind, exec: ExecConfig) -> (K8sTool, Arc<MemoryAuditSink>) {
    let audit = Arc::new(MemoryAuditSink::default());
    (
        K8sTool::new(kind, Executor::new(exec, audit.clone())),
        audit,
    )
}

fn ctx() -> ToolContext {
    ToolContext {
        task_id: "t1".into(),
        agent: "test".into(),
        call_id: "c1".into(),
        cancel: CancellationToken::new(),
    }
}

fn planned(kind: ToolKind, args: &Value) -> Result<String, ToolError> {
    let (tool, _) = tool(kind, ExecConfig::default());
    tool.plan(args).map(|plan| plan.commands.join("\n"))
}

#[test]
fn plans_are_kubectl_lines() {
    assert_eq!(
        planned(
            ToolKind::RunKubectl,
            &json!({"args": ["get", "pods", "-l", "app in (a,b)"]})
        )
        .unwrap(),
        "kubectl get pods -l 'app in (a,b)'"
    );
    assert_eq!(
        planned(
            ToolKind::RunKubectl,
            &json!({"args": "kubectl get pods -n 'my ns'"})
        )
        .unwrap(),
        "kubectl get pods -n 'my ns'"
    );
    assert_eq!(
        planned(ToolKind::RunHelm, &json!({"args": ["list", "-A"]})).unwrap(),
        "helm list -A"
    );
    assert_eq!(
        planned(ToolKind::GetLogs, &json!({"pod": "web-1", "namespace": "shop", "container": "app", "since": "10m", "previous": true})).unwrap(),
        "kubectl logs web-1 -n shop -c app --tail=200 --since=10m --previous"
    );
    assert_eq!(
        planned(ToolKind::GetEvents, &json!({"object": "deployment/web"})).unwrap(),
        "kubectl get events --all-namespaces --field-selector=involvedObject.name=web --sort-by=.lastTimestamp"
    );
    assert_eq!(
        planned(
            ToolKind::ReadResource,
            &json!({"kind": "deployment", "name": "web", "namespace": "shop"})
        )
        .unwrap(),
        "kubectl get deployment web -n shop -o yaml"
    );
    assert_eq!(
        planned(ToolKind::GetMetrics, &json!({"namespace": "shop"})).unwrap(),
        "kubectl top pods -n shop"
    );
    assert_eq!(
        planned(
            ToolKind::RunShell,
            &json!({"command": "kubectl get pods | wc -l"})
        )
        .unwrap(),
        "kubectl get pods | wc -l"
    );
}

#[test]
fn plans_refuse_connection_flags_shell_syntax_and_flag_injection() {
    for args in [
        json!({"args": ["get", "pods", "--kubeconfig=/tmp/k"]}),
        json!({"args": ["--context", "prod", "get", "pods"]}),
        json!({"args": "get pods -s https://evil:6443"}),
        json!({"args": ["get", "pods", "--token", "x"]}),
        json!({"args": ["get", "pods", "--as=admin"]}),
    ] {
        let err = planned(ToolKind::RunKubectl, &args).unwrap_err();
        assert!(
            err.message.contains("Kopilot's configuration"),
            "{args}: {}",
            err.message
        );
    }
    let err = planned(
        ToolKind::RunKubectl,
        &json!({"args": "get pods | grep web"}),
    )
    .unwrap_err();
    assert!(err.message.contains("shell syntax"), "{}", err.message);
    let err = planned(ToolKind::RunKubectl, &json!({"args": "get pods; rm -rf /"})).unwrap_err();
    assert!(err.message.contains("shell syntax"));
    let err = planned(
        ToolKind::GetLogs,
        &json!({"pod": "--kubeconfig=/x", "namespace": "shop"}),
    )
    .unwrap_err();
    assert!(
        err.message.contains("not a valid Kubernetes name"),
        "{}",
        err.message
    );
    let err = planned(
        ToolKind::GetLogs,
        &json!({"pod": "web", "namespace": "shop", "since": "yesterday"}),
    )
    .unwrap_err();
    assert!(err.message.contains("duration"));
    let err = planned(
        ToolKind::RunHelm,
        &json!({"args": ["list", "--kube-context=prod"]}),
    )
    .unwrap_err();
    assert!(err.message.contains("--kube-context"));
    assert!(planned(ToolKind::RunKubectl, &json!({"args": []})).is_err());
}

#[test]
fn shell_tool_only_when_enabled() {
    let names = |config: &K8sConfig| -> Vec<String> {
        tools(config, Arc::new(MemoryAuditSink::default()))
            .iter()
            .map(|t| t.name().to_owned())
            .collect()
    };
    let off = names(&K8sConfig::default());
    assert_eq!(
        off,
        [
            "run_kubectl",
            "run_helm",
            "get_logs",
            "get_events",
            "read_resource",
            "get_metrics",
            "analyze"
        ]
    );
    let on = names(&K8sConfig {
        enable_shell: true,
        ..K8sConfig::default()
    });
    assert!(on.contains(&"run_shell".to_owned()));
    for tool in tools(&K8sConfig::default(), Arc::new(MemoryAuditSink::default())) {
        assert_eq!(tool.parameters()["type"], "object", "{}", tool.name());
        assert!(tool.description().len() > 40);
    }
}

/// Fails the test, saying why, when kubectl is not on PATH; the tests that call it are
/// `#[ignore = "needs kubectl"]` (`.ci/run` runs them).
#[track_caller]
fn require_kubectl() {
    assert!(
        std::env::var_os("PATH").is_some_and(
            |path| std::env::split_paths(&path).any(|dir| dir.join("kubectl").is_file())
        ),
        "kubectl is not on PATH: this test runs the real kubectl against the fake API server. \
         Install kubectl, or leave out the ignored tests (no --run-ignored / --ignored)"
    );
}

fn canary_seed() -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: db, namespace: shop}}\ntype: Opaque\ndata: {{password: {CANARY_B64}}}\n---\n\
         apiVersion: v1\nkind: Pod\nmetadata: {{name: web, namespace: shop}}\n\
         spec: {{containers: [{{name: app, image: 'nginx:1.27', env: [{{name: DB_PASSWORD, value: {CANARY}}}, {{name: API_TOKEN, value: {CANARY}}}]}}]}}\n"
    )
}

async fn run_tool(tool: &K8sTool, guard: &Guard, args: Value) -> String {
    let plan = tool.plan(&args).unwrap();
    let mut cleared = Vec::new();
    for line in &plan.commands {
        match guard.check(
            line,
            &RequestContext::new(kopilot_core::safety::Identity::new("test")),
        ) {
            Verdict::Allowed(command) => cleared.push(command),
            other => panic!("{line} was not allowed: {other:?}"),
        }
    }
    match tool.execute(&args, cleared, &ctx()).await {
        Ok(output) => output.content,
        Err(error) => error.message,
    }
}

#[tokio::test]
#[ignore = "needs kubectl"]
async fn canary_never_reaches_tool_output_or_audit() {
    require_kubectl();
    let cluster = FakeCluster::builder()
        .seed_yaml(canary_seed())
        .pod_logs("shop", "web", "app", ContainerLogs {
            current: format!("boot: DB_PASSWORD={CANARY}\nconnecting to postgres://app:{CANARY}@db:5432/shop\nready\n"),
            previous: None,
        })
        .start()
        .await
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    let kubeconfig = home.path().join("kubeconfig");
    cluster.write_kubeconfig(&kubeconfig).unwrap();
    let exec = ExecConfig {
        kubeconfig: Some(kubeconfig),
        home: Some(home.path().to_owned()),
        ..ExecConfig::default()
    };
    let audit = Arc::new(MemoryAuditSink::default());
    let executor = Executor::new(exec, audit.clone());
    let guard = Guard::new(Policy::default()).with_audit(audit.clone());
    let kubectl = K8sTool::new(ToolKind::RunKubectl, executor.clone());
    let mut outputs = Vec::new();
    for args in [
        json!({"args": ["get", "secret", "db", "-n", "shop", "-o", "yaml"]}),
        json!({"args": ["get", "secret", "db", "-n", "shop", "-o", "json"]}),
        json!({"args": ["get", "secrets", "-n", "shop", "-o", "yaml"]}),
        json!({"args": ["describe", "secret", "db", "-n", "shop"]}),
        json!({"args": ["get", "pod", "web", "-n", "shop", "-o", "yaml"]}),
        json!({"args": ["get", "pod", "web", "-n", "shop", "-o", "json"]}),
        json!({"args": ["describe", "pod", "web", "-n", "shop"]}),
    ] {
        outputs.push((args.to_string(), run_tool(&kubectl, &guard, args).await));
    }
    let read = K8sTool::new(ToolKind::ReadResource, executor.clone());
    for args in [
        json!({"kind": "secret", "name": "db", "namespace": "shop"}),
        json!({"kind": "pod", "name": "web", "namespace": "shop"}),
    ] {
        outputs.push((args.to_string(), run_tool(&read, &guard, args).await));
    }
    let logs = K8sTool::new(ToolKind::GetLogs, executor.clone());
    outputs.push((
        "logs".into(),
        run_tool(&logs, &guard, json!({"pod": "web", "namespace": "shop"})).await,
    ));
    for (what, output) in &outputs {
        assert!(
            !output.contains(CANARY) && !output.contains(CANARY_B64),
            "{what} leaked the canary:\n{output}"
        );
    }
    // The reads really happened: objects and logs are there, minus the secret values.
    let (_, secret_yaml) = outputs.first().unwrap();
    assert!(
        secret_yaml.contains("name: db") && secret_yaml.contains("[REDACTED: secret data]"),
        "{secret_yaml}"
    );
    assert!(
        outputs.last().unwrap().1.contains("ready"),
        "{:?}",
        outputs.last()
    );
    let records = serde_json::to_string(&audit.events()).unwrap();
    assert!(
        audit
            .events()
            .iter()
            .any(|e| matches!(e, AuditEvent::Execution { .. }))
    );
    assert!(
        !records.contains(CANARY) && !records.contains(CANARY_B64),
        "audit leaked the canary"
    );
    cluster.stop().await;
}

#[test]
fn how_a_command_ended_is_said_in_fields() {
    assert_eq!(exit_of(Ending::Exited(0)), Exit::Exited { code: 0 });
    assert_eq!(exit_of(Ending::Exited(2)), Exit::Exited { code: 2 });
    assert_eq!(exit_of(Ending::TimedOut), Exit::TimedOut);
    assert_eq!(exit_of(Ending::Signalled), Exit::Signalled);
    assert_eq!(exit_of(Ending::Cancelled), Exit::Cancelled);
    assert_eq!(
        first_line("\n  Error from server (NotFound): x\nmore\n", "table"),
        "Error from server (NotFound): x"
    );
    assert_eq!(first_line("", "\nonly stdout\n"), "only stdout");
    assert_eq!(first_line(" \n", ""), "");
}

#[tokio::test]
#[ignore = "needs kubectl"]
async fn a_failing_command_reports_its_exit_and_first_error_line() {
    require_kubectl();
    let cluster = FakeCluster::builder()
        .seed_yaml(canary_seed())
        .start()
        .await
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    let kubeconfig = home.path().join("kubeconfig");
    cluster.write_kubeconfig(&kubeconfig).unwrap();
    let exec = ExecConfig {
        kubeconfig: Some(kubeconfig),
        home: Some(home.path().to_owned()),
        ..ExecConfig::default()
    };
    let (kubectl, _) = tool(ToolKind::RunKubectl, exec);
    let guard = Guard::new(Policy::default());
    let run = |args: Value| {
        let plan = kubectl.plan(&args).unwrap();
        let cleared = plan
            .commands
            .iter()
            .map(|line| {
                match guard.check(
                    line,
                    &RequestContext::new(kopilot_core::safety::Identity::new("test")),
                ) {
                    Verdict::Allowed(command) => command,
                    other => panic!("{line} was not allowed: {other:?}"),
                }
            })
            .collect::<Vec<_>>();
        let kubectl = &kubectl;
        async move { kubectl.execute(&args, cleared, &ctx()).await.unwrap() }
    };
    let missing = run(json!({"args": ["get", "deployment", "nope", "-n", "shop"]})).await;
    assert_eq!(missing.exit, Some(Exit::Exited { code: 1 }), "{missing:?}");
    let summary = missing.summary.unwrap_or_default();
    assert!(summary.contains("NotFound"), "{summary}");
    assert!(!summary.contains('\n'));
    let found = run(json!({"args": ["get", "pods", "-n", "shop"]})).await;
    assert_eq!(found.exit, Some(Exit::Exited { code: 0 }), "{found:?}");
    assert_eq!(found.summary, None);
    cluster.stop().await;
}
