//! The JSON-lines audit log: keyed chain, anchor, verification of every kind of break,
//! reopening, logs from before keying, and concurrent writers (threads and processes).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kopilot_safety::audit::{
    self, AnchorStore as _, FileAnchorStore, Finding, FindingKind, GENESIS_HASH, Verifier,
};
use kopilot_safety::{
    AuditEvent, AuditRecord, AuditSink, Guard, Identity, JsonlAuditSink, Policy, RequestContext,
};
use tempfile::TempDir;

fn execution(n: u64) -> AuditEvent {
    let (argv, argv_sha256) =
        audit::recorded_argv(&[vec!["kubectl".into(), "get".into(), "pods".into()]]);
    AuditEvent::Execution {
        argv,
        argv_sha256,
        exit_code: Some(0),
        outcome: None,
        duration_ms: n,
        stdout_bytes: 10,
        stderr_bytes: 0,
        output_sha256: audit::sha256_hex(b"x"),
        task_id: Some(format!("t-{n}")),
    }
}

/// A fresh log of `n` records in a temp dir, with its key and anchor beside it.
fn log_of(n: u64) -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let sink = JsonlAuditSink::open(&path).unwrap();
    for i in 0..n {
        sink.record(&execution(i)).unwrap();
    }
    (dir, path)
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn write_lines(path: &Path, lines: &[String]) {
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

fn first_broken(path: &Path) -> Finding {
    let report = audit::verify(path).unwrap();
    match report.first_broken {
        Some(broken) => broken,
        None => panic!("expected a break, got {report:?}"),
    }
}

fn assert_intact(path: &Path, records: u64) {
    let report = audit::verify(path).unwrap();
    assert_eq!(report.first_broken, None, "{report:?}");
    assert_eq!(report.records, records, "{report:?}");
}

fn anchor_file(log: &Path) -> PathBuf {
    audit::default_anchor_file(log)
}

fn key_file(log: &Path) -> PathBuf {
    audit::default_key_file(log)
}

fn refused(path: &Path) -> kopilot_safety::Error {
    match JsonlAuditSink::open(path) {
        Ok(sink) => sink.record(&execution(99)).unwrap_err(),
        Err(e) => e,
    }
}

fn assert_refused(path: &Path, kind: FindingKind) {
    match refused(path) {
        kopilot_safety::Error::AuditLogBroken { kind: found, .. } if found == kind => {}
        other => panic!("expected AuditLogBroken({kind}), got {other}"),
    }
}

#[test]
fn records_are_keyed_chained_and_anchored() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/audit.jsonl");
    let sink = JsonlAuditSink::open(&path).unwrap();
    for n in 0..5 {
        sink.record(&execution(n)).unwrap();
    }
    let text = lines(&path);
    let records: Vec<AuditRecord> = text
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 5);
    assert_eq!(records[0].prev_hash, GENESIS_HASH);
    assert_eq!(records[1].prev_hash, audit::sha256_hex(text[0].as_bytes()));
    assert_eq!(
        records.iter().map(|r| r.seq).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    assert!(
        records
            .iter()
            .all(|r| r.mac.as_ref().is_some_and(|m| m.len() == 64))
    );
    assert!(text[4].ends_with(&format!(
        "\"mac\":\"{}\"}}",
        records[4].mac.as_ref().unwrap()
    )));

    let anchor = FileAnchorStore::new(anchor_file(&path))
        .load()
        .unwrap()
        .unwrap();
    assert_eq!(anchor.records, 5);
    assert_eq!(anchor.last_hash, audit::sha256_hex(text[4].as_bytes()));

    let report = audit::verify(&path).unwrap();
    assert_eq!((report.records, report.unkeyed_records), (5, 0));
    assert!(
        report.anchored && report.is_intact() && report.notes.is_empty(),
        "{report:?}"
    );
}

#[cfg(unix)]
#[test]
fn key_and_anchor_files_are_private_and_the_key_is_never_shown() {
    use std::os::unix::fs::PermissionsExt as _;
    let (_dir, path) = log_of(1);
    for file in [key_file(&path), anchor_file(&path)] {
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", file.display());
    }
    let key = std::fs::read_to_string(key_file(&path)).unwrap();
    let key = key.trim();
    assert_eq!(key.len(), 64);
    let sink = JsonlAuditSink::open(&path).unwrap();
    let shown = format!(
        "{sink:?} {} {:?}",
        std::fs::read_to_string(&path).unwrap(),
        audit::verify(&path).unwrap()
    );
    assert!(!shown.contains(key));
}

