//! The SQLite task store across restarts: what was finished is still there, what was running
//! is marked interrupted, and files that are not task stores are refused with a clear error.

use std::path::Path;
use std::sync::Arc;

use kopilot_core::llm::Usage;
use kopilot_core::{
    Error, Event, EventKind, SqliteStore, Status, TaskRecord, TaskResult, TaskStore,
    interrupted_result,
};
use time::macros::datetime;

fn record(id: &str) -> TaskRecord {
    TaskRecord {
        id: id.to_owned(),
        prompt: format!("what is wrong with {id}?"),
        skill: None,
        session_id: Some("s-1".to_owned()),
        requester: "cli".to_owned(),
        created_at: datetime!(2026-11-23 08:30:00.5 UTC),
        result: None,
    }
}

fn delta(task_id: &str, seq: u64) -> Event {
    Event {
        task_id: task_id.to_owned(),
        seq,
        ts: datetime!(2026-11-23 08:30:01 UTC),
        agent: "supervisor".to_owned(),
        event: EventKind::Delta {
            text: format!("piece {seq}"),
        },
    }
}

fn succeeded(answer: &str) -> TaskResult {
    TaskResult {
        status: Status::Succeeded,
        answer: answer.to_owned(),
        error: None,
        findings: Vec::new(),
        usage: Usage {
            input_tokens: 10,
            output_tokens: 5,
        },
        duration_ms: 1_000,
        refused: Vec::new(),
        warnings: Vec::new(),
    }
}

fn seqs(events: &[Event]) -> Vec<u64> {
    events.iter().map(|e| e.seq).collect()
}

