//! The SQLite task store: tasks, their events and results in one file that survives restarts.

mod owner;
mod schema;
#[cfg(test)]
mod tests;
mod writer;

use std::path::Path;

use async_trait::async_trait;
use time::format_description::well_known::Rfc3339;
use tokio::sync::{mpsc, oneshot};

use crate::error::{Error, Result};
use crate::event::{Event, Status, TaskResult};
use crate::store::{TaskQuery, TaskRecord, TaskStore, interrupted_result};
use owner::Owner;
use writer::{Command, Read, Reply, TaskRow, Write};

/// How many commands may wait for the thread before senders wait too.
const QUEUE: usize = 1024;

/// A [`TaskStore`] in a SQLite file (WAL journal, schema versioned with `PRAGMA user_version`).
///
/// One dedicated thread owns the connection; every method sends it a command and awaits the
/// answer, so async callers never block a runtime worker on SQLite.
///
/// # Durability
///
/// A write method ([`TaskStore::create`], [`TaskStore::append`], [`TaskStore::finish`],
/// [`TaskStore::mark_interrupted`]) returns only after its transaction has committed: what it
/// wrote survives a crash or kill of this process. Writes that arrive together (many tasks
/// streaming events) share one transaction, so they cost one commit. The file uses
/// `synchronous=NORMAL`, so a power loss or OS crash may undo the last commits before a WAL
/// checkpoint, never corrupt the file. A write whose caller stopped waiting (its future was
/// dropped) may still be stored.
///
/// Commands run in the order they reach the thread, so each caller reads its own writes.
///
/// # Sharing a file between processes
///
/// Several processes may open the same file (two `kopilot ask` in two terminals). Each open
/// store holds a lock on a file of its own in `<file>.owners/` and records its name on the
/// tasks it creates, so [`TaskStore::mark_interrupted`] leaves alone the tasks of processes
/// that still run (the operating system drops a dead process's locks, however it died).
///
/// ```no_run
/// # async fn demo() -> kopilot_core::Result<()> {
/// use kopilot_core::{SqliteStore, TaskStore};
///
/// let store = SqliteStore::open("/var/lib/kopilot/tasks.db")?;
/// let interrupted = store.mark_interrupted().await?; // at start-up, before running anything
/// println!("{interrupted} tasks were running when the process stopped");
/// for task in store.tasks(20).await? {
///     println!("{} {:?}", task.id, task.status());
/// }
/// store.close().await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct SqliteStore {
    commands: mpsc::Sender<Command>,
    /// Names the store in every error ("the SQLite task store /var/lib/kopilot/tasks.db").
    label: String,
    /// This store's claim on the tasks it creates.
    owner: Owner,
}

impl SqliteStore {
    /// Opens the store at `path`, creating the file and its parent directories if needed and
    /// bringing an older schema up to date.
    ///
    /// This blocks while it opens and migrates the file: call it at start-up.
    ///
    /// # Errors
    ///
    /// [`Error::Store`], naming the file, when it cannot be created or opened, is not a
    /// SQLite database, belongs to another program, or was written by a newer Kopilot.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let label = format!("the SQLite task store {}", path.display());
        let conn = schema::open_file(path, &label)?;
        let owner = Owner::claim(path, &label)?;
        Self::start(conn, label, owner)
    }

    /// A store in memory that nothing else can see and that ends with it (for tests).
    ///
    /// # Errors
    ///
    /// [`Error::Store`] if SQLite cannot start (out of memory) or the thread cannot spawn.
    pub fn in_memory() -> Result<Self> {
        let label = "the in-memory SQLite task store".to_owned();
        let conn = schema::open_in_memory(&label)?;
        Self::start(conn, label, Owner::in_memory())
    }

    /// Finishes every command sent before, then closes the file and stops the thread.
    ///
    /// Dropping the store instead lets the thread finish in the background; every write that
    /// had returned is already committed either way.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] if SQLite fails to close the file or the thread had already stopped.
    pub async fn close(self) -> Result<()> {
        self.call(Command::Close).await
    }

    fn start(conn: rusqlite::Connection, label: String, owner: Owner) -> Result<Self> {
        let (commands, receiver) = mpsc::channel(QUEUE);
        let thread_label = label.clone();
        std::thread::Builder::new()
            .name("kopilot-sqlite".to_owned())
            .spawn(move || writer::run(conn, &thread_label, receiver))
            .map_err(|e| Error::Store(format!("{label}: cannot start its thread: {e}")))?;
        Ok(Self {
            commands,
            label,
            owner,
        })
    }

    /// Sends a command and waits for its answer.
    async fn call<T>(&self, command: impl FnOnce(Reply<T>) -> Command) -> Result<T> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(command(reply))
            .await
            .map_err(|_| self.stopped())?;
        answer.await.map_err(|_| self.stopped())?
    }

    async fn write(&self, write: Write) -> Result<usize> {
        self.call(|reply| Command::Write(write, reply)).await
    }

    fn stopped(&self) -> Error {
        Error::Store(format!("{}: its thread has stopped", self.label))
    }

    fn to_json<T: serde::Serialize>(&self, what: &str, value: &T) -> Result<String> {
        serde_json::to_string(value)
            .map_err(|e| Error::Store(format!("{}: cannot encode {what}: {e}", self.label)))
    }

    fn to_record(&self, row: TaskRow) -> Result<TaskRecord> {
        let bad = |what: &str, e: serde_json::Error| {
            Error::Store(format!(
                "{}: a stored {what} is unreadable: {e}",
                self.label
            ))
        };
        let mut record: TaskRecord =
            serde_json::from_str(&row.record).map_err(|e| bad("task", e))?;
        record.result = row
            .result
            .map(|result| serde_json::from_str(&result))
            .transpose()
            .map_err(|e| bad(&format!("result of task `{}`", record.id), e))?;
        Ok(record)
    }

    fn to_records(&self, rows: Vec<TaskRow>) -> Result<Vec<TaskRecord>> {
        rows.into_iter().map(|row| self.to_record(row)).collect()
    }
}