#[test]
fn reopening_continues_the_chain() {
    let (_dir, path) = log_of(1);
    JsonlAuditSink::open(&path)
        .unwrap()
        .record(&execution(2))
        .unwrap();
    assert_intact(&path, 2);
}

#[test]
fn an_edited_record_is_reported_as_edited_at_its_line() {
    let (_dir, path) = log_of(4);
    let mut text = lines(&path);
    text[1] = text[1].replacen("\"duration_ms\":1", "\"duration_ms\":9", 1);
    write_lines(&path, &text);
    let broken = first_broken(&path);
    assert_eq!(
        (broken.kind, broken.line, broken.seq),
        (FindingKind::Edited, Some(2), Some(2)),
        "{}",
        broken.message
    );
    assert!(
        broken.message.contains("changed after it was written"),
        "{}",
        broken.message
    );
    // The sink checks only the end of the log: an edit in the middle is `verify`'s to find.
    JsonlAuditSink::open(&path)
        .unwrap()
        .record(&execution(5))
        .unwrap();
    assert_eq!(first_broken(&path).line, Some(2));
}

#[test]
fn an_edited_last_record_stops_the_sink() {
    let (_dir, path) = log_of(3);
    let mut text = lines(&path);
    text[2] = text[2].replacen("\"duration_ms\":2", "\"duration_ms\":7", 1);
    write_lines(&path, &text);
    assert_eq!(first_broken(&path).kind, FindingKind::Edited);
    assert_refused(&path, FindingKind::Edited);
}

#[test]
fn a_removed_record_is_reported() {
    let (_dir, path) = log_of(4);
    let mut text = lines(&path);
    text.remove(1);
    write_lines(&path, &text);
    let broken = first_broken(&path);
    assert_eq!(
        (broken.kind, broken.line, broken.seq),
        (FindingKind::RemovedOrInserted, Some(2), Some(3)),
        "{}",
        broken.message
    );
    assert!(
        broken.message.contains("seq 2 to 2 are missing"),
        "{}",
        broken.message
    );
}

#[test]
fn an_inserted_record_is_reported() {
    let (_dir, path) = log_of(4);
    let mut text = lines(&path);
    let copy = text[1].clone();
    text.insert(2, copy);
    write_lines(&path, &text);
    let broken = first_broken(&path);
    assert_eq!(
        (broken.kind, broken.line, broken.seq),
        (FindingKind::RemovedOrInserted, Some(3), Some(2)),
        "{}",
        broken.message
    );
}

#[test]
fn garbage_is_reported_as_not_json() {
    let (_dir, path) = log_of(3);
    let mut text = lines(&path);
    text.insert(1, "not json".to_owned());
    write_lines(&path, &text);
    let broken = first_broken(&path);
    assert_eq!(
        (broken.kind, broken.line, broken.seq),
        (FindingKind::NotJson, Some(2), None)
    );
    assert!(
        broken.message.contains("not a JSON audit record"),
        "{}",
        broken.message
    );
}

#[test]
fn garbage_alone_is_reported_as_not_json() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    std::fs::write(&path, "not json\n").unwrap();
    let broken = first_broken(&path);
    assert_eq!((broken.kind, broken.line), (FindingKind::NotJson, Some(1)));
    // Nothing is keyed yet, but the sink does not build on garbage either.
    assert_refused(&path, FindingKind::NotJson);
}

#[test]
fn a_cut_tail_is_reported_and_the_sink_refuses_to_continue() {
    let (_dir, path) = log_of(5);
    let text = lines(&path);
    write_lines(&path, &text[..3]);
    let broken = first_broken(&path);
    assert_eq!(
        (broken.kind, broken.line, broken.seq),
        (FindingKind::TruncatedTail, Some(4), Some(4)),
        "{}",
        broken.message
    );
    assert!(
        broken.message.contains("seq 4 to 5 were cut"),
        "{}",
        broken.message
    );
    assert_refused(&path, FindingKind::TruncatedTail);
    assert_eq!(lines(&path).len(), 3, "nothing was appended");
}

