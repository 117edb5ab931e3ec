//! The audit trail: every assessment, approval decision and execution, as JSON lines chained by
//! SHA-256 so that editing or removing a record in the middle is detectable.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::risk::{Decision, Risk};

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
        /// The argv of each pipeline stage.
        argv: Vec<Vec<String>>,
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

struct ChainState {
    file: File,
    seq: u64,
    last_hash: String,
}

/// Appends hash-chained JSON lines to a file. Opening an existing log continues its chain.
/// Each record is written with one `write` call and flushed before `record` returns; a mutex
/// keeps concurrent writers in this process from interleaving.
pub struct JsonlAuditSink {
    path: PathBuf,
    state: Mutex<ChainState>,
    sync: bool,
}

impl std::fmt::Debug for JsonlAuditSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonlAuditSink")
            .field("path", &self.path)
            .field("fsync", &self.sync)
            .finish_non_exhaustive()
    }
}

impl JsonlAuditSink {
    /// Opens (or creates) the log at `path`, creating parent directories.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_owned();
        let io = |source| Error::AuditIo {
            path: path.clone(),
            source,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&path)
            .map_err(io)?;
        let (seq, last_hash) = match last_line(&mut file).map_err(io)? {
            Some(line) => {
                let seq = serde_json::from_slice::<AuditRecord>(&line).map_or(0, |r| r.seq);
                (seq, sha256_hex(&line))
            }
            None => (0, GENESIS_HASH.to_owned()),
        };
        Ok(Self {
            path,
            state: Mutex::new(ChainState {
                file,
                seq,
                last_hash,
            }),
            sync: false,
        })
    }

    /// Also `fsync` each record (slower; survives power loss, not just a crash).
    #[must_use]
    pub fn with_fsync(mut self, yes: bool) -> Self {
        self.sync = yes;
        self
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl AuditSink for JsonlAuditSink {
    fn record(&self, event: &AuditEvent) -> Result<()> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let record = AuditRecord {
            seq: state.seq + 1,
            ts: OffsetDateTime::now_utc(),
            event: event.clone(),
            prev_hash: state.last_hash.clone(),
        };
        let mut line = serde_json::to_vec(&record).map_err(Error::AuditEncode)?;
        let hash = sha256_hex(&line);
        line.push(b'\n');
        let io = |source| Error::AuditIo {
            path: self.path.clone(),
            source,
        };
        state.file.write_all(&line).map_err(io)?;
        state.file.flush().map_err(io)?;
        if self.sync {
            state.file.sync_data().map_err(io)?;
        }
        state.seq = record.seq;
        state.last_hash = hash;
        Ok(())
    }
}

/// The outcome of [`verify`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Records checked (up to and including the first broken one).
    pub records: u64,
    /// The first record that breaks the chain, if any.
    pub first_broken: Option<BrokenRecord>,
}

/// Where and how a chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrokenRecord {
    /// The line number (from 1).
    pub line: u64,
    /// What is wrong.
    pub reason: String,
}

/// Checks a log's hash chain and reports the first broken record.
pub fn verify(path: impl AsRef<Path>) -> Result<VerifyReport> {
    let path = path.as_ref();
    let io = |source| Error::AuditIo {
        path: path.to_owned(),
        source,
    };
    let reader = BufReader::new(File::open(path).map_err(io)?);
    let mut expected = GENESIS_HASH.to_owned();
    let mut expected_seq = 1u64;
    let mut records = 0u64;
    for (index, line) in reader.split(b'\n').enumerate() {
        let line = line.map_err(io)?;
        let number = index as u64 + 1;
        if line.is_empty() {
            continue;
        }
        records += 1;
        let broken = |reason: String| {
            Ok(VerifyReport {
                records,
                first_broken: Some(BrokenRecord {
                    line: number,
                    reason,
                }),
            })
        };
        let record: AuditRecord = match serde_json::from_slice(&line) {
            Ok(r) => r,
            Err(e) => return broken(format!("not a valid audit record: {e}")),
        };
        if record.prev_hash != expected {
            return broken(format!(
                "prev_hash is {} but the previous record hashes to {expected}: a record was changed, removed or inserted",
                record.prev_hash
            ));
        }
        if record.seq != expected_seq {
            return broken(format!(
                "seq is {} but {expected_seq} was expected",
                record.seq
            ));
        }
        expected = sha256_hex(&line);
        expected_seq += 1;
    }
    Ok(VerifyReport {
        records,
        first_broken: None,
    })
}

/// SHA-256 of `bytes` as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The last non-empty line of a file, read backwards in chunks.
fn last_line(file: &mut File) -> std::io::Result<Option<Vec<u8>>> {
    const CHUNK: u64 = 8 * 1024;
    let len = file.seek(SeekFrom::End(0))?;
    let mut end = len;
    let mut tail: Vec<u8> = Vec::new();
    while end > 0 {
        let start = end.saturating_sub(CHUNK);
        file.seek(SeekFrom::Start(start))?;
        let mut buf = vec![0u8; usize::try_from(end - start).unwrap_or(0)];
        file.read_exact(&mut buf)?;
        buf.extend_from_slice(&tail);
        tail = buf;
        let trimmed_len = tail.iter().rposition(|&b| b != b'\n').map_or(0, |p| p + 1);
        if let Some(pos) = tail
            .get(..trimmed_len)
            .and_then(|t| t.iter().rposition(|&b| b == b'\n'))
        {
            return Ok(tail.get(pos + 1..trimmed_len).map(<[u8]>::to_vec));
        }
        end = start;
    }
    let trimmed_len = tail.iter().rposition(|&b| b != b'\n').map_or(0, |p| p + 1);
    Ok((trimmed_len > 0).then(|| tail.get(..trimmed_len).unwrap_or_default().to_vec()))
}
