//! Offline mode: route by keywords, run the chosen skills' analyzers through the guarded
//! `analyze` tool, and answer from their findings.

use std::sync::PoisonError;

use std::fmt::Write as _;

use serde::Deserialize;
use serde_json::json;

use super::finish::{Step, Stop};
use super::task::TaskRun;
use super::tool_call::ToolScope;
use crate::event::EventKind;
use crate::llm::{Message, ToolCall};
use crate::names::agents::RUNTIME;
use crate::names::tools::{ANALYZE as ANALYZE_TOOL, GET_LOGS};
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
        let asked = asked_about(&self.request.prompt, &findings);
        let mut details = Vec::new();
        for &index in &asked {
            let Some(finding) = findings.get(index) else {
                continue;
            };
            if let Some(text) = self.crash_details(finding).await? {
                details.push((index, text));
            }
        }
        Ok(super::text::render_offline_answer(
            &super::text::OfflineAnswer {
                skills: &chosen,
                checks: &checks,
                findings: &findings,
                asked: &asked,
                details: &details,
            },
            &self.inner.guard,
        ))
    }

    /// For a crash-looping workload: how its container last ended and the last lines it
    /// logged before that (through the guarded `get_logs` tool), as markdown lines; `None`
    /// for other findings or without the tool.
    async fn crash_details(&self, finding: &Finding) -> Step<Option<String>> {
        if finding.check != CRASHLOOP || !self.inner.tools.contains_key(GET_LOGS) {
            return Ok(None);
        }
        let Some(pod) = CrashLoopEvidence::first_pod(finding) else {
            return Ok(None);
        };
        let mut out = String::new();
        if let Some(last) = &pod.last_termination {
            let reason = last.reason.as_deref().unwrap_or("unknown reason");
            let code = last
                .exit_code
                .map_or_else(String::new, |code| format!(", exit code {code}"));
            let _ = writeln!(
                out,
                "  - Last termination of `{}` in pod `{}`: {reason}{code}",
                pod.container, pod.pod
            );
        }
        let args = json!({
            "pod": pod.pod,
            "namespace": finding.object.namespace,
            "container": pod.container,
            "tail": CRASH_LOG_LINES,
            "previous": true,
        });
        let call = ToolCall::new("offline-logs", GET_LOGS, args);
        let outcome = self.guarded_call(RUNTIME, &call, ToolScope::Any).await?;
        let lines: Vec<&str> = outcome
            .output
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect();
        if outcome.ok && !lines.is_empty() {
            let _ = writeln!(
                out,
                "  - Its last {} log lines before that (`kubectl logs {} -n {} -c {} --previous`):\n\n    ```text",
                lines.len(),
                pod.pod,
                finding.object.namespace.as_deref().unwrap_or("default"),
                pod.container
            );
            for line in lines {
                let _ = writeln!(out, "    {line}");
            }
            out.push_str("    ```\n");
        }
        Ok((!out.is_empty()).then_some(out))
    }
}

/// The crash-looping check of `kopilot-analyze` (`health.crashloop`).
const CRASHLOOP: &str = "health.crashloop";

/// Log lines shown for a crash-looping container.
const CRASH_LOG_LINES: u32 = 20;

/// The evidence `health.crashloop` records: the crash-looping containers, each with how it
/// last ended (the shape is kept by a test that reads it from the demo cluster).
#[derive(Debug, Deserialize)]
struct CrashLoopEvidence {
    pods: Vec<CrashLoopPod>,
}

#[derive(Debug, Deserialize)]
struct CrashLoopPod {
    pod: String,
    container: String,
    last_termination: Option<Termination>,
}

#[derive(Debug, Deserialize)]
struct Termination {
    reason: Option<String>,
    exit_code: Option<i64>,
}

impl CrashLoopEvidence {
    fn first_pod(finding: &Finding) -> Option<CrashLoopPod> {
        serde_json::from_value::<Self>(finding.evidence.clone())
            .ok()?
            .pods
            .into_iter()
            .next()
    }
}

/// The findings about objects the question names (by name, as a word: "cart" in "why is cart
/// crashlooping?"), in their order.
fn asked_about(prompt: &str, findings: &[Finding]) -> Vec<usize> {
    let words: Vec<String> = prompt
        .split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '.'))
        .map(|w| w.trim_matches('.').to_lowercase())
        .filter(|w| !w.is_empty())
        .collect();
    findings
        .iter()
        .enumerate()
        .filter(|(_, f)| words.iter().any(|w| *w == f.object.name.to_lowercase()))
        .map(|(i, _)| i)
        .collect()
}