#[test]
fn a_log_cut_to_nothing_is_reported() {
    let (_dir, path) = log_of(2);
    std::fs::write(&path, "").unwrap();
    let broken = first_broken(&path);
    assert_eq!(
        (broken.kind, broken.seq),
        (FindingKind::TruncatedTail, Some(1))
    );
    std::fs::remove_file(&path).unwrap();
    assert_refused(&path, FindingKind::TruncatedTail);
}

#[test]
fn a_log_rewritten_with_another_key_is_reported() {
    let (_dir, path) = log_of(4);
    // Someone without the key writes a fresh, self-consistent log with their own key.
    let (_forged_dir, forged) = log_of(4);
    std::fs::copy(&forged, &path).unwrap();
    let broken = first_broken(&path);
    assert_eq!(
        (broken.kind, broken.line, broken.seq),
        (FindingKind::Rewritten, Some(1), Some(1)),
        "{}",
        broken.message
    );
    // With their anchor too.
    std::fs::copy(anchor_file(&forged), anchor_file(&path)).unwrap();
    let broken = first_broken(&path);
    assert_eq!(broken.kind, FindingKind::Rewritten, "{}", broken.message);
    assert!(
        broken.message.contains("nor the anchor"),
        "{}",
        broken.message
    );
    assert_refused(&path, FindingKind::Edited);
}

#[test]
fn a_rewrite_by_a_key_holder_is_caught_by_the_anchor() {
    let (dir, path) = log_of(3);
    // With the key but not the anchor: a consistent log of the same length, other events. (A
    // key that exists before the log does, e.g. from a Secret, is used as it is.)
    let other = dir.path().join("other.jsonl");
    let sink = JsonlAuditSink::builder(&other)
        .key_file(key_file(&path))
        .open()
        .unwrap();
    for n in 10..13 {
        sink.record(&execution(n)).unwrap();
    }
    std::fs::copy(&other, &path).unwrap();
    let broken = first_broken(&path);
    assert_eq!(
        (broken.kind, broken.line, broken.seq),
        (FindingKind::Rewritten, Some(3), Some(3)),
        "{}",
        broken.message
    );
    assert_refused(&path, FindingKind::Rewritten);
}

#[test]
fn a_deleted_anchor_is_reported_and_the_sink_refuses() {
    let (_dir, path) = log_of(3);
    std::fs::remove_file(anchor_file(&path)).unwrap();
    let broken = first_broken(&path);
    assert_eq!(
        (broken.kind, broken.line),
        (FindingKind::AnchorMissing, None)
    );
    assert!(
        broken.message.contains("audit.anchor"),
        "{}",
        broken.message
    );
    assert_refused(&path, FindingKind::AnchorMissing);
}

#[test]
fn an_edited_anchor_is_reported() {
    let (_dir, path) = log_of(5);
    // Cut the log and lower the anchor's count to match, without the key.
    let text = lines(&path);
    write_lines(&path, &text[..3]);
    let store = FileAnchorStore::new(anchor_file(&path));
    let mut anchor = store.load().unwrap().unwrap();
    anchor.records = 3;
    anchor.last_hash = audit::sha256_hex(text[2].as_bytes());
    store.store(&anchor).unwrap();
    assert_eq!(first_broken(&path).kind, FindingKind::AnchorInvalid);
    assert_refused(&path, FindingKind::AnchorInvalid);
    std::fs::write(anchor_file(&path), "garbage").unwrap();
    assert_eq!(first_broken(&path).kind, FindingKind::AnchorInvalid);
}

#[test]
fn a_deleted_key_is_reported_and_not_replaced() {
    let (_dir, path) = log_of(3);
    std::fs::remove_file(key_file(&path)).unwrap();
    let broken = first_broken(&path);
    assert_eq!(
        (broken.kind, broken.line, broken.seq),
        (FindingKind::KeyMissing, Some(1), Some(1)),
        "{}",
        broken.message
    );
    assert!(broken.message.contains("audit.key"), "{}", broken.message);
    let err = JsonlAuditSink::open(&path).unwrap_err();
    assert!(
        matches!(err, kopilot_safety::Error::AuditKeyMissing { .. }),
        "{err}"
    );
    assert!(!key_file(&path).exists(), "no new key was made");
}

