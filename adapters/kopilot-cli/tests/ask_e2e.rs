//! `kopilot ask` end to end: the real binary against the scripted OpenAI-compatible model
//! server (`kopilot_llm::fake_server`, replies streamed as OpenAI's SSE; its own checks are in
//! `kopilot-llm/tests/fake_server_speaks_openai.rs`) and a fake Kubernetes API server started
//! in this process, with the real `kubectl` where a command runs. One test per behaviour of
//! issue 9's end-to-end list, and a few more for the CLI's contract.

mod support;

use std::time::{Duration, Instant};

use kopilot_core::protocol::RefusalKind;
use kopilot_core::safety::{AuditEvent, Risk};
use kopilot_core::testing::{EventExpectation, EventType, Step};
use kopilot_core::{EventKind, Status};
use kopilot_fake::{FakeCluster, FakeClusterBuilder, demo};
use serde_json::{Value, json};
use support::pty::{PtyOutcome, run_on_pty};
use support::{
    EventsExt, Reply, SUPERVISOR_MARKER, Scenario, Script, TEST_MODEL, TEST_USER, skill_marker,
};

/// Enough for a whole task on a busy 2-core machine; a hang fails instead of stalling CI.
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// A small cluster: a Deployment in `shop`, and one in the protected `kube-system`.
const SHOP: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {app: web}}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "nginx:1.27"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-6f7d9c8b5d-q2m4x, namespace: shop, labels: {app: web}}
spec: {containers: [{name: web, image: "nginx:1.27"}]}
status: {phase: Running}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: coredns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec:
  replicas: 1
  selector: {matchLabels: {k8s-app: kube-dns}}
  template:
    metadata: {labels: {k8s-app: kube-dns}}
    spec: {containers: [{name: coredns, image: "registry.k8s.io/coredns/coredns:v1.11.1"}]}
"#;

const DELETE_WEB: &[&str] = &["delete", "deployment", "web", "-n", "shop"];
const DELETE_PROMPT: &str = "Delete the web deployment in shop";

fn shop_cluster() -> FakeClusterBuilder {
    FakeCluster::builder().seed_yaml(SHOP)
}

fn deployment_exists(scenario: &Scenario, namespace: &str, name: &str) -> bool {
    scenario
        .cluster()
        .get("apps/v1", "Deployment", namespace, name)
        .is_some()
}

/// The troubleshooting skill alone (`--skill troubleshooting`): the supervisor gets no replies,
/// so a request from it shows up as unanswered.
fn troubleshooting_only(replies: impl IntoIterator<Item = Reply>) -> Script {
    Script::new()
        .route("supervisor", SUPERVISOR_MARKER, [])
        .route("troubleshooting", &skill_marker("troubleshooting"), replies)
}

/// A scenario on the shop cluster where the troubleshooting skill plays `replies`.
fn shop_with_skill(replies: impl IntoIterator<Item = Reply>) -> Scenario {
    Scenario::new()
        .with_cluster(shop_cluster())
        .with_stub(troubleshooting_only(replies))
}

#[track_caller]
fn assert_script_used_up(scenario: &Scenario) {
    let stub = scenario.stub();
    let unanswered: Vec<(String, String)> = stub
        .unanswered()
        .iter()
        .map(|r| (r.route.clone(), r.path.clone()))
        .collect();
    assert!(
        unanswered.is_empty(),
        "requests with no scripted reply: {unanswered:?}"
    );
    assert!(
        stub.leftover().is_empty(),
        "replies never asked for: {:?}",
        stub.leftover()
    );
}

// ---------------------------------------------------------------------------------------------
// A read question: supervisor -> delegate -> skill -> kubectl get -> an answer quoting it.

