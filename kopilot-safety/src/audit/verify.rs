//! Checking a log: every record's MAC, the `seq` numbers and `prev_hash` links, and the anchor.
//! The report names the first bad record and the kind of break.

use std::fs::File;
use std::io::{BufRead, BufReader, Read as _, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use super::anchor::{Anchor, AnchorStore, FileAnchorStore};
use super::chain::{self, MacCheck};
use super::key::AuditKey;
use super::lock::{self, LockKind};
use super::{AuditRecord, GENESIS_HASH, default_anchor_file, default_key_file, sha256_hex};
use crate::error::{Error, Result};

/// What [`verify`] found. The snake_case names (`as_str`, and the JSON of a [`Finding`]) are
/// stable: scripts may match on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FindingKind {
    /// A line is not a JSON audit record (garbage, or an edit that broke the JSON).
    NotJson,
    /// A record's bytes changed after it was written: its MAC does not match (or, before the log
    /// was keyed, the next record's `prev_hash` does not).
    Edited,
    /// A record without a MAC follows keyed records: it was added or replaced without the key.
    MacMissing,
    /// A `seq` number is out of order or a `prev_hash` link is cut: records were removed,
    /// inserted or reordered.
    RemovedOrInserted,
    /// The anchor counts more records than the log has: records were cut from the end.
    TruncatedTail,
    /// The log is not the one the anchor (or the key) vouches for: it was rewritten, by someone
    /// holding the key, or without it (then no record carries a MAC made with this key).
    Rewritten,
    /// The anchor's own MAC does not match, or it cannot be parsed: it was edited or replaced
    /// (perhaps to hide a cut tail), or it was written with another key.
    AnchorInvalid,
    /// The anchor is older than the log by more than one record: it was restored from a copy.
    AnchorStale,
    /// The log is keyed but its anchor is gone, so a cut tail or a rewrite cannot be checked.
    AnchorMissing,
    /// The log is keyed but the key file is gone, so MACs and the anchor cannot be checked.
    KeyMissing,
    /// Not a break: the first records predate keying and are only hash-chained.
    UnkeyedPrefix,
    /// Not a break: the last record was written but the anchor not yet updated (a writer
    /// stopped in between); the next write updates it.
    AnchorBehind,
    /// Not a break: the last line is incomplete (a writer stopped mid-write). It was never
    /// confirmed nor anchored; the next write removes it.
    IncompleteLastLine,
}

impl FindingKind {
    /// The stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotJson => "not_json",
            Self::Edited => "edited",
            Self::MacMissing => "mac_missing",
            Self::RemovedOrInserted => "removed_or_inserted",
            Self::TruncatedTail => "truncated_tail",
            Self::Rewritten => "rewritten",
            Self::AnchorInvalid => "anchor_invalid",
            Self::AnchorStale => "anchor_stale",
            Self::AnchorMissing => "anchor_missing",
            Self::KeyMissing => "key_missing",
            Self::UnkeyedPrefix => "unkeyed_prefix",
            Self::AnchorBehind => "anchor_behind",
            Self::IncompleteLastLine => "incomplete_last_line",
        }
    }

    /// Whether this finding means the log cannot be trusted as it is (the others are notes).
    pub fn is_break(self) -> bool {
        match self {
            Self::NotJson
            | Self::Edited
            | Self::MacMissing
            | Self::RemovedOrInserted
            | Self::TruncatedTail
            | Self::Rewritten
            | Self::AnchorInvalid
            | Self::AnchorStale
            | Self::AnchorMissing
            | Self::KeyMissing => true,
            Self::UnkeyedPrefix | Self::AnchorBehind | Self::IncompleteLastLine => false,
        }
    }
}

impl std::fmt::Display for FindingKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing [`verify`] found, where, and what it means.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What kind of break (or note).
    pub kind: FindingKind,
    /// The line (from 1) of the record concerned, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// The `seq` of the record concerned, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// What happened and what it means, in plain words.
    pub message: String,
}

impl Finding {
    fn new(kind: FindingKind, line: Option<u64>, seq: Option<u64>, message: String) -> Self {
        Self {
            kind,
            line,
            seq,
            message,
        }
    }
}

/// The outcome of [`verify`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Records in the log (complete, non-empty lines).
    pub records: u64,
    /// How many of them, at the start, predate keying (only hash-chained).
    pub unkeyed_records: u64,
    /// Whether an anchor sealed with the key was found and matched the log.
    pub anchored: bool,
    /// The first break, if any: the log is intact when this is `None`.
    pub first_broken: Option<Finding>,
    /// Findings that are not breaks ([`FindingKind::is_break`] is false).
    pub notes: Vec<Finding>,
}

