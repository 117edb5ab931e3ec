//! The JSON-lines file sink: a keyed chain, an anchor, and a lock shared with other processes.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use time::OffsetDateTime;

use super::anchor::{Anchor, AnchorStore, FileAnchorStore};
use super::chain::{self, MacCheck, Tail};
use super::key::AuditKey;
use super::lock::{self, LockKind};
use super::verify::FindingKind;
use super::{
    AuditEvent, AuditRecord, AuditSink, GENESIS_HASH, default_anchor_file, default_key_file,
    sha256_hex,
};
use crate::error::{Error, Result};

/// Appends keyed, hash-chained JSON lines to a file, with an anchor kept outside it.
///
/// Each `record` takes the log's exclusive lock (shared with every process that writes the
/// same file), re-reads the end of the log, checks it against the anchor, appends one line
/// with one `write`, stores the new anchor, and releases the lock. When the end of the log
/// does not match the anchor (records cut, a record edited, the anchor gone) it appends
/// nothing and returns [`Error::AuditLogBroken`], so a damaged log is never papered over.
///
/// ```no_run
/// use kopilot_safety::audit::{AuditSink as _, JsonlAuditSink};
///
/// // `audit.key` and `audit.anchor` beside the log, created on first use:
/// let sink = JsonlAuditSink::open("/var/lib/kopilot/audit.jsonl")?;
/// // or name them:
/// let sink = JsonlAuditSink::builder("/var/lib/kopilot/audit.jsonl")
///     .key_file("/etc/kopilot/audit.key")
///     .fsync(true)
///     .open()?;
/// # Ok::<(), kopilot_safety::Error>(())
/// ```
pub struct JsonlAuditSink {
    path: PathBuf,
    key: AuditKey,
    key_file: PathBuf,
    anchor: Arc<dyn AnchorStore>,
    fsync: bool,
}

impl std::fmt::Debug for JsonlAuditSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonlAuditSink")
            .field("path", &self.path)
            .field("key_file", &self.key_file)
            .field("anchor", &self.anchor.location())
            .field("fsync", &self.fsync)
            .finish_non_exhaustive()
    }
}

/// Options for [`JsonlAuditSink`]; made by [`JsonlAuditSink::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct JsonlAuditSinkBuilder {
    path: PathBuf,
    key_file: Option<PathBuf>,
    anchor: Option<Arc<dyn AnchorStore>>,
    fsync: bool,
}

impl JsonlAuditSinkBuilder {
    /// The key file (default: [`default_key_file`], beside the log). Created with mode 0600
    /// when neither it nor an anchor exists yet; refused when group or others may read it.
    pub fn key_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.key_file = Some(path.into());
        self
    }

    /// Where the anchor is kept (default: a [`FileAnchorStore`] at [`default_anchor_file`]).
    pub fn anchor(mut self, store: Arc<dyn AnchorStore>) -> Self {
        self.anchor = Some(store);
        self
    }

    /// Also `fsync` each record, and the default anchor file, before `record` returns
    /// (slower; survives power loss, not just a crash).
    pub fn fsync(mut self, yes: bool) -> Self {
        self.fsync = yes;
        self
    }

    /// Opens (or creates) the log, creating parent directories; on first use creates the key
    /// and the anchor. An existing log, including one written before logs were keyed, is
    /// continued; one whose end does not match its anchor is refused.
    pub fn open(self) -> Result<JsonlAuditSink> {
        let path = self.path;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| Error::AuditIo {
                path: path.clone(),
                source,
            })?;
        }
        let key_file = self.key_file.unwrap_or_else(|| default_key_file(&path));
        let anchor = self.anchor.unwrap_or_else(|| {
            Arc::new(FileAnchorStore::new(default_anchor_file(&path)).with_fsync(self.fsync))
        });
        let mut file = open_locked(&path)?;
        let key = match AuditKey::load(&key_file)? {
            Some(key) => key,
            None => first_use(&path, &mut file, &key_file, anchor.as_ref())?,
        };
        let sink = JsonlAuditSink {
            path,
            key,
            key_file,
            anchor,
            fsync: self.fsync,
        };
        // Fail now rather than at the first command if the log is not fit to continue.
        sink.tip(&mut file)?;
        Ok(sink)
    }
}

