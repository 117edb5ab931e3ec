//! The runtime's own overhead: per agent step (a scripted model and an instant tool, so only
//! Kopilot's code is timed) and memory per queued task.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use kopilot_core::llm::{
    ChatModel, ChatRequest, ChatResponse, ChatStream, Message, ToolCall, response_to_events,
};
use kopilot_core::skills::{InlineSource, Skill, SkillLoader};
use kopilot_core::testing::RecordingTool;
use kopilot_core::{Kopilot, Limits, TaskRequest};
use serde_json::json;

const STEPS: usize = 20;

/// Calls the tool until the conversation holds `STEPS` tool results, then answers.
struct Stepper;

#[async_trait::async_trait]
impl ChatModel for Stepper {
    fn model(&self) -> &'static str {
        "stepper"
    }
    async fn chat_stream(&self, request: &ChatRequest) -> kopilot_core::llm::Result<ChatStream> {
        let done = request
            .messages
            .iter()
            .filter(|m| matches!(m, Message::Tool { .. }))
            .count();
        let response = if done < STEPS {
            ChatResponse::tool_calls(vec![ToolCall::new(
                format!("c{done}"),
                "run_kubectl",
                json!({"args": "get pods -n shop"}),
            )])
        } else {
            ChatResponse::text("done")
        };
        Ok(Box::pin(futures::stream::iter(
            response_to_events(&response, 64).into_iter().map(Ok),
        )))
    }
}

fn kopilot(limits: Limits) -> Kopilot {
    kopilot_with(
        limits,
        RecordingTool::new(
            "run_kubectl",
            "kubectl",
            "NAME READY STATUS\nweb-1 1/1 Running",
        ),
    )
}

fn kopilot_with(limits: Limits, tool: RecordingTool) -> Kopilot {
    let mut skill = Skill::new("bench", "Bench", "Benchmark skill.", "You are a benchmark.");
    skill.tools = vec!["run_kubectl".to_owned()];
    skill.max_steps = 50;
    let skills = SkillLoader::new()
        .source(InlineSource::new("bench", [skill]))
        .load()
        .unwrap();
    Kopilot::builder()
        .model(Arc::new(Stepper))
        .skills(skills)
        .tool(Arc::new(tool))
        .audit(Arc::new(kopilot_core::safety::NullAuditSink))
        .limits(Limits {
            max_steps_per_agent: 50,
            budget: kopilot_core::Budget {
                tool_calls: Some(10_000),
                ..Limits::default().budget
            },
            ..limits
        })
        .build()
        .unwrap()
}

fn per_step(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let kopilot = rt.block_on(async { kopilot(Limits::default()) });
    c.bench_function("runtime/task_of_20_steps", |b| {
        b.to_async(&rt).iter(|| async {
            let task = kopilot.submit(TaskRequest::new("bench").skill("bench"));
            black_box(task.result().await)
        });
    });
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// Resident memory per queued task: 10,000 tasks wait behind one slot.
#[allow(clippy::cast_precision_loss)] // a printed average
fn memory_per_queued_task(_: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // One slot, held by a task whose tool never returns during the measurement.
        let stuck = RecordingTool::new("run_kubectl", "kubectl", "ok").with_delay(Duration::from_secs(3600));
        let kopilot = kopilot_with(Limits { max_concurrent_tasks: 1, budget: kopilot_core::Budget { seconds: Some(7200), ..Limits::default().budget }, ..Limits::default() }, stuck);
        let blocker = kopilot.submit(TaskRequest::new("bench").skill("bench"));
        tokio::task::yield_now().await;
        let before = rss_bytes();
        let start = Instant::now();
        let queued: Vec<_> = (0..10_000).map(|i| kopilot.submit(TaskRequest::new(format!("queued task {i}")).skill("bench"))).collect();
        // Let every task reach the queue.
        for _ in 0..50 {
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let after = rss_bytes();
        println!(
            "runtime/memory_per_queued_task: {:.1} KiB per task ({} tasks queued in {:?}; RSS {} -> {} KiB)",
            (after.saturating_sub(before)) as f64 / 10_000.0 / 1024.0,
            queued.len(),
            start.elapsed(),
            before / 1024,
            after / 1024
        );
        for task in &queued {
            task.cancel();
        }
        blocker.cancel();
    });
}

criterion_group!(benches, memory_per_queued_task, per_step);
criterion_main!(benches);