impl VerifyReport {
    /// Whether no break was found.
    pub fn is_intact(&self) -> bool {
        self.first_broken.is_none()
    }
}

/// Checks the log at `log` with the key and anchor files beside it
/// ([`default_key_file`], [`default_anchor_file`]). See [`Verifier`] to name others.
///
/// `Err` means something could not be read (the log, or a key file that exists but cannot be
/// used); everything found in what was read is in the report.
pub fn verify(log: impl AsRef<Path>) -> Result<VerifyReport> {
    Verifier::new(log).verify()
}

/// Checks a log against a key file and an anchor store of your choice.
///
/// ```no_run
/// use std::sync::Arc;
/// use kopilot_safety::audit::{FileAnchorStore, Verifier};
///
/// let report = Verifier::new("/var/log/kopilot/audit.jsonl")
///     .key_file("/etc/kopilot/audit.key")
///     .anchor(Arc::new(FileAnchorStore::new("/srv/anchors/kopilot.anchor")))
///     .verify()?;
/// if let Some(broken) = &report.first_broken {
///     eprintln!("{} at line {:?}: {}", broken.kind, broken.line, broken.message);
/// }
/// # Ok::<(), kopilot_safety::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Verifier {
    log: PathBuf,
    key_file: PathBuf,
    anchor: Arc<dyn AnchorStore>,
}

impl Verifier {
    /// Checks `log`, by default with the key and anchor files beside it.
    pub fn new(log: impl AsRef<Path>) -> Self {
        let log = log.as_ref().to_owned();
        Self {
            key_file: default_key_file(&log),
            anchor: Arc::new(FileAnchorStore::new(default_anchor_file(&log))),
            log,
        }
    }

    /// The key file to check MACs with.
    #[must_use]
    pub fn key_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.key_file = path.into();
        self
    }

    /// Where the log's anchor is kept.
    #[must_use]
    pub fn anchor(mut self, store: Arc<dyn AnchorStore>) -> Self {
        self.anchor = store;
        self
    }

    /// Reads the log (under a shared lock, so no writer is half-way through a record) and
    /// reports what it found.
    pub fn verify(&self) -> Result<VerifyReport> {
        let io = |source| Error::AuditIo {
            path: self.log.clone(),
            source,
        };
        let key = AuditKey::load(&self.key_file)?;
        let mut file = File::open(&self.log).map_err(io)?;
        // A consistent snapshot: the log's length and its anchor, read while no writer is
        // between its append and its anchor update. Records appended later lie beyond `len`;
        // writers are held up only for this moment, not for the whole read.
        lock::acquire(&file, &self.log, LockKind::Shared)?;
        let len = file.seek(SeekFrom::End(0)).map_err(io)?;
        let anchor = match self.anchor.load() {
            Ok(Some(anchor)) => AnchorRead::Found(anchor),
            Ok(None) => AnchorRead::Missing,
            Err(Error::AuditAnchorInvalid { reason, .. }) => AnchorRead::Unreadable(reason),
            Err(e) => return Err(e),
        };
        file.unlock().map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        let anchored_seq = match &anchor {
            AnchorRead::Found(a) => Some(a.records),
            AnchorRead::Missing | AnchorRead::Unreadable(_) => None,
        };
        let mut scan = Scan::new(key.as_ref(), anchored_seq);
        let mut reader = BufReader::new(file.take(len));
        let mut buf = Vec::new();
        let mut number = 0u64;
        loop {
            buf.clear();
            if reader.read_until(b'\n', &mut buf).map_err(io)? == 0 {
                break;
            }
            number += 1;
            match buf.strip_suffix(b"\n") {
                Some(line) => scan.line(number, line),
                None => scan.incomplete_last_line(number),
            }
        }
        Ok(scan.finish(
            &anchor,
            key.as_ref(),
            &self.key_file,
            &self.anchor.location(),
        ))
    }
}

enum AnchorRead {
    Found(Anchor),
    Missing,
    Unreadable(String),
}

/// A record already read: where it is and what the next one must link to.
#[derive(Debug, Clone)]
struct Seen {
    line: u64,
    seq: u64,
    hash: String,
    /// Its MAC was checked and matches: its bytes are what a key holder wrote.
    authentic: bool,
}

/// The state of one pass over a log.
struct Scan<'k> {
    key: Option<&'k AuditKey>,
    /// The `seq` the anchor names as last; the record with it is remembered in `at_anchor`.
    anchored_seq: Option<u64>,
    at_anchor: Option<Seen>,
    records: u64,
    unkeyed: u64,
    keyed: u64,
    keyed_authentic: u64,
    first_keyed: Option<(u64, u64)>,
    last: Option<Seen>,
    first_broken: Option<Finding>,
    incomplete_line: Option<u64>,
}

