//! `testing::EventExpectation` against the events of real runs: it passes on the steps a task
//! took, and fails — naming the step, the event found instead, and the events seen — when a
//! step is missing, out of order, from another agent, or followed by more under `only`.

mod support;

use std::sync::Arc;

use kopilot_core::safety::{DenyAll, Risk};
use kopilot_core::testing::{EventExpectation, EventType, RecordingTool, Step};
use kopilot_core::{Event, EventKind, Kopilot, Status, TaskRequest};
use serde_json::json;
use support::*;

/// A run of skill `alpha` that asks to delete a deployment, is denied, and answers.
async fn denied_delete() -> Vec<Event> {
    let model = kopilot_core::llm::ScriptedModel::new("scripted")
        .with_piece_chars(8)
        .then_call_tool(
            "run_kubectl",
            json!({"args": "delete deployment web -n shop"}),
        )
        .then_answer("I did not delete it: the approver said no.");
    let kopilot = Kopilot::builder()
        .model(Arc::new(model))
        .skills(skills())
        .tool(Arc::new(RecordingTool::new("run_kubectl", "kubectl", "ok")))
        .approver(Arc::new(DenyAll::new("carol")))
        .build()
        .unwrap();
    let task = kopilot.submit(TaskRequest::new("delete web in shop").skill("alpha"));
    all_events(&task).await
}

/// The steps the denied delete takes.
fn denied_delete_steps() -> EventExpectation {
    EventExpectation::new()
        .then(Step::task_started().by("kopilot"))
        .then(Step::tool_call("run_kubectl").by("alpha"))
        .then(Step::approval_requested(Risk::High))
        .then(Step::denied())
        .then(Step::tool_failed("run_kubectl"))
        .then(Step::response(Status::Succeeded))
}

#[tokio::test]
async fn the_steps_a_run_took_pass_with_and_without_only() {
    let events = denied_delete().await;
    denied_delete_steps().assert_matches(&events);
    denied_delete_steps().only().assert_matches(&events);
    // Every event counted: the answer's deltas come between the tool result and the response.
    EventExpectation::new()
        .ignoring([])
        .then(EventType::TaskStarted)
        .then_eventually(Step::denied())
        .then(EventType::ToolResult)
        .then(EventType::Delta)
        .then_eventually(EventType::Response)
        .only()
        .assert_matches(&events);
    EventExpectation::new()
        .then_eventually(Step::matching("a decision by the deny-all approver", |e| {
            matches!(&e.event, EventKind::ApprovalDecided { decided_by, .. } if decided_by == "kopilot:deny-all")
        }))
        .assert_matches(&events);
    assert!(EventExpectation::new().check(&events).is_ok(), "no steps");
}

#[tokio::test]
async fn a_missing_step_fails_there_naming_what_was_found_and_listing_the_events() {
    let events = denied_delete().await;
    let failure = EventExpectation::new()
        .then(Step::task_started())
        .then(Step::tool_call("run_kubectl"))
        .then(Step::approved())
        .check(&events)
        .unwrap_err();
    assert_eq!(failure.step(), Some(3));
    let report = failure.to_string();
    let first = report.lines().next().unwrap();
    assert!(
        first.contains("at step 3 of 3: expected approval_decided approved")
            && first.contains("found seq 3 approval_requested@alpha"),
        "{report}"
    );
    assert!(
        report.contains(" -> 3. approval_decided approved"),
        "{report}"
    );
    assert!(
        report.contains(
            " -> seq 3 approval_requested@alpha (high: \"kubectl delete deployment web -n shop\")"
        ),
        "{report}"
    );
    for seen in [
        "seq 1 task_started@kopilot (\"delete web in shop\")",
        "approval_decided@alpha (denied by kopilot:deny-all)",
        "tool_result@alpha (run_kubectl, failed:",
        "response@kopilot (succeeded)",
    ] {
        assert!(
            report.contains(seen),
            "the report lacks {seen:?}:\n{report}"
        );
    }
    assert!(
        report.contains("events seen (delta, thinking, notification skipped):")
            && !report.contains("delta@"),
        "{report}"
    );
}

