//! `/metrics`: Prometheus text, counted here from each task's event stream (the runtime keeps
//! no metrics of its own).
//!
//! - `kopilot_tasks_total{status}`: tasks ended, by how; `kopilot_tasks_running`: running now.
//! - `kopilot_commands_total{risk,decision}`: commands the tools planned, by the guard's risk
//!   and what became of them (`allowed`, `approved`, `denied`, `expired`, `blocked`).
//! - `kopilot_approvals_total{outcome}`: approvals by outcome (`approved`, `denied`,
//!   `expired`).
//! - `kopilot_tool_calls_total{tool,ok}`; `kopilot_tokens_total{direction}`.
//! - `kopilot_task_duration_seconds` and `kopilot_tool_call_duration_seconds` histograms.
//! - `kopilot_event_subscribers`: event streams open now.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::{Mutex, PoisonError};

use futures::StreamExt;
use kopilot_core::protocol::RefusalKind;
use kopilot_core::{EventKind, Kopilot, TaskResult};

/// Upper bounds of the duration histograms, in seconds.
const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        for (bound, count) in BUCKETS.iter().zip(self.counts.iter_mut()) {
            if seconds <= *bound {
                *count += 1;
            }
        }
        self.count += 1;
        self.sum += seconds;
    }
}

#[derive(Debug, Default)]
struct Counts {
    tasks: BTreeMap<String, u64>,
    commands: BTreeMap<(String, String), u64>,
    approvals: BTreeMap<String, u64>,
    tool_calls: BTreeMap<(String, bool), u64>,
    tokens_in: u64,
    tokens_out: u64,
    task_seconds: Histogram,
    tool_seconds: Histogram,
}

/// The server's counters.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    counts: Mutex<Counts>,
}

/// What one task's stream says, gathered until its end.
#[derive(Default)]
struct TaskTally {
    /// Planned commands by call, in order.
    planned: Vec<String>,
    /// Commands an approval was asked for: approval id -> (command, risk).
    asked: HashMap<String, (String, String)>,
    /// Commands with an outcome already counted.
    settled: HashSet<String>,
}

fn ms(ms: u64) -> f64 {
    // Durations far beyond 2^52 ms do not occur.
    #[allow(clippy::cast_precision_loss)]
    let ms = ms as f64;
    ms / 1000.0
}

impl Metrics {
    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Follows task `id` to its end, counting as it goes.
    pub(crate) fn watch(self: &std::sync::Arc<Self>, kopilot: &Kopilot, id: String) {
        let metrics = std::sync::Arc::clone(self);
        let kopilot = kopilot.clone();
        tokio::spawn(async move {
            let Ok(mut events) = kopilot.follow(&id, 1).await else {
                return;
            };
            let mut tally = TaskTally::default();
            while let Some(event) = events.next().await {
                metrics.count(&kopilot, &mut tally, &event.event);
            }
        });
    }

    fn count(&self, kopilot: &Kopilot, tally: &mut TaskTally, event: &EventKind) {
        match event {
            EventKind::ToolCall { commands, .. } => tally.planned.extend(commands.iter().cloned()),
            EventKind::ApprovalRequested {
                approval_id,
                command,
                risk,
                ..
            } => {
                tally
                    .asked
                    .insert(approval_id.clone(), (command.clone(), risk.to_string()));
            }
            EventKind::ApprovalDecided {
                approval_id,
                approved,
                decided_by,
                reason,
                ..
            } => {
                let outcome = if *approved {
                    "approved"
                } else if decided_by == "kopilot"
                    && reason.as_deref().is_some_and(|r| r.contains("expired"))
                {
                    "expired"
                } else {
                    "denied"
                };
                let mut counts = self.lock();
                *counts.approvals.entry(outcome.to_owned()).or_default() += 1;
                if let Some((command, risk)) = tally.asked.get(approval_id) {
                    *counts
                        .commands
                        .entry((risk.clone(), outcome.to_owned()))
                        .or_default() += 1;
                    tally.settled.insert(command.clone());
                }
            }
            EventKind::ToolResult {
                tool,
                ok,
                duration_ms,
                ..
            } => {
                let mut counts = self.lock();
                *counts.tool_calls.entry((tool.clone(), *ok)).or_default() += 1;
                counts.tool_seconds.observe(ms(*duration_ms));
            }
            EventKind::Response(result) => self.finish(kopilot, tally, result),
            _ => {}
        }
    }