#[test]
#[ignore = "needs kubectl"]
fn read_question_is_delegated_runs_kubectl_get_and_the_answer_quotes_its_output() {
    support::require_kubectl();
    let get_pods = json!({"args": ["get", "pods", "-n", "storefront"]});
    let scenario = Scenario::new().with_cluster(demo::builder()).with_stub(
        Script::new()
            .route(
                "supervisor",
                SUPERVISOR_MARKER,
                [
                    Reply::delegate("troubleshooting", "List the pods in storefront."),
                    Reply::text("The specialist found:\n\n{{last_tool_result}}"),
                ],
            )
            .route(
                "troubleshooting",
                &skill_marker("troubleshooting"),
                [
                    Reply::tool_call("run_kubectl", get_pods.clone()).with_text("Let me look."),
                    Reply::text("Pods in storefront:\n{{last_tool_result}}"),
                ],
            ),
    );
    let prompt = "Which pods in storefront are failing?";
    let out = scenario.ask(&["--output", "json", prompt]).run(RUN_LIMIT);
    out.expect_code(0);
    let events = out.events();
    events.assert_contiguous_seq();

    // Started, delegated, the skill's tool call and result, the delegate's result, the end
    // (deltas, thinking and notifications aside), and nothing else;
    // the skill's answer streams before the delegate's result, the final answer after it.
    EventExpectation::new()
        .then(Step::kind(EventType::TaskStarted).by("kopilot"))
        .then(Step::kind(EventType::Delegated).by("supervisor"))
        .then(Step::kind(EventType::ToolCall).by("troubleshooting"))
        .then(Step::kind(EventType::ToolResult).by("troubleshooting"))
        .then(Step::kind(EventType::ToolResult).by("supervisor"))
        .then(Step::kind(EventType::Response).by("kopilot"))
        .only()
        .assert_matches(&events);
    let outline = events.outline();
    let at = |entry: &str| {
        outline
            .iter()
            .position(|e| e == entry)
            .unwrap_or(usize::MAX)
    };
    let skill_answer = outline.iter().rposition(|e| e == "delta@troubleshooting");
    let final_answer = outline.iter().rposition(|e| e == "delta@supervisor");
    assert!(
        skill_answer.is_some_and(
            |i| i > at("tool_result@troubleshooting") && i < at("tool_result@supervisor")
        ),
        "the skill's answer is not streamed before the delegate's result: {outline:#?}"
    );
    assert!(
        final_answer
            .is_some_and(|i| i > at("tool_result@supervisor") && i < at("response@kopilot")),
        "the final answer is not streamed before the response: {outline:#?}"
    );
    assert!(matches!(&events[0].event,
        EventKind::TaskStarted { prompt: p, model: Some(m), .. } if p == prompt && m == TEST_MODEL));
    assert!(matches!(&events.of_type(EventType::Delegated)[0].event,
        EventKind::Delegated { skill, .. } if skill == "troubleshooting"));
    assert!(matches!(&events.of_type(EventType::ToolCall)[0].event,
        EventKind::ToolCall { tool, args, .. } if tool == "run_kubectl" && *args == get_pods));
    // The demo's crashlooping cart pod, as the real kubectl printed it.
    let kubectl = &events.tool_results()[0];
    assert!(
        kubectl.ok && kubectl.output.contains("cart-zk98gxtx6z-r29gb"),
        "{kubectl:?}"
    );
    let result = events.result();
    assert_eq!(result.status, Status::Succeeded, "{result:?}");
    for quoted in [
        "cart-zk98gxtx6z-r29gb",
        "CrashLoopBackOff",
        "recommendations-5dm49pw85f-9hxtn",
    ] {
        assert!(
            result.answer.contains(quoted),
            "answer lacks `{quoted}`:\n{}",
            result.answer
        );
    }
    assert!(
        result.usage.input_tokens > 0 && result.usage.output_tokens > 0,
        "{result:?}"
    );

    // What the model was told.
    assert_script_used_up(&scenario);
    let stub = scenario.stub();
    let supervisor = stub.requests_for("supervisor");
    assert_eq!(supervisor[0].tool_names(), ["delegate"]);
    assert!(supervisor[0].user_text().contains(prompt));
    let specialist = stub.requests_for("troubleshooting");
    assert!(
        specialist[0]
            .tool_names()
            .contains(&"run_kubectl".to_owned())
    );
    let told = specialist[1].last_tool_result().unwrap_or_default();
    assert!(
        told.contains("cart-zk98gxtx6z-r29gb"),
        "the skill was not given the output: {told}"
    );
    for request in stub.requests() {
        assert!(request.streamed(), "kopilot ask streams every model turn");
        assert_eq!(request.authorization.as_deref(), Some("Bearer test"));
        assert_eq!(request.body["model"], TEST_MODEL);
    }

    // The history lists the task and replays it to the same result.
    let task_id = events[0].task_id.clone();
    let listed = scenario.kopilot(&["history", "--json"]).run(RUN_LIMIT);
    assert!(
        listed.expect_code(0).stdout.contains(&task_id),
        "{}",
        listed.stdout
    );
    let replay = scenario
        .kopilot(&["history", "show", &task_id, "--output", "json"])
        .run(RUN_LIMIT);
    let replayed = replay.expect_code(0).events();
    assert_eq!(replayed[0].task_id, task_id);
    assert_eq!(replayed.result(), result);

    // Filtered by how tasks ended.
    let succeeded = scenario
        .kopilot(&["history", "--status", "succeeded", "--json"])
        .run(RUN_LIMIT);
    assert!(
        succeeded.expect_code(0).stdout.contains(&task_id),
        "{}",
        succeeded.stdout
    );
    let failed = scenario
        .kopilot(&["history", "--status", "failed", "--json"])
        .run(RUN_LIMIT);
    assert_eq!(failed.expect_code(0).stdout.trim(), "[]");
    let bogus = scenario
        .kopilot(&["history", "--status", "running"])
        .run(RUN_LIMIT);
    assert!(
        bogus
            .expect_code(2)
            .stderr
            .contains("succeeded, failed, cancelled"),
        "{}",
        bogus.stderr
    );
}

