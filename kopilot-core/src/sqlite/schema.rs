//! Opening a task-store file: connection settings, recognising the file, and the schema
//! migrations that bring it to the current version.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, Result};

/// Marks a file as a Kopilot task store (`PRAGMA application_id`), so a different program's
/// SQLite file is refused instead of altered. The bytes spell `KOPT`.
const APPLICATION_ID: i32 = 0x4B4F_5054;

/// How long a statement waits for another connection's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The schema, one step per version: `MIGRATIONS[n]` takes a file from version `n` to
/// `n + 1` (`PRAGMA user_version`). Append a step to evolve the schema; never edit one that
/// has shipped.
const MIGRATIONS: &[&str] = &[
    // Version 1.
    // `n` keeps insertion order, which `tasks()` and `session()` list by (ids carry no order).
    // `status` is NULL while a task is queued or running. `record` is the `TaskRecord` JSON
    // without its result; `result` is the `TaskResult` JSON.
    "CREATE TABLE tasks (
        n          INTEGER PRIMARY KEY,
        id         TEXT NOT NULL UNIQUE,
        session_id TEXT,
        created_at TEXT NOT NULL,
        status     TEXT,
        record     TEXT NOT NULL,
        result     TEXT
    );
    CREATE INDEX tasks_by_session ON tasks (session_id, n) WHERE session_id IS NOT NULL;
    CREATE INDEX tasks_unfinished ON tasks (n) WHERE status IS NULL;
    CREATE TABLE events (
        task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
        seq     INTEGER NOT NULL,
        json    TEXT NOT NULL,
        PRIMARY KEY (task_id, seq)
    ) WITHOUT ROWID;",
    // Version 2.
    // `owner` names the lock file of the process that runs the task (see `owner.rs`), so a
    // task left without a result is marked interrupted only once that process is gone.
    "ALTER TABLE tasks ADD COLUMN owner TEXT;",
];

/// Opens (creating if needed) the store at `path`, configured and migrated.
pub(super) fn open_file(path: &Path, label: &str) -> Result<Connection> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| {
            Error::Store(format!(
                "cannot create the directory {} for {label}: {e}",
                parent.display()
            ))
        })?;
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)
        .map_err(|e| Error::Store(format!("cannot open {label}: {e}")))?;
    prepare(conn, label)
}

/// Opens a store that lives only in this process's memory.
pub(super) fn open_in_memory(label: &str) -> Result<Connection> {
    let conn = Connection::open_in_memory()
        .map_err(|e| Error::Store(format!("cannot open {label}: {e}")))?;
    prepare(conn, label)
}

/// Applies the connection settings, checks the file is ours and migrates it.
fn prepare(conn: Connection, label: &str) -> Result<Connection> {
    let fail = |what: &str, e: rusqlite::Error| Error::Store(format!("{label}: {what}: {e}"));
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| fail("cannot set the busy timeout", e))?;
    // Before changing anything (the journal mode is stored in the file), make sure the file
    // is ours or new.
    check_owner(&conn, label)?;
    // WAL lets readers (another process inspecting the file) run beside the writer, and with
    // `synchronous=NORMAL` a commit costs no fsync: it survives a crash of this process, and
    // only a power loss can undo the last commits before a checkpoint.
    // Switching needs the file to itself and SQLite does not wait for that with the busy
    // timeout: while another process opens the same new file, retry for as long.
    let started = std::time::Instant::now();
    loop {
        match conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))
        {
            Ok(_mode) => break,
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && started.elapsed() < BUSY_TIMEOUT =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(fail("cannot switch to WAL journal mode", e)),
        }
    }
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(|e| fail("cannot set synchronous=NORMAL", e))?;
    conn.pragma_update(None, "foreign_keys", true)
        .map_err(|e| fail("cannot enable foreign keys", e))?;
    migrate(&conn, label)?;
    Ok(conn)
}

