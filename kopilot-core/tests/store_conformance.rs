//! One suite every `TaskStore` must pass, run against `MemoryStore` and `SqliteStore`: each
//! trait method, its edge cases, and concurrent use.

use std::sync::Arc;

use kopilot_core::llm::Usage;
use kopilot_core::protocol::{ChangeAction, ChangePreview, ObjectChange, ObjectRef, Severity};
use kopilot_core::safety::Risk;
use kopilot_core::{
    Error, ErrorCode, Event, EventKind, Exit, Failure, Finding, MemoryStore, Status, TaskQuery,
    TaskRecord, TaskResult, TaskStore, interrupted_result,
};
use serde_json::json;
use time::OffsetDateTime;
use time::macros::datetime;

/// Runs every case below against each store: `store_name => expression making a store`.
macro_rules! conformance {
    ($($(#[$attr:meta])* $store:ident => $make:expr;)+) => {$(
        $(#[$attr])*
        mod $store {
            use super::*;

            fn store() -> Arc<dyn TaskStore> {
                Arc::new($make)
            }

            conformance!(@cases
                a_created_task_reads_back_unchanged,
                creating_an_existing_id_fails_and_keeps_the_first,
                an_unknown_task_reads_as_none_and_without_events,
                events_come_back_in_seq_order_from_any_seq,
                events_of_each_task_stay_apart,
                every_kind_of_event_round_trips,
                appending_to_an_unknown_task_is_unknown_task,
                finish_records_the_result,
                finishing_an_unknown_task_is_unknown_task,
                tasks_lists_newest_first_up_to_the_limit,
                query_filters_by_status_session_and_requester,
                session_lists_its_last_finished_tasks_oldest_first,
                mark_interrupted_marks_only_unfinished_tasks,
                concurrent_appends_keep_each_tasks_order,
            );
        }
    )+};
    (@cases $($case:ident,)+) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $case() {
            super::$case(store()).await;
        }
    )+};
}

conformance! {
    memory => MemoryStore::default();
    #[cfg(feature = "sqlite")]
    sqlite => kopilot_core::SqliteStore::in_memory().expect("in-memory SQLite store");
}

// --- fixtures ---------------------------------------------------------------------------

fn record(id: &str, session_id: Option<&str>) -> TaskRecord {
    TaskRecord {
        id: id.to_owned(),
        prompt: format!("why is {id} crashlooping? «ünïcode» 🚀"),
        skill: Some("troubleshooting".to_owned()),
        session_id: session_id.map(str::to_owned),
        requester: "alice@example.com".to_owned(),
        // Sub-second precision and a non-UTC offset must survive storage.
        created_at: datetime!(2026-11-22 10:00:01.123456789 +02:00),
        result: None,
    }
}

fn result(status: Status, answer: &str) -> TaskResult {
    TaskResult {
        status,
        answer: answer.to_owned(),
        error: (status != Status::Succeeded)
            .then(|| Failure::new(ErrorCode::ModelFailed, format!("{status}: reason"))),
        findings: vec![Finding {
            check: "health.oom_killed".to_owned(),
            severity: Severity::High,
            object: ObjectRef::new("Pod", Some("shop"), "web-1"),
            message: "web-1 was OOMKilled".to_owned(),
            evidence: json!({"restarts": 5}),
            recommendation: "raise the memory limit".to_owned(),
            command: None,
            monthly_cost: Some(1.5),
        }],
        usage: Usage {
            input_tokens: 1200,
            output_tokens: 340,
        },
        duration_ms: 4_321,
        refused: Vec::new(),
        warnings: Vec::new(),
    }
}

fn event(task_id: &str, seq: u64, event: EventKind) -> Event {
    Event {
        task_id: task_id.to_owned(),
        seq,
        ts: OffsetDateTime::UNIX_EPOCH + time::Duration::milliseconds(i64::try_from(seq).unwrap()),
        agent: "supervisor".to_owned(),
        event,
    }
}

