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

/// The model's streamed text as `delta` events with secret values redacted. A secret can be
/// split across the pieces a provider streams (`pass` then `word: hunter2`), and a pattern
/// needs its key and value together, so text is let out a whole line at a time: each time a
/// line ends, everything received so far is redacted together and the new part of the
/// redacted text goes out. A PEM block (`-----BEGIN ... -----END`) is held until it ends.
#[derive(Debug, Default)]
pub(super) struct DeltaRedactor {
    /// Everything received, as the model wrote it.
    raw: String,
    /// The redacted text that has gone out.
    sent: String,
}

impl DeltaRedactor {
    /// Takes a piece; returns the text that may go out now, if any.
    pub(super) fn push(&mut self, piece: &str) -> Option<String> {
        self.raw.push_str(piece);
        let mut stable = self.raw.rfind('\n').map_or(0, |i| i + 1);
        // An unfinished PEM block stays in until its end marker arrives.
        if let Some(begin) = self.raw[..stable].rfind("-----BEGIN ")
            && !self.raw[begin..stable].contains("-----END ")
        {
            stable = begin;
        }
        self.release(stable)
    }

    /// The rest, at the end of the stream.
    pub(super) fn finish(&mut self) -> Option<String> {
        self.release(self.raw.len())
    }

    /// Redacts `raw[..end]` as a whole and returns what of it has not gone out yet.
    fn release(&mut self, end: usize) -> Option<String> {
        if end == 0 {
            return None;
        }
        let redacted = crate::safety::redact::redact(&self.raw[..end]).into_owned();
        // Redacting more text normally changes only its new end. Where it changed what went
        // out (a construct only a later line completes), the text from the first difference
        // goes out again, redacted: repeated, never leaked twice.
        let common = redacted
            .char_indices()
            .zip(self.sent.chars())
            .find(|((_, a), b)| a != b)
            .map_or_else(|| self.sent.len().min(redacted.len()), |((i, _), _)| i);
        let fresh = redacted[common..].to_owned();
        self.sent = redacted;
        (!fresh.is_empty()).then_some(fresh)
    }
}

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
        let mut deltas = DeltaRedactor::default();
        while let Some(event) = stream.next().await {
            let event = event.map_err(failed)?;
            if let StreamEvent::TextDelta { text } = &event
                && let Some(text) = deltas.push(text)
            {
                self.emit(agent, EventKind::Delta { text });
            }
            collector.push(event).map_err(failed)?;
        }
        if let Some(text) = deltas.finish() {
            self.emit(agent, EventKind::Delta { text });
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

#[cfg(test)]
mod tests {
    use super::DeltaRedactor;

    fn stream(pieces: &[&str]) -> (Vec<String>, String) {
        let mut deltas = DeltaRedactor::default();
        let mut out: Vec<String> = pieces.iter().filter_map(|p| deltas.push(p)).collect();
        out.extend(deltas.finish());
        let joined = out.concat();
        (out, joined)
    }

    #[test]
    fn a_secret_split_across_pieces_is_redacted_and_lines_go_out_whole() {
        let (out, joined) = stream(&[
            "Found it.\nThe pass",
            "word: hunt",
            "er2 was in the\n",
            "config.",
        ]);
        assert!(!joined.contains("hunter2"), "{joined}");
        assert!(joined.starts_with("Found it.\nThe password: "), "{joined}");
        assert!(joined.ends_with("config."));
        assert_eq!(out[0], "Found it.\n", "the first line as soon as it ends");
    }

    #[test]
    fn a_pem_block_waits_for_its_end() {
        let key = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n";
        let (out, joined) = stream(&[
            "Here:\n",
            key,
            "bW9yZSBrZXkgbWF0ZXJpYWw=\n",
            "-----END PRIVATE KEY-----\ndone",
        ]);
        assert_eq!(out[0], "Here:\n");
        assert!(
            !joined.contains("MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"),
            "{joined}"
        );
        assert!(
            !out[1..]
                .iter()
                .any(|d| d.contains("BEGIN") && !d.contains("END")),
            "{out:?}"
        );
        assert!(joined.ends_with("done"));
    }

    #[test]
    fn plain_text_comes_out_unchanged() {
        let (_, joined) = stream(&["All 3 pods ", "are ready.\n", "No action needed."]);
        assert_eq!(joined, "All 3 pods are ready.\nNo action needed.");
    }
}
