//! Event appends per second, the task store's hot path: one task streaming alone (each append
//! waits for its own commit) and many tasks streaming at once (appends share commits).
//! `MemoryStore` is the baseline.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use kopilot_core::{Event, EventKind, MemoryStore, SqliteStore, TaskRecord, TaskStore};
use time::OffsetDateTime;

/// Tasks streaming at once in the concurrent case.
const TASKS: usize = 16;
/// Events each of them appends per iteration.
const EVENTS_PER_TASK: u64 = 64;

fn record(id: &str) -> TaskRecord {
    TaskRecord {
        id: id.to_owned(),
        prompt: "why is web crashlooping?".to_owned(),
        skill: None,
        session_id: None,
        requester: "bench".to_owned(),
        created_at: OffsetDateTime::UNIX_EPOCH,
        result: None,
    }
}

/// A `delta` event shaped like a streamed answer piece.
fn delta(task_id: &str, seq: u64) -> Event {
    Event {
        task_id: task_id.to_owned(),
        seq,
        ts: OffsetDateTime::UNIX_EPOCH,
        agent: "supervisor".to_owned(),
        event: EventKind::Delta {
            text: "web-1 was OOMKilled 5 times; ".to_owned(),
        },
    }
}

/// A store with `TASKS` tasks created, and the next seq of each.
struct Fixture {
    store: Arc<dyn TaskStore>,
    next_seq: Arc<Vec<AtomicU64>>,
}

impl Fixture {
    fn new(rt: &tokio::runtime::Runtime, store: Arc<dyn TaskStore>) -> Self {
        rt.block_on(async {
            for t in 0..TASKS {
                store
                    .create(&record(&format!("t-{t}")))
                    .await
                    .expect("create");
            }
        });
        let next_seq = Arc::new((0..TASKS).map(|_| AtomicU64::new(1)).collect());
        Self { store, next_seq }
    }

    /// Appends `events` events to task `t`, one after another.
    async fn stream(store: &dyn TaskStore, next_seq: &[AtomicU64], t: usize, events: u64) {
        let id = format!("t-{t}");
        let first = next_seq[t].fetch_add(events, Ordering::Relaxed);
        for seq in first..first + events {
            store
                .append(black_box(&delta(&id, seq)))
                .await
                .expect("append");
        }
    }
}

fn stores(dir: &std::path::Path) -> Vec<(&'static str, Arc<dyn TaskStore>)> {
    vec![
        ("memory", Arc::new(MemoryStore::default())),
        (
            "sqlite_file",
            Arc::new(SqliteStore::open(dir.join("bench.db")).expect("open")),
        ),
    ]
}

fn appends(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");

    let mut one_task = c.benchmark_group("append_one_task");
    one_task.throughput(Throughput::Elements(EVENTS_PER_TASK));
    for (name, store) in stores(&dir.path().join("one")) {
        let fixture = Fixture::new(&rt, store);
        one_task.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.to_async(&rt)
                .iter(|| Fixture::stream(&*fixture.store, &fixture.next_seq, 0, EVENTS_PER_TASK));
        });
    }
    one_task.finish();

    let mut many_tasks = c.benchmark_group("append_16_tasks_at_once");
    many_tasks.throughput(Throughput::Elements(EVENTS_PER_TASK * TASKS as u64));
    for (name, store) in stores(&dir.path().join("many")) {
        let fixture = Fixture::new(&rt, store);
        many_tasks.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.to_async(&rt).iter(|| async {
                let writers: Vec<_> = (0..TASKS)
                    .map(|t| {
                        let (store, next_seq) = (fixture.store.clone(), fixture.next_seq.clone());
                        tokio::spawn(async move {
                            Fixture::stream(&*store, &next_seq, t, EVENTS_PER_TASK).await;
                        })
                    })
                    .collect();
                for writer in writers {
                    writer.await.expect("writer");
                }
            });
        });
    }
    many_tasks.finish();
}

criterion_group!(benches, appends);
criterion_main!(benches);