fn delta(task_id: &str, seq: u64) -> Event {
    event(
        task_id,
        seq,
        EventKind::Delta {
            text: format!("piece {seq} of {task_id}"),
        },
    )
}

fn seqs(events: &[Event]) -> Vec<u64> {
    events.iter().map(|e| e.seq).collect()
}

fn ids(tasks: &[TaskRecord]) -> Vec<&str> {
    tasks.iter().map(|t| t.id.as_str()).collect()
}

// --- cases -------------------------------------------------------------------------------

async fn a_created_task_reads_back_unchanged(store: Arc<dyn TaskStore>) {
    let task = record("t-1", Some("s-1"));
    store.create(&task).await.unwrap();
    let stored = store
        .task("t-1")
        .await
        .unwrap()
        .expect("the task just created");
    assert_eq!(stored, task);
    assert_eq!(stored.status(), None);

    let no_session_no_skill = TaskRecord {
        skill: None,
        ..record("t-2", None)
    };
    store.create(&no_session_no_skill).await.unwrap();
    assert_eq!(store.task("t-2").await.unwrap(), Some(no_session_no_skill));
}

async fn creating_an_existing_id_fails_and_keeps_the_first(store: Arc<dyn TaskStore>) {
    let first = record("t-dup", None);
    store.create(&first).await.unwrap();
    let second = TaskRecord {
        prompt: "something else".to_owned(),
        ..first.clone()
    };
    let err = store
        .create(&second)
        .await
        .expect_err("a second task with the same id");
    assert!(
        matches!(&err, Error::Store(m) if m.contains("t-dup")),
        "{err:?}"
    );
    assert_eq!(store.task("t-dup").await.unwrap(), Some(first));
    assert_eq!(
        store.tasks(10).await.unwrap().len(),
        1,
        "the duplicate was not listed"
    );
}

async fn an_unknown_task_reads_as_none_and_without_events(store: Arc<dyn TaskStore>) {
    assert_eq!(store.task("nope").await.unwrap(), None);
    assert!(store.events("nope", 0).await.unwrap().is_empty());
    assert!(store.tasks(10).await.unwrap().is_empty());
    assert!(store.session("nope", 10).await.unwrap().is_empty());
    assert_eq!(store.mark_interrupted().await.unwrap(), 0);
}

async fn events_come_back_in_seq_order_from_any_seq(store: Arc<dyn TaskStore>) {
    store.create(&record("t-1", None)).await.unwrap();
    assert!(
        store.events("t-1", 0).await.unwrap().is_empty(),
        "no events yet"
    );
    let appended: Vec<Event> = (1..=20).map(|seq| delta("t-1", seq)).collect();
    for e in &appended {
        store.append(e).await.unwrap();
    }
    assert_eq!(store.events("t-1", 0).await.unwrap(), appended);
    assert_eq!(store.events("t-1", 1).await.unwrap(), appended);
    assert_eq!(
        seqs(&store.events("t-1", 15).await.unwrap()),
        (15..=20).collect::<Vec<_>>()
    );
    assert_eq!(seqs(&store.events("t-1", 20).await.unwrap()), vec![20]);
    assert!(store.events("t-1", 21).await.unwrap().is_empty());
    assert!(store.events("t-1", u64::MAX).await.unwrap().is_empty());
}

async fn events_of_each_task_stay_apart(store: Arc<dyn TaskStore>) {
    store.create(&record("t-a", None)).await.unwrap();
    store.create(&record("t-b", None)).await.unwrap();
    for seq in 1..=3 {
        store.append(&delta("t-a", seq)).await.unwrap();
        store.append(&delta("t-b", seq)).await.unwrap();
    }
    store.append(&delta("t-b", 4)).await.unwrap();
    let a = store.events("t-a", 0).await.unwrap();
    let b = store.events("t-b", 0).await.unwrap();
    assert!(a.iter().all(|e| e.task_id == "t-a"));
    assert!(b.iter().all(|e| e.task_id == "t-b"));
    assert_eq!((seqs(&a), seqs(&b)), (vec![1, 2, 3], vec![1, 2, 3, 4]));
}

