//! How a task ends: why it stopped early ([`Stop`]), and its outcome turned into the
//! [`TaskResult`] and the `response` event.

use std::sync::PoisonError;
use std::time::Instant;

use super::RUNTIME;
use super::task::TaskRun;
use crate::event::{EventKind, Status, TaskResult};

/// Why a task stopped early.
pub(super) enum Stop {
    Cancelled,
    Limit(String),
    Failed(String),
    Rejected(String),
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
                Some("the task was cancelled".to_owned()),
            ),
            Err(Stop::Limit(reason)) => (
                Status::Failed,
                String::new(),
                Some(format!("limit reached: {reason}")),
            ),
            Err(Stop::Failed(reason)) => (Status::Failed, String::new(), Some(reason)),
            Err(Stop::Rejected(reason)) => (Status::Rejected, String::new(), Some(reason)),
        };
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
        };
        // Emitting the response also queues the result for the store.
        self.emit(RUNTIME, EventKind::Response(result.clone()));
        result
    }
}