fn open_error(path: &Path) -> String {
    match SqliteStore::open(path) {
        Ok(_) => panic!("{} opened as a task store", path.display()),
        Err(Error::Store(message)) => message,
        Err(other) => panic!("expected Error::Store, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finished_tasks_and_their_events_survive_drop_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dirs/tasks.db");
    {
        let store = SqliteStore::open(&path).unwrap();
        store.create(&record("t-1")).await.unwrap();
        for seq in 1..=50 {
            store.append(&delta("t-1", seq)).await.unwrap();
        }
        store.finish("t-1", &succeeded("all good")).await.unwrap();
        // Dropped without `close`: every write that returned is already committed.
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(
        store.mark_interrupted().await.unwrap(),
        0,
        "nothing was running"
    );
    let task = store.task("t-1").await.unwrap().expect("the finished task");
    assert_eq!(
        task,
        TaskRecord {
            result: Some(succeeded("all good")),
            ..record("t-1")
        }
    );
    let events = store.events("t-1", 0).await.unwrap();
    assert_eq!(
        events,
        (1..=50).map(|seq| delta("t-1", seq)).collect::<Vec<_>>()
    );
    assert_eq!(store.session("s-1", 10).await.unwrap(), vec![task]);

    // The reopened store keeps working and a further restart keeps the new writes too.
    store.create(&record("t-2")).await.unwrap();
    store.close().await.unwrap();
    let store = SqliteStore::open(&path).unwrap();
    let ids: Vec<String> = store
        .tasks(10)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(ids, ["t-2", "t-1"]);
}

#[tokio::test]
async fn a_write_is_committed_when_it_returns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tasks.db");
    let store = SqliteStore::open(&path).unwrap();
    store.create(&record("t-1")).await.unwrap();
    store.append(&delta("t-1", 1)).await.unwrap();
    // Another connection (another process, or this one after a crash) sees it already.
    let reader = rusqlite::Connection::open(&path).unwrap();
    let stored: i64 = reader
        .query_row(
            "SELECT count(*) FROM events WHERE task_id = 't-1'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stored, 1);
    store.finish("t-1", &succeeded("ok")).await.unwrap();
    let status: String = reader
        .query_row("SELECT status FROM tasks WHERE id = 't-1'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(status, "succeeded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_tasks_are_interrupted_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tasks.db");
    {
        let store = SqliteStore::open(&path).unwrap();
        for id in ["t-done", "t-running", "t-queued"] {
            store.create(&record(id)).await.unwrap();
        }
        store.finish("t-done", &succeeded("fine")).await.unwrap();
        for seq in 1..=3 {
            store.append(&delta("t-running", seq)).await.unwrap();
        }
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(
        store
            .task("t-running")
            .await
            .unwrap()
            .and_then(|t| t.result),
        None
    );
    assert_eq!(store.mark_interrupted().await.unwrap(), 2);
    for id in ["t-running", "t-queued"] {
        let task = store.task(id).await.unwrap().expect("the task");
        assert_eq!(task.result, Some(interrupted_result()), "{id}");
    }
    assert_eq!(
        store.task("t-done").await.unwrap().and_then(|t| t.result),
        Some(succeeded("fine"))
    );
    assert_eq!(
        seqs(&store.events("t-running", 0).await.unwrap()),
        [1, 2, 3]
    );
    store.close().await.unwrap();

    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(
        store.mark_interrupted().await.unwrap(),
        0,
        "the marks were stored"
    );
    let statuses: Vec<Option<Status>> = store
        .tasks(10)
        .await
        .unwrap()
        .iter()
        .map(TaskRecord::status)
        .collect();
    assert_eq!(
        statuses,
        [
            Some(Status::Interrupted),
            Some(Status::Interrupted),
            Some(Status::Succeeded)
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_another_open_store_runs_are_not_interrupted_until_it_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tasks.db");
    // Another process's store (each open store holds its own claim, as a process would).
    let running = SqliteStore::open(&path).unwrap();
    running.create(&record("t-elsewhere")).await.unwrap();
    running.append(&delta("t-elsewhere", 1)).await.unwrap();

    let starting = SqliteStore::open(&path).unwrap();
    assert_eq!(starting.mark_interrupted().await.unwrap(), 0);
    assert_eq!(
        starting
            .task("t-elsewhere")
            .await
            .unwrap()
            .and_then(|t| t.result),
        None,
        "a running task was given a result"
    );
    // Its finish still lands.
    running
        .finish("t-elsewhere", &succeeded("done"))
        .await
        .unwrap();
    running.create(&record("t-abandoned")).await.unwrap();
    running.close().await.unwrap();

    // Gone without finishing t-abandoned: the next start marks it, and only it.
    assert_eq!(starting.mark_interrupted().await.unwrap(), 1);
    let statuses: Vec<(String, Option<Status>)> = starting
        .tasks(10)
        .await
        .unwrap()
        .iter()
        .map(|t| (t.id.clone(), t.status()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("t-abandoned".to_owned(), Some(Status::Interrupted)),
            ("t-elsewhere".to_owned(), Some(Status::Succeeded)),
        ]
    );
    starting.close().await.unwrap();
    // No claim is left behind by stores that closed.
    let claims = std::fs::read_dir(dir.path().join("tasks.db.owners"))
        .unwrap()
        .count();
    assert_eq!(claims, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_from_many_tasks_keep_seq_order_on_disk() {
    const TASKS: usize = 32;
    const EVENTS: u64 = 200;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tasks.db");
    let store = Arc::new(SqliteStore::open(&path).unwrap());
    let writers: Vec<_> = (0..TASKS)
        .map(|t| {
            let store = store.clone();
            tokio::spawn(async move {
                let id = format!("t-{t}");
                store.create(&record(&id)).await.unwrap();
                for seq in 1..=EVENTS {
                    store.append(&delta(&id, seq)).await.unwrap();
                }
                store.finish(&id, &succeeded("done")).await.unwrap();
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    Arc::into_inner(store)
        .expect("all writers are done")
        .close()
        .await
        .unwrap();

    let store = SqliteStore::open(&path).unwrap();
    for t in 0..TASKS {
        let id = format!("t-{t}");
        let events = store.events(&id, 0).await.unwrap();
        assert_eq!(seqs(&events), (1..=EVENTS).collect::<Vec<_>>(), "{id}");
        assert!(events.iter().all(|e| e.task_id == id));
    }
    assert_eq!(store.session("s-1", usize::MAX).await.unwrap().len(), TASKS);
}

#[tokio::test]
async fn a_repeated_seq_is_refused_and_the_first_event_kept() {
    let store = SqliteStore::in_memory().unwrap();
    store.create(&record("t-1")).await.unwrap();
    store.append(&delta("t-1", 1)).await.unwrap();
    let again = Event {
        event: EventKind::Delta {
            text: "other".to_owned(),
        },
        ..delta("t-1", 1)
    };
    let err = store.append(&again).await.expect_err("seq 1 is taken");
    assert!(
        matches!(&err, Error::Store(m) if m.contains("t-1") && m.contains("seq 1")),
        "{err:?}"
    );
    assert_eq!(store.events("t-1", 0).await.unwrap(), [delta("t-1", 1)]);
}

#[tokio::test]
async fn a_seq_beyond_sqlite_integers_is_an_error() {
    let store = SqliteStore::in_memory().unwrap();
    store.create(&record("t-1")).await.unwrap();
    let err = store
        .append(&delta("t-1", u64::MAX))
        .await
        .expect_err("too large");
    assert!(
        matches!(&err, Error::Store(m) if m.contains(&u64::MAX.to_string())),
        "{err:?}"
    );
}

#[test]
fn a_file_that_is_not_a_database_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tasks.db");
    let garbage: Vec<u8> = (0..8192u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13).to_le_bytes()[0])
        .collect();
    std::fs::write(&path, &garbage).unwrap();
    let message = open_error(&path);
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(
        message.contains("cannot be read as a SQLite database"),
        "{message}"
    );
    assert!(message.contains("file is not a database"), "{message}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        garbage,
        "the file was left alone"
    );
}

#[test]
fn a_truncated_store_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tasks.db");
    let header = b"SQLite format 3\0";
    let mut bytes = header.to_vec();
    bytes.extend(std::iter::repeat_n(0xA5u8, 200));
    std::fs::write(&path, &bytes).unwrap();
    let message = open_error(&path);
    assert!(message.contains(&path.display().to_string()), "{message}");
}

#[test]
fn another_programs_database_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE tasks (title TEXT); INSERT INTO tasks VALUES ('milk');")
            .unwrap();
    }
    let message = open_error(&path);
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("not a Kopilot task store"), "{message}");
    let conn = rusqlite::Connection::open(&path).unwrap();
    let title: String = conn
        .query_row("SELECT title FROM tasks", [], |r| r.get(0))
        .unwrap();
    assert_eq!(title, "milk");
    let journal: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(
        journal, "delete",
        "its journal mode was not switched to WAL"
    );
}

#[tokio::test]
async fn a_store_from_a_newer_kopilot_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tasks.db");
    SqliteStore::open(&path).unwrap().close().await.unwrap();
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
    }
    let message = open_error(&path);
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("schema version 99"), "{message}");
}

#[test]
fn a_directory_in_place_of_the_file_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let message = open_error(dir.path());
    assert!(
        message.contains(&dir.path().display().to_string()),
        "{message}"
    );
}

#[test]
fn a_parent_that_is_a_file_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, "x").unwrap();
    let message = open_error(&blocker.join("tasks.db"));
    assert!(
        message.contains(&blocker.display().to_string()),
        "{message}"
    );
}