impl<'k> Scan<'k> {
    fn new(key: Option<&'k AuditKey>, anchored_seq: Option<u64>) -> Self {
        Self {
            key,
            anchored_seq,
            at_anchor: None,
            records: 0,
            unkeyed: 0,
            keyed: 0,
            keyed_authentic: 0,
            first_keyed: None,
            last: None,
            first_broken: None,
            incomplete_line: None,
        }
    }

    fn broken(&mut self, finding: Finding) {
        if self.first_broken.is_none() {
            self.first_broken = Some(finding);
        }
    }

    fn incomplete_last_line(&mut self, number: u64) {
        self.incomplete_line = Some(number);
    }

    /// One complete line (without its newline). After the first break only counts are kept
    /// (records, and keyed records whose MAC matches, to tell an edit from a rewrite).
    fn line(&mut self, number: u64, line: &[u8]) {
        if line.is_empty() {
            return;
        }
        self.records += 1;
        let record: AuditRecord = match serde_json::from_slice(line) {
            Ok(record) => record,
            Err(e) => {
                return self.broken(Finding::new(
                    FindingKind::NotJson,
                    Some(number),
                    None,
                    format!(
                        "Line {number} is not a JSON audit record ({e}): it was edited, or \
                         something other than kopilot wrote to the log. The records after it \
                         cannot be linked to the ones before."
                    ),
                ));
            }
        };
        let keyed_before = self.keyed > 0;
        let mac = match (&record.mac, self.key) {
            (None, _) => None,
            (Some(_), None) => Some(None),
            (Some(_), Some(key)) => Some(Some(chain::check(key, line))),
        };
        if mac.is_some() {
            self.keyed += 1;
            self.first_keyed.get_or_insert((number, record.seq));
        }
        let authentic = mac == Some(Some(MacCheck::Valid));
        if authentic {
            self.keyed_authentic += 1;
        }
        if self.first_broken.is_some() {
            return;
        }
        let seq = record.seq;
        match mac {
            Some(Some(MacCheck::Invalid)) => {
                return self.broken(Finding::new(
                    FindingKind::Edited,
                    Some(number),
                    Some(seq),
                    format!(
                        "Record seq {seq} (line {number}) was changed after it was written: its \
                         MAC does not match its contents. Everything before it checks out."
                    ),
                ));
            }
            Some(Some(MacCheck::Malformed)) => {
                return self.broken(Finding::new(
                    FindingKind::Edited,
                    Some(number),
                    Some(seq),
                    format!(
                        "Record seq {seq} (line {number}) was changed after it was written: its \
                         MAC is not where or what kopilot writes. Everything before it checks \
                         out."
                    ),
                ));
            }
            None if keyed_before => {
                return self.broken(Finding::new(
                    FindingKind::MacMissing,
                    Some(number),
                    Some(seq),
                    format!(
                        "Record seq {seq} (line {number}) has no MAC, although the records \
                         before it have one: it was added or replaced by someone without the \
                         key."
                    ),
                ));
            }
            None => self.unkeyed += 1,
            Some(Some(MacCheck::Valid) | None) => {}
        }
        let (expected_seq, expected_prev) = match &self.last {
            Some(last) => (last.seq.saturating_add(1), last.hash.as_str()),
            None => (1, GENESIS_HASH),
        };
        if seq != expected_seq {
            let what = if seq > expected_seq {
                format!(
                    "records seq {expected_seq} to {} are missing before it: they were \
                     removed (or the records were reordered)",
                    seq - 1
                )
            } else {
                "a record was inserted, duplicated or moved here".to_owned()
            };
            return self.broken(Finding::new(
                FindingKind::RemovedOrInserted,
                Some(number),
                Some(seq),
                format!(
                    "Line {number} holds seq {seq} where seq {expected_seq} was expected: {what}."
                ),
            ));
        }
        if record.prev_hash != expected_prev {
            let finding = match self.last.clone() {
                // The previous record's bytes are not vouched for by a MAC: most likely it was
                // changed, and this record still names the hash it had.
                Some(previous) if !previous.authentic => Finding::new(
                    FindingKind::Edited,
                    Some(previous.line),
                    Some(previous.seq),
                    format!(
                        "Record seq {} (line {}) was changed after it was written: the record \
                         after it names a different hash for it (or that record's prev_hash was \
                         changed). It has no MAC, so which of the two changed cannot be told.",
                        previous.seq, previous.line
                    ),
                ),
                _ => Finding::new(
                    FindingKind::RemovedOrInserted,
                    Some(number),
                    Some(seq),
                    format!(
                        "Record seq {seq} (line {number}) does not link to the record before \
                         it: a record was removed, inserted or replaced before it."
                    ),
                ),
            };
            return self.broken(finding);
        }
        let seen = Seen {
            line: number,
            seq,
            hash: sha256_hex(line),
            authentic,
        };
        if self.anchored_seq == Some(seq) {
            self.at_anchor = Some(seen.clone());
        }
        self.last = Some(seen);
    }

