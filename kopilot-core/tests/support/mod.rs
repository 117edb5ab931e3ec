//! Shared helpers for the runtime's behaviour tests.
#![allow(dead_code)]

use std::sync::Arc;

use futures::StreamExt;
use kopilot_core::llm::ScriptedModel;
use kopilot_core::skills::{InlineSource, Skill, SkillLoader, SkillRegistry};
use kopilot_core::{Event, EventKind, TaskHandle};

/// Marker in the supervisor's system prompt.
pub(crate) const SUPERVISOR: &str = "You are Kopilot, an AI operator";

/// Two test skills, `alpha` and `beta`, each allowed `run_kubectl`, with markers in their
/// prompts so a `RoutedModel` can tell them apart.
pub(crate) fn skills() -> SkillRegistry {
    let make = |name: &str, marker: &str, keywords: &[&str], analyzers: &[&str]| {
        let mut s = Skill::new(
            name,
            name.to_uppercase(),
            format!("The {name} specialist."),
            format!("{marker}: you are the {name} specialist."),
        );
        s.tools = vec!["run_kubectl".to_owned(), "analyze".to_owned()];
        s.keywords = keywords.iter().map(|k| (*k).to_owned()).collect();
        s.analyzers = analyzers.iter().map(|k| (*k).to_owned()).collect();
        s
    };
    SkillLoader::new()
        .source(InlineSource::new(
            "tests",
            [
                make("alpha", "ALPHA-SKILL", &["cost", "waste"], &["cost.idle"]),
                make(
                    "beta",
                    "BETA-SKILL",
                    &["crash", "broken"],
                    &["health.crashloop"],
                ),
            ],
        ))
        .load()
        .unwrap()
}

pub(crate) fn script() -> Arc<ScriptedModel> {
    Arc::new(ScriptedModel::new("scripted").with_piece_chars(8))
}

/// Every event of a task, after it ends.
pub(crate) async fn all_events(task: &TaskHandle) -> Vec<Event> {
    task.events().collect().await
}

/// A compact transcript of the events, without deltas, e.g.
/// `["task_started", "delegated:alpha", "tool_call:run_kubectl", "tool_result:ok", "response:succeeded"]`.
pub(crate) fn transcript(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| {
            Some(match &e.event {
                EventKind::TaskStarted { .. } => "task_started".to_owned(),
                EventKind::Delegated { skill, .. } => format!("delegated:{skill}"),
                EventKind::Thinking { .. } => "thinking".to_owned(),
                EventKind::Delta { .. } => return None,
                EventKind::ToolCall { tool, .. } => format!("tool_call:{tool}"),
                EventKind::ApprovalRequested { risk, .. } => format!("approval_requested:{risk}"),
                EventKind::ApprovalDecided { approved, .. } => format!(
                    "approval_decided:{}",
                    if *approved { "approved" } else { "denied" }
                ),
                EventKind::ToolResult { ok, .. } => {
                    format!("tool_result:{}", if *ok { "ok" } else { "error" })
                }
                EventKind::Reflection { score, replan, .. } => format!(
                    "reflection:{score}:{}",
                    if *replan { "replan" } else { "keep" }
                ),
                EventKind::Notification { .. } => "notification".to_owned(),
                EventKind::Response(r) => format!("response:{}", r.status),
            })
        })
        .collect()
}

/// The tool results the model was sent, in order.
pub(crate) fn tool_outputs(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match &e.event {
            EventKind::ToolResult { output, .. } => Some(output.clone()),
            _ => None,
        })
        .collect()
}
