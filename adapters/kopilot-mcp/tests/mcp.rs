//! The MCP server in-process, driven by rmcp's own client over an in-memory pipe: the tools and
//! their schemas, the guard's verdict, a read, and a mutation whose approval is asked of the
//! client's human (accepted, declined, or impossible to ask).

use std::sync::{Arc, Mutex};

use kopilot_core::Kopilot;
use kopilot_core::safety::{ChannelApprover, Policy};
use kopilot_core::testing::RecordingTool;
use kopilot_mcp::McpServer;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ElicitRequestParams, ElicitResult,
    ElicitationAction, ElicitationCapability, FormElicitationCapability, Implementation,
    InitializeRequestParams, ProtocolVersion,
};
use rmcp::service::{RequestContext, RunningService};
use rmcp::{ClientHandler, ErrorData, RoleClient, ServiceExt};
use serde_json::{Value, json};

/// What the human at the test client answers to an approval request.
#[derive(Clone, Copy)]
enum Human {
    /// The client declares no elicitation capability.
    Absent,
    Approves,
    Declines,
}

#[derive(Clone)]
struct Client {
    human: Human,
    asked: Arc<Mutex<Vec<String>>>,
}

impl ClientHandler for Client {
    fn get_info(&self) -> InitializeRequestParams {
        let capabilities = match self.human {
            Human::Absent => ClientCapabilities::default(),
            Human::Approves | Human::Declines => ClientCapabilities::builder()
                .enable_elicitation_with(
                    ElicitationCapability::new().with_form(FormElicitationCapability::new()),
                )
                .build(),
        };
        let mut info =
            InitializeRequestParams::new(capabilities, Implementation::new("test-ide", "1.0"));
        // `elicitation/create` is the earlier protocols' form.
        info.protocol_version = ProtocolVersion::V_2025_11_25;
        info
    }

    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        if let ElicitRequestParams::FormElicitationParams { message, .. } = request {
            self.asked.lock().unwrap().push(message);
        }
        Ok(match self.human {
            Human::Approves => {
                ElicitResult::new(ElicitationAction::Accept).with_content(json!({"approve": true}))
            }
            Human::Declines | Human::Absent => ElicitResult::new(ElicitationAction::Decline),
        })
    }
}

struct Harness {
    client: RunningService<RoleClient, Client>,
    tool: RecordingTool,
    asked: Arc<Mutex<Vec<String>>>,
    kopilot: Kopilot,
}

async fn start(human: Human, four_eyes: bool) -> Harness {
    let tool = RecordingTool::new("run_kubectl", "kubectl", "NAME    READY\nweb-1   1/1");
    let kopilot = Kopilot::builder()
        .policy(Policy::builder().four_eyes(four_eyes).build().unwrap())
        .tool(Arc::new(tool.clone()))
        .approval_desk(ChannelApprover::new().with_four_eyes(four_eyes))
        .build()
        .unwrap();
    let (server_io, client_io) = tokio::io::duplex(64 * 1024);
    tokio::spawn(McpServer::new(kopilot.clone()).serve_on(server_io));
    let asked = Arc::default();
    let client = Client {
        human,
        asked: Arc::clone(&asked),
    }
    .serve(client_io)
    .await
    .unwrap();
    Harness {
        client,
        tool,
        asked,
        kopilot,
    }
}

async fn call(harness: &Harness, tool: &'static str, args: Value) -> CallToolResult {
    let Value::Object(args) = args else {
        panic!("arguments must be an object")
    };
    harness
        .client
        .call_tool(CallToolRequestParams::new(tool).with_arguments(args))
        .await
        .unwrap()
}

fn text(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn lists_the_tools_with_schemas_and_honest_annotations() {
    let harness = start(Human::Absent, false).await;
    let tools = harness.client.list_all_tools().await.unwrap();
    let mut names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "analyze",
            "ask",
            "assess_command",
            "get_events",
            "get_logs",
            "get_metrics",
            "read_resource",
            "run_kubectl"
        ]
    );
    let by_name = |name: &str| tools.iter().find(|t| t.name == name).unwrap();
    for read in [
        "analyze",
        "read_resource",
        "get_logs",
        "get_events",
        "get_metrics",
        "assess_command",
    ] {
        let annotations = by_name(read).annotations.clone().unwrap();
        assert_eq!(annotations.read_only_hint, Some(true), "{read}");
        assert_eq!(annotations.destructive_hint, Some(false), "{read}");
    }
    for write in ["run_kubectl", "ask"] {
        let annotations = by_name(write).annotations.clone().unwrap();
        assert_eq!(annotations.read_only_hint, Some(false), "{write}");
        assert_eq!(annotations.destructive_hint, Some(true), "{write}");
    }
    // No tool lets the client's model pick the cluster, nor approve anything.
    for tool in &tools {
        let schema = serde_json::to_string(&tool.input_schema).unwrap();
        for word in ["context", "kubeconfig", "server", "confirm", "approve"] {
            assert!(
                !schema.contains(&format!("\"{word}\"")),
                "{} takes `{word}`: {schema}",
                tool.name
            );
        }
    }
    let kubectl = Value::Object((*by_name("run_kubectl").input_schema).clone());
    assert_eq!(kubectl["required"], json!(["args"]));
    let analyze = by_name("analyze");
    let output = Value::Object((*analyze.output_schema.clone().unwrap()).clone());
    assert!(
        output["properties"]["findings"].is_object(),
        "analyze's output schema has findings: {output}"
    );
}