    fn finish(&self, kopilot: &Kopilot, tally: &mut TaskTally, result: &TaskResult) {
        // Assessed outside the lock: the guard's pure assessment, no audit record.
        let mut commands: Vec<(String, String)> = Vec::new();
        for refused in &result.refused {
            if refused.refusal == RefusalKind::Blocked {
                commands.push((refused.risk.to_string(), "blocked".to_owned()));
                tally.settled.insert(refused.command.clone());
            }
        }
        for line in &tally.planned {
            if !tally.settled.contains(line) {
                let risk = kopilot.guard().assess(line).risk;
                commands.push((risk.to_string(), "allowed".to_owned()));
            }
        }
        let mut counts = self.lock();
        *counts.tasks.entry(result.status.to_string()).or_default() += 1;
        for key in commands {
            *counts.commands.entry(key).or_default() += 1;
        }
        counts.tokens_in += result.usage.input_tokens;
        counts.tokens_out += result.usage.output_tokens;
        counts.task_seconds.observe(ms(result.duration_ms));
    }

    /// The Prometheus text exposition.
    pub(crate) fn render(&self, running: usize, subscribers: usize) -> String {
        let counts = self.lock();
        let mut out = String::with_capacity(4096);
        header(
            &mut out,
            "kopilot_tasks_total",
            "counter",
            "Tasks ended, by status.",
        );
        for (status, n) in &counts.tasks {
            let _ = writeln!(
                out,
                "kopilot_tasks_total{{status=\"{}\"}} {n}",
                label(status)
            );
        }
        header(
            &mut out,
            "kopilot_tasks_running",
            "gauge",
            "Tasks running now.",
        );
        let _ = writeln!(out, "kopilot_tasks_running {running}");
        header(
            &mut out,
            "kopilot_commands_total",
            "counter",
            "Commands the tools planned, by risk and what became of them.",
        );
        for ((risk, decision), n) in &counts.commands {
            let _ = writeln!(
                out,
                "kopilot_commands_total{{risk=\"{}\",decision=\"{}\"}} {n}",
                label(risk),
                label(decision)
            );
        }
        header(
            &mut out,
            "kopilot_approvals_total",
            "counter",
            "Approvals, by outcome.",
        );
        for (outcome, n) in &counts.approvals {
            let _ = writeln!(
                out,
                "kopilot_approvals_total{{outcome=\"{}\"}} {n}",
                label(outcome)
            );
        }
        header(
            &mut out,
            "kopilot_tool_calls_total",
            "counter",
            "Tool calls, by tool and whether it ran.",
        );
        for ((tool, ok), n) in &counts.tool_calls {
            let _ = writeln!(
                out,
                "kopilot_tool_calls_total{{tool=\"{}\",ok=\"{ok}\"}} {n}",
                label(tool)
            );
        }
        header(
            &mut out,
            "kopilot_tokens_total",
            "counter",
            "Model tokens used, input and output.",
        );
        let _ = writeln!(
            out,
            "kopilot_tokens_total{{direction=\"input\"}} {}",
            counts.tokens_in
        );
        let _ = writeln!(
            out,
            "kopilot_tokens_total{{direction=\"output\"}} {}",
            counts.tokens_out
        );
        histogram(
            &mut out,
            "kopilot_task_duration_seconds",
            "How long tasks ran, from start to result.",
            &counts.task_seconds,
        );
        histogram(
            &mut out,
            "kopilot_tool_call_duration_seconds",
            "How long tool calls took, approval waits included.",
            &counts.tool_seconds,
        );
        header(
            &mut out,
            "kopilot_event_subscribers",
            "gauge",
            "Event streams open now.",
        );
        let _ = writeln!(out, "kopilot_event_subscribers {subscribers}");
        out
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn histogram(out: &mut String, name: &str, help: &str, h: &Histogram) {
    header(out, name, "histogram", help);
    for (bound, count) in BUCKETS.iter().zip(h.counts.iter()) {
        let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {count}");
    }
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", h.count);
    let _ = writeln!(out, "{name}_sum {}", h.sum);
    let _ = writeln!(out, "{name}_count {}", h.count);
}

/// A label value as the text format needs it: backslash, quote and newline escaped.
fn label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{Histogram, label};

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn histogram_buckets_are_cumulative() {
        let mut h = Histogram::default();
        h.observe(0.003);
        h.observe(0.2);
        h.observe(500.0);
        assert_eq!(h.counts[0], 1);
        assert_eq!(h.counts[4], 2, "le=0.25");
        assert_eq!(*h.counts.last().unwrap(), 2, "le=120");
        assert_eq!(h.count, 3);
    }
}