#[test]
fn a_wrong_key_file_is_reported_as_a_rewrite_or_wrong_key() {
    let (dir, path) = log_of(3);
    let other_key = dir.path().join("other.key");
    JsonlAuditSink::builder(dir.path().join("other.jsonl"))
        .key_file(&other_key)
        .open()
        .unwrap();
    let report = Verifier::new(&path).key_file(&other_key).verify().unwrap();
    let broken = report.first_broken.unwrap();
    assert_eq!(broken.kind, FindingKind::Rewritten);
    assert!(
        broken.message.contains("check the key file"),
        "{}",
        broken.message
    );
}

#[cfg(unix)]
#[test]
fn a_key_file_others_can_read_is_refused_with_the_fix() {
    use std::os::unix::fs::PermissionsExt as _;
    let (_dir, path) = log_of(1);
    let key = key_file(&path);
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    for err in [
        JsonlAuditSink::open(&path).unwrap_err(),
        audit::verify(&path).unwrap_err(),
    ] {
        assert!(
            matches!(
                err,
                kopilot_safety::Error::AuditKeyExposed { mode: 0o644, .. }
            ),
            "{err}"
        );
        let text = err.to_string();
        assert!(text.contains(&key.display().to_string()), "{text}");
        assert!(text.contains("chmod 600"), "{text}");
    }
}

#[test]
fn an_empty_or_garbled_key_file_is_a_clear_error() {
    let (_dir, path) = log_of(1);
    let key = key_file(&path);
    for (content, says) in [
        ("", "is empty"),
        ("not hex at all\n", "64 hexadecimal digits"),
    ] {
        std::fs::write(&key, content).unwrap();
        let err = JsonlAuditSink::open(&path).unwrap_err();
        assert!(
            matches!(err, kopilot_safety::Error::AuditKeyInvalid { .. }),
            "{err}"
        );
        let text = err.to_string();
        assert!(text.contains("audit.key") && text.contains(says), "{text}");
        assert!(audit::verify(&path).is_err());
    }
}

/// Lines as kopilot wrote them before logs were keyed: SHA-256 chain, no `mac`.
fn legacy_lines(n: u64) -> Vec<String> {
    let mut prev = GENESIS_HASH.to_owned();
    (1..=n)
        .map(|seq| {
            let record = AuditRecord {
                seq,
                ts: time::OffsetDateTime::UNIX_EPOCH,
                event: execution(seq),
                prev_hash: prev.clone(),
                mac: None,
            };
            let line = serde_json::to_string(&record).unwrap();
            prev = audit::sha256_hex(line.as_bytes());
            line
        })
        .collect()
}

#[test]
fn a_log_from_before_keying_verifies_and_is_continued_keyed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    write_lines(&path, &legacy_lines(3));
    assert!(!std::fs::read_to_string(&path).unwrap().contains("\"mac\""));

    let report = audit::verify(&path).unwrap();
    assert!(report.is_intact() && !report.anchored, "{report:?}");
    assert_eq!((report.records, report.unkeyed_records), (3, 3));
    assert_eq!(report.notes[0].kind, FindingKind::UnkeyedPrefix);
    assert!(
        report.notes[0].message.contains("no anchor yet"),
        "{}",
        report.notes[0].message
    );

    let sink = JsonlAuditSink::open(&path).unwrap();
    sink.record(&execution(4)).unwrap();
    sink.record(&execution(5)).unwrap();
    let report = audit::verify(&path).unwrap();
    assert!(report.is_intact() && report.anchored, "{report:?}");
    assert_eq!((report.records, report.unkeyed_records), (5, 3));
    assert_eq!(report.notes.len(), 1);
    assert_eq!(report.notes[0].kind, FindingKind::UnkeyedPrefix);
    assert!(
        report.notes[0]
            .message
            .contains("first 3 records predate keying"),
        "{}",
        report.notes[0].message
    );
    let records: Vec<AuditRecord> = lines(&path)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        records[3].prev_hash,
        audit::sha256_hex(legacy_lines(3)[2].as_bytes())
    );
    assert!(records[2].mac.is_none() && records[3].mac.is_some());

    // Cutting the keyed records is caught, though the legacy prefix remains.
    write_lines(&path, &lines(&path)[..4]);
    assert_eq!(first_broken(&path).kind, FindingKind::TruncatedTail);
}

#[test]
fn a_last_seq_with_no_room_after_it_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let mut text = legacy_lines(1);
    text[0] = text[0].replacen("\"seq\":1", &format!("\"seq\":{}", u64::MAX), 1);
    write_lines(&path, &text);
    assert_eq!(first_broken(&path).kind, FindingKind::RemovedOrInserted);
    assert_refused(&path, FindingKind::NotJson);
}