#[tokio::test]
async fn assess_command_gives_the_verdict_and_runs_nothing() {
    let harness = start(Human::Approves, false).await;
    let result = call(
        &harness,
        "assess_command",
        json!({"command": "kubectl delete namespace shop"}),
    )
    .await;
    let verdict = result.structured_content.clone().unwrap();
    assert_ne!(verdict["decision"], json!("allow"), "{verdict}");
    assert_eq!(verdict["command"], json!("kubectl delete namespace shop"));
    let read = call(
        &harness,
        "assess_command",
        json!({"command": "kubectl get pods -n shop"}),
    )
    .await;
    assert_eq!(read.structured_content.unwrap()["decision"], json!("allow"));
    assert!(harness.tool.executed().is_empty());
    assert!(harness.asked.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_read_runs_under_the_clients_name() {
    let harness = start(Human::Absent, false).await;
    let result = call(&harness, "run_kubectl", json!({"args": "get pods -n shop"})).await;
    assert_eq!(result.is_error, Some(false), "{}", text(&result));
    assert!(text(&result).contains("web-1"), "{}", text(&result));
    let outcome = result.structured_content.unwrap();
    assert_eq!(outcome["status"], json!("succeeded"));
    assert_eq!(harness.tool.executed(), ["kubectl get pods -n shop"]);
    let task = harness
        .kopilot
        .task(outcome["task_id"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(task.requester, "mcp:test-ide");
}

#[tokio::test]
async fn a_mutation_the_human_approves_runs() {
    let harness = start(Human::Approves, false).await;
    let result = call(
        &harness,
        "run_kubectl",
        json!({"args": "scale deployment web --replicas=3 -n shop"}),
    )
    .await;
    assert_eq!(result.is_error, Some(false), "{}", text(&result));
    assert_eq!(
        harness.tool.executed(),
        ["kubectl scale deployment web --replicas=3 -n shop"]
    );
    let asked = harness.asked.lock().unwrap().clone();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert!(
        asked[0].contains("kubectl scale deployment web --replicas=3 -n shop"),
        "{}",
        asked[0]
    );
}

#[tokio::test]
async fn a_mutation_the_human_declines_does_not_run() {
    let harness = start(Human::Declines, false).await;
    let result = call(
        &harness,
        "run_kubectl",
        json!({"args": "scale deployment web --replicas=3 -n shop"}),
    )
    .await;
    assert_eq!(result.is_error, Some(true), "{}", text(&result));
    assert!(harness.tool.executed().is_empty());
    assert_eq!(harness.asked.lock().unwrap().len(), 1);
    let outcome = result.structured_content.unwrap();
    assert!(
        outcome.to_string().contains("declined by the human"),
        "{outcome}"
    );
}

#[tokio::test]
async fn a_client_that_cannot_ask_its_human_is_denied_with_the_reason() {
    let harness = start(Human::Absent, false).await;
    let result = call(
        &harness,
        "run_kubectl",
        json!({"args": "scale deployment web --replicas=3 -n shop"}),
    )
    .await;
    assert_eq!(result.is_error, Some(true), "{}", text(&result));
    assert!(harness.tool.executed().is_empty());
    let outcome = result.structured_content.unwrap();
    assert!(
        outcome.to_string().contains("cannot ask its human"),
        "{outcome}"
    );
}

#[tokio::test]
async fn with_four_eyes_the_client_is_denied_without_being_asked() {
    let harness = start(Human::Approves, true).await;
    let result = call(
        &harness,
        "run_kubectl",
        json!({"args": "scale deployment web --replicas=3 -n shop"}),
    )
    .await;
    assert_eq!(result.is_error, Some(true), "{}", text(&result));
    assert!(harness.tool.executed().is_empty());
    assert!(harness.asked.lock().unwrap().is_empty());
    let outcome = result.structured_content.unwrap();
    assert!(outcome.to_string().contains("four-eyes"), "{outcome}");
}

#[tokio::test]
async fn arguments_cannot_approve_or_pick_the_cluster() {
    let harness = start(Human::Absent, false).await;
    for (args, field) in [
        (
            json!({"args": "scale deployment web --replicas=3 -n shop", "confirm": true}),
            "confirm",
        ),
        (json!({"args": "get pods", "context": "prod"}), "context"),
    ] {
        let result = call(&harness, "run_kubectl", args).await;
        assert_eq!(result.is_error, Some(true), "{}", text(&result));
        assert!(
            text(&result).contains(&format!("unknown field `{field}`")),
            "{}",
            text(&result)
        );
    }
    assert!(harness.tool.executed().is_empty());
}
