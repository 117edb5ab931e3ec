//! Tool calls pass the guard and the approver: blocked commands are reported to the model and
//! the run goes on; denied mutations never run and are never asked again; approved ones run.

mod support;

use std::sync::Arc;

use kopilot_core::llm::{
    ChatResponse, Message, ScriptedModel, ScriptedReply, ToolArguments, ToolCall,
};
use kopilot_core::safety::Risk;
use kopilot_core::safety::{ApproveAll, AuditEvent, DenyAll, MemoryAuditSink};
use kopilot_core::testing::RecordingTool;
use kopilot_core::{EventKind, Kopilot, Status, TaskRequest};
use serde_json::json;
use support::*;

fn kubectl() -> RecordingTool {
    RecordingTool::new("run_kubectl", "kubectl", "ok")
}

fn tool_messages(model: &ScriptedModel, request: usize) -> Vec<(String, bool)> {
    model.requests()[request]
        .messages
        .iter()
        .filter_map(|m| match m {
            Message::Tool {
                content, is_error, ..
            } => Some((content.clone(), *is_error)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_blocked_command_is_reported_to_the_model_and_the_run_finishes() {
    let model = Arc::new(
        ScriptedModel::new("m")
            .then_call_tool("run_kubectl", json!({"args": "delete ns kube-system"}))
            .then_answer("I could not delete kube-system: the guard blocks it."),
    );
    let tool = kubectl();
    let kopilot = Kopilot::builder()
        .model(model.clone())
        .skills(skills())
        .tool(Arc::new(tool.clone()))
        .approver(Arc::new(ApproveAll::new("bob")))
        .build()
        .unwrap();
    let task = kopilot.submit(TaskRequest::new("delete kube-system").skill("alpha"));
    let result = task.result().await;
    assert_eq!(result.status, Status::Succeeded);
    assert!(
        tool.executed().is_empty(),
        "a blocked command never runs, even with an approve-all approver"
    );
    let messages = tool_messages(&model, 1);
    assert_eq!(messages.len(), 1);
    assert!(messages[0].1, "sent as an error");
    assert!(
        messages[0]
            .0
            .contains("blocked by the safety policy (critical risk)"),
        "{}",
        messages[0].0
    );
    assert!(
        messages[0].0.contains("protected namespace `kube-system`"),
        "{}",
        messages[0].0
    );
    assert_eq!(
        transcript(&all_events(&task).await),
        [
            "task_started",
            "tool_call:run_kubectl",
            "tool_result:error",
            "response:succeeded"
        ]
    );
}

#[tokio::test]
async fn a_denied_mutation_is_not_run_and_not_asked_again() {
    let model = Arc::new(
        ScriptedModel::new("m")
            .then_call_tool("run_kubectl", json!({"args": "delete pod web-1 -n shop"}))
            .then_call_tool("run_kubectl", json!({"args": "delete pod web-1 -n shop"}))
            .then_answer("The deletion was denied, so web-1 is still there."),
    );
    let tool = kubectl();
    let audit = Arc::new(MemoryAuditSink::default());
    let kopilot = Kopilot::builder()
        .model(model.clone())
        .skills(skills())
        .tool(Arc::new(tool.clone()))
        .approver(Arc::new(DenyAll::new("no terminal to ask on")))
        .audit(audit.clone())
        .build()
        .unwrap();
    let task = kopilot.submit(
        TaskRequest::new("delete web-1")
            .skill("alpha")
            .requester("alice"),
    );
    let result = task.result().await;
    assert_eq!(result.status, Status::Succeeded);
    assert!(tool.executed().is_empty());
    assert_eq!(
        transcript(&all_events(&task).await),
        [
            "task_started",
            "tool_call:run_kubectl",
            "approval_requested:high",
            "approval_decided:denied",
            "tool_result:error",
            // The second identical request is refused without asking anyone.
            "tool_call:run_kubectl",
            "tool_result:error",
            "response:succeeded"
        ]
    );
    // The tool_call event shows the planned line; the tool_result says why, in one line.
    let events = all_events(&task).await;
    let planned: Vec<&Vec<String>> = events
        .iter()
        .filter_map(|e| match &e.event {
            EventKind::ToolCall { commands, .. } => Some(commands),
            _ => None,
        })
        .collect();
    assert_eq!(planned.len(), 2);
    assert!(
        planned
            .iter()
            .all(|c| c.as_slice() == ["kubectl delete pod web-1 -n shop"]),
        "{planned:?}"
    );
    let summaries: Vec<Option<&str>> = events
        .iter()
        .filter_map(|e| match &e.event {
            EventKind::ToolResult { summary, exit, .. } => {
                assert_eq!(*exit, None, "nothing ran");
                Some(summary.as_deref())
            }
            _ => None,
        })
        .collect();
    assert!(
        summaries[0].is_some_and(|s| s.starts_with("not run:") && !s.contains('\n')),
        "{summaries:?}"
    );
    let second = tool_messages(&model, 2);
    assert!(
        second[0].0.contains("no terminal to ask on"),
        "{}",
        second[0].0
    );
    assert!(
        second[1].0.contains("already denied in this task"),
        "{}",
        second[1].0
    );
    let decided = audit
        .events()
        .into_iter()
        .filter(|e| {
            matches!(
                e,
                AuditEvent::ApprovalDecided {
                    approved: false,
                    ..
                }
            )
        })
        .count();
    assert_eq!(decided, 1, "one audited denial");
}

#[tokio::test]
async fn an_approved_mutation_runs_once() {
    let model = Arc::new(
        ScriptedModel::new("m")
            .then_call_tool(
                "run_kubectl",
                json!({"args": "scale deploy/web --replicas=2 -n shop"}),
            )
            .then_answer("Scaled."),
    );
    let tool = kubectl();
    let kopilot = Kopilot::builder()
        .model(model)
        .skills(skills())
        .tool(Arc::new(tool.clone()))
        .approver(Arc::new(ApproveAll::new("bob")))
        .build()
        .unwrap();
    let task = kopilot.submit(TaskRequest::new("scale web").skill("alpha"));
    assert_eq!(task.result().await.status, Status::Succeeded);
    assert_eq!(
        tool.executed(),
        ["kubectl scale deploy/web --replicas=2 -n shop"]
    );
    assert_eq!(
        transcript(&all_events(&task).await),
        [
            "task_started",
            "tool_call:run_kubectl",
            "approval_requested:medium",
            "approval_decided:approved",
            "tool_result:ok",
            "response:succeeded"
        ]
    );
}

#[tokio::test]
async fn malformed_arguments_go_back_to_the_model_which_can_retry() {
    let invalid = ToolCall {
        id: "x1".into(),
        name: "run_kubectl".into(),
        arguments: ToolArguments::parse("{\"args\": \"get pods"),
        provider_data: None,
    };
    let model = Arc::new(
        ScriptedModel::new("m")
            .then(ScriptedReply::Respond(ChatResponse::tool_calls(vec![
                invalid,
            ])))
            .then_call_tool("run_kubectl", json!({"args": 42}))
            .then_call_tool("run_kubectl", json!({"args": "get pods", "extra": true}))
            .then_call_tool("nope", json!({}))
            .then_call_tool("run_kubectl", json!({"args": "get pods"}))
            .then_answer("done"),
    );
    let tool = kubectl();
    let kopilot = Kopilot::builder()
        .model(model.clone())
        .skills(skills())
        .tool(Arc::new(tool.clone()))
        .build()
        .unwrap();
    let result = kopilot
        .submit(TaskRequest::new("x").skill("alpha"))
        .result()
        .await;
    assert_eq!(result.status, Status::Succeeded, "{:?}", result.error);
    assert_eq!(tool.executed(), ["kubectl get pods"]);
    let all = tool_messages(&model, 5);
    assert!(all[0].0.contains("not a valid JSON object"), "{}", all[0].0);
    assert!(
        all[1].0.contains("$.args: expected string, got a number"),
        "{}",
        all[1].0
    );
    assert!(
        all[2].0.contains("unknown property `extra`"),
        "{}",
        all[2].0
    );
    assert!(all[3].0.contains("unknown tool `nope`"), "{}", all[3].0);
    assert!(!all[4].1);
}

#[tokio::test]
async fn a_skill_cannot_use_a_tool_it_does_not_list() {
    let model = Arc::new(
        ScriptedModel::new("m")
            .then_call_tool("run_helm", json!({"args": "list"}))
            .then_answer("no"),
    );
    let helm = RecordingTool::new("run_helm", "helm", "ok");
    let kopilot = Kopilot::builder()
        .model(model.clone())
        .skills(skills())
        .tool(Arc::new(helm.clone()))
        .build()
        .unwrap();
    let result = kopilot
        .submit(TaskRequest::new("x").skill("alpha"))
        .result()
        .await;
    assert_eq!(result.status, Status::Succeeded);
    assert!(helm.executed().is_empty());
    assert!(
        tool_messages(&model, 1)[0]
            .0
            .contains("not available to the `alpha` skill")
    );
}

#[tokio::test]
async fn large_output_is_truncated_with_a_note() {
    let model = Arc::new(
        ScriptedModel::new("m")
            .then_call_tool("run_kubectl", json!({"args": "get pods -A"}))
            .then_answer("ok"),
    );
    let big = "x".repeat(40_000);
    let tool = RecordingTool::new("run_kubectl", "kubectl", big);
    let kopilot = Kopilot::builder()
        .model(model.clone())
        .skills(skills())
        .tool(Arc::new(tool))
        .build()
        .unwrap();
    assert_eq!(
        kopilot
            .submit(TaskRequest::new("x").skill("alpha"))
            .result()
            .await
            .status,
        Status::Succeeded
    );
    let content = &tool_messages(&model, 1)[0].0;
    assert!(content.len() < 17_000, "{}", content.len());
    assert!(
        content.contains("showing 16384 of 40000 bytes"),
        "{content}"
    );
}

#[tokio::test]
async fn an_approval_the_guard_refuses_is_reported_as_denied_and_never_runs() {
    // Four-eyes: the approver is the requester, so `resolve` refuses the approval. The event
    // must say what the guard decided, not what the approver answered.
    let model = Arc::new(
        ScriptedModel::new("m")
            .then_call_tool("run_kubectl", json!({"args": "delete pod web-1 -n shop"}))
            .then_answer("The deletion needs a second person."),
    );
    let tool = kubectl();
    let audit = Arc::new(MemoryAuditSink::default());
    let kopilot = Kopilot::builder()
        .model(model.clone())
        .skills(skills())
        .tool(Arc::new(tool.clone()))
        .policy(
            kopilot_core::safety::Policy::builder()
                .four_eyes(true)
                .build()
                .unwrap(),
        )
        .approver(Arc::new(ApproveAll::new("Alice")))
        .audit(audit.clone())
        .build()
        .unwrap();
    let task = kopilot.submit(
        TaskRequest::new("delete web-1")
            .skill("alpha")
            .requester("alice"),
    );
    assert_eq!(task.result().await.status, Status::Succeeded);
    assert!(tool.executed().is_empty());
    let events = all_events(&task).await;
    assert_eq!(
        transcript(&events),
        [
            "task_started",
            "tool_call:run_kubectl",
            "approval_requested:high",
            "approval_decided:denied",
            "tool_result:error",
            "response:succeeded"
        ]
    );
    let decided = events
        .iter()
        .find_map(|e| match &e.event {
            kopilot_core::EventKind::ApprovalDecided {
                approved,
                decided_by,
                reason,
                ..
            } => Some((*approved, decided_by.clone(), reason.clone())),
            _ => None,
        })
        .unwrap();
    assert!(!decided.0);
    assert_eq!(decided.1, "Alice");
    assert!(decided.2.unwrap_or_default().contains("four-eyes"));
    assert!(audit.events().iter().any(|e| matches!(
        e,
        AuditEvent::ApprovalDecided { approved: false, reason: Some(r), .. } if r.contains("four-eyes")
    )));
}

#[tokio::test]
async fn secret_values_in_prompts_arguments_and_commands_stay_out_of_events_and_the_store() {
    let model = Arc::new(
        ScriptedModel::new("m")
            .then_call_tool(
                "run_kubectl",
                json!({"args": "create secret generic db --from-literal=password=hunter2 -n shop"}),
            )
            .then_call_tool(
                "run_kubectl",
                json!({"args": "set env deploy/web API_KEY=k-abcdef123456 -n shop"}),
            )
            .then_answer("Created the secret and set the key."),
    );
    let tool = kubectl();
    let audit = Arc::new(MemoryAuditSink::default());
    let kopilot = Kopilot::builder()
        .model(model.clone())
        .skills(skills())
        .tool(Arc::new(tool.clone()))
        .approver(Arc::new(ApproveAll::new("bob")))
        .audit(audit.clone())
        .build()
        .unwrap();
    let task = kopilot.submit(
        TaskRequest::new("store DB_PASSWORD=hunter2 in a secret and set API_KEY=k-abcdef123456")
            .skill("alpha")
            .requester("alice"),
    );
    assert_eq!(task.result().await.status, Status::Succeeded);
    // The commands ran exactly as the model asked.
    assert_eq!(
        tool.executed(),
        [
            "kubectl create secret generic db --from-literal=password=hunter2 -n shop",
            "kubectl set env deploy/web API_KEY=k-abcdef123456 -n shop"
        ]
    );
    kopilot.flush().await;
    let live = serde_json::to_string(&all_events(&task).await).unwrap();
    let stored =
        serde_json::to_string(&kopilot.store().events(task.id(), 1).await.unwrap()).unwrap();
    let record = serde_json::to_string(&kopilot.store().task(task.id()).await.unwrap()).unwrap();
    let audited = serde_json::to_string(&audit.events()).unwrap();
    for (what, text) in [
        ("events", &live),
        ("stored events", &stored),
        ("task record", &record),
        ("audit", &audited),
    ] {
        for secret in ["hunter2", "k-abcdef123456"] {
            assert!(
                !text.contains(secret),
                "{secret} reached the {what}: {text}"
            );
        }
        assert!(text.contains("[REDACTED: credential]"), "{what}: {text}");
    }
}

#[tokio::test]
async fn a_secret_the_model_writes_stays_out_of_the_stream_the_result_and_the_store() {
    // The model streams in pieces of 3 characters: the key and its value arrive apart.
    let model =
        Arc::new(ScriptedModel::new("m").with_piece_chars(3).then_answer(
            "Set it.\nThe new DB_PASSWORD=hunter2 is live\nand API_KEY=k-abcdef123456.",
        ));
    let kopilot = Kopilot::builder()
        .model(model)
        .skills(skills())
        .build()
        .unwrap();
    let task = kopilot.submit(
        TaskRequest::new("rotate it")
            .skill("alpha")
            .requester("alice"),
    );
    let result = task.result().await;
    assert_eq!(result.status, Status::Succeeded);
    kopilot.flush().await;
    let events = all_events(&task).await;
    let deltas: String = events
        .iter()
        .filter_map(|e| match &e.event {
            EventKind::Delta { text } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    let stored =
        serde_json::to_string(&kopilot.store().events(task.id(), 1).await.unwrap()).unwrap();
    for (what, text) in [
        ("the deltas", deltas.clone()),
        ("the result", result.answer.clone()),
        ("the stored events", stored),
    ] {
        for secret in ["hunter2", "k-abcdef123456"] {
            assert!(!text.contains(secret), "{secret} reached {what}: {text}");
        }
    }
    assert!(
        deltas.starts_with("Set it.\nThe new DB_PASSWORD="),
        "{deltas}"
    );
    assert_eq!(deltas, result.answer, "the stream adds up to the answer");
}

#[tokio::test]
async fn the_result_lists_each_refused_command_once_with_how_it_was_refused() {
    let model = Arc::new(
        ScriptedModel::new("m")
            .then_call_tool("run_kubectl", json!({"args": "delete ns kube-system"}))
            .then_call_tool("run_kubectl", json!({"args": "delete pod web-1 -n shop"}))
            .then_call_tool("run_kubectl", json!({"args": "delete pod web-1 -n shop"}))
            .then_call_tool(
                "run_kubectl",
                json!({"args": "create secret generic db -n shop --from-literal=password=hunter2"}),
            )
            .then_call_tool("run_kubectl", json!({"args": "get pods -n shop"}))
            .then_answer("Nothing was changed: the guard blocked one command, you denied two."),
    );
    let tool = kubectl();
    let kopilot = Kopilot::builder()
        .model(model)
        .skills(skills())
        .tool(Arc::new(tool.clone()))
        .approver(Arc::new(DenyAll::new("no terminal to ask on")))
        .build()
        .unwrap();
    let result = kopilot
        .submit(TaskRequest::new("clean up").skill("alpha"))
        .result()
        .await;
    assert_eq!(result.status, Status::Succeeded);
    assert_eq!(tool.executed().len(), 1, "only the read ran");
    let refused: Vec<(&str, &str, Risk)> = result
        .refused
        .iter()
        .map(|r| (r.command.as_str(), r.refusal.as_str(), r.risk))
        .collect();
    assert_eq!(
        refused,
        [
            ("kubectl delete ns kube-system", "blocked", Risk::Critical),
            ("kubectl delete pod web-1 -n shop", "denied", Risk::High),
            (
                "kubectl create secret generic db -n shop '--from-literal=password=[REDACTED: credential]'",
                "denied",
                Risk::Medium
            ),
        ],
        "{:#?}",
        result.refused
    );
    assert!(result.refused[0].reason.contains("kube-system"));
    assert!(result.refused[1].reason.contains("no terminal to ask on"));
    let json = serde_json::to_string(&result).unwrap();
    assert!(!json.contains("hunter2"), "{json}");
}

#[tokio::test]
async fn an_answer_given_without_any_tool_says_so_and_one_that_quotes_the_tools_does_not() {
    let build = |model: ScriptedModel| {
        Kopilot::builder()
            .model(Arc::new(model))
            .skills(skills())
            .tool(Arc::new(RecordingTool::new(
                "run_kubectl",
                "kubectl",
                "NAME READY STATUS RESTARTS\ncheckout-7d9f8b6c5d-x2k4q 0/1 CrashLoopBackOff 12",
            )))
            .build()
            .unwrap()
    };
    let guessed = build(ScriptedModel::new("m").then_answer("It is probably DNS."))
        .submit(TaskRequest::new("why is checkout failing?").skill("alpha"))
        .result()
        .await;
    assert_eq!(guessed.status, Status::Succeeded);
    let codes: Vec<&str> = guessed.warnings.iter().map(|w| w.code.as_str()).collect();
    assert_eq!(codes, ["answer.no_evidence"], "{guessed:#?}");

    let unrelated = build(
        ScriptedModel::new("m")
            .then_call_tool("run_kubectl", json!({"args": "get pods -n shop"}))
            .then_answer("It is probably DNS."),
    )
    .submit(TaskRequest::new("why is checkout failing?").skill("alpha"))
    .result()
    .await;
    let codes: Vec<&str> = unrelated.warnings.iter().map(|w| w.code.as_str()).collect();
    assert_eq!(codes, ["answer.ungrounded"], "{unrelated:#?}");

    let grounded = build(
        ScriptedModel::new("m")
            .then_call_tool("run_kubectl", json!({"args": "get pods -n shop"}))
            .then_answer("checkout is in CrashLoopBackOff after 12 restarts."),
    )
    .submit(TaskRequest::new("why is checkout failing?").skill("alpha"))
    .result()
    .await;
    assert!(grounded.warnings.is_empty(), "{grounded:#?}");
    assert!(
        !serde_json::to_string(&grounded)
            .unwrap()
            .contains("warnings"),
        "no warnings, no field"
    );
}