async fn every_kind_of_event_round_trips(store: Arc<dyn TaskStore>) {
    store.create(&record("t-1", Some("s-1"))).await.unwrap();
    let kinds = vec![
        EventKind::TaskStarted {
            prompt: "why is web crashing?".to_owned(),
            skill: None,
            session_id: Some("s-1".to_owned()),
            model: Some("scripted".to_owned()),
        },
        EventKind::Delegated {
            call_id: "c-1".to_owned(),
            skill: "troubleshooting".to_owned(),
            task: "look at shop/web".to_owned(),
        },
        EventKind::Thinking {
            text: "I should list the pods first.\n\"quoted\"".to_owned(),
        },
        EventKind::ToolCall {
            call_id: "c-2".to_owned(),
            tool: "run_kubectl".to_owned(),
            args: json!({"args": "get pods -n shop", "nested": {"n": [1, 2.5, null]}}),
            commands: vec!["kubectl get pods -n shop".to_owned()],
        },
        EventKind::ApprovalRequested {
            approval_id: "a-1".to_owned(),
            call_id: "c-3".to_owned(),
            command: "kubectl delete pod web-1 -n shop".to_owned(),
            risk: Risk::High,
            reasons: vec!["deletes a resource".to_owned()],
            preview: Some(ChangePreview {
                command: "kubectl delete pod web-1 -n shop".to_owned(),
                ran: vec!["kubectl get pod web-1 -n shop -o json".to_owned()],
                changes: vec![ObjectChange {
                    api_version: "v1".to_owned(),
                    kind: "Pod".to_owned(),
                    namespace: Some("shop".to_owned()),
                    name: "web-1".to_owned(),
                    action: ChangeAction::Delete,
                    diff: "-apiVersion: v1\n-kind: Pod\n".to_owned(),
                }],
                failure: None,
                notes: vec!["«ünïcode» note".to_owned()],
            }),
        },
        EventKind::ApprovalDecided {
            approval_id: "a-1".to_owned(),
            call_id: "c-3".to_owned(),
            approved: false,
            decided_by: "bob".to_owned(),
            reason: Some("not during business hours".to_owned()),
        },
        EventKind::ToolResult {
            call_id: "c-2".to_owned(),
            tool: "run_kubectl".to_owned(),
            ok: true,
            output: "NAME  READY  STATUS\nweb-1 0/1    CrashLoopBackOff".to_owned(),
            exit: Some(Exit::Exited { code: 0 }),
            summary: None,
            duration_ms: 87,
        },
        EventKind::Reflection {
            score: 6,
            critique: "name the limit".to_owned(),
            replan: true,
        },
        EventKind::Notification {
            message: "queued".to_owned(),
        },
        EventKind::Delta {
            text: "web-1 is OOMKilled 🙁".to_owned(),
        },
        EventKind::Response(result(Status::Succeeded, "web-1 is OOMKilled")),
    ];
    let appended: Vec<Event> = kinds
        .into_iter()
        .zip(1..)
        .map(|(kind, seq)| event("t-1", seq, kind))
        .collect();
    for e in &appended {
        store.append(e).await.unwrap();
    }
    let stored = store.events("t-1", 0).await.unwrap();
    assert_eq!(stored, appended);
    assert!(stored.last().is_some_and(Event::is_terminal));
}

async fn appending_to_an_unknown_task_is_unknown_task(store: Arc<dyn TaskStore>) {
    let err = store
        .append(&delta("ghost", 1))
        .await
        .expect_err("no such task");
    assert!(
        matches!(&err, Error::UnknownTask(id) if id == "ghost"),
        "{err:?}"
    );
    assert!(
        store.events("ghost", 0).await.unwrap().is_empty(),
        "nothing was stored"
    );
}