#[test]
fn stores_opened_at_once_on_a_new_file_migrate_it_once() {
    // Several `kopilot` processes starting together on a fresh data directory used to race on
    // the first migration ("table tasks already exists").
    for round in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kopilot.db");
        let barrier = Arc::new(std::sync::Barrier::new(6));
        let openers: Vec<_> = (0..6)
            .map(|_| {
                let (path, barrier) = (path.clone(), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    barrier.wait();
                    SqliteStore::open(&path)
                        .map(drop)
                        .map_err(|e| e.to_string())
                })
            })
            .collect();
        for opener in openers {
            let opened = opener.join().unwrap();
            assert!(opened.is_ok(), "round {round}: {opened:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_task_replays_to_a_response_with_its_result() {
    use futures::StreamExt as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tasks.db");
    {
        let store = SqliteStore::open(&path).unwrap();
        for id in ["t-running", "t-queued"] {
            store.create(&record(id)).await.unwrap();
        }
        for seq in 1..=3 {
            store.append(&delta("t-running", seq)).await.unwrap();
        }
    }
    let store = Arc::new(SqliteStore::open(&path).unwrap());
    assert_eq!(store.mark_interrupted().await.unwrap(), 2);
    let kopilot = kopilot_core::Kopilot::builder()
        .store(store as Arc<dyn TaskStore>)
        .build()
        .unwrap();
    let follow = |id: &'static str, from: u64| {
        let kopilot = kopilot.clone();
        async move {
            kopilot
                .follow(id, from)
                .await
                .unwrap()
                .collect::<Vec<Event>>()
                .await
        }
    };
    let all = follow("t-running", 0).await;
    assert_eq!(seqs(&all), [1, 2, 3, 4]);
    assert!(
        matches!(&all[3].event, EventKind::Response(r) if *r == interrupted_result()),
        "{:?}",
        all[3]
    );
    assert_eq!(all[3].ts, all[2].ts);
    assert_eq!(follow("t-running", 4).await, all[3..].to_vec());
    assert!(follow("t-running", 5).await.is_empty());
    let queued = follow("t-queued", 1).await;
    assert_eq!(seqs(&queued), [1]);
    assert!(queued[0].is_terminal());
    // Replays are the same every time.
    assert_eq!(follow("t-running", 0).await, all);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_task_service_shows_a_task_another_live_process_runs_as_running() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tasks.db");
    // Another process's store (each open store holds its own claim, as a process would).
    let elsewhere = SqliteStore::open(&path).unwrap();
    elsewhere.create(&record("t-elsewhere")).await.unwrap();
    let here = Arc::new(SqliteStore::open(&path).unwrap());
    assert!(here.running_elsewhere("t-elsewhere").await.unwrap());
    assert!(!here.running_elsewhere("t-unknown").await.unwrap());
    let kopilot = kopilot_core::Kopilot::builder()
        .store(Arc::clone(&here) as Arc<dyn TaskStore>)
        .build()
        .unwrap();
    assert_eq!(
        kopilot.task("t-elsewhere").await.unwrap().status,
        Status::Running
    );
    let listed = kopilot
        .tasks(&kopilot_core::TaskQuery::newest(10))
        .await
        .unwrap();
    assert_eq!(listed[0].status, Status::Running);
    // Its process is gone: now it is what it will be marked, interrupted.
    elsewhere.close().await.unwrap();
    assert!(!here.running_elsewhere("t-elsewhere").await.unwrap());
    assert_eq!(
        kopilot.task("t-elsewhere").await.unwrap().status,
        Status::Interrupted
    );
}
