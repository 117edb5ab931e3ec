//! The anchor: how many records a log has and the hash of its last one, MACed with the key and
//! kept outside the log, so that a cut tail or a rewritten log no longer matches it.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::key::AuditKey;
use crate::error::{Error, Result};

/// A log's record count and last record hash, sealed with the log's key.
///
/// Stores keep it as they like (a file, a database row): it carries its own MAC, so a store
/// only has to give back what it was given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anchor {
    /// How many records the log had (the `seq` of its last record; 0 for an empty log).
    pub records: u64,
    /// SHA-256 (hex) of the last record's line, MAC included, or
    /// [`GENESIS_HASH`](super::GENESIS_HASH) for an empty log.
    pub last_hash: String,
    /// HMAC-SHA256 (hex) of the two fields above under the log's key.
    pub mac: String,
}

impl Anchor {
    /// An anchor for a log of `records` records whose last line hashes to `last_hash`.
    pub(crate) fn seal(key: &AuditKey, records: u64, last_hash: String) -> Self {
        let mac = key.mac_hex(&Self::mac_input(records, &last_hash));
        Self {
            records,
            last_hash,
            mac,
        }
    }

    /// Whether the anchor was sealed with `key` and not changed since.
    pub(crate) fn is_sealed_by(&self, key: &AuditKey) -> bool {
        use hmac::Mac as _;
        let Ok(mac) = hex::decode(&self.mac) else {
            return false;
        };
        let mut hmac = key.hmac();
        hmac.update(&Self::mac_input(self.records, &self.last_hash));
        hmac.verify_slice(&mac).is_ok()
    }

    /// What the MAC covers. The prefix keeps an anchor's MAC from ever equalling a record's
    /// (records are JSON objects, which start with `{`).
    fn mac_input(records: u64, last_hash: &str) -> Vec<u8> {
        format!("kopilot audit anchor v1\n{records}\n{last_hash}").into_bytes()
    }
}

/// Where a log's [`Anchor`] is kept.
///
/// [`FileAnchorStore`] (a file beside the log) is the default. An anchor kept somewhere the
/// log's writers cannot rewrite at will (a database, another host) also catches a log that was
/// rewritten, or cut, together with its anchor file. [`JsonlAuditSink`](super::JsonlAuditSink)
/// calls `load` and `store` while it holds the log's exclusive lock, so writers that share a
/// log never race on its anchor; `store` must have replaced the anchor when it returns `Ok`,
/// all at once (a reader sees the old anchor or the new one, never a mix).
pub trait AnchorStore: Send + Sync + std::fmt::Debug {
    /// The anchor last stored, or `None` if none was ever stored.
    fn load(&self) -> Result<Option<Anchor>>;

    /// Replaces the anchor.
    fn store(&self, anchor: &Anchor) -> Result<()>;

    /// Where the anchor is, for messages (a path, a table and key).
    fn location(&self) -> String;
}

/// Keeps the anchor as one line of JSON in a file (mode 0600), replaced atomically: written to
/// `<file>.tmp`, then renamed over the file.
#[derive(Debug, Clone)]
pub struct FileAnchorStore {
    path: PathBuf,
    fsync: bool,
}

impl FileAnchorStore {
    /// The anchor file at `path` (created on the first `store`).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            fsync: false,
        }
    }

    /// Also `fsync` the file and its directory on each `store` (survives power loss).
    #[must_use]
    pub fn with_fsync(mut self, yes: bool) -> Self {
        self.fsync = yes;
        self
    }

    /// The anchor file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self, source: std::io::Error) -> Error {
        Error::AuditAnchorIo {
            path: self.path.clone(),
            source,
        }
    }
}

impl AnchorStore for FileAnchorStore {
    fn load(&self) -> Result<Option<Anchor>> {
        let file = match File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io(e)),
        };
        // An anchor is about 200 bytes; a bigger file is not one.
        let mut bytes = Vec::new();
        file.take(64 * 1024)
            .read_to_end(&mut bytes)
            .map_err(|e| self.io(e))?;
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::AuditAnchorInvalid {
                location: self.location(),
                reason: e.to_string(),
            })
    }

    fn store(&self, anchor: &Anchor) -> Result<()> {
        let mut tmp = self.path.clone().into_os_string();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        // A leftover from a writer that stopped mid-store; removing it also makes sure the new
        // file gets mode 0600 (the mode applies only to files this call creates).
        match std::fs::remove_file(&tmp) {
            Err(e) if e.kind() != ErrorKind::NotFound => return Err(self.io(e)),
            _ => {}
        }
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut line = serde_json::to_vec(anchor).map_err(Error::AuditEncode)?;
        line.push(b'\n');
        let mut file = options.open(&tmp).map_err(|e| self.io(e))?;
        file.write_all(&line).map_err(|e| self.io(e))?;
        if self.fsync {
            file.sync_all().map_err(|e| self.io(e))?;
        }
        drop(file);
        std::fs::rename(&tmp, &self.path).map_err(|e| self.io(e))?;
        if self.fsync {
            sync_dir(&self.path).map_err(|e| self.io(e))?;
        }
        Ok(())
    }

    fn location(&self) -> String {
        self.path.display().to_string()
    }
}

/// Makes a rename in `path`'s directory durable.
#[cfg(unix)]
fn sync_dir(path: &Path) -> std::io::Result<()> {
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(dir) => File::open(dir)?.sync_all(),
        None => File::open(".")?.sync_all(),
    }
}

/// Windows cannot open a directory to sync it; the rename is as durable as the OS makes it.
#[cfg(not(unix))]
fn sync_dir(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_anchor_round_trips_and_detects_changes() {
        let dir = tempfile::tempdir().unwrap();
        let key = AuditKey::create(&dir.path().join("k")).unwrap();
        let other = AuditKey::create(&dir.path().join("o")).unwrap();
        let store = FileAnchorStore::new(dir.path().join("audit.anchor")).with_fsync(true);
        assert_eq!(store.load().unwrap(), None);
        let anchor = Anchor::seal(&key, 3, "ab".repeat(32));
        store.store(&anchor).unwrap();
        store.store(&anchor).unwrap();
        let loaded = store.load().unwrap().unwrap();
        assert_eq!(loaded, anchor);
        assert!(loaded.is_sealed_by(&key));
        assert!(!loaded.is_sealed_by(&other));
        let changed = Anchor {
            records: 2,
            ..loaded
        };
        assert!(!changed.is_sealed_by(&key));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(store.path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn garbage_is_an_invalid_anchor_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.anchor");
        std::fs::write(&path, "{ not json").unwrap();
        let err = FileAnchorStore::new(&path).load().unwrap_err();
        assert!(matches!(err, Error::AuditAnchorInvalid { .. }), "{err}");
        assert!(err.to_string().contains("audit.anchor"), "{err}");
    }
}
