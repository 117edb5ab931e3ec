//! The store writer: task records, events and results written to the [`TaskStore`] in the order
//! they happened, off the tasks' path.

use std::collections::HashSet;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::event::{Event, TaskResult};
use crate::service::LiveTasks;
use crate::store::{TaskRecord, TaskStore};

/// Work for the store writer, in order.
pub(crate) enum Persist {
    Create(TaskRecord),
    Append(Event),
    Finish(String, TaskResult),
    /// Answered once everything sent before it has been written.
    Flush(oneshot::Sender<()>),
}

/// Writes tasks and events to the store in the order they happened, off the tasks' path. A
/// task whose result and every event are written leaves `live` (the task service then serves
/// it from the store); one the store failed for stays in memory, so nothing is lost from its
/// replay.
pub(crate) async fn store_writer(
    store: Arc<dyn TaskStore>,
    live: Arc<LiveTasks>,
    mut rx: mpsc::UnboundedReceiver<Persist>,
) {
    let mut failed: HashSet<String> = HashSet::new();
    while let Some(op) = rx.recv().await {
        let (task, outcome, finished) = match op {
            Persist::Flush(done) => {
                let _ = done.send(());
                continue;
            }
            Persist::Create(record) => {
                let outcome = store.create(&record).await;
                (record.id, outcome, false)
            }
            Persist::Append(event) => {
                let outcome = store.append(&event).await;
                (event.task_id, outcome, false)
            }
            Persist::Finish(id, result) => {
                let outcome = store.finish(&id, &result).await;
                (id, outcome, true)
            }
        };
        if let Err(e) = &outcome {
            tracing::warn!(error = %e, task = %task, "the task store failed; the task goes on, its history may be incomplete");
            failed.insert(task.clone());
        }
        if finished && !failed.remove(&task) {
            live.remove(&task);
        }
    }
}
