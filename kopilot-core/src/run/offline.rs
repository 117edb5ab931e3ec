//! Offline mode: route by keywords, run the chosen skills' analyzers through the guarded
//! `analyze` tool, and answer from their findings.

use std::sync::PoisonError;

use serde_json::json;

use super::finish::{Step, Stop};
use super::task::TaskRun;
use super::tool_call::ToolScope;
use crate::event::EventKind;
use crate::llm::{Message, ToolCall};
use crate::names::agents::RUNTIME;
use crate::names::tools::ANALYZE as ANALYZE_TOOL;
use crate::{ErrorCode, Finding};

impl TaskRun {
    /// Offline mode: route by keywords, run the skills' analyzers, answer from their findings.
    pub(super) async fn offline(&self) -> Step<String> {
        let why = if self.inner.model.is_none() {
            "no model is configured"
        } else {
            "offline mode was requested"
        };
        self.emit(
            RUNTIME,
            EventKind::Notification {
                message: format!("{why}: answering from Kopilot's deterministic analyzers only"),
            },
        );
        let skills = &self.inner.skills;
        let chosen: Vec<String> = if let Some(skill) = &self.request.skill {
            vec![skill.clone()]
        } else {
            // On intent: a skill that matched only a word every question may hold ("all
            // namespaces") does not join one that matched the question's subject.
            let matches = skills.route(&self.request.prompt, 3);
            let best = matches.first().map_or(0, |m| m.score);
            let routed: Vec<String> = matches
                .into_iter()
                .filter(|m| m.score.saturating_mul(2) >= best)
                .map(|m| m.name)
                .collect();
            if routed.is_empty() {
                skills.names().into_iter().map(str::to_owned).collect()
            } else {
                routed
            }
        };
        let mut checks: Vec<String> = Vec::new();
        for name in &chosen {
            for id in skills
                .get(name)
                .map(|s| s.analyzers.clone())
                .unwrap_or_default()
            {
                if !checks.contains(&id) {
                    checks.push(id);
                }
            }
        }
        self.emit(
            RUNTIME,
            EventKind::Notification {
                message: format!("routed by keywords to: {}", chosen.join(", ")),
            },
        );
        if !self.inner.tools.contains_key(ANALYZE_TOOL) {
            return Err(Stop::failed(
                ErrorCode::AnalyzersUnavailable,
                format!(
                    "{why} and no `{ANALYZE_TOOL}` tool is registered, so there is nothing to answer from"
                ),
            ));
        }
        let args = match &self.request.namespace {
            Some(ns) => json!({ "checks": checks, "namespaces": [ns] }),
            None => json!({ "checks": checks }),
        };
        let call = ToolCall::new("offline-1", ANALYZE_TOOL, args);
        let before = self
            .findings
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        let message = self.tool_call(RUNTIME, &call, ToolScope::Any).await?;
        if let Message::Tool {
            is_error: true,
            content,
            ..
        } = &message
        {
            return Err(Stop::failed(
                ErrorCode::AnalyzersFailed,
                format!("the analyzers could not run: {content}"),
            ));
        }
        let findings: Vec<Finding> = self
            .findings
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(before..)
            .unwrap_or_default()
            .to_vec();
        Ok(super::text::render_offline_answer(
            &chosen,
            &checks,
            &findings,
            &self.inner.guard,
        ))
    }
}
