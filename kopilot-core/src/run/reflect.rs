//! Reflection: a second model call scores the answer; below the threshold the agents answer
//! once more with the reviewer's critique.

use super::finish::Step;
use super::task::TaskRun;
use super::text::{excerpt, parse_review};
use crate::event::EventKind;
use crate::llm::{ChatRequest, Message};
use crate::names::agents::SUPERVISOR;
use crate::prompts;

impl TaskRun {
    /// Scores `answer`; below the threshold, the agents answer again with the critique.
    pub(super) async fn reflect(
        &self,
        messages: &mut Vec<Message>,
        answer: String,
    ) -> Step<String> {
        let Some((score, critique)) = self.review(&answer).await? else {
            return Ok(answer);
        };
        let replan = score < self.inner.reflection_threshold;
        self.emit(
            SUPERVISOR,
            EventKind::Reflection {
                score,
                critique: critique.clone(),
                replan,
            },
        );
        if !replan {
            return Ok(answer);
        }
        messages.push(Message::assistant(answer));
        messages.push(Message::user(format!(
            "A reviewer scored this answer {score}/10: {critique}\nImprove it: gather what is missing and write the complete answer again."
        )));
        self.answer(messages).await
    }

    /// A second model call scoring the answer; `None` when the reply cannot be read.
    async fn review(&self, answer: &str) -> Step<Option<(u8, String)>> {
        let Some(model) = &self.inner.model else {
            return Ok(None);
        };
        let request = ChatRequest::new(vec![Message::user(format!(
            "Question:\n{}\n\nAnswer:\n{answer}",
            self.request.scoped_prompt()
        ))])
        .with_system(prompts::REVIEWER);
        let response = match model.chat(&request).await {
            Ok(response) => response,
            Err(e) => {
                self.emit(
                    SUPERVISOR,
                    EventKind::Notification {
                        message: format!("reflection skipped: the model failed: {e}"),
                    },
                );
                return Ok(None);
            }
        };
        self.count_usage(response.usage)?;
        let parsed = parse_review(&response.text);
        if parsed.is_none() {
            self.emit(
                SUPERVISOR,
                EventKind::Notification {
                    message: format!(
                        "reflection skipped: the review is not the expected JSON: {}",
                        excerpt(&response.text, 200)
                    ),
                },
            );
        }
        Ok(parsed)
    }
}
