//! The exact JSON of representative events and results. The SQLite store keeps these shapes
//! and `kopilot ask --output json` prints them: a test failing here is a wire-format change.

use kopilot_protocol::{
    ChangeAction, ChangePreview, ErrorCode, Event, EventKind, Exit, Failure, Finding, ObjectChange,
    ObjectRef, RefusalKind, RefusedCommand, Risk, Severity, Status, TaskResult, Usage, Warning,
};
use serde_json::{Value, json};
use time::macros::datetime;

fn event(seq: u64, agent: &str, kind: EventKind) -> Event {
    Event {
        task_id: "t-1".to_owned(),
        seq,
        ts: datetime!(2026-11-22 10:00:01.2 UTC),
        agent: agent.to_owned(),
        event: kind,
    }
}

/// Serialises, compares with `expected`, and reads it back to the same value.
fn pinned(value: &Event, expected: &Value) {
    let json = serde_json::to_value(value).unwrap();
    assert_eq!(&json, expected);
    let back: Event = serde_json::from_value(json).unwrap();
    assert_eq!(&back, value);
}

#[test]
fn tool_call_with_its_planned_commands() {
    pinned(
        &event(
            4,
            "cost_optimization",
            EventKind::ToolCall {
                call_id: "c-2".to_owned(),
                tool: "run_kubectl".to_owned(),
                args: json!({"args": "top pods -A"}),
                commands: vec!["kubectl top pods -A".to_owned()],
            },
        ),
        &json!({
            "task_id": "t-1", "seq": 4, "ts": "2026-11-22T10:00:01.2Z", "agent": "cost_optimization",
            "event": {"type": "tool_call", "call_id": "c-2", "tool": "run_kubectl",
                      "args": {"args": "top pods -A"}, "commands": ["kubectl top pods -A"]}
        }),
    );
}

#[test]
fn tool_result_with_exit_and_summary() {
    pinned(
        &event(
            5,
            "troubleshooting",
            EventKind::ToolResult {
                call_id: "c-2".to_owned(),
                tool: "run_kubectl".to_owned(),
                ok: true,
                output: "[stderr]\nError from server (NotFound)\n[exit code 1]\n".to_owned(),
                exit: Some(Exit::Exited { code: 1 }),
                summary: Some("Error from server (NotFound)".to_owned()),
                duration_ms: 80,
            },
        ),
        &json!({
            "task_id": "t-1", "seq": 5, "ts": "2026-11-22T10:00:01.2Z", "agent": "troubleshooting",
            "event": {"type": "tool_result", "call_id": "c-2", "tool": "run_kubectl", "ok": true,
                      "output": "[stderr]\nError from server (NotFound)\n[exit code 1]\n",
                      "exit": {"ending": "exited", "code": 1},
                      "summary": "Error from server (NotFound)", "duration_ms": 80}
        }),
    );
}

#[test]
fn approval_requested() {
    pinned(
        &event(
            6,
            "administration",
            EventKind::ApprovalRequested {
                approval_id: "a-1".to_owned(),
                call_id: "c-3".to_owned(),
                command: "kubectl scale deploy web -n shop --replicas=3".to_owned(),
                risk: Risk::Medium,
                reasons: vec!["scale changes the cluster".to_owned()],
                preview: None,
            },
        ),
        &json!({
            "task_id": "t-1", "seq": 6, "ts": "2026-11-22T10:00:01.2Z", "agent": "administration",
            "event": {"type": "approval_requested", "approval_id": "a-1", "call_id": "c-3",
                      "command": "kubectl scale deploy web -n shop --replicas=3", "risk": "medium",
                      "reasons": ["scale changes the cluster"]}
        }),
    );
}

#[test]
fn approval_requested_with_a_change_preview() {
    let preview = ChangePreview {
        command: "kubectl scale deploy web -n shop --replicas=3".to_owned(),
        ran: vec![
            "kubectl scale deploy web -n shop --replicas=3 --dry-run=server -o yaml".to_owned(),
        ],
        changes: vec![ObjectChange {
            api_version: "apps/v1".to_owned(),
            kind: "Deployment".to_owned(),
            namespace: Some("shop".to_owned()),
            name: "web".to_owned(),
            action: ChangeAction::NoChange,
            diff: String::new(),
        }],
        failure: None,
        notes: vec!["scale prints the object as it was".to_owned()],
    };
    pinned(
        &event(
            6,
            "administration",
            EventKind::ApprovalRequested {
                approval_id: "a-1".to_owned(),
                call_id: "c-3".to_owned(),
                command: "kubectl scale deploy web -n shop --replicas=3".to_owned(),
                risk: Risk::Medium,
                reasons: vec!["scale changes the cluster".to_owned()],
                preview: Some(preview),
            },
        ),
        &json!({
            "task_id": "t-1", "seq": 6, "ts": "2026-11-22T10:00:01.2Z", "agent": "administration",
            "event": {"type": "approval_requested", "approval_id": "a-1", "call_id": "c-3",
                      "command": "kubectl scale deploy web -n shop --replicas=3", "risk": "medium",
                      "reasons": ["scale changes the cluster"],
                      "preview": {
                          "command": "kubectl scale deploy web -n shop --replicas=3",
                          "ran": ["kubectl scale deploy web -n shop --replicas=3 --dry-run=server -o yaml"],
                          "changes": [{"api_version": "apps/v1", "kind": "Deployment",
                                       "namespace": "shop", "name": "web",
                                       "action": "unchanged", "diff": ""}],
                          "notes": ["scale prints the object as it was"]}}
        }),
    );
}

