//! The task service alone, as an adapter uses it: tasks found, followed, cancelled and approved
//! by id, by code that did not submit them, and replayed from the SQLite store after a restart.

mod support;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use kopilot_core::llm::ScriptedModel;
use kopilot_core::safety::{ApprovalRequest, ChannelApprover, Identity};
use kopilot_core::testing::{RecordingTool, RoutedModel};
use kopilot_core::{Error, Event, Kopilot, SqliteStore, Status, TaskQuery, TaskRequest, TaskStore};
use serde_json::json;
use support::*;

/// Polls `check` every 10 ms for up to 10 s.
async fn eventually<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    for _ in 0..1000 {
        if let Some(found) = check().await {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("gave up waiting for {what}");
}

fn seqs(events: &[Event]) -> Vec<u64> {
    events.iter().map(|e| e.seq).collect()
}

fn runtime(store: Arc<dyn TaskStore>, desk: ChannelApprover) -> Kopilot {
    // `alpha` scales (a mutation: it waits for approval), `beta` runs an analysis that takes
    // a minute (it is cancelled long before).
    let alpha = Arc::new(
        ScriptedModel::new("alpha")
            .then_call_tool(
                "run_kubectl",
                json!({"args": "scale deploy/web --replicas=2 -n shop"}),
            )
            .then_answer("Scaled web to 2 replicas."),
    );
    let beta = Arc::new(
        ScriptedModel::new("beta")
            .then_call_tool("analyze", json!({"args": "health"}))
            .then_answer("never reached"),
    );
    let model = RoutedModel::new()
        .route("ALPHA-SKILL", alpha)
        .route("BETA-SKILL", beta);
    Kopilot::builder()
        .model(Arc::new(model))
        .skills(skills())
        .tool(Arc::new(RecordingTool::new(
            "run_kubectl",
            "kubectl",
            "scaled",
        )))
        .tool(Arc::new(
            RecordingTool::new("analyze", "kubectl get", "report")
                .with_delay(Duration::from_secs(60)),
        ))
        .store(store)
        .approval_desk(desk)
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_are_followed_cancelled_approved_and_replayed_by_id() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tasks.db");
    let desk = ChannelApprover::new().with_four_eyes(true);
    let kopilot = runtime(Arc::new(SqliteStore::open(&path).unwrap()), desk);

    // Submitted by one part of the program; everything below uses only the ids.
    let scale = kopilot
        .submit(
            TaskRequest::new("scale web to 2")
                .skill("alpha")
                .requester("alice")
                .session("ops"),
        )
        .id()
        .to_owned();
    let health = kopilot
        .submit(
            TaskRequest::new("how healthy is shop?")
                .skill("beta")
                .requester("carol"),
        )
        .id()
        .to_owned();

    // The mutation waits for a human; the service lists it with the exact command's hash.
    let pending: ApprovalRequest = eventually("the approval request", async || {
        kopilot.approvals().into_iter().next()
    })
    .await;
    assert_eq!(
        pending.command,
        "kubectl scale deploy/web --replicas=2 -n shop"
    );
    assert_eq!(pending.task_id.as_deref(), Some(scale.as_str()));
    assert_eq!(pending.requester, Identity::new("alice"));
    let stages = [[
        "kubectl",
        "scale",
        "deploy/web",
        "--replicas=2",
        "-n",
        "shop",
    ]
    .map(str::to_owned)
    .to_vec()];
    assert_eq!(
        pending.argv_sha256.as_deref(),
        Some(kopilot_core::safety::audit::argv_sha256(&stages).as_str())
    );
    let scale_info = kopilot.task(&scale).await.unwrap();
    assert_eq!(scale_info.status, Status::WaitingForApproval);
    assert_eq!(scale_info.requester, "alice");
    let waiting = kopilot
        .tasks(&TaskQuery::newest(10).status(Status::WaitingForApproval))
        .await
        .unwrap();
    assert_eq!(
        waiting.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
        [scale.as_str()]
    );

    // Four-eyes: the requester cannot approve her own command; someone else can.
    let own = kopilot.answer_approval(&pending.id, true, &Identity::new("alice"), None);
    assert!(
        matches!(
            own,
            Err(Error::Safety(kopilot_core::safety::Error::FourEyes(_)))
        ),
        "{own:?}"
    );
    assert_eq!(
        own.unwrap_err().code(),
        kopilot_core::ErrorCode::ApprovalFourEyes
    );
    assert_eq!(
        kopilot.task(&scale).await.unwrap().status,
        Status::WaitingForApproval
    );
    kopilot
        .answer_approval(
            &pending.id,
            true,
            &Identity::new("bob"),
            Some("looks fine".into()),
        )
        .unwrap();
    let again = kopilot.answer_approval(&pending.id, true, &Identity::new("bob"), None);
    assert!(
        matches!(
            again,
            Err(Error::Safety(kopilot_core::safety::Error::UnknownApproval(
                _
            )))
        ),
        "an answered request cannot be answered twice: {again:?}"
    );
    assert_eq!(
        again.unwrap_err().code(),
        kopilot_core::ErrorCode::ApprovalUnknown
    );

    // The slow analysis is running; cancel it by id.
    eventually("the analysis to be running", async || {
        let info = kopilot.task(&health).await.unwrap();
        // Its second event is the call of the tool that is now running.
        (info.status == Status::Running
            && kopilot
                .handle(&health)
                .unwrap()
                .events()
                .take(2)
                .count()
                .await
                == 2)
            .then_some(())
    })
    .await;
    kopilot.cancel(&health).await.unwrap();

    // Follow the first from the start (0 means the start) and the second from its middle.
    let scale_events: Vec<Event> = kopilot.follow(&scale, 0).await.unwrap().collect().await;
    assert_eq!(
        transcript(&scale_events),
        [
            "task_started",
            "tool_call:run_kubectl",
            "approval_requested:medium",
            "approval_decided:approved",
            "tool_result:ok",
            "response:succeeded"
        ]
    );
    assert_eq!(
        seqs(&scale_events),
        (1..=scale_events.len() as u64).collect::<Vec<_>>()
    );
    let health_tail: Vec<Event> = kopilot.follow(&health, 2).await.unwrap().collect().await;
    assert_eq!(health_tail.first().map(|e| e.seq), Some(2));
    assert_eq!(
        transcript(&health_tail).first().map(String::as_str),
        Some("tool_call:analyze")
    );
    assert_eq!(
        transcript(&health_tail).last().map(String::as_str),
        Some("response:cancelled")
    );

    // Ended tasks cannot be cancelled, and unknown ids are errors, not empty answers.
    assert!(matches!(
        kopilot.cancel(&scale).await,
        Err(Error::TaskEnded {
            status: Status::Succeeded,
            ..
        })
    ));
    assert!(matches!(
        kopilot.cancel("t-nope").await,
        Err(Error::UnknownTask(_))
    ));
    assert!(matches!(
        kopilot.follow("t-nope", 1).await,
        Err(Error::UnknownTask(_))
    ));

    // Once in the store, ended tasks leave memory and are served from the store.
    kopilot.flush().await;
    assert!(kopilot.handle(&scale).is_none() && kopilot.handle(&health).is_none());
    let from_store: Vec<Event> = kopilot.follow(&scale, 4).await.unwrap().collect().await;
    assert_eq!(from_store, scale_events[3..]);
    assert_eq!(
        kopilot.task(&health).await.unwrap().status,
        Status::Cancelled
    );
    drop(kopilot);

    // A new process over the same file replays both.
    let reopened = runtime(
        Arc::new(SqliteStore::open(&path).unwrap()),
        ChannelApprover::new(),
    );
    let replayed: Vec<Event> = reopened.follow(&scale, 0).await.unwrap().collect().await;
    assert_eq!(replayed, scale_events);
    let scale_info = reopened.task(&scale).await.unwrap();
    assert_eq!(scale_info.status, Status::Succeeded);
    assert_eq!(
        scale_info.result.map(|r| r.answer).as_deref(),
        Some("Scaled web to 2 replicas.")
    );
    let by_session = reopened
        .tasks(&TaskQuery::newest(10).session("ops"))
        .await
        .unwrap();
    assert_eq!(
        by_session.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
        [scale.as_str()]
    );
    let cancelled = reopened
        .tasks(
            &TaskQuery::newest(10)
                .status(Status::Cancelled)
                .requester("carol"),
        )
        .await
        .unwrap();
    assert_eq!(
        cancelled.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
        [health.as_str()]
    );
    let everything = reopened.tasks(&TaskQuery::newest(10)).await.unwrap();
    assert_eq!(
        everything.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
        [health.as_str(), scale.as_str()],
        "newest first"
    );
}

#[tokio::test]
async fn without_an_approval_desk_nothing_is_pending_and_no_answer_is_taken() {
    let kopilot = Kopilot::builder().build().unwrap();
    assert!(kopilot.approvals().is_empty());
    let answer = kopilot.answer_approval("a-1", true, &Identity::new("bob"), None);
    assert!(matches!(
        answer,
        Err(Error::Safety(kopilot_core::safety::Error::UnknownApproval(
            _
        )))
    ));
}
