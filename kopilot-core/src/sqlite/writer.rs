//! The thread that owns the SQLite connection. Async callers send it [`Command`]s and await a
//! oneshot reply, so no runtime worker ever blocks on SQLite.
//!
//! Each time it wakes, the thread takes every command already queued (up to
//! [`MAX_BATCH`]) and runs them in arrival order. Consecutive writes share one transaction
//! and are answered only after it commits: many tasks streaming events pay for one commit,
//! not one each. A read ends the run of writes before it, so every caller sees the store as
//! if commands ran one at a time in the order they arrived.

use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::{mpsc, oneshot};

use crate::error::{Error, Result};

/// The most commands handled in one wake-up, which bounds a transaction's size.
const MAX_BATCH: usize = 512;

/// Where a command's answer goes.
pub(super) type Reply<T> = oneshot::Sender<Result<T>>;

/// A task row as stored: the record JSON (without result) and the result JSON.
#[derive(Debug)]
pub(super) struct TaskRow {
    pub(super) record: String,
    pub(super) result: Option<String>,
}

/// A change to the store. Each is a single statement.
#[derive(Debug)]
pub(super) enum Write {
    /// Insert a task (fails if the id exists).
    Create {
        id: String,
        session_id: Option<String>,
        created_at: String,
        status: Option<&'static str>,
        record: String,
        result: Option<String>,
        /// The id of the store (process) that runs it.
        owner: String,
    },
    /// Insert one event of an existing task.
    Append {
        task_id: String,
        seq: i64,
        json: String,
    },
    /// Set a task's result.
    Finish {
        task_id: String,
        status: &'static str,
        result: String,
    },
    /// Give every unfinished task of these owners (a JSON array of ids), and every unfinished
    /// task with no owner recorded, this result.
    MarkInterrupted {
        status: &'static str,
        result: String,
        owners: String,
    },
}

/// A query.
#[derive(Debug)]
pub(super) enum Read {
    Task {
        id: String,
        reply: Reply<Option<TaskRow>>,
    },
    Tasks {
        limit: i64,
        reply: Reply<Vec<TaskRow>>,
    },
    /// The distinct owners of the tasks without a result (`None` for rows without one).
    UnfinishedOwners { reply: Reply<Vec<Option<String>>> },
    /// The owner of one task without a result: no row when the task is unknown or has a
    /// result, one row (`None` when it recorded no owner) otherwise.
    UnfinishedOwner {
        id: String,
        reply: Reply<Vec<Option<String>>>,
    },
    Session {
        session_id: String,
        limit: i64,
        reply: Reply<Vec<TaskRow>>,
    },
    Query {
        status: Option<&'static str>,
        session_id: Option<String>,
        requester: Option<String>,
        limit: i64,
        reply: Reply<Vec<TaskRow>>,
    },
    Events {
        task_id: String,
        from_seq: i64,
        reply: Reply<Vec<String>>,
    },
}

/// What the thread is asked to do.
#[derive(Debug)]
pub(super) enum Command {
    /// A change; the reply carries how many rows it touched.
    Write(Write, Reply<usize>),
    /// A query.
    Read(Read),
    /// Finish everything queued before, close the connection and stop.
    Close(Reply<()>),
}

/// Runs the thread until every sender is gone or a [`Command::Close`] arrives.
pub(super) fn run(conn: Connection, label: &str, mut commands: mpsc::Receiver<Command>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut writes = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = commands.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match commands.try_recv() {
                Ok(command) => batch.push(command),
                Err(_) => break,
            }
        }
        for command in batch.drain(..) {
            match command {
                Command::Write(write, reply) => writes.push((write, reply)),
                Command::Read(read) => {
                    write_all(&conn, label, &mut writes);
                    answer(&conn, label, read);
                }
                Command::Close(reply) => {
                    write_all(&conn, label, &mut writes);
                    // Commands queued after `close` (none can be: it takes the store by
                    // value) would be dropped, and their callers told the thread stopped.
                    let closed = conn
                        .close()
                        .map_err(|(_, e)| Error::Store(format!("{label}: cannot close: {e}")));
                    let _gone = reply.send(closed);
                    return;
                }
            }
        }
        write_all(&conn, label, &mut writes);
    }
}

