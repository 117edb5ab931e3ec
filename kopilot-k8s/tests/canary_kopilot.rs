//! A full Kopilot run (scripted model, real kubectl, the fake API server behind a proxy that
//! answers lists as the real API server does, with items that carry no `kind`) reads a Secret
//! and pods holding a canary in every output shape the tools accept: `run_kubectl` with `-o
//! yaml|json|jsonpath|jsonpath-as-json|go-template|custom-columns|name|wide`, tables,
//! `describe`, `get --raw` for one object and for a list, pod env through jsonpath and
//! custom-columns, `read_resource` and `get_logs`. The canary and its base64 form reach neither
//! the model, the tool results, the events, the task result, the SQLite task store nor the
//! audit log (a JSONL file read back), while the reads really happen and show what is not
//! secret.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use futures::StreamExt;
use kopilot_core::EventKind;
use kopilot_core::llm::ScriptedModel;
use kopilot_core::safety::{ApproveAll, AuditSink, JsonlAuditSink};
use kopilot_core::skills::{InlineSource, Skill, SkillLoader};
use kopilot_core::{Kopilot, SqliteStore, TaskRequest, TaskStore};
use kopilot_fake::{ContainerLogs, FakeCluster};
use kopilot_k8s::exec::ExecConfig;
use kopilot_k8s::tools::{K8sConfig, register};
use serde_json::{Value, json};

const CANARY: &str = "kopilot-canary-31b8f0c2";
const CANARY_B64: &str = "a29waWxvdC1jYW5hcnktMzFiOGYwYzI=";

fn seed() -> String {
    let applied = json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": "db", "namespace": "shop", "annotations": {}},
        "data": {"password": CANARY_B64}});
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: shop\n  annotations:\n    \
         kubectl.kubernetes.io/last-applied-configuration: '{applied}'\ntype: Opaque\n\
         data: {{password: {CANARY_B64}, username: YXBw}}\n---\n\
         apiVersion: v1\nkind: Pod\nmetadata: {{name: web, namespace: shop, labels: {{app: web}}}}\n\
         spec: {{containers: [{{name: app, image: 'nginx:1.27', env: [{{name: DB_PASSWORD, value: {CANARY}}}, \
         {{name: LOG_LEVEL, value: info}}, {{name: API_TOKEN, value: {CANARY}}}]}}]}}\n---\n\
         apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: api, namespace: shop}}\n\
         spec: {{replicas: 0, selector: {{matchLabels: {{app: api}}}}, template: {{metadata: {{labels: {{app: api}}}}, \
         spec: {{containers: [{{name: api, image: 'api:2', env: [{{name: STRIPE_SECRET_KEY, value: {CANARY}}}]}}]}}}}}}\n"
    )
}

