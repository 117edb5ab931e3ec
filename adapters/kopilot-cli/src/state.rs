//! Where kopilot keeps its state on this machine, and who the local user is.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use kopilot_core::safety::JsonlAuditSink;
use kopilot_core::{SqliteStore, TaskStore as _};

use crate::UsageError;

/// The variable that overrides the data directory.
pub(crate) const DATA_DIR_VAR: &str = "KOPILOT_DATA_DIR";

/// The data directory and where that choice came from.
pub(crate) struct DataDir {
    pub(crate) path: PathBuf,
    pub(crate) source: &'static str,
}

fn non_empty(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// `KOPILOT_DATA_DIR`, else `$XDG_DATA_HOME/kopilot`, else `~/.local/share/kopilot`.
pub(crate) fn data_dir() -> anyhow::Result<DataDir> {
    if let Some(path) = non_empty(DATA_DIR_VAR) {
        return Ok(DataDir {
            path,
            source: "env KOPILOT_DATA_DIR",
        });
    }
    if let Some(xdg) = non_empty("XDG_DATA_HOME") {
        return Ok(DataDir {
            path: xdg.join("kopilot"),
            source: "env XDG_DATA_HOME",
        });
    }
    if let Some(home) = non_empty("HOME") {
        return Ok(DataDir {
            path: home.join(".local").join("share").join("kopilot"),
            source: "default (~/.local/share/kopilot)",
        });
    }
    Err(UsageError(format!(
        "no place to keep kopilot's task history and audit log: set {DATA_DIR_VAR} (or HOME)"
    ))
    .into())
}

/// The task store and the audit log in the data directory.
pub(crate) struct State {
    pub(crate) dir: PathBuf,
    pub(crate) store: SqliteStore,
    pub(crate) audit: Arc<JsonlAuditSink>,
}

impl State {
    /// The SQLite task store file.
    pub(crate) const STORE_FILE: &'static str = "kopilot.db";
    /// The audit log: keyed, hash-chained JSON lines; its key (`audit.key`) and anchor
    /// (`audit.anchor`) sit beside it.
    pub(crate) const AUDIT_FILE: &'static str = "audit.jsonl";

    /// Opens (creating when needed) the store and the audit log.
    pub(crate) fn open() -> anyhow::Result<Self> {
        let dir = data_dir()?.path;
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("could not create the data directory {}", dir.display()))?;
        let store = Self::open_store_in(&dir)?;
        let audit_path = dir.join(Self::AUDIT_FILE);
        let audit = JsonlAuditSink::open(&audit_path)
            .with_context(|| format!("could not open the audit log {}", audit_path.display()))?;
        Ok(Self {
            dir,
            store,
            audit: Arc::new(audit),
        })
    }

    /// Opens only the task store (for `kopilot history`), failing when there is none yet.
    pub(crate) fn open_existing_store() -> anyhow::Result<Option<SqliteStore>> {
        let dir = data_dir()?.path;
        if !dir.join(Self::STORE_FILE).exists() {
            return Ok(None);
        }
        Self::open_store_in(&dir).map(Some)
    }

    /// Marks the tasks that earlier processes left without a result (killed, crashed) as
    /// interrupted; the tasks of `kopilot` processes still running beside this one are left
    /// alone. Returns how many were marked.
    pub(crate) async fn mark_interrupted(store: &SqliteStore) -> anyhow::Result<usize> {
        store
            .mark_interrupted()
            .await
            .context("could not mark the tasks of ended processes as interrupted")
    }

    fn open_store_in(dir: &std::path::Path) -> anyhow::Result<SqliteStore> {
        let path = dir.join(Self::STORE_FILE);
        SqliteStore::open(&path)
            .with_context(|| format!("could not open the task store {}", path.display()))
    }
}

/// The local user's name, for the audit log: `$USER`, `$LOGNAME`, `$USERNAME`, else the name
/// of this process's user id in `/etc/passwd`, else `uid:N`, else `unknown`.
pub(crate) fn local_user() -> String {
    if let Some(name) = ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    {
        return name;
    }
    user_from_uid().unwrap_or_else(|| "unknown".to_owned())
}

#[cfg(unix)]
fn user_from_uid() -> Option<String> {
    use std::os::unix::fs::MetadataExt as _;
    let uid = std::fs::metadata("/proc/self").ok()?.uid();
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let name = passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let id = fields.nth(1)?;
        (id.parse::<u32>().ok()? == uid).then(|| name.to_owned())
    });
    Some(name.unwrap_or_else(|| format!("uid:{uid}")))
}

#[cfg(not(unix))]
fn user_from_uid() -> Option<String> {
    None
}