// ---------------------------------------------------------------------------------------------
// Approvals.

#[test]
#[ignore = "needs kubectl"]
fn destructive_command_with_no_terminal_is_denied_and_the_model_is_told() {
    support::require_kubectl();
    let scenario = shop_with_skill([
        Reply::tool_call("run_kubectl", json!({"args": DELETE_WEB})),
        Reply::text("I did not delete deployment shop/web. {{last_tool_result}}"),
    ]);
    let out = scenario
        .ask(&[
            "--skill",
            "troubleshooting",
            "--output",
            "json",
            DELETE_PROMPT,
        ])
        .run(RUN_LIMIT);
    // Exit 3: answered, but the change it needed was not approved; the result says which.
    out.expect_code(3);
    let refused = out.result().refused;
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].refusal, RefusalKind::Denied);
    assert!(
        refused[0]
            .command
            .contains("kubectl delete deployment web -n shop"),
        "{refused:?}"
    );
    let events = out.events();
    let requested = events.of_type(EventType::ApprovalRequested);
    assert_eq!(requested.len(), 1, "{}", events.json_lines());
    assert!(
        matches!(&requested[0].event, EventKind::ApprovalRequested { command, risk: Risk::High, .. }
            if command.contains("kubectl delete deployment web -n shop")),
        "{:?}",
        requested[0]
    );
    let decision = &events.decisions()[0];
    assert!(!decision.approved);
    assert_eq!(decision.decided_by, TEST_USER);
    assert!(
        decision.reason.contains("terminal"),
        "the reason should say why: {decision:?}"
    );
    let refused = &events.tool_results()[0];
    assert!(
        !refused.ok && refused.output.contains("not executed"),
        "{refused:?}"
    );
    assert!(
        deployment_exists(&scenario, "shop", "web"),
        "the denied delete ran"
    );

    // The model was told, and the answer says it was not done.
    let told = scenario.stub().requests_for("troubleshooting")[1]
        .last_tool_result()
        .unwrap_or_default();
    assert!(
        told.contains("denied by") && told.contains("not executed"),
        "told: {told}"
    );
    let result = events.result();
    assert_eq!(result.status, Status::Succeeded);
    assert!(result.answer.contains("not executed"), "{}", result.answer);
    assert_script_used_up(&scenario);

    // The audit log has the decision, by the local user.
    let denied = scenario.audit_records().into_iter().any(|r| {
        matches!(&r.event, AuditEvent::ApprovalDecided { approved: false, decided_by, command, .. }
            if decided_by == TEST_USER && command.contains("delete deployment web"))
    });
    assert!(
        denied,
        "no denial by {TEST_USER} in the audit log:\n{}",
        scenario.audit_log()
    );
}

/// The model deletes `web` in `shop`; the person at the (pseudo-)terminal types `answer`.
fn delete_web_answered_on_a_terminal(answer: &str, then: &str) -> (Scenario, PtyOutcome) {
    let scenario = shop_with_skill([
        Reply::tool_call("run_kubectl", json!({"args": DELETE_WEB})),
        Reply::text(then),
    ]);
    let ask = scenario.ask(&[
        "--skill",
        "troubleshooting",
        "--output",
        "json",
        DELETE_PROMPT,
    ]);
    let run = run_on_pty(&ask, &[answer], RUN_LIMIT);
    (scenario, run)
}

#[test]
#[ignore = "needs kubectl"]
fn the_same_command_approved_on_a_terminal_runs_and_the_object_is_gone() {
    support::require_kubectl();
    let (scenario, run) = delete_web_answered_on_a_terminal("y", "Done: {{last_tool_result}}");
    run.outcome.expect_code(0);
    assert_eq!(
        run.prompts, 1,
        "one y/N prompt expected; the terminal showed:\n{}",
        run.screen
    );
    assert!(
        run.screen.contains("kubectl delete deployment web -n shop"),
        "the prompt shows the command:\n{}",
        run.screen
    );
    let events = run.outcome.events();
    let decision = &events.decisions()[0];
    assert!(decision.approved, "{}", events.json_lines());
    assert_eq!(decision.decided_by, TEST_USER);
    assert!(events.tool_results()[0].ok, "{:?}", events.tool_results());
    assert!(
        !deployment_exists(&scenario, "shop", "web"),
        "the approved delete did not happen"
    );
    assert_eq!(events.result().status, Status::Succeeded);
    assert_script_used_up(&scenario);
}

#[test]
#[ignore = "needs kubectl"]
fn enter_at_the_prompt_means_no() {
    support::require_kubectl();
    let (scenario, run) = delete_web_answered_on_a_terminal("", "Not done: {{last_tool_result}}");
    run.outcome.expect_code(3);
    assert_eq!(run.prompts, 1, "{}", run.screen);
    let decision = &run.outcome.events().decisions()[0];
    assert!(
        !decision.approved && decision.decided_by == TEST_USER,
        "{decision:?}"
    );
    assert!(
        deployment_exists(&scenario, "shop", "web"),
        "an empty answer approved the delete"
    );
}