/// The tool calls, in the turns the model makes them: every shape the tools accept.
fn turns() -> Vec<Vec<(&'static str, Value)>> {
    let kubectl = |args: &[&str]| ("run_kubectl", json!({ "args": args }));
    vec![
        vec![
            kubectl(&["get", "secret", "db", "-n", "shop", "-o", "yaml"]),
            kubectl(&["get", "secret", "db", "-n", "shop", "-o", "json"]),
            kubectl(&["get", "secrets", "-n", "shop", "-o", "yaml"]),
            kubectl(&["get", "secret", "db", "-n", "shop", "-o", "name"]),
            kubectl(&["get", "secret", "db", "-n", "shop", "-o", "wide"]),
            kubectl(&["get", "secrets", "-n", "shop"]),
            kubectl(&["describe", "secret", "db", "-n", "shop"]),
        ],
        vec![
            kubectl(&[
                "get",
                "secret",
                "db",
                "-n",
                "shop",
                "-o",
                "jsonpath={.data.password}",
            ]),
            kubectl(&[
                "get",
                "secret",
                "db",
                "-n",
                "shop",
                "-o",
                "go-template={{.data.password}}",
            ]),
            kubectl(&[
                "get",
                "secret",
                "db",
                "-n",
                "shop",
                "-o",
                "custom-columns=P:.data.password",
            ]),
            kubectl(&[
                "get",
                "secret",
                "db",
                "-n",
                "shop",
                "--template={{.data.password}}",
            ]),
            kubectl(&["get", "--raw", "/api/v1/namespaces/shop/secrets/db"]),
            kubectl(&["get", "--raw", "/api/v1/namespaces/shop/secrets"]),
            (
                "read_resource",
                json!({"kind": "secret", "name": "db", "namespace": "shop"}),
            ),
        ],
        vec![
            kubectl(&[
                "get",
                "pod",
                "web",
                "-n",
                "shop",
                "-o",
                "jsonpath={.spec.containers[0].env[0].value}",
            ]),
            kubectl(&[
                "get",
                "pods",
                "-n",
                "shop",
                "-o",
                "jsonpath={range .items[*]}{.spec.containers[*].env}{\"\\n\"}{end}",
            ]),
            kubectl(&[
                "get",
                "pods",
                "-n",
                "shop",
                "-o",
                "jsonpath-as-json={.items[*].spec.containers[*].env[*].value}",
            ]),
            kubectl(&[
                "get",
                "pods",
                "-n",
                "shop",
                "-o",
                "custom-columns=NAME:.metadata.name,ENV:.spec.containers[*].env",
            ]),
            kubectl(&[
                "get",
                "deployment",
                "api",
                "-n",
                "shop",
                "-o",
                "jsonpath={.spec.template.spec.containers[0].env[0].value}",
            ]),
            kubectl(&[
                "get",
                "pods",
                "-n",
                "shop",
                "-o",
                "go-template={{range .items}}{{.metadata.name}}{{end}}",
            ]),
            kubectl(&[
                "get",
                "pods",
                "-n",
                "shop",
                "-o",
                "jsonpath={.items[*].spec.containers[*].env[?(@.value>\"k\")].name}",
            ]),
        ],
        vec![
            kubectl(&["get", "pod", "web", "-n", "shop", "-o", "yaml"]),
            kubectl(&["get", "pod", "web", "-n", "shop", "-o", "json"]),
            kubectl(&["get", "pods", "-n", "shop", "-o", "wide"]),
            kubectl(&["describe", "pod", "web", "-n", "shop"]),
            kubectl(&["get", "--raw", "/api/v1/namespaces/shop/pods"]),
            (
                "read_resource",
                json!({"kind": "pod", "name": "web", "namespace": "shop"}),
            ),
            ("get_logs", json!({"pod": "web", "namespace": "shop"})),
        ],
    ]
}

