//! Where tasks, their events and results are kept: the [`TaskStore`] trait and an in-memory
//! store. The SQLite store is in `sqlite` (feature `sqlite`).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::event::{Event, Status, TaskResult};
use crate::{ErrorCode, Failure};

/// A task as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRecord {
    /// The task id.
    pub id: String,
    /// The prompt.
    pub prompt: String,
    /// The skill asked for, if any.
    pub skill: Option<String>,
    /// The session it continues, if any.
    pub session_id: Option<String>,
    /// Who asked.
    pub requester: String,
    /// When it was submitted.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The result once it ended (`None` while queued or running).
    pub result: Option<TaskResult>,
}

impl TaskRecord {
    /// The task's status, `None` while queued or running.
    pub fn status(&self) -> Option<Status> {
        self.result.as_ref().map(|r| r.status)
    }
}

/// Which tasks to list: every filter given must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskQuery {
    /// Only tasks with this status.
    pub status: Option<Status>,
    /// Only tasks of this session.
    pub session_id: Option<String>,
    /// Only tasks this requester asked.
    pub requester: Option<String>,
    /// At most this many, the newest.
    pub limit: usize,
}

impl Default for TaskQuery {
    fn default() -> Self {
        Self {
            status: None,
            session_id: None,
            requester: None,
            limit: 50,
        }
    }
}

impl TaskQuery {
    /// The newest `limit` tasks, unfiltered.
    pub fn newest(limit: usize) -> Self {
        Self {
            limit,
            ..Self::default()
        }
    }

    /// Only tasks with `status`.
    #[must_use]
    pub fn status(mut self, status: Status) -> Self {
        self.status = Some(status);
        self
    }

    /// Only tasks of `session_id`.
    #[must_use]
    pub fn session(mut self, session_id: impl Into<String>) -> Self {
        self.session_id = Some(session_id.into());
        self
    }

    /// Only tasks `requester` asked.
    #[must_use]
    pub fn requester(mut self, requester: impl Into<String>) -> Self {
        self.requester = Some(requester.into());
        self
    }

    /// Whether a stored task matches (a task without a result has no status to match).
    pub fn matches(&self, task: &TaskRecord) -> bool {
        self.admits(task.status(), task.session_id.as_deref(), &task.requester)
    }

    /// Whether a task with this status, session and requester matches.
    pub(crate) fn admits(
        &self,
        status: Option<Status>,
        session_id: Option<&str>,
        requester: &str,
    ) -> bool {
        self.status.is_none_or(|s| status == Some(s))
            && self
                .session_id
                .as_deref()
                .is_none_or(|s| session_id == Some(s))
            && self.requester.as_deref().is_none_or(|r| requester == r)
    }
}

/// Stores tasks, their events and their results. Implementations must keep events in `seq`
/// order per task and must survive concurrent calls.
///
/// The runtime's store writer has several writes in flight at once (up to 512): it calls
/// them in the order things happened (a task's creation, its events in `seq` order, its
/// result) before awaiting any, so an implementation must apply its writes in the order its
/// methods were first polled, as the SQLite store does by queueing them to one thread. A store
/// that sends each call off on its own (a connection pool) must serialize them itself.
#[async_trait]
pub trait TaskStore: Send + Sync {
    /// Records a new task.
    async fn create(&self, task: &TaskRecord) -> Result<()>;
    /// Appends one event of a task.
    async fn append(&self, event: &Event) -> Result<()>;
    /// Records a task's result.
    async fn finish(&self, task_id: &str, result: &TaskResult) -> Result<()>;
    /// One task.
    async fn task(&self, task_id: &str) -> Result<Option<TaskRecord>>;
    /// The most recent tasks, newest first.
    async fn tasks(&self, limit: usize) -> Result<Vec<TaskRecord>>;
    /// The most recent tasks that match `query`, newest first. The default reads every task
    /// through [`TaskStore::tasks`] and filters; a store that can filter itself should.
    async fn query(&self, query: &TaskQuery) -> Result<Vec<TaskRecord>> {
        Ok(self
            .tasks(usize::MAX)
            .await?
            .into_iter()
            .filter(|t| query.matches(t))
            .take(query.limit)
            .collect())
    }
    /// A task's events with `seq >= from_seq`, in order.
    async fn events(&self, task_id: &str, from_seq: u64) -> Result<Vec<Event>>;
    /// The last `limit` finished tasks of a session, oldest first.
    async fn session(&self, session_id: &str, limit: usize) -> Result<Vec<TaskRecord>>;
    /// Marks every task without a result as [`Status::Interrupted`] (call at start-up, before
    /// running anything), except the tasks other live processes that share the store are
    /// running (a file store knows them). Returns how many were marked.
    async fn mark_interrupted(&self) -> Result<usize>;
    /// Whether a task stored without a result is being run by another live process that
    /// shares this store (it is running there, not interrupted). A store no other process
    /// opens answers `false`.
    async fn running_elsewhere(&self, task_id: &str) -> Result<bool> {
        let _ = task_id;
        Ok(false)
    }
}