async fn finish_records_the_result(store: Arc<dyn TaskStore>) {
    store.create(&record("t-1", None)).await.unwrap();
    store.append(&delta("t-1", 1)).await.unwrap();
    let done = result(Status::Failed, "");
    store.finish("t-1", &done).await.unwrap();
    let stored = store.task("t-1").await.unwrap().expect("the task");
    assert_eq!(stored.status(), Some(Status::Failed));
    assert_eq!(stored.result, Some(done));
    assert_eq!(
        stored.prompt,
        record("t-1", None).prompt,
        "the request is unchanged"
    );
    assert_eq!(
        seqs(&store.events("t-1", 0).await.unwrap()),
        vec![1],
        "events are kept"
    );
}

async fn finishing_an_unknown_task_is_unknown_task(store: Arc<dyn TaskStore>) {
    let err = store
        .finish("ghost", &result(Status::Succeeded, "hi"))
        .await
        .expect_err("no such task");
    assert!(
        matches!(&err, Error::UnknownTask(id) if id == "ghost"),
        "{err:?}"
    );
    assert_eq!(store.task("ghost").await.unwrap(), None);
}

async fn tasks_lists_newest_first_up_to_the_limit(store: Arc<dyn TaskStore>) {
    for i in 1..=5 {
        store
            .create(&record(&format!("t-{i}"), None))
            .await
            .unwrap();
    }
    store
        .finish("t-2", &result(Status::Succeeded, "done"))
        .await
        .unwrap();
    assert_eq!(ids(&store.tasks(3).await.unwrap()), ["t-5", "t-4", "t-3"]);
    let all = store.tasks(100).await.unwrap();
    assert_eq!(ids(&all), ["t-5", "t-4", "t-3", "t-2", "t-1"]);
    assert_eq!(
        all[3].status(),
        Some(Status::Succeeded),
        "finished and running both listed"
    );
    assert_eq!(ids(&store.tasks(usize::MAX).await.unwrap()).len(), 5);
    assert!(store.tasks(0).await.unwrap().is_empty());
}

async fn query_filters_by_status_session_and_requester(store: Arc<dyn TaskStore>) {
    for (id, session, requester) in [
        ("t-1", Some("s-1"), "alice@example.com"),
        ("t-2", Some("s-1"), "bob"),
        ("t-3", None, "bob"),
        ("t-4", Some("s-1"), "bob"),
        ("t-5", Some("s-2"), "bob"),
    ] {
        let mut task = record(id, session);
        task.requester = requester.to_owned();
        store.create(&task).await.unwrap();
    }
    for (id, status) in [
        ("t-1", Status::Failed),
        ("t-2", Status::Succeeded),
        ("t-3", Status::Succeeded),
        ("t-5", Status::Succeeded),
    ] {
        store.finish(id, &result(status, "")).await.unwrap();
    }
    let query = |q: TaskQuery| {
        let store = Arc::clone(&store);
        async move { store.query(&q).await.unwrap() }
    };
    assert_eq!(
        ids(&query(TaskQuery::newest(10)).await),
        ["t-5", "t-4", "t-3", "t-2", "t-1"]
    );
    assert_eq!(
        ids(&query(TaskQuery::newest(10).status(Status::Succeeded)).await),
        ["t-5", "t-3", "t-2"]
    );
    assert_eq!(
        ids(&query(TaskQuery::newest(10).session("s-1")).await),
        ["t-4", "t-2", "t-1"]
    );
    assert_eq!(
        ids(&query(
            TaskQuery::newest(10)
                .session("s-1")
                .requester("bob")
                .status(Status::Succeeded)
        )
        .await),
        ["t-2"]
    );
    assert_eq!(
        ids(&query(TaskQuery::newest(2).requester("bob")).await),
        ["t-5", "t-4"],
        "the limit counts matching tasks, newest first"
    );
    // A task without a result has no status: it matches no status filter.
    assert!(
        query(TaskQuery::newest(10).status(Status::Running))
            .await
            .is_empty()
    );
    assert!(
        query(TaskQuery::newest(10).requester("mallory"))
            .await
            .is_empty()
    );
}

