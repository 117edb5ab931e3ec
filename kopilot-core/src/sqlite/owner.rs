//! Which process runs a task: each open store holds a lock on a file of its own, and records
//! that file's name on the tasks it creates. The operating system lets go of the lock when the
//! process ends however it ends (SIGKILL, a crash), so a task whose owner's lock can be taken
//! was left unfinished by a process that is gone, while one whose lock is held is running in
//! another process that shares the file.

use std::fs::{File, TryLockError};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};

/// This store's claim: its id and, for a file store, the lock file it holds until dropped.
#[derive(Debug)]
pub(super) struct Owner {
    id: String,
    claim: Option<Claim>,
}

#[derive(Debug)]
struct Claim {
    dir: PathBuf,
    path: PathBuf,
    /// Holds the exclusive lock for as long as the store lives.
    _file: File,
}

impl Owner {
    /// Claims an owner id beside the store file: `<file>.owners/<id>.lock`, locked.
    pub(super) fn claim(store: &Path, label: &str) -> Result<Self> {
        let dir = owners_dir(store);
        let fail = |what: &str, path: &Path, e: std::io::Error| {
            Error::Store(format!("{label}: cannot {what} {}: {e}", path.display()))
        };
        std::fs::create_dir_all(&dir).map_err(|e| fail("create the directory", &dir, e))?;
        loop {
            let id = new_id();
            // Locked under a name no other process looks at, then renamed into place, so no
            // process ever sees the final name unlocked while its owner lives.
            let staging = dir.join(format!(".{id}.new"));
            let file = match File::create_new(&staging) {
                Ok(file) => file,
                Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(fail("create the owner lock file", &staging, e)),
            };
            let locked = file.try_lock();
            let path = dir.join(format!("{id}.lock"));
            let placed = locked
                .map_err(|e| match e {
                    TryLockError::Error(e) => e,
                    TryLockError::WouldBlock => std::io::Error::from(ErrorKind::WouldBlock),
                })
                .and_then(|()| std::fs::rename(&staging, &path));
            if let Err(e) = placed {
                let _gone = std::fs::remove_file(&staging);
                return Err(fail("lock the owner file", &path, e));
            }
            return Ok(Self {
                id,
                claim: Some(Claim {
                    dir,
                    path,
                    _file: file,
                }),
            });
        }
    }

    /// An owner for a store that lives only in this process (nothing else can see its tasks).
    pub(super) fn in_memory() -> Self {
        Self {
            id: new_id(),
            claim: None,
        }
    }

    /// The id recorded on the tasks this store creates.
    pub(super) fn id(&self) -> &str {
        &self.id
    }

    /// Whether the tasks that `owner` recorded are no longer run by another process: its
    /// lock is free, or it is this store itself (whose caller marks at start-up, before it
    /// runs anything). Unknown or malformed owners (rows from before owners were recorded)
    /// count as gone; an owner whose lock cannot be checked counts as running, so a task is
    /// never marked interrupted on a guess.
    pub(super) fn is_gone(&self, owner: Option<&str>) -> bool {
        let Some(owner) = owner.filter(|o| is_id(o)) else {
            return true;
        };
        if owner == self.id {
            return true;
        }
        let Some(claim) = &self.claim else {
            return true;
        };
        let path = claim.dir.join(format!("{owner}.lock"));
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) => return e.kind() == ErrorKind::NotFound,
        };
        match file.try_lock() {
            Ok(()) => {
                // Its process is gone: the file has done its work.
                let _gone = std::fs::remove_file(&path);
                true
            }
            Err(_) => false,
        }
    }
}

impl Drop for Owner {
    fn drop(&mut self) {
        if let Some(claim) = &self.claim {
            // Removed while still locked; the lock goes with the file handle right after.
            let _gone = std::fs::remove_file(&claim.path);
        }
    }
}

/// `<dir>/<file name>.owners` for the store file `<dir>/<file name>`.
fn owners_dir(store: &Path) -> PathBuf {
    let mut name = store
        .file_name()
        .map(std::ffi::OsStr::to_os_string)
        .unwrap_or_default();
    name.push(".owners");
    store.with_file_name(name)
}

/// `<pid>-<nanoseconds since the epoch>`, in hex: unique on this machine in practice, and made
/// unique for certain by creating its file with `create_new`.
fn new_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{:x}-{nanos:x}", std::process::id())
}

/// An id this module could have made (so a stored owner never names a path elsewhere).
fn is_id(owner: &str) -> bool {
    !owner.is_empty()
        && owner.len() <= 64
        && owner.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}
