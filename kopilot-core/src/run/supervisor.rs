//! The supervisor: it sees the enabled skills as one `delegate(skill, task)` tool and runs the
//! sub-agents it delegates to (several in one turn at once); with a skill named in the request,
//! that skill answers directly.

use std::fmt::Write as _;
use std::time::Instant;

use serde_json::{Value, json};

use super::finish::{Step, Stop};
use super::task::TaskRun;
use super::text::tool_message;
use super::tool_call::Ran;
use crate::ErrorCode;
use crate::event::EventKind;
use crate::llm::{ChatRequest, Message, ToolCall, ToolSpec};
use crate::names::agents::SUPERVISOR;
use crate::names::tools::DELEGATE;
use crate::prompts;

impl TaskRun {
    /// The supervisor, or the requested skill directly.
    pub(super) async fn answer(&self, messages: &mut Vec<Message>) -> Step<String> {
        match &self.request.skill {
            Some(skill) => self.skill_agent(skill, messages).await,
            None => self.supervisor(messages).await,
        }
    }

    async fn supervisor(&self, messages: &mut Vec<Message>) -> Step<String> {
        let catalogue = self.inner.skills.catalogue();
        let mut system = format!("{}\n\n## Specialists\n", prompts::SUPERVISOR);
        for entry in &catalogue {
            let _ = writeln!(system, "- `{}`: {}", entry.name, entry.description);
        }
        let names: Vec<&str> = catalogue.iter().map(|c| c.name.as_str()).collect();
        let delegate = ToolSpec::new(
            DELEGATE,
            "Hand a self-contained task to a specialist and get its answer back. Several calls in one turn run in parallel.",
            json!({
                "type": "object",
                "properties": {
                    "skill": {"type": "string", "enum": names, "description": "The specialist."},
                    "task": {"type": "string", "description": "What the specialist should find out or do, with all the context it needs."}
                },
                "required": ["skill", "task"],
                "additionalProperties": false
            }),
        );
        let max_steps = self.max_steps(None);
        // One request, grown in place: no copy of the conversation per turn.
        let mut request = ChatRequest::new(std::mem::take(messages))
            .with_system(system)
            .with_tools(vec![delegate]);
        for _ in 0..max_steps {
            let response = self.model_call(SUPERVISOR, &request).await?;
            if response.tool_calls.is_empty() {
                *messages = request.messages;
                return Ok(response.text);
            }
            self.thinking(SUPERVISOR, &response);
            request.messages.push(response.to_message());
            let results = futures::future::join_all(
                response.tool_calls.iter().map(|call| self.delegate(call)),
            )
            .await;
            for result in results {
                request.messages.push(result?);
            }
        }
        Err(Stop::Limit(
            ErrorCode::LimitSteps,
            format!("the supervisor used its {max_steps} model turns without answering"),
        ))
    }

    async fn delegate(&self, call: &ToolCall) -> Step<Message> {
        let call_id = self.call_id();
        if call.name != DELEGATE {
            let msg = format!(
                "unknown tool `{}`: the supervisor has only `{DELEGATE}`",
                call.name
            );
            return Ok(self.delegation_result(&call_id, call, false, msg, Instant::now()));
        }
        let started = Instant::now();
        let (skill, task) = match call.arguments.value() {
            Some(v) => (
                v.get("skill")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                v.get("task")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            ),
            None => (String::new(), String::new()),
        };
        if self.inner.skills.get(&skill).is_none() || task.trim().is_empty() {
            let msg = format!(
                "`delegate` needs a known `skill` (one of: {}) and a non-empty `task`; got {}",
                self.inner.skills.names().join(", "),
                call.arguments.to_json_text()
            );
            return Ok(self.delegation_result(&call_id, call, false, msg, started));
        }
        self.emit(
            SUPERVISOR,
            EventKind::Delegated {
                call_id: call_id.clone(),
                skill: skill.clone(),
                task: task.clone(),
            },
        );
        let mut messages = vec![Message::user(task)];
        let answer = self.skill_agent(&skill, &mut messages).await?;
        Ok(self.delegation_result(&call_id, call, true, answer, started))
    }

    /// Emits a delegation's `tool_result` and builds the message the supervisor sees.
    fn delegation_result(
        &self,
        call_id: &str,
        call: &ToolCall,
        ok: bool,
        content: String,
        started: Instant,
    ) -> Message {
        let events = self.call_events(SUPERVISOR, call_id);
        let ran = if ok {
            Ran {
                ok,
                content,
                exit: None,
                summary: None,
            }
        } else {
            Ran::refused(content)
        };
        let shown = self.inner.tool_result(&events, &call.name, ran, started);
        tool_message(call, ok, &shown)
    }
}
