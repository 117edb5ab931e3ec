#![doc = include_str!("docs/audit.md")]

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::risk::{Decision, Risk};

mod anchor;
mod chain;
mod jsonl;
mod key;
mod lock;
mod verify;

pub use anchor::{Anchor, AnchorStore, FileAnchorStore};
pub use jsonl::{JsonlAuditSink, JsonlAuditSinkBuilder};
pub use verify::{Finding, FindingKind, Verifier, VerifyReport, verify};

/// The `prev_hash` of the first record in a log.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Something worth auditing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AuditEvent {
    /// The guard assessed a command line.
    Assessment {
        /// The command line.
        command: String,
        /// The decision.
        decision: Decision,
        /// The risk.
        risk: Risk,
        /// Why.
        reasons: Vec<String>,
        /// Who asked.
        requester: String,
        /// The task, if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        task_id: Option<String>,
    },
    /// A command was sent to an approver.
    ApprovalRequested {
        /// The request id.
        id: String,
        /// The command line.
        command: String,
        /// The risk.
        risk: Risk,
        /// Who asked.
        requester: String,
        /// The task, if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        task_id: Option<String>,
    },
    /// An approver answered.
    ApprovalDecided {
        /// The request id.
        id: String,
        /// The command line.
        command: String,
        /// Whether it may run.
        approved: bool,
        /// Who decided.
        decided_by: String,
        /// Why.
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        /// The task, if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        task_id: Option<String>,
    },
    /// A cleared command ran.
    Execution {
        /// The argv of each pipeline stage, with secret values redacted
        /// ([`crate::redact::redact_argv`]).
        argv: Vec<Vec<String>>,
        /// SHA-256 of the exact argv that ran ([`argv_sha256`]), so the record proves which
        /// command ran without holding its secrets. Empty in records written before it existed.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        argv_sha256: String,
        /// Exit status of the last stage (`None` when killed by a signal or not started).
        #[serde(skip_serializing_if = "Option::is_none")]
        exit_code: Option<i32>,
        /// How it ended when not by exiting (timeout, cancelled, signal, spawn error).
        #[serde(skip_serializing_if = "Option::is_none")]
        outcome: Option<String>,
        /// Wall-clock time in milliseconds.
        duration_ms: u64,
        /// Bytes read from standard output (including discarded ones).
        stdout_bytes: u64,
        /// Bytes read from standard error (including discarded ones).
        stderr_bytes: u64,
        /// SHA-256 of the output kept, hex.
        output_sha256: String,
        /// The task, if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        task_id: Option<String>,
    },
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Position in the log, from 1.
    pub seq: u64,
    /// When it was written.
    #[serde(with = "time::serde::rfc3339")]
    pub ts: OffsetDateTime,
    /// What happened.
    #[serde(flatten)]
    pub event: AuditEvent,
    /// SHA-256 (hex) of the previous line's bytes, or [`GENESIS_HASH`] for the first.
    pub prev_hash: String,
    /// HMAC-SHA256 (hex), under the log's key, of this line's bytes up to this field (which
    /// include `prev_hash`, so each MAC covers the chain before it). Always the last field;
    /// `None` in records written before the log was keyed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
}

/// Where audit events go. Implementations must be safe to call from many tasks at once and must
/// have stored the event when `record` returns `Ok`.
pub trait AuditSink: Send + Sync {
    /// Stores one event.
    fn record(&self, event: &AuditEvent) -> Result<()>;
}

/// Discards events. For embedders that audit elsewhere, and for benchmarks.
#[derive(Debug, Clone, Copy, Default)]
pub struct NullAuditSink;

impl AuditSink for NullAuditSink {
    fn record(&self, _event: &AuditEvent) -> Result<()> {
        Ok(())
    }
}

/// Emits each event as a `tracing` event (target `kopilot::audit`) carrying its JSON.
#[derive(Debug, Clone, Copy, Default)]
pub struct TracingAuditSink;

impl AuditSink for TracingAuditSink {
    fn record(&self, event: &AuditEvent) -> Result<()> {
        let json = serde_json::to_string(event).map_err(Error::AuditEncode)?;
        tracing::info!(target: "kopilot::audit", event = %json, "audit");
        Ok(())
    }
}

/// Keeps events in memory, for tests and for adapters that show them.
#[derive(Debug, Default)]
pub struct MemoryAuditSink {
    events: Mutex<Vec<AuditEvent>>,
}

impl MemoryAuditSink {
    /// A copy of the events so far.
    pub fn events(&self) -> Vec<AuditEvent> {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl AuditSink for MemoryAuditSink {
    fn record(&self, event: &AuditEvent) -> Result<()> {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(event.clone());
        Ok(())
    }
}

/// The key file for the log at `log`, beside it: `audit.jsonl` → `audit.key`.
pub fn default_key_file(log: &Path) -> PathBuf {
    sibling(log, "key")
}

/// The anchor file for the log at `log`, beside it: `audit.jsonl` → `audit.anchor`.
pub fn default_anchor_file(log: &Path) -> PathBuf {
    sibling(log, "anchor")
}

/// `log` with its extension replaced by `extension`, or added when that would name `log`
/// itself.
fn sibling(log: &Path, extension: &str) -> PathBuf {
    let replaced = log.with_extension(extension);
    if replaced == log {
        let mut added = log.as_os_str().to_owned();
        added.push(".");
        added.push(extension);
        PathBuf::from(added)
    } else {
        replaced
    }
}

/// The audit view of an argv pipeline about to be recorded: the stages with secret values
/// redacted, and the SHA-256 of the exact stages ([`argv_sha256`]).
pub fn recorded_argv(stages: &[Vec<String>]) -> (Vec<Vec<String>>, String) {
    let redacted = stages
        .iter()
        .map(|stage| crate::redact::redact_argv(stage))
        .collect();
    (redacted, argv_sha256(stages))
}

/// SHA-256 (hex) of argv pipeline stages encoded as JSON (`[["kubectl","get","pods"]]`):
/// whoever holds the exact command can check it against an audit record.
pub fn argv_sha256(stages: &[Vec<String>]) -> String {
    sha256_hex(&serde_json::to_vec(stages).unwrap_or_default())
}

/// SHA-256 of `bytes` as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_and_anchor_sit_beside_the_log() {
        let log = Path::new("/var/lib/kopilot/audit.jsonl");
        assert_eq!(
            default_key_file(log),
            Path::new("/var/lib/kopilot/audit.key")
        );
        assert_eq!(
            default_anchor_file(log),
            Path::new("/var/lib/kopilot/audit.anchor")
        );
        assert_eq!(default_key_file(Path::new("audit")), Path::new("audit.key"));
        assert_eq!(default_key_file(Path::new("x.key")), Path::new("x.key.key"));
    }
}
