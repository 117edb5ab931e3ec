//! One model turn: the request streamed with its text deltas as events, the `thinking` event,
//! and the budgets on model use (turns per agent, tokens per task).

use std::sync::PoisonError;

use futures::StreamExt;

use super::finish::{Step, Stop};
use super::task::TaskRun;
use crate::ErrorCode;
use crate::error::model_code;
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
            return Err(Stop::failed(
                ErrorCode::ModelUnavailable,
                "no model is configured",
            ));
        };
        let failed =
            |e: crate::llm::Error| Stop::failed(model_code(&e), format!("the model failed: {e}"));
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
        let sum = {
            let mut sum = self.usage.lock().unwrap_or_else(PoisonError::into_inner);
            *sum = sum.plus(usage);
            *sum
        };
        let budget = &self.budget;
        let total = sum.total();
        if let Some(max) = budget.tokens
            && total > max
        {
            return Err(Stop::Limit(
                ErrorCode::LimitTokens,
                format!("the task used {total} tokens, over its budget of {max}"),
            ));
        }
        if let (Some(max), Some(prices)) = (budget.dollars, &self.inner.prices) {
            let cost = sum.cost(prices);
            if cost > max {
                return Err(Stop::Limit(
                    ErrorCode::LimitDollars,
                    format!("the task's model calls cost ${cost:.4}, over its budget of ${max:.4}"),
                ));
            }
        }
        Ok(())
    }
}