#[tokio::test]
#[ignore = "needs kubectl"]
async fn canary_never_reaches_model_output_events_history_or_audit() {
    let on_path = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("kubectl").is_file()));
    assert!(
        on_path,
        "kubectl is not on PATH: this test runs the real kubectl against the fake API server"
    );
    let cluster = FakeCluster::builder()
        .seed_yaml(seed())
        .pod_logs(
            "shop",
            "web",
            "app",
            ContainerLogs {
                current: format!(
                    "boot: DB_PASSWORD={CANARY}\nconnecting to postgres://app:{CANARY}@db:5432/shop\nready\n"
                ),
                previous: None,
            },
        )
        .start()
        .await
        .unwrap();
    let proxy = list_items_without_kind(cluster.url().to_string()).await;
    let home = tempfile::tempdir().unwrap();
    let kubeconfig = home.path().join("kubeconfig");
    cluster.write_kubeconfig(&kubeconfig).unwrap();
    let text = std::fs::read_to_string(&kubeconfig).unwrap();
    let upstream = cluster.url().to_string();
    let upstream = upstream.trim_end_matches('/');
    assert!(text.contains(upstream), "{text}");
    std::fs::write(
        &kubeconfig,
        text.replace(upstream, &format!("http://{proxy}")),
    )
    .unwrap();

    // Without the tools, the canary is right there: a pod's env through jsonpath, and a raw
    // list whose items carry no kind.
    let direct = kubectl(
        &kubeconfig,
        home.path(),
        &[
            "get",
            "pod",
            "web",
            "-n",
            "shop",
            "-o",
            "jsonpath={.spec.containers[0].env[0].value}",
        ],
    )
    .await;
    assert_eq!(direct, CANARY);
    let raw: Value = serde_json::from_str(
        &kubectl(
            &kubeconfig,
            home.path(),
            &["get", "--raw", "/api/v1/namespaces/shop/secrets"],
        )
        .await,
    )
    .unwrap();
    assert_eq!(raw["kind"], "SecretList");
    assert!(raw["items"][0].get("kind").is_none(), "{raw}");
    assert_eq!(raw["items"][0]["data"]["password"], CANARY_B64);

    let config = K8sConfig {
        exec: ExecConfig {
            kubeconfig: Some(kubeconfig.clone()),
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
    let mut model = ScriptedModel::new("m");
    let turns = turns();
    for turn in &turns {
        model = model.then_call_tools(
            turn.iter()
                .map(|(tool, args)| ((*tool).to_owned(), args.clone()))
                .collect(),
        );
    }
    let model = Arc::new(model.then_answer("Done."));
    let audit_path = home.path().join("audit").join("audit.jsonl");
    let audit: Arc<dyn AuditSink> = Arc::new(JsonlAuditSink::open(&audit_path).unwrap());
    let store_dir = home.path().join("store");
    let store = Arc::new(SqliteStore::open(store_dir.join("tasks.db")).unwrap());
    let kopilot = register(Kopilot::builder(), &config, audit.clone())
        .model(model.clone())
        .skills(skills)
        .audit(audit)
        .store(store.clone())
        .approver(Arc::new(ApproveAll::new("bob")))
        .build()
        .unwrap();
    let task = kopilot.submit(TaskRequest::new("read the db secret").skill("ops"));
    let result = task.result().await;
    let events: Vec<_> = task.events().collect().await;
    kopilot.flush().await;

    // Every call ran and came back; each result shows what it may.
    let results = results_by_call(&events);
    let calls: Vec<&(&str, Value)> = turns.iter().flatten().collect();
    assert_eq!(results.len(), calls.len(), "{results:#?}");
    let output = |needle: &str| -> &str {
        let found: Vec<&Outcome> = results
            .iter()
            .filter(|o| o.args.to_string().contains(needle))
            .collect();
        assert_eq!(found.len(), 1, "{needle} matches {} calls", found.len());
        &found[0].output
    };
    for (tool, args) in &calls {
        let outcome = results
            .iter()
            .find(|o| o.tool == *tool && o.args == *args)
            .unwrap_or_else(|| panic!("{tool} {args} has no result"));
        let text = &outcome.output;
        assert!(
            !text.contains(CANARY) && !text.contains(CANARY_B64),
            "{tool} {args} leaked the canary:\n{text}"
        );
        let line = args.to_string();
        let refused = line.contains("go-template")
            || line.contains("--template")
            || line.contains("@.value>")
            || (line.contains("\"secret\"")
                && (line.contains("jsonpath") || line.contains("custom-columns")));
        if refused {
            assert!(
                !outcome.ok && text.contains("refused"),
                "{tool} {args} was not refused:\n{text}"
            );
        } else {
            assert!(outcome.ok, "{tool} {args} failed:\n{text}");
            assert!(!text.contains("[stderr]"), "{tool} {args}:\n{text}");
        }
    }
    // The Secret's shape stays; its values go.
    let yaml = output("[\"get\",\"secret\",\"db\",\"-n\",\"shop\",\"-o\",\"yaml\"]");
    assert!(
        yaml.contains("name: db")
            && yaml.contains("password: \"[REDACTED: secret data]\"")
            && yaml.contains("last-applied-configuration"),
        "{yaml}"
    );
    assert!(output("\"name\"]").contains("secret/db"));
    assert!(
        output("describe\",\"secret").contains("password:  23 bytes"),
        "describe shows sizes"
    );
    assert!(output("jsonpath={.data.password}").contains("Use -o json or -o yaml"));
    let raw_list = output("/api/v1/namespaces/shop/secrets\"");
    assert!(
        raw_list.contains("\"kind\":\"SecretList\"")
            && raw_list.contains("\"password\":\"[REDACTED: secret data]\""),
        "{raw_list}"
    );
    assert!(
        !raw_list.contains("\"kind\":\"Secret\""),
        "the items carried no kind: {raw_list}"
    );
    // Pod env through custom formats: the values are scrubbed, the rest stays.
    assert_eq!(
        output("pod\",\"web\",\"-n\",\"shop\",\"-o\",\"jsonpath"),
        "[REDACTED: credential]"
    );
    let columns = output("custom-columns=NAME");
    assert!(
        columns.contains("web") && columns.contains("LOG_LEVEL") && columns.contains("info"),
        "{columns}"
    );
    assert!(columns.contains("[REDACTED: credential]"), "{columns}");
    assert!(output("\"pods\",\"-n\",\"shop\",\"-o\",\"wide\"").contains("web"));
    let logs = &results
        .iter()
        .find(|o| o.tool == "get_logs")
        .unwrap()
        .output;
    assert!(
        logs.contains("ready") && logs.contains("DB_PASSWORD="),
        "{logs}"
    );

    // No copy anywhere else either.
    let requests = model
        .requests()
        .iter()
        .map(|r| format!("{:?}", r.messages))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        requests.contains("[REDACTED: secret data]"),
        "the reads reached the model"
    );
    let stored_events = store.events(task.id(), 0).await.unwrap();
    assert_eq!(
        stored_events.len(),
        events.len(),
        "the store holds the task's events"
    );
    let audit_log = std::fs::read_to_string(&audit_path).unwrap();
    assert!(
        audit_log.contains("\"execution\"") || audit_log.contains("Execution"),
        "the audit log records executions"
    );
    assert!(
        audit_log.contains("env[0].value}' -o json"),
        "the JSON read that checks a custom print is guarded and audited"
    );
    for (what, text) in [
        ("events", serde_json::to_string(&events).unwrap()),
        ("result", serde_json::to_string(&result).unwrap()),
        ("model requests", requests),
        (
            "stored events",
            serde_json::to_string(&stored_events).unwrap(),
        ),
        ("audit log", audit_log),
        ("task store files", files_under(&store_dir)),
    ] {
        assert!(
            !text.contains(CANARY) && !text.contains(CANARY_B64),
            "{what} leaked the canary"
        );
    }
    cluster.stop().await;
}