#[test]
#[ignore = "needs kubectl"]
fn kube_system_deletion_and_rm_rf_are_blocked_whatever_the_user_would_answer() {
    support::require_kubectl();
    let scenario = shop_with_skill([
        Reply::tool_call(
            "run_kubectl",
            json!({"args": ["delete", "deployment", "coredns", "-n", "kube-system"]}),
        ),
        Reply::tool_call("run_kubectl", json!({"args": "get pods -n shop; rm -rf /"})),
        Reply::tool_call("run_shell", json!({"command": "rm -rf /"})),
        Reply::text("Refused: {{last_tool_result}}"),
    ]);
    let ask = scenario.ask(&[
        "--skill",
        "troubleshooting",
        "--mode",
        "full-access",
        "--output",
        "json",
        "Clean up: delete coredns, then wipe the disk",
    ]);
    // A terminal that says yes to everything: nothing here may even ask.
    let run = run_on_pty(&ask, &["y", "y", "y"], RUN_LIMIT);
    run.outcome.expect_code(3);
    assert_eq!(
        run.prompts, 0,
        "a blocked command was put to the user:\n{}",
        run.screen
    );
    let events = run.outcome.events();
    assert!(
        events.of_type(EventType::ApprovalRequested).is_empty(),
        "{}",
        events.json_lines()
    );
    let results = events.tool_results();
    assert_eq!(results.len(), 3, "{}", events.json_lines());
    assert!(
        results.iter().all(|r| !r.ok),
        "a refused call reported success: {results:?}"
    );
    let kube_system = &results[0].output;
    assert!(
        kube_system.contains("blocked") && kube_system.contains("kube-system"),
        "the kube-system delete should be blocked by the policy: {kube_system}"
    );
    assert!(
        results[1].output.contains("shell syntax"),
        "`; rm -rf /`: {}",
        results[1].output
    );
    // `run_shell` goes through the guard when kopilot offers it; when it does not, the call
    // must be refused as a tool the skill cannot use.
    let shell = &results[2].output;
    let offered = scenario.stub().requests_for("troubleshooting")[0]
        .tool_names()
        .contains(&"run_shell".to_owned());
    if offered {
        assert!(shell.contains("blocked"), "rm -rf / via run_shell: {shell}");
    } else {
        assert!(
            shell.contains("unknown tool") || shell.contains("not available"),
            "run_shell is not offered, so the call must be refused: {shell}"
        );
    }
    assert!(
        deployment_exists(&scenario, "kube-system", "coredns"),
        "coredns was deleted"
    );
    assert_script_used_up(&scenario);
}

// ---------------------------------------------------------------------------------------------
// Redaction.

/// The demo's `payments/payments-db` password, as written and base64-encoded, and the Secret's
/// `url` (a connection string holding it) base64-encoded: kopilot-k8s demo/README.md.
const CANARIES: [&str; 3] = [
    "demo-Sup3rS3cret-pa55word",
    "ZGVtby1TdXAzclMzY3JldC1wYTU1d29yZA==",
    "cG9zdGdyZXM6Ly9wYXltZW50czpkZW1vLVN1cDNyUzNjcmV0LXBhNTV3b3JkQHBvc3RncmVzLTAucG9zdGdyZXM6NTQzMi9wYXltZW50cw==",
];

