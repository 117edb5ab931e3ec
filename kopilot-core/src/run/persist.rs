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

/// The most operations handed to the store at once.
const MAX_IN_FLIGHT: usize = 512;

/// Writes tasks and events to the store in the order they happened, off the tasks' path. A
/// task whose result and every event are written leaves `live` (the task service then serves
/// it from the store); one the store failed for stays in memory, so nothing is lost from its
/// replay.
///
/// What is waiting is handed to the store together (up to [`MAX_IN_FLIGHT`] at once), in
/// order, instead of one write at a time: a store that commits what it receives together (the
/// SQLite store) then pays one commit for many events, and keeps up with many tasks streaming
/// at once.
pub(crate) async fn store_writer(
    store: Arc<dyn TaskStore>,
    live: Arc<LiveTasks>,
    mut rx: mpsc::UnboundedReceiver<Persist>,
) {
    let mut failed: HashSet<String> = HashSet::new();
    let mut batch: Vec<Persist> = Vec::with_capacity(MAX_IN_FLIGHT);
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < MAX_IN_FLIGHT {
            match rx.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        let mut ops = batch.drain(..).peekable();
        while ops.peek().is_some() {
            // The writes up to the next flush go together; a flush is answered once they are
            // written.
            let mut writes = Vec::new();
            let mut flush = None;
            for op in ops.by_ref() {
                match op {
                    Persist::Flush(done) => {
                        flush = Some(done);
                        break;
                    }
                    write => writes.push(write),
                }
            }
            write_in_order(store.as_ref(), &live, &mut failed, writes).await;
            if let Some(done) = flush {
                let _ = done.send(());
            }
        }
    }
}

/// Hands `writes` to the store at once (each is sent to it when first polled, in order) and
/// takes their outcomes in order.
async fn write_in_order(
    store: &dyn TaskStore,
    live: &LiveTasks,
    failed: &mut HashSet<String>,
    writes: Vec<Persist>,
) {
    let pending = writes.iter().map(|op| async move {
        match op {
            Persist::Create(record) => Some((&record.id, store.create(record).await, false)),
            Persist::Append(event) => Some((&event.task_id, store.append(event).await, false)),
            Persist::Finish(id, result) => Some((id, store.finish(id, result).await, true)),
            // Answered by the caller, never among the writes.
            Persist::Flush(_) => None,
        }
    });
    let outcomes = futures::future::join_all(pending).await;
    for (task, outcome, finished) in outcomes.into_iter().flatten() {
        if let Err(e) = &outcome {
            tracing::warn!(error = %e, task = %task, "the task store failed; the task goes on, its history may be incomplete");
            failed.insert(task.clone());
        }
        if finished && !failed.remove(task) {
            live.remove(task);
        }
    }
}