/// Runs the pending writes in one transaction and answers them once it has committed. If the
/// transaction as a whole fails (SQLite rolled it back, or the commit failed), every write is
/// retried on its own, so one bad write never costs the others theirs.
fn write_all(conn: &Connection, label: &str, writes: &mut Vec<(Write, Reply<usize>)>) {
    if writes.len() > 1
        && let Some(outcomes) = write_in_one_transaction(conn, label, writes)
    {
        for ((_, reply), outcome) in writes.drain(..).zip(outcomes) {
            let _gone = reply.send(outcome);
        }
        return;
    }
    // One statement outside a transaction is a transaction of its own.
    for (write, reply) in writes.drain(..) {
        let _gone = reply.send(apply(conn, label, &write));
    }
}

/// The outcome of each write, or `None` when the transaction was lost.
fn write_in_one_transaction(
    conn: &Connection,
    label: &str,
    writes: &[(Write, Reply<usize>)],
) -> Option<Vec<Result<usize>>> {
    conn.execute_batch("BEGIN IMMEDIATE").ok()?;
    let mut outcomes = Vec::with_capacity(writes.len());
    for (write, _) in writes {
        let outcome = apply(conn, label, write);
        // A failed statement (a duplicate id) only undoes itself; some errors (disk full,
        // I/O) make SQLite roll back the whole transaction, leaving autocommit mode.
        if outcome.is_err() && conn.is_autocommit() {
            return None;
        }
        outcomes.push(outcome);
    }
    if conn.execute_batch("COMMIT").is_err() {
        if !conn.is_autocommit() {
            let _rollback = conn.execute_batch("ROLLBACK");
        }
        return None;
    }
    Some(outcomes)
}

/// Runs one write, turning "no such task" into [`Error::UnknownTask`].
fn apply(conn: &Connection, label: &str, write: &Write) -> Result<usize> {
    let fail = |what: String, e: rusqlite::Error| Error::Store(format!("{label}: {what}: {e}"));
    match write {
        Write::Create {
            id,
            session_id,
            created_at,
            status,
            record,
            result,
            owner,
        } => conn
            .prepare_cached(
                "INSERT INTO tasks (id, session_id, created_at, status, record, result, owner)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    id, session_id, created_at, status, record, result, owner
                ])
            })
            .map_err(|e| match e.sqlite_error_code() {
                Some(rusqlite::ErrorCode::ConstraintViolation) => {
                    Error::Store(format!("task `{id}` already exists in {label}"))
                }
                _ => fail(format!("cannot create task `{id}`"), e),
            }),
        Write::Append { task_id, seq, json } => {
            let inserted = conn
                .prepare_cached(
                    "INSERT INTO events (task_id, seq, json)
                     SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM tasks WHERE id = ?1)",
                )
                .and_then(|mut stmt| stmt.execute(params![task_id, seq, json]))
                .map_err(|e| match e.sqlite_error_code() {
                    Some(rusqlite::ErrorCode::ConstraintViolation) => Error::Store(format!(
                        "{label}: task `{task_id}` already has an event with seq {seq}"
                    )),
                    _ => fail(format!("cannot append event {seq} of task `{task_id}`"), e),
                })?;
            known_task(inserted, task_id)
        }
        Write::Finish {
            task_id,
            status,
            result,
        } => {
            let updated = conn
                .prepare_cached("UPDATE tasks SET status = ?2, result = ?3 WHERE id = ?1")
                .and_then(|mut stmt| stmt.execute(params![task_id, status, result]))
                .map_err(|e| fail(format!("cannot record the result of task `{task_id}`"), e))?;
            known_task(updated, task_id)
        }
        Write::MarkInterrupted {
            status,
            result,
            owners,
        } => conn
            .prepare_cached(
                "UPDATE tasks SET status = ?1, result = ?2
                 WHERE status IS NULL
                   AND (owner IS NULL OR owner IN (SELECT value FROM json_each(?3)))",
            )
            .and_then(|mut stmt| stmt.execute(params![status, result, owners]))
            .map_err(|e| fail("cannot mark unfinished tasks as interrupted".to_owned(), e)),
    }
}