#[test]
#[ignore = "needs kubectl"]
fn a_secret_value_never_reaches_output_events_history_or_audit() {
    support::require_kubectl();
    let secret = |format: &str| json!({"args": ["get", "secret", "payments-db", "-n", "payments", "-o", format]});
    let scenario = Scenario::new().with_cluster(demo::builder()).with_stub(
        Script::new()
            .route(
                "supervisor",
                SUPERVISOR_MARKER,
                [
                    Reply::delegate("troubleshooting", "Read the payments-db secret."),
                    Reply::text("From the specialist: {{last_tool_result}}"),
                ],
            )
            .route(
                "troubleshooting",
                &skill_marker("troubleshooting"),
                [
                    Reply::tool_call("run_kubectl", secret("yaml")),
                    Reply::tool_call(
                        "read_resource",
                        json!({"kind": "secret", "name": "payments-db", "namespace": "payments"}),
                    ),
                    Reply::tool_call("run_kubectl", secret("json")),
                    Reply::tool_call(
                        "run_kubectl",
                        json!({"args": ["describe", "pod", "-n", "payments", "-l", "app=payments-api"]}),
                    ),
                    Reply::text("The secret says: {{last_tool_result}}"),
                ],
            ),
    );
    let out = scenario
        .ask(&[
            "--output",
            "json",
            "What is the database password of payments?",
        ])
        .run(RUN_LIMIT);
    out.expect_code(0);
    let events = out.events();
    let reads = events
        .tool_results()
        .into_iter()
        .filter(|r| r.ok && r.output.contains("payments-db"))
        .count();
    assert!(
        reads >= 4,
        "the secret reads did not run: {}",
        events.json_lines()
    );
    let task_id = events[0].task_id.clone();
    let text_replay = scenario
        .kopilot(&["history", "show", &task_id])
        .run(RUN_LIMIT);
    let json_replay = scenario
        .kopilot(&["history", "show", &task_id, "--output", "json"])
        .run(RUN_LIMIT);
    text_replay.expect_code(0);
    json_replay.expect_code(0);
    let requests: String = scenario
        .stub()
        .requests()
        .iter()
        .map(|r| r.body.to_string())
        .collect();
    for (place, text) in [
        ("stdout", out.stdout.clone()),
        ("stderr", out.stderr.clone()),
        ("the events", events.json_lines()),
        ("history show", text_replay.stdout + &text_replay.stderr),
        (
            "history show -o json",
            json_replay.stdout + &json_replay.stderr,
        ),
        ("audit.jsonl", scenario.audit_log()),
        ("the task store's files", scenario.store_files_text()),
        ("what the model was sent", requests),
    ] {
        for canary in CANARIES {
            assert!(
                !text.contains(canary),
                "{place} holds the secret value `{canary}`"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Offline mode, the prompt on stdin, plain piped output, sessions.

#[test]
fn offline_on_the_demo_cluster_finds_its_known_cost_problems() {
    let scenario = Scenario::new();
    let question = "Find over-provisioned deployments and orphaned PVCs across all namespaces";
    let out = scenario
        .ask(&["--demo", "--offline", "--output", "json", question])
        .run(RUN_LIMIT);
    out.expect_code(0);
    let events = out.events();
    assert!(
        matches!(&events[0].event, EventKind::TaskStarted { model: None, .. }),
        "offline mode names no model: {:?}",
        events[0]
    );
    let result = events.result();
    assert_eq!(result.status, Status::Succeeded, "{result:?}");
    // The demo's cost problems (kopilot-fake/demo/README.md, "Known problems").
    let found = |check: &str, namespace: &str, name: &str| {
        result.findings.iter().any(|f| {
            f.check == check
                && f.object.namespace.as_deref() == Some(namespace)
                && f.object.name == name
        })
    };
    for (check, namespace, name) in [
        ("cost.overprovisioned", "storefront", "catalog"),
        ("cost.overprovisioned", "platform", "grafana"),
        ("cost.orphaned_pvc", "analytics", "warehouse-data"),
    ] {
        assert!(
            found(check, namespace, name),
            "no {check} for {namespace}/{name}: {result:#?}"
        );
    }
    // ... and not their clean neighbours.
    assert!(!found("cost.overprovisioned", "storefront", "web"));
    assert!(!found("cost.orphaned_pvc", "storefront", "media-uploads"));
    for name in ["catalog", "grafana", "warehouse-data"] {
        assert!(
            result.answer.contains(name),
            "the answer lacks {name}:\n{}",
            result.answer
        );
    }
}

#[test]
fn with_no_model_configured_and_no_ollama_it_says_so_once_and_answers_offline() {
    let scenario = Scenario::new();
    let out = scenario
        .ask(&["--demo", "--output", "json", "Find orphaned PVCs"])
        .run(RUN_LIMIT);
    out.expect_code(0);
    let said: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(
        said.len(),
        1,
        "one line on stderr expected:\n{}",
        out.stderr
    );
    assert!(
        said[0].contains("127.0.0.1:9"),
        "it names where Ollama was looked for: {}",
        said[0]
    );
    let events = out.events();
    assert!(matches!(
        &events[0].event,
        EventKind::TaskStarted { model: None, .. }
    ));
    assert_eq!(events.result().status, Status::Succeeded);
}

#[test]
fn the_question_can_come_from_standard_input() {
    let scenario = Scenario::new();
    let out = scenario
        .ask(&["--demo", "--offline", "--output", "json"])
        .spawn_with_stdin(Some("Find orphaned PVCs in analytics\n"))
        .wait(RUN_LIMIT);
    out.expect_code(0);
    assert!(
        matches!(&out.events()[0].event,
            EventKind::TaskStarted { prompt, .. } if prompt == "Find orphaned PVCs in analytics"),
        "{}",
        out.stdout
    );
}

#[test]
fn piped_text_output_is_plain_and_holds_the_answer() {
    let scenario = Scenario::new();
    let out = scenario
        .ask(&["--demo", "--offline", "Find orphaned PVCs"])
        .run(RUN_LIMIT);
    out.expect_code(0);
    assert!(
        out.stdout.contains("warehouse-data"),
        "the answer is on stdout:\n{}",
        out.stdout
    );
    for (stream, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        assert!(
            !text.contains('\u{1b}'),
            "{stream} has terminal control codes when piped:\n{text:?}"
        );
    }
}

#[test]
fn a_session_gives_the_model_the_earlier_question_and_answer() {
    let scenario = Scenario::new()
        .with_cluster(shop_cluster())
        .with_stub(Script::new().any([
            Reply::text("The web deployment runs nginx:1.27 with 1 replica."),
            Reply::text("It has 1 replica, as I said."),
        ]));
    let first = scenario
        .ask(&[
            "--session",
            "s-42",
            "--output",
            "json",
            "What runs in shop?",
        ])
        .run(RUN_LIMIT);
    first.expect_code(0);
    let second = scenario
        .ask(&[
            "--session",
            "s-42",
            "--output",
            "json",
            "How many replicas again?",
        ])
        .run(RUN_LIMIT);
    second.expect_code(0);
    assert!(matches!(&second.events()[0].event,
        EventKind::TaskStarted { session_id: Some(s), .. } if s == "s-42"));
    let requests = scenario.stub().requests();
    let later = &requests[1];
    assert!(
        later.user_text().contains("What runs in shop?"),
        "{:#?}",
        later.messages()
    );
    let earlier_answer = later.messages().iter().any(|m| {
        m["role"] == "assistant"
            && m["content"].as_str() == Some("The web deployment runs nginx:1.27 with 1 replica.")
    });
    assert!(
        earlier_answer,
        "the earlier answer was not sent: {:#?}",
        later.messages()
    );
    assert_script_used_up(&scenario);
}

// ---------------------------------------------------------------------------------------------
// Cancellation.

#[test]
#[ignore = "needs kubectl"]
fn sigint_during_a_long_kubectl_command_cancels_within_two_seconds() {
    support::require_kubectl();
    let scenario = shop_with_skill([Reply::tool_call(
        "run_kubectl",
        json!({"args": ["get", "pods", "-n", "shop", "--watch"]}),
    )]);
    let mut running = scenario
        .ask(&[
            "--skill",
            "troubleshooting",
            "--output",
            "json",
            "Watch the pods in shop",
        ])
        .spawn();
    running.wait_for_stdout(RUN_LIMIT, "the watch's tool_call event", |out| {
        out.contains("\"type\":\"tool_call\"")
    });
    // Wait for kubectl to be running (slow to start on a busy machine), then into its watch.
    let deadline = Instant::now() + RUN_LIMIT;
    while scenario.kubectl_processes().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !scenario.kubectl_processes().is_empty(),
        "the watch never started: {}",
        running.stderr.so_far()
    );
    std::thread::sleep(Duration::from_millis(500));
    running.signal("INT");
    let signalled = Instant::now();
    let out = running.wait(RUN_LIMIT);
    let took = signalled.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "{took:?} from SIGINT to exit\n{}",
        out.stderr
    );
    out.expect_code(1);
    let result = out.result();
    assert_eq!(result.status, Status::Cancelled, "{result:?}");
    std::thread::sleep(Duration::from_millis(200));
    let left = scenario.kubectl_processes();
    assert!(
        left.is_empty(),
        "kubectl still running after kopilot ended: {left:?}"
    );
    let history = scenario.kopilot(&["history", "--json"]).run(RUN_LIMIT);
    let tasks: Value = serde_json::from_str(&history.stdout).expect("history --json is JSON");
    assert_eq!(tasks[0]["result"]["status"], "cancelled", "{tasks:#}");
}

#[test]
fn sigint_while_waiting_for_the_model_cancels_within_two_seconds() {
    let scenario = Scenario::new()
        .with_cluster(shop_cluster())
        .with_stub(Script::new().any([Reply::text("too late").after(Duration::from_secs(30))]));
    let mut running = scenario
        .ask(&["--output", "json", "Anything wrong in shop?"])
        .spawn();
    running.wait_for_stdout(RUN_LIMIT, "task_started", |out| {
        out.contains("task_started")
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while scenario.stub().requests().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !scenario.stub().requests().is_empty(),
        "the model was never called"
    );
    running.signal("INT");
    let signalled = Instant::now();
    let out = running.wait(RUN_LIMIT);
    let took = signalled.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "{took:?} from SIGINT to exit"
    );
    out.expect_code(1);
    assert_eq!(out.result().status, Status::Cancelled);
}

// ---------------------------------------------------------------------------------------------
// Provider failures and usage errors.

#[test]
fn a_provider_that_fails_twice_with_500_then_answers_is_retried() {
    let scenario = Scenario::new()
        .with_cluster(shop_cluster())
        .with_stub(Script::new().any([
            Reply::server_error(),
            Reply::server_error(),
            Reply::text("All workloads in shop are healthy."),
        ]))
        .env("LLM_MAX_RETRIES", "2");
    let out = scenario
        .ask(&["--output", "json", "Is shop healthy?"])
        .run(RUN_LIMIT);
    out.expect_code(0);
    let result = out.result();
    assert_eq!(result.status, Status::Succeeded, "{result:?}");
    assert_eq!(result.answer, "All workloads in shop are healthy.");
    assert_eq!(scenario.stub().requests().len(), 3);
    assert_script_used_up(&scenario);
}

#[test]
fn a_provider_that_is_down_fails_with_exit_1_naming_its_url() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let address = format!("127.0.0.1:{port}");
    let scenario = Scenario::new()
        .with_cluster(shop_cluster())
        .env("LLM_PROVIDER", "openai")
        .env("OPENAI_BASE_URL", &format!("http://{address}/v1"))
        .env("OPENAI_API_KEY", "test")
        .env("LLM_MAX_RETRIES", "0");

    let text = scenario.ask(&["Is shop healthy?"]).run(RUN_LIMIT);
    text.expect_code(1);
    assert!(
        text.stderr.contains(&address),
        "stderr does not name {address}:\n{}",
        text.stderr
    );

    let json_run = scenario
        .ask(&["--output", "json", "Is shop healthy?"])
        .run(RUN_LIMIT);
    json_run.expect_code(1);
    let result = json_run.result();
    assert_eq!(result.status, Status::Failed, "{result:?}");
    let error = result.error.map(|e| e.message).unwrap_or_default();
    assert!(
        error.contains(&address),
        "the error does not name {address}: {error}"
    );
}

#[test]
fn usage_errors_exit_2_and_say_what_was_wrong() {
    let scenario = Scenario::new();
    let bad_mode = scenario.ask(&["--mode", "yolo", "hi"]).run(RUN_LIMIT);
    assert!(
        bad_mode.expect_code(2).stderr.contains("--mode"),
        "{}",
        bad_mode.stderr
    );
    let bad_skill = scenario
        .ask(&["--demo", "--offline", "--skill", "astrology", "hi"])
        .run(RUN_LIMIT);
    assert!(
        bad_skill.expect_code(2).stderr.contains("astrology"),
        "{}",
        bad_skill.stderr
    );
    // A question that is not text is the caller's mistake, not a failure of ours.
    let mut not_text = std::process::Command::new(support::process::binary())
        .args(["ask", "-"])
        .env_clear()
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write as _;
        let mut stdin = not_text.stdin.take().unwrap();
        stdin.write_all(b"why is \xff\xfe crashlooping?").unwrap();
    }
    let out = not_text.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("not UTF-8 text (invalid byte at offset 7)"),
        "{stderr}"
    );
    let bad_provider = Scenario::new().env("LLM_PROVIDER", "skynet");
    let out = bad_provider.ask(&["--demo", "hi"]).run(RUN_LIMIT);
    assert!(
        out.expect_code(2).stderr.contains("LLM_PROVIDER"),
        "{}",
        out.stderr
    );
}

