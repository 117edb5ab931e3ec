//! A tool run as a task of its own, without a model (`TaskRequest::tool_call`): the way an
//! adapter runs a tool for its caller. It passes the same guard, approvals, events, audit and
//! history as an agent's call.

mod support;

use std::sync::Arc;
use std::time::Duration;

use kopilot_core::safety::{AuditEvent, ChannelApprover, Identity, MemoryAuditSink};
use kopilot_core::testing::RecordingTool;
use kopilot_core::{ErrorCode, Kopilot, Status, TaskQuery, TaskRequest};
use serde_json::json;
use support::*;

fn kubectl() -> RecordingTool {
    RecordingTool::new("run_kubectl", "kubectl", "NAME   READY\nweb-1  1/1")
}

fn runtime(tool: &RecordingTool, audit: &Arc<MemoryAuditSink>, desk: ChannelApprover) -> Kopilot {
    Kopilot::builder()
        .tool(Arc::new(tool.clone()))
        .audit(Arc::clone(audit) as _)
        .approval_desk(desk)
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_read_runs_with_the_callers_identity_and_its_output_is_the_answer() {
    let (tool, audit) = (kubectl(), Arc::new(MemoryAuditSink::default()));
    let kopilot = runtime(&tool, &audit, ChannelApprover::new());
    let task = kopilot.submit(
        TaskRequest::tool_call("run_kubectl", json!({"args": "get pods -n shop"}))
            .requester("mcp:claude-desktop"),
    );
    let result = task.result().await;
    assert_eq!(result.status, Status::Succeeded, "{result:?}");
    assert!(result.answer.contains("web-1  1/1"), "{}", result.answer);
    assert_eq!(tool.executed(), ["kubectl get pods -n shop"]);
    assert_eq!(
        transcript(&all_events(&task).await),
        [
            "task_started",
            "tool_call:run_kubectl",
            "tool_result:ok",
            "response:succeeded"
        ]
    );
    let requesters: Vec<String> = audit
        .events()
        .into_iter()
        .filter_map(|e| match e {
            AuditEvent::Assessment { requester, .. } => Some(requester),
            _ => None,
        })
        .collect();
    assert_eq!(requesters, ["mcp:claude-desktop"]);
    // It is a task like any other: in the history, under its requester.
    kopilot.flush().await;
    let listed = kopilot
        .tasks(&TaskQuery::newest(5).requester("mcp:claude-desktop"))
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        listed[0].prompt,
        r#"run_kubectl {"args":"get pods -n shop"}"#
    );
}