/// One tool call and what came back.
#[derive(Debug)]
struct Outcome {
    tool: String,
    args: Value,
    ok: bool,
    output: String,
}

/// The task's tool calls with their results, from its events.
fn results_by_call(events: &[kopilot_core::Event]) -> Vec<Outcome> {
    let mut outcomes: Vec<(String, Outcome)> = Vec::new();
    for event in events {
        match &event.event {
            EventKind::ToolCall {
                call_id,
                tool,
                args,
                ..
            } => outcomes.push((
                call_id.clone(),
                Outcome {
                    tool: tool.clone(),
                    args: args.clone(),
                    ok: false,
                    output: String::new(),
                },
            )),
            EventKind::ToolResult {
                call_id,
                ok,
                output,
                ..
            } => {
                let (_, outcome) = outcomes
                    .iter_mut()
                    .find(|(id, _)| id == call_id)
                    .expect("a result follows its call");
                outcome.ok = *ok;
                outcome.output.clone_from(output);
            }
            _ => {}
        }
    }
    outcomes.into_iter().map(|(_, outcome)| outcome).collect()
}

/// Runs kubectl directly (not through the tools) and returns its output.
async fn kubectl(kubeconfig: &Path, home: &Path, args: &[&str]) -> String {
    let out = tokio::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .env_remove("KUBECONFIG")
        .env("HOME", home)
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Every byte of every file in `dir` (SQLite's database, journal and WAL), lossily as text.
fn files_under(dir: &Path) -> String {
    let mut text = String::new();
    let mut files = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            text.push_str(&String::from_utf8_lossy(&std::fs::read(&path).unwrap()));
            files += 1;
        }
    }
    assert!(
        files > 0 && text.contains("read the db secret"),
        "the store was written"
    );
    text
}

/// A loopback proxy in front of `upstream` that answers lists as the real API server does:
/// items carry no `kind` or `apiVersion` (the fake keeps them).
async fn list_items_without_kind(upstream: String) -> SocketAddr {
    let client = reqwest::Client::new();
    let upstream = upstream.trim_end_matches('/').to_owned();
    let app = axum::Router::new().fallback(move |request: Request| {
        let (client, upstream) = (client.clone(), upstream.clone());
        async move { forward(&client, &upstream, request).await }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

async fn forward(client: &reqwest::Client, upstream: &str, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut outgoing = client
        .request(parts.method, format!("{upstream}{path}"))
        .body(body);
    for (name, value) in &parts.headers {
        if name != header::HOST && name != header::CONTENT_LENGTH {
            outgoing = outgoing.header(name, value);
        }
    }
    let Ok(answer) = outgoing.send().await else {
        return Response::builder()
            .status(StatusCode::BAD_GATEWAY)
            .body(Body::empty())
            .unwrap();
    };
    let status = answer.status();
    let headers = answer.headers().clone();
    let mut bytes = answer.bytes().await.unwrap_or_default().to_vec();
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if json && let Ok(mut value) = serde_json::from_slice::<Value>(&bytes) {
        let is_list = value["kind"].as_str().is_some_and(|k| k.ends_with("List"));
        if let (true, Some(items)) = (is_list, value["items"].as_array_mut()) {
            for item in items.iter_mut().filter_map(Value::as_object_mut) {
                item.remove("kind");
                item.remove("apiVersion");
            }
            bytes = serde_json::to_vec(&value).unwrap();
        }
    }
    let mut response = Response::builder().status(status);
    for (name, value) in &headers {
        if name != header::CONTENT_LENGTH && name != header::TRANSFER_ENCODING {
            response = response.header(name, value);
        }
    }
    response
        .header(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()))
        .body(Body::from(bytes))
        .unwrap()
}
