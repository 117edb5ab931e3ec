//! The task service: every task of a [`Kopilot`] by its id, for any adapter, not only the code
//! that submitted it. Look a task up, list tasks, follow a task's events from any `seq` (live
//! from memory while it runs, from the store once it has ended, so a task that ran before a
//! restart replays the same way), cancel it, and list and answer the approvals its commands
//! wait for.
//!
//! Memory stays bounded: a task is held in memory while it runs, and dropped once its result
//! and every event are in the store; from then on it is served from the store.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::event::{Event, EventKind, Status, TaskResult};
use crate::kopilot::{Kopilot, TaskHandle};
use crate::log::EventStream;
use crate::safety::{ApprovalRequest, Identity};
use crate::store::{TaskQuery, TaskRecord};

/// A task as the service reports it: what was asked, by whom, where it is, and its result once
/// it has one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TaskInfo {
    /// The task id.
    pub id: String,
    /// The prompt, with secret values redacted.
    pub prompt: String,
    /// The skill asked for, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skill: Option<String>,
    /// The session it continues, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// Who asked.
    pub requester: String,
    /// When it was submitted.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub created_at: OffsetDateTime,
    /// Where it is: queued, running, waiting for approval, or how it ended.
    pub status: Status,
    /// The result, once it has ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<TaskResult>,
}

impl TaskInfo {
    /// A stored task as the service shows it. One without a result is either run by another
    /// live process sharing the store (`elsewhere`: shown as running; its live status is not
    /// stored) or was running when its process stopped (shown as interrupted, as the store
    /// marks it at the next start).
    fn from_record(record: TaskRecord, elsewhere: bool) -> Self {
        let status = record.status().unwrap_or(if elsewhere {
            Status::Running
        } else {
            Status::Interrupted
        });
        Self {
            id: record.id,
            prompt: record.prompt,
            skill: record.skill,
            session_id: record.session_id,
            requester: record.requester,
            created_at: record.created_at,
            status,
            result: record.result,
        }
    }

    fn matches(&self, query: &TaskQuery) -> bool {
        query.admits(
            Some(self.status),
            self.session_id.as_deref(),
            &self.requester,
        )
    }
}

/// One task held in memory while it runs.
#[derive(Debug)]
struct LiveTask {
    handle: TaskHandle,
    record: TaskRecord,
}

/// The tasks held in memory: submitted and not yet wholly in the store.
#[derive(Debug, Default)]
pub(crate) struct LiveTasks {
    tasks: Mutex<HashMap<String, LiveTask>>,
}

impl LiveTasks {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, LiveTask>> {
        self.tasks.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Holds a task just submitted.
    pub(crate) fn insert(&self, handle: TaskHandle, record: TaskRecord) {
        self.lock()
            .insert(handle.id().to_owned(), LiveTask { handle, record });
    }

    /// Lets a task go once its result and every event are in the store.
    pub(crate) fn remove(&self, id: &str) {
        self.lock().remove(id);
    }

    fn handle(&self, id: &str) -> Option<TaskHandle> {
        self.lock().get(id).map(|t| t.handle.clone())
    }

    fn info(&self, id: &str) -> Option<TaskInfo> {
        self.lock().get(id).map(LiveTask::info)
    }

    fn all(&self) -> Vec<TaskInfo> {
        self.lock().values().map(LiveTask::info).collect()
    }
}

impl LiveTask {
    fn info(&self) -> TaskInfo {
        let status = self.handle.status();
        TaskInfo {
            result: if status.is_terminal() {
                self.handle.finished_result()
            } else {
                None
            },
            status,
            ..TaskInfo::from_record(self.record.clone(), false)
        }
    }
}

impl Kopilot {
    /// The handle of a task held in memory (one that has not yet ended, or whose end is not
    /// yet in the store); `None` otherwise. Prefer [`Kopilot::follow`] and [`Kopilot::task`],
    /// which also serve ended tasks.
    pub fn handle(&self, id: &str) -> Option<TaskHandle> {
        self.inner.live.handle(id)
    }

    /// One task, running or ended.
    ///
    /// # Errors
    /// [`Error::UnknownTask`] when neither memory nor the store knows it; [`Error::Store`] when
    /// the store cannot be read.
    pub async fn task(&self, id: &str) -> Result<TaskInfo> {
        if let Some(info) = self.inner.live.info(id) {
            return Ok(info);
        }
        match self.inner.store.task(id).await? {
            Some(record) => self.stored_info(record).await,
            None => Err(Error::UnknownTask(id.to_owned())),
        }
    }

    /// A stored task, asking the store whether another live process runs it when it has no
    /// result.
    async fn stored_info(&self, record: TaskRecord) -> Result<TaskInfo> {
        let elsewhere =
            record.result.is_none() && self.inner.store.running_elsewhere(&record.id).await?;
        Ok(TaskInfo::from_record(record, elsewhere))
    }