/// Creates the key for a log that has none: an empty log, or one written before logs were
/// keyed. Refuses when the log or its anchor show it was keyed with a key that is now missing.
fn first_use(
    path: &Path,
    file: &mut File,
    key_file: &Path,
    anchor: &dyn AnchorStore,
) -> Result<AuditKey> {
    let tail = read_tail(path, file)?;
    let keyed_log = tail
        .line
        .as_deref()
        .and_then(|line| parse_last(line).ok())
        .is_some_and(|record| record.mac.is_some());
    if keyed_log || anchor.load()?.is_some() {
        return Err(Error::AuditKeyMissing {
            path: key_file.to_owned(),
            log: path.to_owned(),
        });
    }
    AuditKey::create(key_file)
}

impl JsonlAuditSink {
    /// Opens (or creates) the log at `path` with its key and anchor files beside it; see
    /// [`JsonlAuditSinkBuilder::open`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::builder(path).open()
    }

    /// Options for a log at `path`: key file, anchor store, fsync.
    pub fn builder(path: impl AsRef<Path>) -> JsonlAuditSinkBuilder {
        JsonlAuditSinkBuilder {
            path: path.as_ref().to_owned(),
            key_file: None,
            anchor: None,
            fsync: false,
        }
    }

    /// The log file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The key file's path.
    pub fn key_file(&self) -> &Path {
        &self.key_file
    }

    /// Where the anchor is kept.
    pub fn anchor(&self) -> &dyn AnchorStore {
        self.anchor.as_ref()
    }

    fn io(&self, source: std::io::Error) -> Error {
        Error::AuditIo {
            path: self.path.clone(),
            source,
        }
    }

    /// With the lock held: the last record's `seq` and line hash, after checking them against
    /// the anchor, and the log's length. A line left incomplete by a writer that stopped
    /// mid-write is cut off first (it was never confirmed nor anchored).
    fn tip(&self, file: &mut File) -> Result<(u64, String, u64)> {
        let tail = read_tail(&self.path, file)?;
        let (seq, hash, prev_hash, keyed) = match &tail.line {
            None => (0, GENESIS_HASH.to_owned(), None, false),
            Some(line) => {
                let record = parse_last(line).map_err(|m| self.broken(FindingKind::NotJson, m))?;
                if record.mac.is_some() && chain::check(&self.key, line) != MacCheck::Valid {
                    return Err(self.broken(
                        FindingKind::Edited,
                        format!(
                            "the last record (seq {}) does not carry a valid MAC for the key {}: \
                             it was changed, or the log was written with another key",
                            record.seq,
                            self.key_file.display()
                        ),
                    ));
                }
                (
                    record.seq,
                    sha256_hex(line),
                    Some(record.prev_hash),
                    record.mac.is_some(),
                )
            }
        };
        let location = self.anchor.location();
        let anchor = match self.anchor.load()? {
            Some(anchor) => anchor,
            // An empty log, or one from before keying: anchor it as it is.
            None if !keyed => {
                let anchor = Anchor::seal(&self.key, seq, hash.clone());
                self.anchor.store(&anchor)?;
                anchor
            }
            None => {
                return Err(self.broken(
                    FindingKind::AnchorMissing,
                    format!(
                        "its anchor ({location}) is missing, so records cut from its end could \
                         not be told. Restore the anchor; or, to keep this log as evidence and \
                         start a new one, move the log and the anchor aside"
                    ),
                ));
            }
        };
        if !anchor.is_sealed_by(&self.key) {
            return Err(self.broken(
                FindingKind::AnchorInvalid,
                format!(
                    "its anchor ({location}) does not carry a valid MAC for the key {}: it was \
                     edited or replaced, or written with another key",
                    self.key_file.display()
                ),
            ));
        }
        let fits = (anchor.records == seq && anchor.last_hash == hash)
            // A writer stopped between appending a record and updating the anchor.
            || (keyed
                && anchor.records.saturating_add(1) == seq
                && prev_hash.as_deref() == Some(anchor.last_hash.as_str()));
        if !fits {
            let (kind, message) = if anchor.records > seq {
                (
                    FindingKind::TruncatedTail,
                    format!(
                        "its anchor counts {} records but it ends at seq {seq}: records were cut \
                         from its end",
                        anchor.records
                    ),
                )
            } else if anchor.records == seq {
                (
                    FindingKind::Rewritten,
                    format!(
                        "its last record (seq {seq}) is not the one its anchor names: the log was \
                         rewritten, or the anchor belongs to another log"
                    ),
                )
            } else if !keyed {
                (
                    FindingKind::MacMissing,
                    format!(
                        "its last record (seq {seq}) has no MAC although the log is keyed: it \
                         was added by someone without the key"
                    ),
                )
            } else {
                (
                    FindingKind::AnchorStale,
                    format!(
                        "its anchor counts {} records but it has {seq}: the anchor is older than \
                         the log (restored from a copy?) or the log was rewritten",
                        anchor.records
                    ),
                )
            };
            return Err(self.broken(kind, message));
        }
        if tail.complete_len < tail.len {
            tracing::warn!(
                target: "kopilot::audit",
                path = %self.path.display(),
                bytes = tail.len - tail.complete_len,
                "removing an incomplete last line left by a writer that stopped mid-write"
            );
            file.set_len(tail.complete_len).map_err(|e| self.io(e))?;
        }
        Ok((seq, hash, tail.complete_len))
    }

    fn broken(&self, kind: FindingKind, message: String) -> Error {
        broken(&self.path, kind, message)
    }
}