// ---------------------------------------------------------------------------------------------
// A change without -n acts in the kubeconfig context's namespace: when that one is protected,
// the change is blocked, not put to the user.

#[test]
fn a_change_without_a_namespace_in_a_protected_context_namespace_is_blocked() {
    let scenario = shop_with_skill([
        Reply::tool_call(
            "run_kubectl",
            json!({"args": ["delete", "deployment", "coredns"]}),
        ),
        Reply::text("Refused: {{last_tool_result}}"),
    ]);
    let kubeconfig = std::fs::read_to_string(scenario.kubeconfig()).unwrap();
    assert!(kubeconfig.contains("namespace: default"), "{kubeconfig}");
    std::fs::write(
        scenario.kubeconfig(),
        kubeconfig.replace("namespace: default", "namespace: kube-system"),
    )
    .unwrap();
    let ask = scenario.ask(&[
        "--skill",
        "troubleshooting",
        "--output",
        "json",
        "Delete coredns",
    ]);
    // A terminal that says yes: nothing may even ask.
    let run = run_on_pty(&ask, &["y"], RUN_LIMIT);
    run.outcome.expect_code(3);
    assert_eq!(run.prompts, 0, "{}", run.screen);
    let events = run.outcome.events();
    assert!(events.of_type(EventType::ApprovalRequested).is_empty());
    let result = &events.tool_results()[0];
    assert!(!result.ok);
    assert!(
        result.output.contains("blocked") && result.output.contains("kube-system"),
        "{}",
        result.output
    );
}