    /// Tasks that match `query`, newest first: those held in memory and those in the store. A
    /// query by a live status (`running`, `queued`, `waiting_for_approval`) lists this
    /// process's tasks only.
    ///
    /// # Errors
    /// [`Error::Store`] when the store cannot be read.
    pub async fn tasks(&self, query: &TaskQuery) -> Result<Vec<TaskInfo>> {
        let mut list: Vec<TaskInfo> = self
            .inner
            .live
            .all()
            .into_iter()
            .filter(|t| t.matches(query))
            .collect();
        // The store's answer may repeat a task still in memory (ended, its record written,
        // not yet let go): memory's view wins. Finished statuses are the store's to filter;
        // live ones are only in memory, and a stored task without a result shows as
        // interrupted.
        let stored_query = TaskQuery {
            status: query.status.filter(|s| s.is_terminal()),
            ..query.clone()
        };
        if query.status.is_none_or(Status::is_terminal) {
            for record in self.inner.store.query(&stored_query).await? {
                let info = self.stored_info(record).await?;
                if info.matches(query) && !list.iter().any(|t| t.id == info.id) {
                    list.push(info);
                }
            }
        }
        list.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        list.truncate(query.limit);
        Ok(list)
    }

    /// A task's events with `seq >= from_seq` (from 1; 0 means from the start), then, while it
    /// runs, the live tail; the stream ends after the `response` event. An ended task is
    /// replayed from the store, also one that ran in an earlier process. A task whose process
    /// died and that a later process marked `interrupted` replays what the store holds, then a
    /// `response` event with that result (the next `seq`, not stored); one that another live
    /// process sharing the store runs replays what the store holds so far and ends there.
    ///
    /// # Errors
    /// [`Error::UnknownTask`] when neither memory nor the store knows the task;
    /// [`Error::Store`] when the store cannot be read.
    pub async fn follow(&self, id: &str, from_seq: u64) -> Result<EventStream> {
        if let Some(handle) = self.inner.live.handle(id) {
            return Ok(handle.events_from(from_seq));
        }
        let Some(record) = self.inner.store.task(id).await? else {
            return Err(Error::UnknownTask(id.to_owned()));
        };
        // Not in memory means its end is in the store with every event before it.
        let from_seq = from_seq.max(1);
        let mut events = self.inner.store.events(id, from_seq).await?;
        // A task whose process died was given its result (`interrupted`) by a later process,
        // not by its own `response` event: the replay ends with that result all the same, as
        // the next `seq` after what was stored, so every stream of an ended task ends the
        // same way.
        if let Some(result) = record.result
            && !events.last().is_some_and(Event::is_terminal)
        {
            // When `from_seq` is past what was stored, the stored tail is read to find the end.
            let stored_tail = if events.is_empty() {
                self.inner.store.events(id, 1).await?
            } else {
                Vec::new()
            };
            let last = events.last().or(stored_tail.last());
            if !last.is_some_and(Event::is_terminal) {
                let (seq, ts) = last.map_or((1, record.created_at), |e| (e.seq + 1, e.ts));
                if seq >= from_seq {
                    events.push(Event {
                        task_id: id.to_owned(),
                        seq,
                        ts,
                        agent: crate::names::agents::RUNTIME.to_owned(),
                        event: EventKind::Response(result),
                    });
                }
            }
        }
        Ok(futures::stream::iter(events).boxed())
    }

    /// Cancels a running or queued task: it stops within a second wherever it is and ends as
    /// `cancelled`.
    ///
    /// # Errors
    /// [`Error::TaskEnded`] when the task has already ended; [`Error::UnknownTask`] when no
    /// task has that id.
    pub async fn cancel(&self, id: &str) -> Result<()> {
        if let Some(handle) = self.inner.live.handle(id)
            && !handle.status().is_terminal()
        {
            handle.cancel();
            return Ok(());
        }
        let info = self.task(id).await?;
        Err(Error::TaskEnded {
            id: id.to_owned(),
            status: info.status,
        })
    }

    /// The approval requests waiting for an answer, oldest first, when the runtime was built
    /// with an approval desk ([`KopilotBuilder::approval_desk`]); empty otherwise.
    ///
    /// [`KopilotBuilder::approval_desk`]: crate::KopilotBuilder::approval_desk
    pub fn approvals(&self) -> Vec<ApprovalRequest> {
        self.inner
            .desk
            .as_ref()
            .map(crate::safety::ChannelApprover::pending)
            .unwrap_or_default()
    }

    /// Answers a pending approval request by its id, in the name of `by`: an identity the
    /// adapter established (a verified token, the local user), never a name the caller sent.
    /// The guard still checks the answer when the task resumes (in time, four-eyes, bound to
    /// the exact command).
    ///
    /// # Errors
    /// [`Error::Safety`] with `ApprovalExpired` when the request expired unanswered (it counted
    /// as denied), `UnknownApproval` when nothing is pending under that id (or the
    /// runtime has no approval desk), or `FourEyes` when four-eyes is on and `by` asked for
    /// the command.
    pub fn answer_approval(
        &self,
        id: &str,
        approved: bool,
        by: &Identity,
        reason: Option<String>,
    ) -> Result<()> {
        let Some(desk) = &self.inner.desk else {
            return Err(crate::safety::Error::UnknownApproval(id.to_owned()).into());
        };
        desk.answer(id, approved, by, reason)?;
        Ok(())
    }
}