/// A [`TaskStore`] in memory: nothing survives the process.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<MemoryInner>,
}

#[derive(Debug, Default)]
struct MemoryInner {
    order: Vec<String>,
    tasks: HashMap<String, TaskRecord>,
    events: HashMap<String, Vec<Event>>,
}

impl MemoryStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryInner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl TaskStore for MemoryStore {
    async fn create(&self, task: &TaskRecord) -> Result<()> {
        let mut inner = self.lock();
        if inner.tasks.contains_key(&task.id) {
            return Err(Error::Store(format!("task `{}` already exists", task.id)));
        }
        inner.order.push(task.id.clone());
        inner.tasks.insert(task.id.clone(), task.clone());
        Ok(())
    }

    async fn append(&self, event: &Event) -> Result<()> {
        let mut inner = self.lock();
        if !inner.tasks.contains_key(&event.task_id) {
            return Err(Error::UnknownTask(event.task_id.clone()));
        }
        inner
            .events
            .entry(event.task_id.clone())
            .or_default()
            .push(event.clone());
        Ok(())
    }

    async fn finish(&self, task_id: &str, result: &TaskResult) -> Result<()> {
        let mut inner = self.lock();
        let task = inner
            .tasks
            .get_mut(task_id)
            .ok_or_else(|| Error::UnknownTask(task_id.to_owned()))?;
        task.result = Some(result.clone());
        Ok(())
    }

    async fn task(&self, task_id: &str) -> Result<Option<TaskRecord>> {
        Ok(self.lock().tasks.get(task_id).cloned())
    }

    async fn tasks(&self, limit: usize) -> Result<Vec<TaskRecord>> {
        let inner = self.lock();
        Ok(inner
            .order
            .iter()
            .rev()
            .take(limit)
            .filter_map(|id| inner.tasks.get(id).cloned())
            .collect())
    }

    async fn events(&self, task_id: &str, from_seq: u64) -> Result<Vec<Event>> {
        Ok(self
            .lock()
            .events
            .get(task_id)
            .map(|events| {
                events
                    .iter()
                    .filter(|e| e.seq >= from_seq)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn session(&self, session_id: &str, limit: usize) -> Result<Vec<TaskRecord>> {
        let inner = self.lock();
        let finished: Vec<TaskRecord> = inner
            .order
            .iter()
            .filter_map(|id| inner.tasks.get(id))
            .filter(|t| t.session_id.as_deref() == Some(session_id) && t.result.is_some())
            .cloned()
            .collect();
        let skip = finished.len().saturating_sub(limit);
        Ok(finished.into_iter().skip(skip).collect())
    }

    async fn mark_interrupted(&self) -> Result<usize> {
        let mut inner = self.lock();
        let mut marked = 0;
        for task in inner.tasks.values_mut() {
            if task.result.is_none() {
                task.result = Some(interrupted_result());
                marked += 1;
            }
        }
        Ok(marked)
    }
}

/// The result recorded for a task found running after a restart.
pub fn interrupted_result() -> TaskResult {
    TaskResult::failed(
        Status::Interrupted,
        Failure::new(
            ErrorCode::Interrupted,
            "the process stopped while this task was running",
        ),
    )
}