impl AuditSink for JsonlAuditSink {
    fn record(&self, event: &AuditEvent) -> Result<()> {
        // The lock is released when `file` is closed, on every return path.
        let mut file = open_locked(&self.path)?;
        let (seq, prev_hash, len) = self.tip(&mut file)?;
        let Some(next) = seq.checked_add(1) else {
            return Err(self.broken(
                FindingKind::NotJson,
                format!("its last record has seq {seq}, which leaves no room for another"),
            ));
        };
        let record = AuditRecord {
            seq: next,
            ts: OffsetDateTime::now_utc(),
            event: event.clone(),
            prev_hash,
            mac: None,
        };
        let mut line = chain::seal(&self.key, &record)?;
        let hash = sha256_hex(&line);
        line.push(b'\n');
        if let Err(e) = file.write_all(&line) {
            // Leave no partial line behind (disk full): the log stays as it was.
            let _ = file.set_len(len);
            return Err(self.io(e));
        }
        if self.fsync {
            file.sync_data().map_err(|e| self.io(e))?;
        }
        self.anchor
            .store(&Anchor::seal(&self.key, record.seq, hash))
    }
}

/// Opens the log for appending (creating it) and takes its exclusive lock.
fn open_locked(path: &Path) -> Result<File> {
    let file = OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)
        .map_err(|source| Error::AuditIo {
            path: path.to_owned(),
            source,
        })?;
    lock::acquire(&file, path, LockKind::Exclusive)?;
    Ok(file)
}

fn read_tail(path: &Path, file: &mut File) -> Result<Tail> {
    chain::read_tail(file).map_err(|source| Error::AuditIo {
        path: path.to_owned(),
        source,
    })
}

/// What a writer needs of the last record: deserialising only these fields (not the flattened
/// event) keeps a record's cost down. Its MAC vouches for the rest of the line.
#[derive(Debug, serde::Deserialize)]
struct TailRecord {
    seq: u64,
    prev_hash: String,
    #[serde(default)]
    mac: Option<String>,
}

/// The last line as a record; the error says, in words, why it is not one.
fn parse_last(line: &[u8]) -> std::result::Result<TailRecord, String> {
    serde_json::from_slice(line)
        .map_err(|e| format!("its last line is not a JSON audit record ({e})"))
}

fn broken(path: &Path, kind: FindingKind, message: String) -> Error {
    Error::AuditLogBroken {
        path: path.to_owned(),
        kind,
        message,
    }
}