/// Refuses a file that is not a SQLite database, or is one that belongs to another program.
/// Both facts are read in one transaction: another process may be migrating the new file
/// meanwhile, and its tables and application id appear together.
fn check_owner(conn: &Connection, label: &str) -> Result<()> {
    let begin = conn.execute_batch("BEGIN");
    let checked = begin
        .map_err(|e| Error::Store(format!("{label} cannot be read as a SQLite database: {e}")))
        .and_then(|()| read_owner(conn, label));
    if !conn.is_autocommit() {
        let _end = conn.execute_batch("COMMIT");
    }
    checked
}

fn read_owner(conn: &Connection, label: &str) -> Result<()> {
    // SQLite reads the file lazily: this is where a damaged or foreign file shows up.
    let fail = |e: rusqlite::Error| {
        Error::Store(format!("{label} cannot be read as a SQLite database: {e}"))
    };
    let application_id: i32 = conn
        .pragma_query_value(None, "application_id", |row| row.get(0))
        .map_err(fail)?;
    if application_id == APPLICATION_ID {
        return Ok(());
    }
    let objects: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_schema", [], |row| row.get(0))
        .map_err(fail)?;
    if application_id != 0 || objects > 0 {
        return Err(Error::Store(format!(
            "{label} is a SQLite database of another program (application_id {application_id:#x}, \
             {objects} schema objects), not a Kopilot task store"
        )));
    }
    Ok(())
}

/// Brings the schema to the newest version, one transaction per step. Each step reads the
/// version inside its write transaction, so processes that open a new file at the same time
/// migrate it once between them instead of both trying.
fn migrate(conn: &Connection, label: &str) -> Result<()> {
    let known = MIGRATIONS.len();
    loop {
        match migrate_one(conn) {
            Ok(Step::Current) => return Ok(()),
            Ok(Step::Migrated) => {}
            Ok(Step::Newer(found)) => {
                return Err(Error::Store(format!(
                    "{label} has schema version {found}, but this Kopilot knows versions up to {known}: \
                     it was written by a newer Kopilot"
                )));
            }
            Err((what, e)) => {
                if !conn.is_autocommit() {
                    // Best effort: the error of the step is what the user needs to see.
                    let _rollback = conn.execute_batch("ROLLBACK");
                }
                return Err(Error::Store(format!("{label}: {what}: {e}")));
            }
        }
    }
}

/// What one migration transaction found or did.
enum Step {
    /// The schema is the newest this Kopilot knows.
    Current,
    /// One step was applied.
    Migrated,
    /// The file has a newer schema version.
    Newer(i64),
}

/// Applies the next migration step, if any, in one write transaction.
fn migrate_one(conn: &Connection) -> std::result::Result<Step, (String, rusqlite::Error)> {
    let read = |e| ("cannot read the schema version".to_owned(), e);
    conn.execute_batch("BEGIN IMMEDIATE").map_err(read)?;
    let found: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(read)?;
    let Some(from) = usize::try_from(found)
        .ok()
        .filter(|v| *v <= MIGRATIONS.len())
    else {
        conn.execute_batch("ROLLBACK").map_err(read)?;
        return Ok(Step::Newer(found));
    };
    let Some(migration) = MIGRATIONS.get(from) else {
        conn.execute_batch("COMMIT").map_err(read)?;
        return Ok(Step::Current);
    };
    let to = from + 1;
    let failed = |e| {
        (
            format!("cannot migrate the schema from version {from} to {to}"),
            e,
        )
    };
    conn.execute_batch(migration).map_err(failed)?;
    conn.pragma_update(None, "application_id", APPLICATION_ID)
        .map_err(failed)?;
    conn.pragma_update(None, "user_version", i64::try_from(to).unwrap_or(i64::MAX))
        .map_err(failed)?;
    conn.execute_batch("COMMIT").map_err(failed)?;
    Ok(Step::Migrated)
}
