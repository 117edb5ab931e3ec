//! Cancellation stops a task wherever it is; every limit ends it with a reason naming it.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use kopilot_core::llm::{ChatResponse, ScriptedModel, ScriptedReply};
use kopilot_core::safety::ChannelApprover;
use kopilot_core::testing::RecordingTool;
use kopilot_core::{Budget, ErrorCode, EventKind, Kopilot, Limits, Prices, Status, TaskRequest};
use serde_json::json;
use support::*;

async fn wait_for(task: &kopilot_core::TaskHandle, pred: impl Fn(&EventKind) -> bool) {
    let mut events = task.events();
    while let Some(e) = events.next().await {
        if pred(&e.event) {
            return;
        }
    }
}

#[tokio::test]
async fn cancel_during_a_model_call() {
    let model = Arc::new(
        ScriptedModel::new("m")
            .with_step_delay(Duration::from_secs(60))
            .then_answer("late"),
    );
    let kopilot = Kopilot::builder()
        .model(model)
        .skills(skills())
        .build()
        .unwrap();
    let task = kopilot.submit(TaskRequest::new("x").skill("alpha"));
    wait_for(&task, |e| matches!(e, EventKind::TaskStarted { .. })).await;
    assert_eq!(task.status(), Status::Running);
    let at = Instant::now();
    task.cancel();
    let result = task.result().await;
    assert_eq!(result.status, Status::Cancelled);
    assert!(at.elapsed() < Duration::from_secs(1), "{:?}", at.elapsed());
}

#[tokio::test]
async fn cancel_during_an_approval_wait_withdraws_the_request() {
    let model = Arc::new(
        ScriptedModel::new("m")
            .then_call_tool("run_kubectl", json!({"args": "delete pod a -n shop"}))
            .then_answer("x"),
    );
    let approver = ChannelApprover::new();
    let tool = RecordingTool::new("run_kubectl", "kubectl", "ok");
    let kopilot = Kopilot::builder()
        .model(model)
        .skills(skills())
        .tool(Arc::new(tool.clone()))
        .approver(Arc::new(approver.clone()))
        .build()
        .unwrap();
    let task = kopilot.submit(TaskRequest::new("x").skill("alpha"));
    wait_for(&task, |e| matches!(e, EventKind::ApprovalRequested { .. })).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(approver.pending().len(), 1);
    assert_eq!(task.status(), Status::WaitingForApproval);
    let at = Instant::now();
    task.cancel();
    assert_eq!(task.result().await.status, Status::Cancelled);
    assert_eq!(task.status(), Status::Cancelled);
    assert!(at.elapsed() < Duration::from_secs(1));
    assert!(approver.pending().is_empty());
    assert!(tool.executed().is_empty());
}

#[tokio::test]
async fn cancel_during_a_long_command_stops_it() {
    let model = Arc::new(
        ScriptedModel::new("m")
            .then_call_tool("run_kubectl", json!({"args": "get pods -w"}))
            .then_answer("x"),
    );
    let tool =
        RecordingTool::new("run_kubectl", "kubectl", "ok").with_delay(Duration::from_secs(60));
    let kopilot = Kopilot::builder()
        .model(model)
        .skills(skills())
        .tool(Arc::new(tool.clone()))
        .build()
        .unwrap();
    let task = kopilot.submit(TaskRequest::new("x").skill("alpha"));
    wait_for(&task, |e| matches!(e, EventKind::ToolCall { .. })).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let at = Instant::now();
    task.cancel();
    let result = task.result().await;
    assert_eq!(result.status, Status::Cancelled);
    assert!(at.elapsed() < Duration::from_secs(1));
    let events = all_events(&task).await;
    assert_eq!(
        transcript(&events).last().map(String::as_str),
        Some("response:cancelled")
    );
}

fn limited(limits: Limits) -> Limits {
    limits
}