fn known_task(rows: usize, task_id: &str) -> Result<usize> {
    if rows == 0 {
        Err(Error::UnknownTask(task_id.to_owned()))
    } else {
        Ok(rows)
    }
}

/// Runs one query and sends its answer.
fn answer(conn: &Connection, label: &str, read: Read) {
    let fail =
        |what: String| move |e: rusqlite::Error| Error::Store(format!("{label}: {what}: {e}"));
    let task_row = |row: &rusqlite::Row<'_>| {
        Ok(TaskRow {
            record: row.get(0)?,
            result: row.get(1)?,
        })
    };
    match read {
        Read::Task { id, reply } => {
            let found = conn
                .prepare_cached("SELECT record, result FROM tasks WHERE id = ?1")
                .and_then(|mut stmt| stmt.query_row([&id], task_row).optional())
                .map_err(fail(format!("cannot read task `{id}`")));
            let _gone = reply.send(found);
        }
        Read::Tasks { limit, reply } => {
            let found = conn
                .prepare_cached("SELECT record, result FROM tasks ORDER BY n DESC LIMIT ?1")
                .and_then(|mut stmt| stmt.query_map([limit], task_row)?.collect())
                .map_err(fail("cannot list tasks".to_owned()));
            let _gone = reply.send(found);
        }
        Read::UnfinishedOwner { id, reply } => {
            let found = conn
                .prepare_cached("SELECT owner FROM tasks WHERE id = ?1 AND status IS NULL")
                .and_then(|mut stmt| {
                    stmt.query_map(params![id], |row| row.get::<_, Option<String>>(0))?
                        .collect()
                })
                .map_err(fail(format!("cannot read the owner of task {id}")));
            let _gone = reply.send(found);
        }
        Read::UnfinishedOwners { reply } => {
            let found = conn
                .prepare_cached("SELECT DISTINCT owner FROM tasks WHERE status IS NULL")
                .and_then(|mut stmt| stmt.query_map([], |row| row.get(0))?.collect())
                .map_err(fail(
                    "cannot list the owners of unfinished tasks".to_owned(),
                ));
            let _gone = reply.send(found);
        }
        Read::Query {
            status,
            session_id,
            requester,
            limit,
            reply,
        } => {
            // The requester is read from the stored record: no column of its own (yet).
            let found = conn
                .prepare_cached(
                    "SELECT record, result FROM tasks
                     WHERE (?1 IS NULL OR status = ?1)
                       AND (?2 IS NULL OR session_id = ?2)
                       AND (?3 IS NULL OR json_extract(record, '$.requester') = ?3)
                     ORDER BY n DESC LIMIT ?4",
                )
                .and_then(|mut stmt| {
                    stmt.query_map(params![status, session_id, requester, limit], task_row)?
                        .collect()
                })
                .map_err(fail("cannot list tasks".to_owned()));
            let _gone = reply.send(found);
        }
        Read::Session {
            session_id,
            limit,
            reply,
        } => {
            let found = conn
                .prepare_cached(
                    "SELECT record, result FROM tasks
                     WHERE session_id = ?1 AND status IS NOT NULL
                     ORDER BY n DESC LIMIT ?2",
                )
                .and_then(|mut stmt| {
                    stmt.query_map(params![session_id, limit], task_row)?
                        .collect()
                })
                .map(|mut rows: Vec<TaskRow>| {
                    rows.reverse();
                    rows
                })
                .map_err(fail(format!("cannot read session `{session_id}`")));
            let _gone = reply.send(found);
        }
        Read::Events {
            task_id,
            from_seq,
            reply,
        } => {
            let found = conn
                .prepare_cached(
                    "SELECT json FROM events WHERE task_id = ?1 AND seq >= ?2 ORDER BY seq",
                )
                .and_then(|mut stmt| {
                    stmt.query_map(params![task_id, from_seq], |row| row.get(0))?
                        .collect()
                })
                .map_err(fail(format!("cannot read the events of task `{task_id}`")));
            let _gone = reply.send(found);
        }
    }
}