    fn finish(
        mut self,
        anchor: &AnchorRead,
        key: Option<&AuditKey>,
        key_file: &Path,
        anchor_location: &str,
    ) -> VerifyReport {
        let mut anchored = false;
        if let Some(broken) = self.first_broken.take() {
            self.first_broken = Some(self.rewrite_or_edit(broken, anchor, key));
        } else {
            match self.check_anchor(anchor, key, key_file, anchor_location) {
                Ok(()) => anchored = matches!(anchor, AnchorRead::Found(_)) && key.is_some(),
                Err(finding) => self.first_broken = Some(finding),
            }
        }
        let mut notes = Vec::new();
        if self.unkeyed > 0 {
            notes.push(self.unkeyed_note(matches!(anchor, AnchorRead::Found(_))));
        }
        if let (true, AnchorRead::Found(a), Some(last)) = (anchored, anchor, &self.last)
            && a.records.saturating_add(1) == last.seq
        {
            notes.push(Finding::new(
                FindingKind::AnchorBehind,
                Some(last.line),
                Some(last.seq),
                format!(
                    "The last record (seq {}) was written but the anchor still counts {}: a \
                     writer stopped between the two. The record itself checks out; the next \
                     write updates the anchor.",
                    last.seq, a.records
                ),
            ));
        }
        if let Some(number) = self.incomplete_line {
            notes.push(Finding::new(
                FindingKind::IncompleteLastLine,
                Some(number),
                None,
                format!(
                    "Line {number}, the last, is incomplete (no newline): a writer stopped \
                     mid-write. That record was never confirmed nor anchored, so it is not \
                     counted; the next write removes it."
                ),
            ));
        }
        VerifyReport {
            records: self.records,
            unkeyed_records: self.unkeyed,
            anchored,
            first_broken: self.first_broken,
            notes,
        }
    }

    /// A MAC mismatch at the first keyed record, with no keyed record (and no anchor) anywhere
    /// matching this key, is not one edited record but a log rewritten without the key (or the
    /// wrong key file).
    fn rewrite_or_edit(
        &self,
        broken: Finding,
        anchor: &AnchorRead,
        key: Option<&AuditKey>,
    ) -> Finding {
        let at_first_keyed =
            broken.kind == FindingKind::Edited && broken.line == self.first_keyed.map(|(l, _)| l);
        let anchor_matches_key = match (anchor, key) {
            (AnchorRead::Found(a), Some(key)) => a.is_sealed_by(key),
            _ => false,
        };
        if at_first_keyed && self.keyed_authentic == 0 && (self.keyed >= 2 || !anchor_matches_key) {
            Finding::new(
                FindingKind::Rewritten,
                broken.line,
                broken.seq,
                format!(
                    "None of the {} keyed records{} carries a MAC made with this key: the log \
                     was rewritten by someone without the key (or this is not the key it was \
                     written with: check the key file). The first such record is at line {}.",
                    self.keyed,
                    if anchor_matches_key {
                        ""
                    } else {
                        ", nor the anchor,"
                    },
                    broken.line.unwrap_or_default()
                ),
            )
        } else {
            broken
        }
    }

