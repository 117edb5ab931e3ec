//! What every task of one [`Kopilot`](crate::Kopilot) shares: the model, skills, guard, approver,
//! tools, store and limits, the slots that bound how many tasks run at once, and the way a task's
//! events reach its log and the store.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use time::OffsetDateTime;
use tokio::sync::{Semaphore, mpsc};

use super::persist::Persist;
use crate::Prices;
use crate::event::{Event, EventKind, redacted};
use crate::limits::Limits;
use crate::llm::ChatModel;
use crate::log::EventLog;
use crate::preview::ChangePreviewer;
use crate::safety::{Approver, ChannelApprover, Guard};
use crate::service::LiveTasks;
use crate::skills::SkillRegistry;
use crate::store::TaskStore;
use crate::tool::Tool;

/// The runtime's shared parts, built once by the builder and read by every task.
pub(crate) struct Runtime {
    /// `None`: every task runs offline.
    pub(crate) model: Option<Arc<dyn ChatModel>>,
    pub(crate) skills: Arc<SkillRegistry>,
    pub(crate) guard: Guard,
    pub(crate) approver: Arc<dyn Approver>,
    pub(crate) tools: HashMap<String, Arc<dyn Tool>>,
    /// The tools' names in the order they were added (what the model and error messages see).
    pub(crate) tool_order: Vec<String>,
    pub(crate) store: Arc<dyn TaskStore>,
    pub(crate) limits: Limits,
    /// The model's prices, when known: the dollar budget is enforced only with them.
    pub(crate) prices: Option<Prices>,
    pub(crate) reflect_by_default: bool,
    pub(crate) reflection_threshold: u8,
    /// One permit per task allowed to run at once.
    pub(crate) slots: Arc<Semaphore>,
    /// Tasks running now (queued ones excluded).
    pub(crate) running: AtomicUsize,
    /// The store writer's queue.
    pub(crate) persist: mpsc::UnboundedSender<Persist>,
    /// The tasks held in memory, by id (the task service's view of running tasks).
    pub(crate) live: Arc<LiveTasks>,
    /// Where pending approvals can be listed and answered by id, when the builder was given
    /// one (it is then also the approver).
    pub(crate) desk: Option<ChannelApprover>,
    /// Shows the approver what a command would change, when the builder was given one.
    pub(crate) previewer: Option<Arc<dyn ChangePreviewer>>,
}

impl Runtime {
    /// Redacts `kind`, appends it to the task's log and queues it for the store.
    pub(crate) fn emit(
        &self,
        log: &EventLog,
        task_id: &str,
        agent: &str,
        kind: EventKind,
    ) -> Event {
        // Queued for the store before anyone can see it: a caller that sees the `response`
        // and then calls `flush` finds the whole task (result included) in the store.
        log.push_with(
            |seq| Event {
                task_id: task_id.to_owned(),
                seq,
                ts: OffsetDateTime::now_utc(),
                agent: agent.to_owned(),
                event: redacted(kind),
            },
            |event| {
                let _ = self.persist.send(Persist::Append(event.clone()));
                if let EventKind::Response(result) = &event.event {
                    let _ = self
                        .persist
                        .send(Persist::Finish(task_id.to_owned(), result.clone()));
                }
            },
        )
    }
}
