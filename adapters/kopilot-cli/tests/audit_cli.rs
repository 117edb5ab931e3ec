//! `kopilot audit verify`, driven as a user would: exit status, the first bad record and the
//! kind of break, key and anchor files named or beside the log.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use kopilot_safety::audit::{self, AuditEvent, AuditSink as _, JsonlAuditSink};
use kopilot_safety::{Decision, Risk};
use predicates::prelude::*;
use serde_json::Value;
use tempfile::TempDir;

fn kopilot() -> Command {
    Command::cargo_bin("kopilot").unwrap()
}

fn verify(path: &Path) -> Command {
    let mut cmd = kopilot();
    cmd.args(["audit", "verify"]).arg(path);
    cmd
}

fn assessment(n: u64) -> AuditEvent {
    AuditEvent::Assessment {
        command: format!("kubectl get pods {n}"),
        decision: Decision::Allow,
        risk: Risk::Low,
        reasons: vec![],
        requester: "alice".into(),
        task_id: None,
    }
}

/// A log of `n` records written through `sink`, in a fresh temp dir.
fn log_of(n: u64, sink: impl FnOnce(&Path) -> JsonlAuditSink) -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let sink = sink(&path);
    for i in 0..n {
        sink.record(&assessment(i)).unwrap();
    }
    (dir, path)
}

fn default_log(n: u64) -> (TempDir, PathBuf) {
    log_of(n, |path| JsonlAuditSink::open(path).unwrap())
}

fn json_report(cmd: &mut Command, code: i32) -> Value {
    let out = cmd
        .arg("--json")
        .assert()
        .code(code)
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice(&out).unwrap()
}

#[test]
fn an_intact_log_passes_and_an_edited_one_names_line_seq_and_kind() {
    let (_dir, path) = default_log(3);
    verify(&path)
        .assert()
        .success()
        .stdout(predicate::str::contains("ok: 3 records"))
        .stdout(predicate::str::contains("the anchor matches"));
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("pods 1", "pods 7");
    std::fs::write(&path, text).unwrap();
    verify(&path)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "BROKEN (edited) at line 2 (seq 2) of",
        ))
        .stdout(predicate::str::contains("changed after it was written"));
    let report = json_report(&mut verify(&path), 1);
    assert_eq!(report["first_broken"]["kind"], "edited");
    assert_eq!(report["first_broken"]["line"], 2);
    assert_eq!(report["first_broken"]["seq"], 2);
    assert_eq!(report["records"], 3);
}

#[test]
fn a_cut_tail_is_reported() {
    let (_dir, path) = default_log(4);
    let text = std::fs::read_to_string(&path).unwrap();
    let kept: Vec<&str> = text.lines().take(2).collect();
    std::fs::write(&path, kept.join("\n") + "\n").unwrap();
    verify(&path)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "BROKEN (truncated_tail) at line 3 (seq 3)",
        ))
        .stdout(predicate::str::contains("seq 3 to 4 were cut"));
}

#[test]
fn a_missing_log_is_exit_2_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    verify(&dir.path().join("missing.jsonl"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing.jsonl"));
}

#[test]
fn key_and_anchor_can_be_named() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("secrets/audit.key");
    let anchor = dir.path().join("vault/audit.anchor");
    std::fs::create_dir_all(key.parent().unwrap()).unwrap();
    std::fs::create_dir_all(anchor.parent().unwrap()).unwrap();
    let (_log_dir, path) = log_of(2, |path| {
        JsonlAuditSink::builder(path)
            .key_file(&key)
            .anchor(std::sync::Arc::new(audit::FileAnchorStore::new(&anchor)))
            .open()
            .unwrap()
    });
    // Beside the log there is neither: the MACs cannot be checked.
    verify(&path)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("BROKEN (key_missing)"))
        .stdout(predicate::str::contains("audit.key"));
    // The key alone: the anchor is missing.
    let report = json_report(verify(&path).arg("--key").arg(&key), 1);
    assert_eq!(report["first_broken"]["kind"], "anchor_missing");
    verify(&path)
        .arg("--key")
        .arg(&key)
        .arg("--anchor")
        .arg(&anchor)
        .assert()
        .success()
        .stdout(predicate::str::contains("ok: 2 records"));
}