#[test]
fn an_answer_that_cannot_be_written_is_a_failure_not_a_silent_success() {
    let scenario = Scenario::new();
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full exists on Linux");
    let out = std::process::Command::new(support::process::binary())
        .args([
            "ask",
            "--demo",
            "--offline",
            "Find over-provisioned deployments and orphaned PVCs",
        ])
        .env_clear()
        .envs(scenario.environment())
        .stdin(std::process::Stdio::null())
        .stdout(full)
        .output()
        .expect("kopilot runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("could not write to standard output")
            && stderr.contains("No space left on device")
            && stderr.contains("kopilot history show"),
        "{stderr}"
    );
}

#[test]
fn budgets_and_prices_can_be_set_from_the_command_line() {
    let over_tokens = shop_with_skill([
        Reply::tool_call(
            "run_kubectl",
            json!({"args": ["get", "pods", "-n", "shop"]}),
        ),
        Reply::text("shop has one pod."),
    ]);
    let out = over_tokens
        .ask(&[
            "--skill",
            "troubleshooting",
            "--max-tokens",
            "10",
            "--output",
            "json",
            "How many pods in shop?",
        ])
        .run(RUN_LIMIT);
    out.expect_code(1);
    let result = out.result();
    assert_eq!(result.status, Status::Failed);
    assert_eq!(
        result.error.map(|e| e.code.to_string()).as_deref(),
        Some("limit.tokens")
    );

    // With the model's prices, the footer says what the task cost.
    let priced = shop_with_skill([Reply::text("shop looks fine.")])
        .env("LLM_PRICES", "input=3.00,output=15.00");
    let out = priced
        .ask(&[
            "--skill",
            "troubleshooting",
            "--max-cost",
            "0.50",
            "Is shop ok?",
        ])
        .run(RUN_LIMIT);
    out.expect_code(0);
    let footer = out.stderr.lines().last().unwrap_or_default().to_owned();
    assert!(
        footer.contains(" tokens (") && footer.contains(" · $0.0"),
        "{}",
        out.stderr
    );

    // A dollar budget without prices, and prices that do not parse, are usage errors.
    let scenario = Scenario::new();
    let out = scenario
        .ask(&["--demo", "--offline", "--max-cost", "1", "hi"])
        .run(RUN_LIMIT);
    assert!(
        out.expect_code(2).stderr.contains("LLM_PRICES"),
        "{}",
        out.stderr
    );
    let out = Scenario::new()
        .env("LLM_PRICES", "input=cheap")
        .ask(&["--demo", "--offline", "hi"])
        .run(RUN_LIMIT);
    assert!(
        out.expect_code(2)
            .stderr
            .contains("LLM_PRICES: `cheap` is not a price"),
        "{}",
        out.stderr
    );
    let out = Scenario::new()
        .env("KOPILOT_MAX_TOKENS", "lots")
        .ask(&["--demo", "--offline", "hi"])
        .run(RUN_LIMIT);
    assert!(
        out.expect_code(2).stderr.contains("KOPILOT_MAX_TOKENS"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_question_over_the_size_limit_is_a_usage_error_naming_the_limit() {
    let limited = Scenario::new().env("KOPILOT_MAX_PROMPT_BYTES", "100");
    let long = "why ".repeat(30);
    let out = limited.ask(&["--demo", "--offline", &long]).run(RUN_LIMIT);
    assert!(
        out.expect_code(2)
            .stderr
            .contains("longer than 100 bytes, the limit (KOPILOT_MAX_PROMPT_BYTES)"),
        "{}",
        out.stderr
    );
    // A mebibyte on standard input, against the default limit: refused without reading it all.
    let scenario = Scenario::new();
    let mut child = std::process::Command::new(support::process::binary())
        .args(["ask", "--demo", "--offline", "-"])
        .env_clear()
        .envs(scenario.environment())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        use std::io::Write as _;
        // Ends with a broken pipe once kopilot stops reading: expected.
        let _ = stdin.write_all(&vec![b'a'; 1 << 20]);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("on standard input is longer than 65536 bytes"),
        "{stderr}"
    );
    assert!(
        !scenario.data_dir().join("kopilot.db").exists(),
        "no task was recorded"
    );
}

#[test]
fn offline_routing_follows_the_questions_subject_not_a_word_every_question_holds() {
    let routed_to = |question: &str| -> String {
        let out = Scenario::new()
            .ask(&["--demo", "--offline", "--output", "json", question])
            .run(RUN_LIMIT);
        out.expect_code(0);
        out.events()
            .iter()
            .find_map(|e| match &e.event {
                EventKind::Notification { message } => message
                    .strip_prefix("routed by keywords to: ")
                    .map(str::to_owned),
                _ => None,
            })
            .expect("a routing notification")
    };
    assert_eq!(
        routed_to("Find over-provisioned deployments and orphaned PVCs across all namespaces"),
        "cost_optimization"
    );
    assert_eq!(
        routed_to("why is checkout crashlooping?"),
        "troubleshooting"
    );
}

#[test]
fn a_prices_file_that_does_not_parse_stops_ask_before_the_task() {
    let scenario = Scenario::new();
    let prices = scenario.dir.path().join("prices.yaml");
    std::fs::write(&prices, "cpu_per_vcpu_hour: cheap\n").unwrap();
    let out = scenario
        .ask(&["--demo", "--offline", "Any orphaned PVCs?"])
        .env_var("KOPILOT_PRICES", &prices.display().to_string())
        .run(RUN_LIMIT);
    assert!(
        out.expect_code(2).stderr.contains("prices.yaml"),
        "{}",
        out.stderr
    );
    assert!(
        !scenario.data_dir().join("kopilot.db").exists(),
        "no task was started"
    );
}
