//! The sub-agent loop: one skill's ReAct loop with its prompt, documentation and allowed tools,
//! until it answers or uses its model turns.

use super::finish::{Step, Stop};
use super::task::TaskRun;
use super::tool_call::ToolScope;
use crate::ErrorCode;
use crate::llm::{ChatRequest, Message, ToolSpec};
use crate::prompts;

impl TaskRun {
    pub(super) async fn skill_agent(
        &self,
        name: &str,
        messages: &mut Vec<Message>,
    ) -> Step<String> {
        let Some(skill) = self.inner.skills.get(name) else {
            return Err(Stop::rejected(
                ErrorCode::RejectedUnknownSkill,
                format!("unknown skill `{name}`"),
            ));
        };
        let system = format!("{}\n\n{}", skill.instructions(), prompts::AGENT_RULES);
        let tools: Vec<ToolSpec> = self
            .inner
            .tool_order
            .iter()
            .filter(|t| skill.tools.iter().any(|allowed| allowed == *t))
            .filter_map(|t| self.inner.tools.get(t))
            .map(|t| ToolSpec::new(t.name(), t.description(), t.parameters()))
            .collect();
        let max_steps =
            self.max_steps(Some(usize::try_from(skill.max_steps).unwrap_or(usize::MAX)));
        let mut request = ChatRequest::new(std::mem::take(messages))
            .with_system(system)
            .with_tools(tools);
        for _ in 0..max_steps {
            let response = self.model_call(name, &request).await?;
            if response.tool_calls.is_empty() {
                *messages = request.messages;
                return Ok(response.text);
            }
            self.thinking(name, &response);
            request.messages.push(response.to_message());
            for call in &response.tool_calls {
                let result = self
                    .tool_call(name, call, ToolScope::Only(&skill.tools))
                    .await?;
                request.messages.push(result);
            }
        }
        Err(Stop::Limit(
            ErrorCode::LimitSteps,
            format!("the `{name}` agent used its {max_steps} model turns without answering"),
        ))
    }
}