#[tokio::test]
async fn a_mutation_waits_for_an_answer_by_id_and_runs_once_approved() {
    let (tool, audit) = (kubectl(), Arc::new(MemoryAuditSink::default()));
    let desk = ChannelApprover::new().with_four_eyes(true);
    let kopilot = runtime(&tool, &audit, desk);
    let task = kopilot.submit(
        TaskRequest::tool_call(
            "run_kubectl",
            json!({"args": "scale deploy/web --replicas=3 -n shop"}),
        )
        .requester("mcp:claude-desktop"),
    );
    let mut pending = Vec::new();
    for _ in 0..500 {
        pending = kopilot.approvals();
        if !pending.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(pending.len(), 1, "one request is pending");
    assert!(tool.executed().is_empty(), "nothing runs before the answer");
    assert_eq!(task.status(), Status::WaitingForApproval);
    // The caller itself cannot approve (four-eyes); the human at the desk can.
    assert!(
        kopilot
            .answer_approval(
                &pending[0].id,
                true,
                &Identity::new("mcp:claude-desktop"),
                None
            )
            .is_err()
    );
    kopilot
        .answer_approval(&pending[0].id, true, &Identity::new("alice"), None)
        .unwrap();
    assert_eq!(task.result().await.status, Status::Succeeded);
    assert_eq!(
        tool.executed(),
        ["kubectl scale deploy/web --replicas=3 -n shop"]
    );
}

#[tokio::test]
async fn a_blocked_command_fails_the_task_and_never_runs() {
    let (tool, audit) = (kubectl(), Arc::new(MemoryAuditSink::default()));
    let kopilot = runtime(&tool, &audit, ChannelApprover::new());
    let task = kopilot.submit(TaskRequest::tool_call(
        "run_kubectl",
        json!({"args": "delete ns kube-system"}),
    ));
    let result = task.result().await;
    assert_eq!(result.status, Status::Failed);
    let error = result.error.clone().unwrap();
    assert_eq!(error.code, ErrorCode::ToolFailed);
    assert!(
        error.message.contains("blocked by the safety policy"),
        "{result:?}"
    );
    assert!(tool.executed().is_empty());
}

#[tokio::test]
async fn an_unknown_tool_is_rejected_and_bad_arguments_fail_with_the_schema_error() {
    let (tool, audit) = (kubectl(), Arc::new(MemoryAuditSink::default()));
    let kopilot = runtime(&tool, &audit, ChannelApprover::new());
    let unknown = kopilot
        .submit(TaskRequest::tool_call("rm_everything", json!({})))
        .result()
        .await;
    assert_eq!(unknown.status, Status::Rejected);
    let error = unknown.error.clone().unwrap();
    assert_eq!(error.code, ErrorCode::RejectedUnknownTool);
    assert!(
        error.message.contains("run_kubectl"),
        "names the tools there are: {unknown:?}"
    );
    let bad = kopilot
        .submit(TaskRequest::tool_call("run_kubectl", json!({"args": 42})))
        .result()
        .await;
    assert_eq!(bad.status, Status::Failed);
    assert!(
        bad.error
            .as_ref()
            .is_some_and(|e| e.code == ErrorCode::ToolFailed && e.message.contains("schema")),
        "{bad:?}"
    );
    assert!(tool.executed().is_empty());
}

#[tokio::test]
async fn secret_values_in_the_arguments_stay_out_of_the_history() {
    let tool = kubectl().with_parameters(json!({
        "type": "object",
        "properties": {"args": {"type": "string"}, "token": {"type": "string"}},
        "required": ["args"]
    }));
    let audit = Arc::new(MemoryAuditSink::default());
    let kopilot = runtime(&tool, &audit, ChannelApprover::new());
    let task = kopilot.submit(TaskRequest::tool_call(
        "run_kubectl",
        json!({"args": "get pods -n shop", "token": "hunter2-secret"}),
    ));
    task.result().await;
    kopilot.flush().await;
    let stored = kopilot.task(task.id()).await.unwrap();
    assert!(!stored.prompt.contains("hunter2"), "{}", stored.prompt);
    for event in all_events(&task).await {
        let json = serde_json::to_string(&event).unwrap();
        assert!(!json.contains("hunter2"), "{json}");
    }
}

#[tokio::test]
async fn a_request_in_read_only_mode_blocks_what_the_policy_would_ask_about() {
    let (tool, audit) = (kubectl(), Arc::new(MemoryAuditSink::default()));
    let desk = ChannelApprover::new();
    let kopilot = runtime(&tool, &audit, desk);
    let task = kopilot.submit(
        TaskRequest::tool_call(
            "run_kubectl",
            json!({"args": "scale deploy/web --replicas=3 -n shop"}),
        )
        .requester("alice")
        .mode(kopilot_core::safety::Mode::ReadOnly),
    );
    let result = task.result().await;
    assert_eq!(result.status, Status::Failed, "{result:?}");
    assert!(tool.executed().is_empty());
    assert!(kopilot.approvals().is_empty(), "nobody was asked");
    assert_eq!(result.refused.len(), 1, "{result:?}");
    assert_eq!(
        result.refused[0].refusal,
        kopilot_core::protocol::RefusalKind::Blocked
    );
    // A request cannot widen the policy: full-access still asks (and here nobody answers).
    let task = kopilot.submit(
        TaskRequest::tool_call(
            "run_kubectl",
            json!({"args": "scale deploy/web --replicas=3 -n shop"}),
        )
        .requester("alice")
        .mode(kopilot_core::safety::Mode::FullAccess),
    );
    for _ in 0..500 {
        if !kopilot.approvals().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        kopilot.approvals().len(),
        1,
        "the policy's approval still applies"
    );
    task.cancel();
    assert_eq!(task.result().await.status, Status::Cancelled);
    assert!(tool.executed().is_empty());
}
