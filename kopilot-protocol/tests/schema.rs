//! With the `schema` feature, the protocol's types describe themselves as JSON Schema (custom
//! resources, MCP output schemas, OpenAPI documents).
#![cfg(feature = "schema")]

use kopilot_protocol::{Budget, Event, Status, TaskResult};

#[test]
fn events_results_statuses_and_budgets_have_schemas() {
    let event = serde_json::to_string(&schemars::schema_for!(Event)).unwrap();
    for needle in [
        "tool_call",
        "approval_requested",
        "response",
        "commands",
        "ending",
    ] {
        assert!(event.contains(needle), "the event schema lacks {needle}");
    }
    let status = serde_json::to_value(schemars::schema_for!(Status)).unwrap();
    let names = status.to_string();
    for s in Status::ALL {
        assert!(names.contains(&format!("\"{s}\"")), "{s} missing: {names}");
    }
    let result = serde_json::to_string(&schemars::schema_for!(TaskResult)).unwrap();
    assert!(result.contains("ErrorCode"), "{result}");
    let budget = serde_json::to_string(&schemars::schema_for!(Budget)).unwrap();
    for field in ["tokens", "seconds", "tool_calls", "dollars"] {
        assert!(budget.contains(field), "{budget}");
    }
}
