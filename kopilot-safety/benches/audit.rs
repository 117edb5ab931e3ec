//! What one audit record costs with the JSON-lines sink, and what checking a log costs.

use std::hint::black_box;
use std::sync::{Arc, Mutex, PoisonError};

use criterion::{Criterion, criterion_group, criterion_main};
use kopilot_safety::audit::{self, Anchor, AnchorStore, AuditEvent, AuditSink, JsonlAuditSink};
use kopilot_safety::{Decision, Risk};

/// An anchor kept in memory: what a record costs without the anchor file's create and rename.
#[derive(Debug, Default)]
struct MemoryAnchor(Mutex<Option<Anchor>>);

impl AnchorStore for MemoryAnchor {
    fn load(&self) -> kopilot_safety::Result<Option<Anchor>> {
        Ok(self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone())
    }
    fn store(&self, anchor: &Anchor) -> kopilot_safety::Result<()> {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(anchor.clone());
        Ok(())
    }
    fn location(&self) -> String {
        "memory".to_owned()
    }
}

fn assessment(n: u64) -> AuditEvent {
    AuditEvent::Assessment {
        command: format!("kubectl scale deploy/web-{n} --replicas=3 -n shop"),
        decision: Decision::Approve,
        risk: Risk::Medium,
        reasons: vec!["changes the number of replicas".into()],
        requester: "alice".into(),
        task_id: Some("t-42".into()),
    }
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let sink = JsonlAuditSink::open(dir.path().join("record.jsonl")).expect("open");
    let mut n = 0;
    c.bench_function("audit/record_one_event", |b| {
        b.iter(|| {
            n += 1;
            sink.record(black_box(&assessment(n))).expect("record");
        });
    });

    let sink = JsonlAuditSink::builder(dir.path().join("memory-anchor.jsonl"))
        .anchor(Arc::new(MemoryAnchor::default()))
        .open()
        .expect("open");
    c.bench_function("audit/record_one_event_anchor_in_memory", |b| {
        b.iter(|| {
            n += 1;
            sink.record(black_box(&assessment(n))).expect("record");
        });
    });

    let path = dir.path().join("verify.jsonl");
    let sink = JsonlAuditSink::open(&path).expect("open");
    for n in 0..1_000 {
        sink.record(&assessment(n)).expect("record");
    }
    c.bench_function("audit/verify_1000_records", |b| {
        b.iter(|| black_box(audit::verify(black_box(&path)).expect("verify")));
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
