//! The store writer: task records, events and results written to the [`TaskStore`] in the order
//! they happened, off the tasks' path.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::event::{Event, TaskResult};
use crate::store::{TaskRecord, TaskStore};

/// Work for the store writer, in order.
pub(crate) enum Persist {
    Create(TaskRecord),
    Append(Event),
    Finish(String, TaskResult),
    /// Answered once everything sent before it has been written.
    Flush(oneshot::Sender<()>),
}

/// Writes tasks and events to the store in the order they happened, off the tasks' path.
pub(crate) async fn store_writer(
    store: Arc<dyn TaskStore>,
    mut rx: mpsc::UnboundedReceiver<Persist>,
) {
    while let Some(op) = rx.recv().await {
        let outcome = match &op {
            Persist::Create(record) => store.create(record).await,
            Persist::Append(event) => store.append(event).await,
            Persist::Finish(id, result) => store.finish(id, result).await,
            Persist::Flush(_) => Ok(()),
        };
        if let Persist::Flush(done) = op {
            let _ = done.send(());
            continue;
        }
        if let Err(e) = outcome {
            tracing::warn!(error = %e, "the task store failed; the task goes on, its history may be incomplete");
        }
    }
}
