//! Per-task budgets and the runtime's concurrency limit.

use std::time::Duration;

use crate::error::{Error, Result};

/// Budgets for one task. Reaching one ends the task with status `failed` and a reason that
/// names the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Model turns per agent (a skill's own `max_steps` applies when it is lower).
    pub max_steps_per_agent: usize,
    /// Tool calls per task, across all agents (default 50).
    pub max_tool_calls: usize,
    /// Tokens per task, input plus output, across all model calls (`None`: no limit).
    pub max_tokens: Option<u64>,
    /// Wall-clock time per task once it starts running (default 5 minutes).
    pub timeout: Duration,
    /// Tasks running at once; others wait in order (default 5).
    pub max_concurrent_tasks: usize,
    /// Bytes of one tool result the model sees (default 16 KiB).
    pub max_tool_output_bytes: usize,
    /// Earlier turns of a session given to the model (oldest dropped first).
    pub max_session_turns: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_steps_per_agent: 10,
            max_tool_calls: 50,
            max_tokens: None,
            timeout: Duration::from_secs(300),
            max_concurrent_tasks: 5,
            max_tool_output_bytes: 16 * 1024,
            max_session_turns: 10,
        }
    }
}

impl Limits {
    /// Defaults, with `SAFETY_MAX_CONCURRENT_TASKS` read through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let mut limits = Self::default();
        if let Some(v) = lookup("SAFETY_MAX_CONCURRENT_TASKS").filter(|v| !v.trim().is_empty()) {
            limits.max_concurrent_tasks = v
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| Error::InvalidEnv {
                    var: "SAFETY_MAX_CONCURRENT_TASKS".to_owned(),
                    reason: format!("`{v}` is not a positive whole number"),
                })?;
        }
        Ok(limits)
    }

    /// Defaults with the process environment (see [`Limits::from_lookup`]).
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub(crate) fn check(&self) -> Result<()> {
        let zero = [
            ("max_steps_per_agent", self.max_steps_per_agent),
            ("max_tool_calls", self.max_tool_calls),
            ("max_concurrent_tasks", self.max_concurrent_tasks),
            ("max_tool_output_bytes", self.max_tool_output_bytes),
        ];
        for (name, value) in zero {
            if value == 0 {
                return Err(Error::Config(format!("limit {name} must be above zero")));
            }
        }
        if self.timeout.is_zero() {
            return Err(Error::Config(
                "the task timeout must be above zero".to_owned(),
            ));
        }
        Ok(())
    }
}