#[test]
fn failed_response_with_a_coded_error_and_findings() {
    let finding = Finding {
        check: "health.crashloop".to_owned(),
        severity: Severity::High,
        object: ObjectRef::new("Deployment", Some("shop"), "checkout"),
        message: "restarting".to_owned(),
        evidence: json!({"restarts": 12}),
        recommendation: "read the logs".to_owned(),
        command: Some("kubectl logs deploy/checkout -n shop --previous".to_owned()),
        monthly_cost: None,
    };
    pinned(
        &event(
            9,
            "kopilot",
            EventKind::Response(TaskResult {
                status: Status::Failed,
                answer: String::new(),
                error: Some(Failure::new(
                    ErrorCode::LimitTokens,
                    "limit reached: the task used 1600 tokens, over its budget of 1500",
                )),
                findings: vec![finding],
                usage: Usage {
                    input_tokens: 1500,
                    output_tokens: 100,
                },
                duration_ms: 2100,
                refused: Vec::new(),
                warnings: Vec::new(),
            }),
        ),
        &json!({
            "task_id": "t-1", "seq": 9, "ts": "2026-11-22T10:00:01.2Z", "agent": "kopilot",
            "event": {"type": "response", "status": "failed", "answer": "",
                      "error": {"code": "limit.tokens",
                                "message": "limit reached: the task used 1600 tokens, over its budget of 1500"},
                      "findings": [{"check": "health.crashloop", "severity": "high",
                                    "object": {"kind": "Deployment", "namespace": "shop", "name": "checkout"},
                                    "message": "restarting", "evidence": {"restarts": 12},
                                    "recommendation": "read the logs",
                                    "command": "kubectl logs deploy/checkout -n shop --previous",
                                    "monthly_cost": null}],
                      "usage": {"input_tokens": 1500, "output_tokens": 100}, "duration_ms": 2100}
        }),
    );
}

/// Results and events as the store held them before this crate: an error as a bare message,
/// findings as arbitrary JSON, tool events without commands, exit or summary.
#[test]
fn rows_stored_before_the_protocol_crate_still_read() {
    let result: TaskResult = serde_json::from_value(json!({
        "status": "cancelled", "answer": "", "error": "the task was cancelled",
        "findings": [{"kind": "oom_killed", "pod": "shop/web-1"}],
        "usage": {"input_tokens": 0, "output_tokens": 0}, "duration_ms": 3
    }))
    .unwrap();
    assert_eq!(result.status, Status::Cancelled);
    assert_eq!(
        result.error,
        Some(Failure::new(
            ErrorCode::Unspecified,
            "the task was cancelled"
        ))
    );
    assert!(result.findings.is_empty());

    let old: Event = serde_json::from_value(json!({
        "task_id": "t-0", "seq": 2, "ts": "2026-11-01T08:00:00Z", "agent": "supervisor",
        "event": {"type": "tool_result", "call_id": "c-1", "tool": "delegate", "ok": false,
                  "output": "unknown skill", "duration_ms": 0}
    }))
    .unwrap();
    let EventKind::ToolResult { exit, summary, .. } = old.event else {
        panic!("not a tool result: {old:?}");
    };
    assert_eq!((exit, summary), (None, None));
}

#[test]
fn a_succeeded_result_leaves_out_what_it_does_not_have() {
    let result = TaskResult {
        status: Status::Succeeded,
        answer: "All good.".to_owned(),
        error: None,
        findings: Vec::new(),
        usage: Usage::default(),
        duration_ms: 10,
        refused: Vec::new(),
        warnings: Vec::new(),
    };
    assert_eq!(
        serde_json::to_string(&result).unwrap(),
        r#"{"status":"succeeded","answer":"All good.","usage":{"input_tokens":0,"output_tokens":0},"duration_ms":10}"#
    );
}

#[test]
fn refused_commands_and_warnings_have_stable_names() {
    let result = TaskResult {
        status: Status::Succeeded,
        answer: "Nothing changed.".to_owned(),
        error: None,
        findings: Vec::new(),
        usage: Usage::default(),
        duration_ms: 10,
        refused: vec![RefusedCommand {
            command: "kubectl delete pod web-1 -n shop".to_owned(),
            risk: Risk::High,
            refusal: RefusalKind::Denied,
            reason: "no terminal to ask on".to_owned(),
        }],
        warnings: vec![Warning::new(Warning::NO_EVIDENCE, "no tool ran")],
    };
    let json = serde_json::to_value(&result).unwrap();
    assert_eq!(
        json,
        json!({
            "status": "succeeded", "answer": "Nothing changed.",
            "usage": {"input_tokens": 0, "output_tokens": 0}, "duration_ms": 10,
            "refused": [{"command": "kubectl delete pod web-1 -n shop", "risk": "high",
                         "refusal": "denied", "reason": "no terminal to ask on"}],
            "warnings": [{"code": "answer.no_evidence", "message": "no tool ran"}]
        })
    );
    let back: TaskResult = serde_json::from_value(json).unwrap();
    assert_eq!(back, result);
    for (kind, name) in [
        (RefusalKind::Blocked, "blocked"),
        (RefusalKind::Denied, "denied"),
        (RefusalKind::NotCleared, "not_cleared"),
    ] {
        assert_eq!(serde_json::to_value(kind).unwrap(), json!(name));
        assert_eq!(kind.as_str(), name);
    }
}