    /// Compares the end of an intact chain with the anchor.
    fn check_anchor(
        &self,
        anchor: &AnchorRead,
        key: Option<&AuditKey>,
        key_file: &Path,
        anchor_location: &str,
    ) -> std::result::Result<(), Finding> {
        let has_anchor = !matches!(anchor, AnchorRead::Missing);
        let Some(key) = key else {
            if self.keyed == 0 && !has_anchor {
                // A log from before keying, never opened since: nothing keyed to check.
                return Ok(());
            }
            let (line, seq) = self.first_keyed.unzip();
            return Err(Finding::new(
                FindingKind::KeyMissing,
                line,
                seq,
                format!(
                    "The log is keyed{} but the key file {} does not exist: the records' MACs \
                     and the anchor cannot be checked (only the seq numbers and hash links \
                     were, and they are intact). Restore the key file, or name it.",
                    line.map(|l| format!(" from line {l}")).unwrap_or_default(),
                    key_file.display()
                ),
            ));
        };
        let anchor = match anchor {
            AnchorRead::Found(anchor) => anchor,
            // An empty log, or one from before keying that was never written keyed: the
            // writer anchors it as it is on its next write; the note on unkeyed records says
            // what that leaves unchecked.
            AnchorRead::Missing if self.keyed == 0 => return Ok(()),
            AnchorRead::Missing => {
                return Err(Finding::new(
                    FindingKind::AnchorMissing,
                    None,
                    None,
                    format!(
                        "The log is keyed but its anchor ({anchor_location}) is missing: the \
                         records check out, but whether records were cut from the end, or the \
                         whole log replaced, cannot be checked. Restore the anchor, or name it."
                    ),
                ));
            }
            AnchorRead::Unreadable(reason) => {
                return Err(Finding::new(
                    FindingKind::AnchorInvalid,
                    None,
                    None,
                    format!(
                        "The anchor ({anchor_location}) is not an anchor ({reason}): it was \
                         edited or replaced. The records check out, but whether records were cut \
                         from the end cannot be checked."
                    ),
                ));
            }
        };
        if !anchor.is_sealed_by(key) {
            return Err(Finding::new(
                FindingKind::AnchorInvalid,
                None,
                None,
                format!(
                    "The anchor ({anchor_location}) does not carry a valid MAC for this key: it \
                     was edited or replaced (perhaps to hide records cut from the end), or \
                     written with another key. The records check out, but whether records were \
                     cut from the end cannot be checked."
                ),
            ));
        }
        let (last_line, last_seq, last_hash) = match &self.last {
            Some(last) => (last.line, last.seq, last.hash.as_str()),
            None => (0, 0, GENESIS_HASH),
        };
        if anchor.records > last_seq {
            let first_missing = last_seq + 1;
            return Err(Finding::new(
                FindingKind::TruncatedTail,
                Some(last_line + 1),
                Some(first_missing),
                format!(
                    "The anchor counts {} records but the log ends at seq {last_seq}: records \
                     seq {first_missing} to {} were cut from the end of the log.",
                    anchor.records, anchor.records
                ),
            ));
        }
        let (anchored_line, anchored_hash) = if anchor.records == 0 {
            (None, GENESIS_HASH)
        } else if anchor.records == last_seq {
            (Some(last_line), last_hash)
        } else {
            match &self.at_anchor {
                Some(seen) => (Some(seen.line), seen.hash.as_str()),
                None => (None, ""),
            }
        };
        if anchor.last_hash != anchored_hash {
            return Err(Finding::new(
                FindingKind::Rewritten,
                anchored_line,
                Some(anchor.records).filter(|&s| s > 0),
                format!(
                    "The anchor names a different record seq {} than the log holds: the log was \
                     rewritten (by someone holding the key, since every MAC checks out), or the \
                     anchor belongs to another log.",
                    anchor.records
                ),
            ));
        }
        if last_seq > anchor.records.saturating_add(1) {
            let first_unanchored = anchor.records + 1;
            return Err(Finding::new(
                FindingKind::AnchorStale,
                anchored_line.map(|l| l + 1).or(Some(1)),
                Some(first_unanchored),
                format!(
                    "The anchor counts {} records but the log has {last_seq}: the records from \
                     seq {first_unanchored} on check out, but the anchor is older than them \
                     (restored from a copy?), so it cannot vouch for the end of the log.",
                    anchor.records
                ),
            ));
        }
        Ok(())
    }

    fn unkeyed_note(&self, has_anchor: bool) -> Finding {
        let n = self.unkeyed;
        let message = if self.keyed > 0 {
            format!(
                "The first {n} records predate keying (written by an older kopilot): they are \
                 only hash-chained, so a rewrite of them with recomputed hashes would not be \
                 detectable. The records after them carry a MAC."
            )
        } else if has_anchor {
            format!(
                "All {n} records predate keying (written by an older kopilot): they are only \
                 hash-chained, so a rewrite of them with recomputed hashes would not be \
                 detectable. The anchor was set when the log was first opened keyed; the next \
                 record will carry a MAC."
            )
        } else {
            format!(
                "All {n} records predate keying (written by an older kopilot) and there is no \
                 anchor yet: only the hash chain was checked, so neither a rewrite nor records \
                 cut from the end would be detectable. Opening the log with this version keys \
                 it from here on."
            )
        };
        Finding::new(FindingKind::UnkeyedPrefix, Some(1), Some(1), message)
    }
}