/// SQLite integers are signed: larger numbers (`u64` seqs, `usize::MAX` limits) saturate.
fn to_sql_int<T: TryInto<i64>>(n: T) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}

#[async_trait]
impl TaskStore for SqliteStore {
    async fn create(&self, task: &TaskRecord) -> Result<()> {
        let created_at = task.created_at.format(&Rfc3339).map_err(|e| {
            Error::Store(format!(
                "{}: task `{}`: bad created_at: {e}",
                self.label, task.id
            ))
        })?;
        let request = TaskRecord {
            result: None,
            ..task.clone()
        };
        let write = Write::Create {
            id: task.id.clone(),
            session_id: task.session_id.clone(),
            created_at,
            status: task.status().map(Status::as_str),
            record: self.to_json(&format!("task `{}`", task.id), &request)?,
            result: task
                .result
                .as_ref()
                .map(|r| self.to_json(&format!("the result of task `{}`", task.id), r))
                .transpose()?,
            owner: self.owner.id().to_owned(),
        };
        self.write(write).await.map(drop)
    }

    async fn append(&self, event: &Event) -> Result<()> {
        let seq = i64::try_from(event.seq).map_err(|_| {
            Error::Store(format!(
                "{}: event seq {} of task `{}` is larger than SQLite can store",
                self.label, event.seq, event.task_id
            ))
        })?;
        let json = self.to_json(
            &format!("event {} of task `{}`", event.seq, event.task_id),
            event,
        )?;
        self.write(Write::Append {
            task_id: event.task_id.clone(),
            seq,
            json,
        })
        .await
        .map(drop)
    }

    async fn finish(&self, task_id: &str, result: &TaskResult) -> Result<()> {
        let write = Write::Finish {
            task_id: task_id.to_owned(),
            status: result.status.as_str(),
            result: self.to_json(&format!("the result of task `{task_id}`"), result)?,
        };
        self.write(write).await.map(drop)
    }

    async fn task(&self, task_id: &str) -> Result<Option<TaskRecord>> {
        let id = task_id.to_owned();
        let row = self
            .call(|reply| Command::Read(Read::Task { id, reply }))
            .await?;
        row.map(|row| self.to_record(row)).transpose()
    }

    async fn tasks(&self, limit: usize) -> Result<Vec<TaskRecord>> {
        let limit = to_sql_int(limit);
        let rows = self
            .call(|reply| Command::Read(Read::Tasks { limit, reply }))
            .await?;
        self.to_records(rows)
    }

    async fn query(&self, query: &TaskQuery) -> Result<Vec<TaskRecord>> {
        let limit = to_sql_int(query.limit);
        let read = |reply| {
            Command::Read(Read::Query {
                status: query.status.map(Status::as_str),
                session_id: query.session_id.clone(),
                requester: query.requester.clone(),
                limit,
                reply,
            })
        };
        let rows = self.call(read).await?;
        self.to_records(rows)
    }

    async fn events(&self, task_id: &str, from_seq: u64) -> Result<Vec<Event>> {
        let read = |reply| {
            let (task_id, from_seq) = (task_id.to_owned(), to_sql_int(from_seq));
            Command::Read(Read::Events {
                task_id,
                from_seq,
                reply,
            })
        };
        let rows = self.call(read).await?;
        rows.iter()
            .map(|json| {
                serde_json::from_str(json).map_err(|e| {
                    Error::Store(format!(
                        "{}: a stored event of task `{task_id}` is unreadable: {e}",
                        self.label
                    ))
                })
            })
            .collect()
    }

    async fn session(&self, session_id: &str, limit: usize) -> Result<Vec<TaskRecord>> {
        let read = |reply| {
            let (session_id, limit) = (session_id.to_owned(), to_sql_int(limit));
            Command::Read(Read::Session {
                session_id,
                limit,
                reply,
            })
        };
        let rows = self.call(read).await?;
        self.to_records(rows)
    }

    async fn running_elsewhere(&self, task_id: &str) -> Result<bool> {
        let id = task_id.to_owned();
        let owner = self
            .call(|reply| Command::Read(Read::UnfinishedOwner { id, reply }))
            .await?;
        Ok(owner
            .first()
            .is_some_and(|owner| !self.owner.is_gone(owner.as_deref())))
    }

    async fn mark_interrupted(&self) -> Result<usize> {
        let owners = self
            .call(|reply| Command::Read(Read::UnfinishedOwners { reply }))
            .await?;
        // Checking a lock is a few system calls on a local file, done once at start-up.
        let gone: Vec<String> = owners
            .into_iter()
            .filter(|owner| self.owner.is_gone(owner.as_deref()))
            .flatten()
            .collect();
        let result = interrupted_result();
        let write = Write::MarkInterrupted {
            status: result.status.as_str(),
            result: self.to_json("the interrupted result", &result)?,
            owners: self.to_json("the owners that are gone", &gone)?,
        };
        self.write(write).await
    }
}