#[tokio::test]
async fn the_step_limit_names_itself() {
    let mut model = ScriptedModel::new("m");
    for _ in 0..5 {
        model = model.then_call_tool("run_kubectl", json!({"args": "get pods"}));
    }
    let kopilot = Kopilot::builder()
        .model(Arc::new(model))
        .skills(skills())
        .tool(Arc::new(RecordingTool::new("run_kubectl", "kubectl", "ok")))
        .limits(limited(Limits {
            max_steps_per_agent: 3,
            ..Limits::default()
        }))
        .build()
        .unwrap();
    let result = kopilot
        .submit(TaskRequest::new("x").skill("alpha"))
        .result()
        .await;
    assert_eq!(result.status, Status::Failed);
    assert!(
        result
            .error
            .as_ref()
            .unwrap()
            .message
            .contains("used its 3 model turns"),
        "{:?}",
        result.error
    );
    assert_eq!(result.error.unwrap().code, ErrorCode::LimitSteps);
}

#[tokio::test]
async fn the_tool_call_limit_names_itself() {
    let model = ScriptedModel::new("m").then_call_tools(vec![
        ("run_kubectl".into(), json!({"args": "get pods"})),
        ("run_kubectl".into(), json!({"args": "get svc"})),
        ("run_kubectl".into(), json!({"args": "get deploy"})),
    ]);
    let tool = RecordingTool::new("run_kubectl", "kubectl", "ok");
    let kopilot = Kopilot::builder()
        .model(Arc::new(model))
        .skills(skills())
        .tool(Arc::new(tool.clone()))
        .limits(Limits {
            budget: Budget {
                tool_calls: Some(2),
                ..Limits::default().budget
            },
            ..Limits::default()
        })
        .build()
        .unwrap();
    let result = kopilot
        .submit(TaskRequest::new("x").skill("alpha"))
        .result()
        .await;
    assert_eq!(result.status, Status::Failed);
    assert!(
        result
            .error
            .as_ref()
            .unwrap()
            .message
            .contains("more than 2 tool calls"),
        "{:?}",
        result.error
    );
    assert_eq!(result.error.unwrap().code, ErrorCode::LimitToolCalls);
    assert_eq!(tool.executed().len(), 2);
}

#[tokio::test]
async fn the_token_limit_names_itself() {
    let model = ScriptedModel::new("m")
        .then(ScriptedReply::Respond(
            ChatResponse::tool_calls(vec![kopilot_core::llm::ToolCall::new(
                "1",
                "run_kubectl",
                json!({"args": "get pods"}),
            )])
            .with_usage(800, 200),
        ))
        .then(ScriptedReply::Respond(
            ChatResponse::text("x").with_usage(900, 100),
        ));
    let kopilot = Kopilot::builder()
        .model(Arc::new(model))
        .skills(skills())
        .tool(Arc::new(RecordingTool::new("run_kubectl", "kubectl", "ok")))
        .limits(Limits {
            budget: Budget {
                tokens: Some(1500),
                ..Limits::default().budget
            },
            ..Limits::default()
        })
        .build()
        .unwrap();
    let result = kopilot
        .submit(TaskRequest::new("x").skill("alpha"))
        .result()
        .await;
    assert_eq!(result.status, Status::Failed);
    assert!(
        result
            .error
            .as_ref()
            .unwrap()
            .message
            .contains("2000 tokens, over its budget of 1500"),
        "{:?}",
        result.error
    );
    assert_eq!(result.error.unwrap().code, ErrorCode::LimitTokens);
    assert_eq!(result.usage.total(), 2000);
}

#[tokio::test(start_paused = true)]
async fn the_time_limit_names_itself() {
    let model = ScriptedModel::new("m")
        .with_step_delay(Duration::from_secs(600))
        .then_answer("late");
    let kopilot = Kopilot::builder()
        .model(Arc::new(model))
        .skills(skills())
        .limits(Limits {
            budget: Budget {
                seconds: Some(30),
                ..Limits::default().budget
            },
            ..Limits::default()
        })
        .build()
        .unwrap();
    let result = kopilot
        .submit(TaskRequest::new("x").skill("alpha"))
        .result()
        .await;
    assert_eq!(result.status, Status::Failed);
    assert!(
        result
            .error
            .as_ref()
            .unwrap()
            .message
            .contains("time limit of 30.0 s"),
        "{:?}",
        result.error
    );
    assert_eq!(result.error.unwrap().code, ErrorCode::LimitTime);
}