#[test]
fn an_edited_record_from_before_keying_is_found_by_its_link() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let mut text = legacy_lines(3);
    text[1] = text[1].replacen("\"t-2\"", "\"t-9\"", 1);
    write_lines(&path, &text);
    let broken = first_broken(&path);
    assert_eq!(
        (broken.kind, broken.line, broken.seq),
        (FindingKind::Edited, Some(2), Some(2)),
        "{}",
        broken.message
    );
}

#[test]
fn a_record_without_a_mac_after_keyed_ones_is_reported() {
    let (_dir, path) = log_of(2);
    let mut text = lines(&path);
    let mut forged: AuditRecord = serde_json::from_str(&text[1]).unwrap();
    forged.seq = 3;
    forged.prev_hash = audit::sha256_hex(text[1].as_bytes());
    forged.mac = None;
    text.push(serde_json::to_string(&forged).unwrap());
    write_lines(&path, &text);
    let broken = first_broken(&path);
    assert_eq!(
        (broken.kind, broken.line, broken.seq),
        (FindingKind::MacMissing, Some(3), Some(3)),
        "{}",
        broken.message
    );
    assert_refused(&path, FindingKind::MacMissing);
}

#[test]
fn a_writer_stopped_before_its_anchor_update_is_a_note_and_heals() {
    let (_dir, path) = log_of(2);
    let before = std::fs::read(anchor_file(&path)).unwrap();
    JsonlAuditSink::open(&path)
        .unwrap()
        .record(&execution(3))
        .unwrap();
    std::fs::write(anchor_file(&path), before).unwrap();
    let report = audit::verify(&path).unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(
        report.notes.iter().map(|n| n.kind).collect::<Vec<_>>(),
        [FindingKind::AnchorBehind]
    );
    JsonlAuditSink::open(&path)
        .unwrap()
        .record(&execution(4))
        .unwrap();
    let report = audit::verify(&path).unwrap();
    assert!(report.is_intact() && report.notes.is_empty(), "{report:?}");
    assert_eq!(report.records, 4);
}

#[test]
fn an_anchor_restored_from_an_older_copy_is_stale() {
    let (_dir, path) = log_of(2);
    let before = std::fs::read(anchor_file(&path)).unwrap();
    let sink = JsonlAuditSink::open(&path).unwrap();
    sink.record(&execution(3)).unwrap();
    sink.record(&execution(4)).unwrap();
    std::fs::write(anchor_file(&path), before).unwrap();
    let broken = first_broken(&path);
    assert_eq!(
        (broken.kind, broken.line, broken.seq),
        (FindingKind::AnchorStale, Some(3), Some(3)),
        "{}",
        broken.message
    );
    assert_refused(&path, FindingKind::AnchorStale);
}

#[test]
fn an_incomplete_last_line_is_a_note_and_the_next_write_removes_it() {
    let (_dir, path) = log_of(2);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(b"{\"seq\":3,\"ts\":\"2026-12-");
    std::fs::write(&path, &bytes).unwrap();
    let report = audit::verify(&path).unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.records, 2);
    assert_eq!(report.notes[0].kind, FindingKind::IncompleteLastLine);
    assert_eq!(report.notes[0].line, Some(3));
    JsonlAuditSink::open(&path)
        .unwrap()
        .record(&execution(3))
        .unwrap();
    let report = audit::verify(&path).unwrap();
    assert!(report.is_intact() && report.notes.is_empty(), "{report:?}");
    assert_eq!(report.records, 3);
}

/// What the files alone cannot show (documented in `kopilot audit verify --help`).
#[test]
fn an_old_anchor_restored_with_the_log_cut_to_match_is_not_detectable() {
    let (_dir, path) = log_of(2);
    let anchor = std::fs::read(anchor_file(&path)).unwrap();
    let log = std::fs::read(&path).unwrap();
    let sink = JsonlAuditSink::open(&path).unwrap();
    sink.record(&execution(3)).unwrap();
    std::fs::write(anchor_file(&path), anchor).unwrap();
    std::fs::write(&path, log).unwrap();
    assert_intact(&path, 2);
}

