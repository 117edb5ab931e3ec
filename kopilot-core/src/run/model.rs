//! One model turn: the request streamed with its text deltas as events, the `thinking` event,
//! and the budgets on model use (turns per agent, tokens per task).

use std::sync::PoisonError;

use futures::StreamExt;

use super::finish::{Step, Stop};
use super::task::TaskRun;
use crate::event::EventKind;
use crate::llm::{ChatRequest, ChatResponse, ResponseCollector, StreamEvent, Usage};

impl TaskRun {
    pub(super) fn max_steps(&self, skill_steps: Option<usize>) -> usize {
        let limit = self
            .request
            .max_steps
            .unwrap_or(self.inner.limits.max_steps_per_agent);
        skill_steps.map_or(limit, |s| s.min(limit)).max(1)
    }

    /// One model turn, streamed: text deltas become events as they arrive.
    pub(super) async fn model_call(
        &self,
        agent: &str,
        request: &ChatRequest,
    ) -> Step<ChatResponse> {
        let Some(model) = &self.inner.model else {
            return Err(Stop::Failed("no model is configured".to_owned()));
        };
        let failed = |e: crate::llm::Error| Stop::Failed(format!("the model failed: {e}"));
        let mut stream = model.chat_stream(request).await.map_err(failed)?;
        let mut collector = ResponseCollector::new();
        while let Some(event) = stream.next().await {
            let event = event.map_err(failed)?;
            if let StreamEvent::TextDelta { text } = &event
                && !text.is_empty()
            {
                self.emit(agent, EventKind::Delta { text: text.clone() });
            }
            collector.push(event).map_err(failed)?;
        }
        let response = collector.finish().map_err(failed)?;
        self.count_usage(response.usage)?;
        Ok(response)
    }

    pub(super) fn thinking(&self, agent: &str, response: &ChatResponse) {
        if !response.text.trim().is_empty() {
            self.emit(
                agent,
                EventKind::Thinking {
                    text: response.text.clone(),
                },
            );
        }
    }

    pub(super) fn count_usage(&self, usage: Option<Usage>) -> Step<()> {
        let Some(usage) = usage else { return Ok(()) };
        let total = {
            let mut sum = self.usage.lock().unwrap_or_else(PoisonError::into_inner);
            sum.input_tokens = sum.input_tokens.saturating_add(usage.input_tokens);
            sum.output_tokens = sum.output_tokens.saturating_add(usage.output_tokens);
            sum.total()
        };
        match self.inner.limits.max_tokens {
            Some(max) if total > max => Err(Stop::Limit(format!(
                "the task used {total} tokens, over its budget of {max}"
            ))),
            _ => Ok(()),
        }
    }
}