#[tokio::test]
async fn a_model_failure_fails_the_task_with_its_message() {
    let model = ScriptedModel::new("m").then_fail(kopilot_core::llm::Error::Authentication {
        provider: "openai".into(),
        message: "bad key".into(),
    });
    let kopilot = Kopilot::builder()
        .model(Arc::new(model))
        .skills(skills())
        .build()
        .unwrap();
    let result = kopilot
        .submit(TaskRequest::new("x").skill("alpha"))
        .result()
        .await;
    assert_eq!(result.status, Status::Failed);
    assert!(
        result
            .error
            .as_ref()
            .unwrap()
            .message
            .contains("the model failed"),
        "{:?}",
        result.error
    );
    assert_eq!(result.error.unwrap().code, ErrorCode::ModelUnavailable);
}

#[test]
fn invalid_limits_are_configuration_errors() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        assert!(
            Kopilot::builder()
                .limits(Limits {
                    budget: Budget {
                        tool_calls: Some(0),
                        ..Limits::default().budget
                    },
                    ..Limits::default()
                })
                .build()
                .is_err()
        );
        assert!(Kopilot::builder().reflection_threshold(11).build().is_err());
    });
    let err =
        Limits::from_lookup(|k| (k == "SAFETY_MAX_CONCURRENT_TASKS").then(|| "zero".to_owned()))
            .unwrap_err();
    assert!(err.to_string().contains("SAFETY_MAX_CONCURRENT_TASKS"));
    let ok = Limits::from_lookup(|k| (k == "SAFETY_MAX_CONCURRENT_TASKS").then(|| "9".to_owned()))
        .unwrap();
    assert_eq!(ok.max_concurrent_tasks, 9);
}

#[tokio::test]
async fn the_dollar_budget_holds_only_where_prices_are_known() {
    let script = || {
        ScriptedModel::new("m")
            .then(ScriptedReply::Respond(
                ChatResponse::tool_calls(vec![kopilot_core::llm::ToolCall::new(
                    "1",
                    "run_kubectl",
                    json!({"args": "get pods"}),
                )])
                .with_usage(800, 200),
            ))
            .then(ScriptedReply::Respond(
                ChatResponse::text("done").with_usage(900, 100),
            ))
    };
    let limits = Limits {
        budget: Budget {
            dollars: Some(0.01),
            ..Limits::default().budget
        },
        ..Limits::default()
    };
    // $10 per million input tokens and $30 per million output: the first call costs $0.014.
    let priced = Kopilot::builder()
        .model(Arc::new(script()))
        .skills(skills())
        .tool(Arc::new(RecordingTool::new("run_kubectl", "kubectl", "ok")))
        .limits(limits)
        .prices(Prices {
            input_per_million: 10.0,
            output_per_million: 30.0,
        })
        .build()
        .unwrap();
    let result = priced
        .submit(TaskRequest::new("x").skill("alpha"))
        .result()
        .await;
    assert_eq!(result.status, Status::Failed);
    let error = result.error.unwrap();
    assert_eq!(error.code, ErrorCode::LimitDollars);
    assert!(
        error.message.contains("over its budget of $0.0100"),
        "{error:?}"
    );

    let unpriced = Kopilot::builder()
        .model(Arc::new(script()))
        .skills(skills())
        .tool(Arc::new(RecordingTool::new("run_kubectl", "kubectl", "ok")))
        .limits(limits)
        .build()
        .unwrap();
    let result = unpriced
        .submit(TaskRequest::new("x").skill("alpha"))
        .result()
        .await;
    assert_eq!(result.status, Status::Succeeded, "{:?}", result.error);
}