#[test]
fn an_anchor_kept_elsewhere_is_used_by_writer_and_verifier() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let elsewhere: Arc<FileAnchorStore> =
        Arc::new(FileAnchorStore::new(dir.path().join("vault/anchor")));
    std::fs::create_dir(dir.path().join("vault")).unwrap();
    let sink = JsonlAuditSink::builder(&path)
        .anchor(elsewhere.clone())
        .open()
        .unwrap();
    for n in 0..3 {
        sink.record(&execution(n)).unwrap();
    }
    assert!(!anchor_file(&path).exists());
    let report = Verifier::new(&path)
        .anchor(elsewhere.clone())
        .verify()
        .unwrap();
    assert!(report.is_intact() && report.anchored, "{report:?}");
    assert_eq!(first_broken(&path).kind, FindingKind::AnchorMissing);
    write_lines(&path, &lines(&path)[..2]);
    let report = Verifier::new(&path).anchor(elsewhere).verify().unwrap();
    assert_eq!(
        report.first_broken.unwrap().kind,
        FindingKind::TruncatedTail
    );
}

#[test]
fn several_sinks_on_one_file_keep_the_chain_intact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    // Four sinks (four opens: flock makes them exclude each other like four processes), two
    // threads each.
    let threads: Vec<_> = (0..4)
        .flat_map(|s| {
            let sink = Arc::new(JsonlAuditSink::open(&path).unwrap());
            (0..2).map(move |t| {
                let sink = Arc::clone(&sink);
                std::thread::spawn(move || {
                    for n in 0..50 {
                        sink.record(&execution(s * 1000 + t * 100 + n)).unwrap();
                    }
                })
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_intact(&path, 400);
}

/// Set to a log path, the test below runs as a writer process.
const WRITER_ENV: &str = "KOPILOT_AUDIT_TEST_WRITER_LOG";
const RECORDS_PER_PROCESS: u64 = 100;

/// The second process of `two_processes_keep_the_chain_intact` (this test binary, run again
/// with only this test). Without the variable it does nothing.
#[test]
fn writer_process() {
    let Some(path) = std::env::var_os(WRITER_ENV) else {
        return;
    };
    let sink = JsonlAuditSink::open(&path).unwrap();
    for n in 0..RECORDS_PER_PROCESS {
        sink.record(&execution(n)).unwrap();
    }
}

#[test]
fn two_processes_keep_the_chain_intact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let exe = std::env::current_exe().unwrap();
    // The children race this process for the log, and for creating its key and anchor.
    let children: Vec<_> = (0..2)
        .map(|_| {
            std::process::Command::new(&exe)
                .args([
                    "--exact",
                    "writer_process",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(WRITER_ENV, &path)
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let sink = JsonlAuditSink::open(&path).unwrap();
    for n in 0..RECORDS_PER_PROCESS {
        sink.record(&execution(n)).unwrap();
    }
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    assert_intact(&path, 3 * RECORDS_PER_PROCESS);
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
fn a_broken_log_blocks_the_command() {
    let (_dir, path) = log_of(3);
    let guard =
        Guard::new(Policy::default()).with_audit(Arc::new(JsonlAuditSink::open(&path).unwrap()));
    write_lines(&path, &lines(&path)[..1]);
    match guard.check(
        "kubectl get pods",
        &RequestContext::new(Identity::new("alice")),
    ) {
        kopilot_safety::Verdict::Blocked(a) => {
            assert!(
                a.reasons.iter().any(|r| r.contains("cut")),
                "{:?}",
                a.reasons
            );
        }
        other => panic!("expected a block, got {other:?}"),
    }
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

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Whatever bytes end up in a log (appended, or in place of a line), checking it gives a
    /// report or an error and writing to it gives an error or a record: never a panic.
    #[test]
    fn any_bytes_in_a_log_give_a_report_or_an_error(
        junk in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600),
        replace in proptest::prelude::any::<bool>(),
    ) {
        let (_dir, path) = log_of(2);
        let mut bytes = std::fs::read(&path).unwrap();
        if replace {
            let first_newline = bytes.iter().position(|&b| b == b'\n').unwrap();
            bytes.splice(..first_newline, junk);
        } else {
            bytes.extend_from_slice(&junk);
        }
        std::fs::write(&path, &bytes).unwrap();
        let _ = audit::verify(&path);
        if let Ok(sink) = JsonlAuditSink::open(&path) {
            let _ = sink.record(&execution(3));
        }
        let _ = audit::verify(&path);
    }
}