async fn session_lists_its_last_finished_tasks_oldest_first(store: Arc<dyn TaskStore>) {
    for (id, session) in [
        ("t-1", Some("s-1")),
        ("t-2", Some("s-2")),
        ("t-3", Some("s-1")),
        ("t-4", None),
        ("t-5", Some("s-1")),
        ("t-6", Some("s-1")),
        ("t-7", Some("s-1")),
    ] {
        store.create(&record(id, session)).await.unwrap();
    }
    // t-7 is still running; finishing out of order must not change the order.
    for id in ["t-6", "t-5", "t-4", "t-3", "t-2", "t-1"] {
        store
            .finish(id, &result(Status::Succeeded, &format!("answer {id}")))
            .await
            .unwrap();
    }
    assert_eq!(
        ids(&store.session("s-1", 10).await.unwrap()),
        ["t-1", "t-3", "t-5", "t-6"]
    );
    assert_eq!(ids(&store.session("s-1", 2).await.unwrap()), ["t-5", "t-6"]);
    assert_eq!(
        ids(&store.session("s-1", usize::MAX).await.unwrap()).len(),
        4
    );
    assert!(store.session("s-1", 0).await.unwrap().is_empty());
    assert_eq!(ids(&store.session("s-2", 10).await.unwrap()), ["t-2"]);
    assert!(store.session("s-3", 10).await.unwrap().is_empty());
    let turns = store.session("s-1", 1).await.unwrap();
    assert_eq!(
        turns[0].result.as_ref().map(|r| r.answer.as_str()),
        Some("answer t-6")
    );
}

async fn mark_interrupted_marks_only_unfinished_tasks(store: Arc<dyn TaskStore>) {
    for id in ["t-1", "t-2", "t-3"] {
        store.create(&record(id, Some("s-1"))).await.unwrap();
    }
    let cancelled = result(Status::Cancelled, "");
    store.finish("t-2", &cancelled).await.unwrap();
    store.append(&delta("t-3", 1)).await.unwrap();

    assert_eq!(store.mark_interrupted().await.unwrap(), 2);
    for id in ["t-1", "t-3"] {
        let task = store.task(id).await.unwrap().expect("the task");
        assert_eq!(task.result, Some(interrupted_result()), "{id}");
        assert_eq!(task.status(), Some(Status::Interrupted), "{id}");
    }
    assert_eq!(
        store.task("t-2").await.unwrap().and_then(|t| t.result),
        Some(cancelled)
    );
    assert_eq!(
        seqs(&store.events("t-3", 0).await.unwrap()),
        vec![1],
        "events are kept"
    );
    assert_eq!(
        ids(&store.session("s-1", 10).await.unwrap()),
        ["t-1", "t-2", "t-3"]
    );
    assert_eq!(
        store.mark_interrupted().await.unwrap(),
        0,
        "nothing left to mark"
    );
}

async fn concurrent_appends_keep_each_tasks_order(store: Arc<dyn TaskStore>) {
    const TASKS: usize = 16;
    const EVENTS: u64 = 100;
    let mut writers = Vec::new();
    for t in 0..TASKS {
        let store = store.clone();
        writers.push(tokio::spawn(async move {
            let id = format!("t-{t}");
            store.create(&record(&id, None)).await.unwrap();
            for seq in 1..=EVENTS {
                store.append(&delta(&id, seq)).await.unwrap();
                if seq % 10 == 0 {
                    tokio::task::yield_now().await;
                }
            }
            store
                .finish(&id, &result(Status::Succeeded, "done"))
                .await
                .unwrap();
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    for t in 0..TASKS {
        let id = format!("t-{t}");
        let events = store.events(&id, 0).await.unwrap();
        assert_eq!(seqs(&events), (1..=EVENTS).collect::<Vec<_>>(), "{id}");
        assert!(
            events.iter().all(|e| e == &delta(&id, e.seq)),
            "{id}: contents intact"
        );
    }
    assert_eq!(store.tasks(usize::MAX).await.unwrap().len(), TASKS);
}
