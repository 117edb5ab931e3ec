//! The log's lock across processes: `flock` semantics, so two opens of one file exclude each
//! other even within one process.

use std::fs::{File, TryLockError};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// How long a writer (or a check) waits for the lock before giving up with an error, so that a
/// stuck process holding it turns into a clear failure rather than a hang.
pub(crate) const LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// Which lock to take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LockKind {
    /// For reading a consistent state; many at once.
    Shared,
    /// For appending; one at a time.
    Exclusive,
}

/// Takes the lock on `file` (the log at `path`), waiting up to [`LOCK_TIMEOUT`]. It is
/// released when `file` is closed.
pub(crate) fn acquire(file: &File, path: &Path, kind: LockKind) -> Result<()> {
    let started = Instant::now();
    let mut pause = Duration::from_micros(100);
    loop {
        let attempt = match kind {
            LockKind::Shared => file.try_lock_shared(),
            LockKind::Exclusive => file.try_lock(),
        };
        match attempt {
            Ok(()) => return Ok(()),
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(source)) => {
                return Err(Error::AuditIo {
                    path: path.to_owned(),
                    source,
                });
            }
        }
        let waited = started.elapsed();
        if waited >= LOCK_TIMEOUT {
            return Err(Error::AuditLocked {
                path: path.to_owned(),
                waited,
            });
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(5));
    }
}
