//! The JSON-lines audit log: hash chain, verification, reopening, concurrent writers.

use std::sync::Arc;

use kopilot_safety::audit::{self, GENESIS_HASH};
use kopilot_safety::{
    AuditEvent, AuditRecord, AuditSink, Guard, Identity, JsonlAuditSink, Policy, RequestContext,
};

fn execution(n: u64) -> AuditEvent {
    AuditEvent::Execution {
        argv: vec![vec!["kubectl".into(), "get".into(), "pods".into()]],
        exit_code: Some(0),
        outcome: None,
        duration_ms: n,
        stdout_bytes: 10,
        stderr_bytes: 0,
        output_sha256: audit::sha256_hex(b"x"),
        task_id: Some(format!("t-{n}")),
    }
}

#[test]
fn records_chain_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/audit.jsonl");
    let sink = JsonlAuditSink::open(&path).unwrap();
    for n in 0..5 {
        sink.record(&execution(n)).unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let records: Vec<AuditRecord> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 5);
    assert_eq!(records[0].prev_hash, GENESIS_HASH);
    assert_eq!(
        records[1].prev_hash,
        audit::sha256_hex(text.lines().next().unwrap().as_bytes())
    );
    assert_eq!(
        records.iter().map(|r| r.seq).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    let report = audit::verify(&path).unwrap();
    assert_eq!(report.records, 5);
    assert!(report.first_broken.is_none());
}

#[test]
fn reopening_continues_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    JsonlAuditSink::open(&path)
        .unwrap()
        .record(&execution(1))
        .unwrap();
    JsonlAuditSink::open(&path)
        .unwrap()
        .record(&execution(2))
        .unwrap();
    let report = audit::verify(&path).unwrap();
    assert_eq!((report.records, report.first_broken), (2, None));
}

#[test]
fn an_edited_record_is_reported_at_the_next_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let sink = JsonlAuditSink::open(&path).unwrap();
    for n in 0..4 {
        sink.record(&execution(n)).unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let tampered = text.replacen("\"duration_ms\":1", "\"duration_ms\":9", 1);
    assert_ne!(text, tampered);
    std::fs::write(&path, tampered).unwrap();
    let broken = audit::verify(&path).unwrap().first_broken.unwrap();
    assert_eq!(broken.line, 3, "{}", broken.reason);
}

#[test]
fn a_removed_record_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let sink = JsonlAuditSink::open(&path).unwrap();
    for n in 0..4 {
        sink.record(&execution(n)).unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let without_second: Vec<&str> = text
        .lines()
        .enumerate()
        .filter(|(i, _)| *i != 1)
        .map(|(_, l)| l)
        .collect();
    std::fs::write(&path, without_second.join("\n") + "\n").unwrap();
    let broken = audit::verify(&path).unwrap().first_broken.unwrap();
    assert_eq!(broken.line, 2);
}

#[test]
fn garbage_is_reported_as_not_a_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    std::fs::write(&path, "not json\n").unwrap();
    let broken = audit::verify(&path).unwrap().first_broken.unwrap();
    assert_eq!(broken.line, 1);
    assert!(broken.reason.contains("not a valid audit record"));
}

#[test]
fn concurrent_writers_keep_the_chain_intact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let sink = Arc::new(JsonlAuditSink::open(&path).unwrap());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let sink = Arc::clone(&sink);
            std::thread::spawn(move || {
                for n in 0..50 {
                    sink.record(&execution(t * 100 + n)).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let report = audit::verify(&path).unwrap();
    assert_eq!((report.records, report.first_broken), (400, None));
}

#[test]
fn the_guard_audits_every_check() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let guard =
        Guard::new(Policy::default()).with_audit(Arc::new(JsonlAuditSink::open(&path).unwrap()));
    let ctx = RequestContext::new(Identity::new("alice")).with_task("t-9");
    let _ = guard.check("kubectl get pods", &ctx);
    let _ = guard.check("rm -rf /", &ctx);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 2);
    assert!(text.contains("\"kind\":\"assessment\""));
    assert!(text.contains("\"decision\":\"block\""));
    assert!(text.contains("\"requester\":\"alice\""));
    assert!(text.contains("\"task_id\":\"t-9\""));
}

#[test]
fn an_unwritable_audit_log_blocks_the_command() {
    struct Broken;
    impl AuditSink for Broken {
        fn record(&self, _: &AuditEvent) -> kopilot_safety::Result<()> {
            Err(kopilot_safety::Error::AuditIo {
                path: "/nowhere".into(),
                source: std::io::Error::other("disk full"),
            })
        }
    }
    let guard = Guard::new(Policy::default()).with_audit(Arc::new(Broken));
    match guard.check(
        "kubectl get pods",
        &RequestContext::new(Identity::new("alice")),
    ) {
        kopilot_safety::Verdict::Blocked(a) => {
            assert!(
                a.reasons.iter().any(|r| r.contains("disk full")),
                "{:?}",
                a.reasons
            );
        }
        other => panic!("expected a block, got {other:?}"),
    }
}