#[cfg(unix)]
#[test]
fn a_key_others_can_read_is_exit_2_with_the_fix() {
    use std::os::unix::fs::PermissionsExt as _;
    let (_dir, path) = default_log(1);
    let key = audit::default_key_file(&path);
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();
    let secret = std::fs::read_to_string(&key).unwrap();
    let out = verify(&path)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(key.display().to_string()))
        .stderr(predicate::str::contains("chmod 600"))
        .get_output()
        .clone();
    let shown = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!shown.contains(secret.trim()), "the key was printed");
}

#[test]
fn an_empty_key_file_is_exit_2_naming_it() {
    let (_dir, path) = default_log(1);
    std::fs::write(audit::default_key_file(&path), "").unwrap();
    verify(&path)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("audit.key"))
        .stderr(predicate::str::contains("is empty"));
}

#[test]
fn a_log_from_before_keying_passes_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let mut prev = audit::GENESIS_HASH.to_owned();
    let mut text = String::new();
    for seq in 1..=2 {
        let line = serde_json::to_string(&kopilot_safety::AuditRecord {
            seq,
            ts: time::OffsetDateTime::UNIX_EPOCH,
            event: assessment(seq),
            prev_hash: prev.clone(),
            mac: None,
        })
        .unwrap();
        prev = audit::sha256_hex(line.as_bytes());
        text += &line;
        text.push('\n');
    }
    std::fs::write(&path, text).unwrap();
    verify(&path)
        .assert()
        .success()
        .stdout(predicate::str::contains("not keyed yet"))
        .stdout(predicate::str::contains("note (unkeyed_prefix)"));
    let report = json_report(&mut verify(&path), 0);
    assert_eq!(report["unkeyed_records"], 2);
    assert_eq!(report["notes"][0]["kind"], "unkeyed_prefix");
}

#[test]
fn help_says_what_is_checked_and_what_is_not() {
    kopilot()
        .args(["audit", "verify", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("What is checked"))
        .stdout(predicate::str::contains(
            "someone who holds the key can rewrite",
        ))
        .stdout(predicate::str::contains(
            "an old anchor restored together with the log cut",
        ))
        .stdout(predicate::str::contains("--key <FILE>"))
        .stdout(predicate::str::contains("--anchor <FILE>"));
}

/// `kopilot ask --demo --offline` (no model, no cluster to set up) with `data` as its data
/// directory and nothing else from this process's environment but PATH.
fn offline_ask(data: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_kopilot"));
    cmd.args(["ask", "--demo", "--offline", "--output", "json"])
        .arg("Find orphaned PVCs")
        .env_clear()
        .env("HOME", data)
        .env("USER", "audit-cli-test")
        .env("KOPILOT_DATA_DIR", data)
        // Nothing listens on the discard port: no local Ollama is ever used.
        .env("OLLAMA_BASE_URL", "http://127.0.0.1:9")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    cmd
}

/// The report: two `kopilot ask` runs at once made `audit verify` see tampering.
#[test]
fn concurrent_kopilot_runs_keep_one_intact_chain() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // One run first: it creates the task store, and tells how many records a run writes.
    let first = offline_ask(&data).output().unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let log = data.join("audit.jsonl");
    let per_run = std::fs::read_to_string(&log).unwrap().lines().count();
    assert!(per_run > 0, "an offline run audits its reads");
    let runs: Vec<_> = (0..4)
        .map(|_| offline_ask(&data).spawn().unwrap())
        .collect();
    for run in runs {
        let out = run.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let report = json_report(&mut verify(&log), 0);
    assert_eq!(report["records"], 5 * per_run);
    assert_eq!(report["anchored"], true);
}