#[tokio::test]
async fn another_agent_a_wrong_argument_or_a_wrong_status_fails() {
    let events = denied_delete().await;
    for (expectation, step, expected) in [
        (
            EventExpectation::new()
                .then(EventType::TaskStarted)
                .then(Step::tool_call("run_kubectl").by("beta")),
            2,
            "tool_call of `run_kubectl` by `beta`",
        ),
        (
            EventExpectation::new()
                .then(EventType::TaskStarted)
                .then(Step::tool_call("run_shell")),
            2,
            "tool_call of `run_shell`",
        ),
        (
            EventExpectation::new().then_eventually(Step::response(Status::Failed)),
            1,
            "eventually response with status failed, found none",
        ),
        (
            EventExpectation::new().then_eventually(Step::approval_requested(Risk::Critical)),
            1,
            "eventually approval_requested at risk critical",
        ),
    ] {
        let failure = expectation.check(&events).unwrap_err();
        assert_eq!(failure.step(), Some(step), "{failure}");
        assert!(failure.to_string().contains(expected), "{failure}");
    }
}

#[tokio::test]
async fn out_of_order_steps_and_more_events_under_only_fail() {
    let events = denied_delete().await;
    let swapped = EventExpectation::new()
        .then(EventType::TaskStarted)
        .then(EventType::ToolCall)
        .then(Step::denied())
        .then(Step::approval_requested(Risk::High))
        .check(&events)
        .unwrap_err();
    assert_eq!(swapped.step(), Some(3));

    let extra = EventExpectation::new()
        .then(EventType::TaskStarted)
        .then(EventType::ToolCall)
        .only()
        .check(&events)
        .unwrap_err();
    assert_eq!(extra.step(), None);
    let report = extra.to_string();
    assert!(
        report.contains(
            "after its last step (2): expected no more events, found seq 3 approval_requested@alpha"
        ),
        "{report}"
    );
    assert!(report.contains(" -> and nothing more"), "{report}");

    let too_long = denied_delete_steps()
        .then(EventType::Notification)
        .check(&events)
        .unwrap_err();
    assert_eq!(too_long.step(), Some(7));
    assert!(
        too_long
            .to_string()
            .contains("expected notification, found the end of the stream"),
        "{too_long}"
    );
}

#[tokio::test]
#[should_panic(expected = "at step 2 of 2: expected delegated to `beta`")]
async fn assert_matches_panics_with_the_report() {
    let events = denied_delete().await;
    EventExpectation::new()
        .then(EventType::TaskStarted)
        .then(Step::delegated("beta"))
        .assert_matches(&events);
}

#[test]
fn every_event_type_has_its_wire_name() {
    let kinds = [
        json!({"type": "task_started", "prompt": "p"}),
        json!({"type": "delegated", "call_id": "c", "skill": "s", "task": "t"}),
        json!({"type": "thinking", "text": "t"}),
        json!({"type": "delta", "text": "t"}),
        json!({"type": "tool_call", "call_id": "c", "tool": "t", "args": {}}),
        json!({"type": "approval_requested", "approval_id": "a", "call_id": "c",
            "command": "x", "risk": "high", "reasons": []}),
        json!({"type": "approval_decided", "approval_id": "a", "call_id": "c",
            "approved": true, "decided_by": "d"}),
        json!({"type": "tool_result", "call_id": "c", "tool": "t", "ok": true, "output": "",
            "duration_ms": 1}),
        json!({"type": "reflection", "score": 5, "critique": "c", "replan": false}),
        json!({"type": "notification", "message": "m"}),
        json!({"type": "response", "status": "succeeded", "answer": "",
            "usage": {"input_tokens": 0, "output_tokens": 0}, "duration_ms": 1}),
    ];
    for wire in kinds {
        let kind: EventKind = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(EventType::of(&kind).as_str(), wire["type"], "{wire}");
    }
}