#[tokio::test]
async fn a_task_waiting_for_a_slot_is_queued() {
    let model = Arc::new(
        ScriptedModel::new("m")
            .with_step_delay(Duration::from_secs(60))
            .then_answer("late")
            .then_answer("late"),
    );
    let kopilot = Kopilot::builder()
        .model(model)
        .skills(skills())
        .limits(Limits {
            max_concurrent_tasks: 1,
            ..Limits::default()
        })
        .build()
        .unwrap();
    let first = kopilot.submit(TaskRequest::new("x").skill("alpha"));
    wait_for(&first, |e| matches!(e, EventKind::TaskStarted { .. })).await;
    let second = kopilot.submit(TaskRequest::new("y").skill("alpha"));
    wait_for(&second, |e| matches!(e, EventKind::Notification { .. })).await;
    assert_eq!(first.status(), Status::Running);
    assert_eq!(second.status(), Status::Queued);
    second.cancel();
    first.cancel();
    assert_eq!(second.result().await.status, Status::Cancelled);
    assert_eq!(first.result().await.status, Status::Cancelled);
}

#[tokio::test]
async fn a_request_brings_its_own_budget() {
    let model = ScriptedModel::new("m").then_call_tools(vec![
        ("run_kubectl".into(), json!({"args": "get pods"})),
        ("run_kubectl".into(), json!({"args": "get svc"})),
    ]);
    let tool = RecordingTool::new("run_kubectl", "kubectl", "ok");
    let kopilot = Kopilot::builder()
        .model(Arc::new(model))
        .skills(skills())
        .tool(Arc::new(tool.clone()))
        .build()
        .unwrap();
    let request = TaskRequest::new("x").skill("alpha").budget(Budget {
        tool_calls: Some(1),
        ..Budget::UNLIMITED
    });
    let result = kopilot.submit(request).result().await;
    assert_eq!(result.status, Status::Failed);
    assert_eq!(result.error.unwrap().code, ErrorCode::LimitToolCalls);
    assert_eq!(tool.executed().len(), 1);
}

#[tokio::test]
async fn a_prompt_over_the_limit_is_rejected_before_any_model_sees_it() {
    let model = Arc::new(ScriptedModel::new("m").then_answer("never"));
    let kopilot = Kopilot::builder()
        .model(model.clone())
        .skills(skills())
        .limits(Limits {
            max_prompt_bytes: 1024,
            ..Limits::default()
        })
        .build()
        .unwrap();
    let huge = "é".repeat(600); // 1,200 bytes: over, and the cut falls inside a character
    let task = kopilot.submit(TaskRequest::new(huge).skill("alpha"));
    let result = task.result().await;
    assert_eq!(result.status, Status::Rejected);
    let error = result.error.unwrap();
    assert_eq!(error.code, ErrorCode::RejectedPromptTooLarge);
    assert_eq!(
        error.message,
        "the prompt is 1200 bytes, over the limit of 1024 bytes"
    );
    assert!(model.requests().is_empty(), "no model call");
    // What is kept of it is bounded by the limit.
    let record = kopilot.task(task.id()).await.unwrap();
    assert_eq!(record.prompt.len(), 1024);

    let fits = kopilot
        .submit(TaskRequest::new("é".repeat(512)).skill("alpha"))
        .result()
        .await;
    assert_eq!(fits.status, Status::Succeeded, "{fits:?}");
}

#[test]
fn budgets_and_the_prompt_limit_come_from_the_environment() {
    let env = |k: &str| match k {
        "KOPILOT_MAX_TOKENS" => Some("20000".to_owned()),
        "KOPILOT_MAX_TOOL_CALLS" => Some(" 12 ".to_owned()),
        "KOPILOT_MAX_PROMPT_BYTES" => Some("4096".to_owned()),
        _ => None,
    };
    let limits = Limits::from_lookup(env).unwrap();
    assert_eq!(limits.budget.tokens, Some(20_000));
    assert_eq!(limits.budget.tool_calls, Some(12));
    assert_eq!(limits.max_prompt_bytes, 4096);
    for var in [
        "KOPILOT_MAX_TOKENS",
        "KOPILOT_MAX_TOOL_CALLS",
        "KOPILOT_MAX_PROMPT_BYTES",
    ] {
        let err = Limits::from_lookup(|k| (k == var).then(|| "-5".to_owned())).unwrap_err();
        assert!(
            err.to_string().contains(var) && err.to_string().contains("-5"),
            "{err}"
        );
    }
}
