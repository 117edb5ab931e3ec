//! How a task ends: why it stopped early ([`Stop`]), and its outcome turned into the
//! [`TaskResult`] and the `response` event.

use std::sync::PoisonError;
use std::time::Instant;

use super::task::TaskRun;
use crate::event::{EventKind, Status, TaskResult};
use crate::names::agents::RUNTIME;
use crate::{ErrorCode, Failure};

/// Why a task stopped early.
pub(super) enum Stop {
    Cancelled,
    /// A budget ran out: a `limit.*` code and what was reached.
    Limit(ErrorCode, String),
    Failed(Failure),
    Rejected(Failure),
}

impl Stop {
    /// The task failed with `code`.
    pub(super) fn failed(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Failed(Failure::new(code, message))
    }

    /// The request was refused with `code`.
    pub(super) fn rejected(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Rejected(Failure::new(code, message))
    }
}

/// A step of a task: its value, or why the task stops.
pub(super) type Step<T> = Result<T, Stop>;

impl TaskRun {
    pub(super) fn finish(&self, started: Instant, outcome: Step<String>) -> TaskResult {
        let (status, answer, error) = match outcome {
            Ok(answer) => (Status::Succeeded, answer, None),
            Err(Stop::Cancelled) => (
                Status::Cancelled,
                String::new(),
                Some(Failure::new(ErrorCode::Cancelled, "the task was cancelled")),
            ),
            Err(Stop::Limit(code, reason)) => (
                Status::Failed,
                String::new(),
                Some(Failure::new(code, format!("limit reached: {reason}"))),
            ),
            Err(Stop::Failed(failure)) => (Status::Failed, String::new(), Some(failure)),
            Err(Stop::Rejected(failure)) => (Status::Rejected, String::new(), Some(failure)),
        };
        // What the model wrote and what a failure quotes are redacted like every event's text:
        // the result is stored, streamed and served to others.
        let answer = crate::safety::redact::redact(&answer).into_owned();
        let error = error.map(|mut failure| {
            failure.message = crate::safety::redact::redact(&failure.message).into_owned();
            failure
        });
        let result = TaskResult {
            status,
            answer,
            error,
            findings: self
                .findings
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
            usage: *self.usage.lock().unwrap_or_else(PoisonError::into_inner),
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            refused: self.refusals.list(),
            warnings: std::mem::take(
                &mut *self.warnings.lock().unwrap_or_else(PoisonError::into_inner),
            ),
        };
        // Emitting the response also queues the result for the store.
        self.emit(RUNTIME, EventKind::Response(result.clone()));
        result
    }
}
