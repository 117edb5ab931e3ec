//! Per-task budgets and the runtime's concurrency limit.

use crate::Budget;
use crate::error::{Error, Result};

/// Budgets for one task and the runtime's own limits. Reaching a budget ends the task with
/// status `failed` and a `limit.*` code naming it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Model turns per agent (a skill's own `max_steps` applies when it is lower).
    pub max_steps_per_agent: usize,
    /// Per task: tokens (default: no limit), wall-clock seconds once it starts running
    /// (default 300), tool calls across all agents (default 50), and dollars (only enforced
    /// with the model's prices, [`KopilotBuilder::prices`](crate::KopilotBuilder::prices)).
    pub budget: Budget,
    /// Tasks running at once; others wait in order (default 5).
    pub max_concurrent_tasks: usize,
    /// Bytes of one tool result the model sees (default 16 KiB).
    pub max_tool_output_bytes: usize,
    /// Earlier turns of a session given to the model (oldest dropped first).
    pub max_session_turns: usize,
    /// Bytes of a prompt (default 64 KiB); a longer one is rejected
    /// (`rejected.prompt_too_large`) before any model sees it.
    pub max_prompt_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_steps_per_agent: 10,
            budget: Budget {
                tokens: None,
                seconds: Some(300),
                tool_calls: Some(50),
                dollars: None,
            },
            max_concurrent_tasks: 5,
            max_tool_output_bytes: 16 * 1024,
            max_session_turns: 10,
            max_prompt_bytes: 64 * 1024,
        }
    }
}

impl Limits {
    /// Defaults, with these variables read through `lookup` (an empty one is unset):
    /// `SAFETY_MAX_CONCURRENT_TASKS`, `KOPILOT_MAX_PROMPT_BYTES`, `KOPILOT_MAX_TOKENS` (the
    /// token budget of a task) and `KOPILOT_MAX_TOOL_CALLS` (its tool-call budget).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidEnv`] naming the variable when its value is not a positive whole
    /// number.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let positive = |var: &str| -> Result<Option<u64>> {
            let Some(v) = lookup(var).filter(|v| !v.trim().is_empty()) else {
                return Ok(None);
            };
            v.trim()
                .parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .map(Some)
                .ok_or_else(|| Error::InvalidEnv {
                    var: var.to_owned(),
                    reason: format!("`{v}` is not a positive whole number"),
                })
        };
        let as_usize = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        let mut limits = Self::default();
        if let Some(n) = positive("SAFETY_MAX_CONCURRENT_TASKS")? {
            limits.max_concurrent_tasks = as_usize(n);
        }
        if let Some(n) = positive("KOPILOT_MAX_PROMPT_BYTES")? {
            limits.max_prompt_bytes = as_usize(n);
        }
        if let Some(n) = positive("KOPILOT_MAX_TOKENS")? {
            limits.budget.tokens = Some(n);
        }
        if let Some(n) = positive("KOPILOT_MAX_TOOL_CALLS")? {
            limits.budget.tool_calls = Some(n);
        }
        Ok(limits)
    }

    /// Defaults with the process environment (see [`Limits::from_lookup`]).
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub(crate) fn check(&self) -> Result<()> {
        let zero = [
            ("max_steps_per_agent", Some(self.max_steps_per_agent)),
            (
                "budget.tool_calls",
                self.budget
                    .tool_calls
                    .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
            ),
            ("max_concurrent_tasks", Some(self.max_concurrent_tasks)),
            ("max_tool_output_bytes", Some(self.max_tool_output_bytes)),
            ("max_prompt_bytes", Some(self.max_prompt_bytes)),
        ];
        for (name, value) in zero {
            if value == Some(0) {
                return Err(Error::Config(format!("limit {name} must be above zero")));
            }
        }
        if self.budget.seconds == Some(0) {
            return Err(Error::Config(
                "the task's time budget must be above zero".to_owned(),
            ));
        }
        if self.budget.dollars.is_some_and(|d| d.is_nan() || d < 0.0) {
            return Err(Error::Config(
                "the task's dollar budget must be zero or more".to_owned(),
            ));
        }
        Ok(())
    }
}
