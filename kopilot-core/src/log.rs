//! A task's event log: the backlog every subscriber can replay, plus a live tail. Producers
//! never wait for subscribers; each subscriber reads at its own pace.

use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

use futures::Stream;
use tokio::sync::watch;

use crate::event::{Event, EventKind, Status};

/// A stream of a task's events; ends after the terminal `response` event.
pub type EventStream = Pin<Box<dyn Stream<Item = Event> + Send>>;

#[derive(Debug)]
pub(crate) struct EventLog {
    events: Mutex<Vec<Event>>,
    len: watch::Sender<usize>,
    /// Where the task is, as its events so far say ([`LiveStatus`]).
    status: Mutex<LiveStatus>,
}

/// A task's status folded from its events: queued until `task_started`, waiting for approval
/// while more approvals were requested than decided, finished at the `response`. Any reader of
/// the events (the store's too) can fold the same way, so every adapter sees the same status.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LiveStatus {
    started: bool,
    waiting: usize,
    finished: Option<Status>,
}

impl LiveStatus {
    /// Takes one more event into account.
    pub(crate) fn push(&mut self, event: &EventKind) {
        match event {
            EventKind::TaskStarted { .. } => self.started = true,
            EventKind::ApprovalRequested { .. } => self.waiting += 1,
            EventKind::ApprovalDecided { .. } => self.waiting = self.waiting.saturating_sub(1),
            EventKind::Response(result) => self.finished = Some(result.status),
            _ => {}
        }
    }

    /// The status the events so far give.
    pub(crate) fn status(self) -> Status {
        match self.finished {
            Some(status) => status,
            None if !self.started => Status::Queued,
            None if self.waiting > 0 => Status::WaitingForApproval,
            None => Status::Running,
        }
    }
}

impl EventLog {
    pub(crate) fn new() -> Arc<Self> {
        let (len, _) = watch::channel(0);
        Arc::new(Self {
            events: Mutex::new(Vec::new()),
            len,
            status: Mutex::new(LiveStatus::default()),
        })
    }

    /// Appends an event built from the next sequence number.
    /// Appends the event `make` builds for the next `seq`. `before_publish` runs first, under
    /// the log's lock: whatever it hands on (the store's queue) gets events in `seq` order and
    /// before any subscriber can see them.
    pub(crate) fn push_with(
        &self,
        make: impl FnOnce(u64) -> Event,
        before_publish: impl FnOnce(&Event),
    ) -> Event {
        let mut events = self.events.lock().unwrap_or_else(PoisonError::into_inner);
        let event = make(events.len() as u64 + 1);
        before_publish(&event);
        self.status
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(&event.event);
        events.push(event.clone());
        let len = events.len();
        drop(events);
        self.len.send_replace(len);
        event
    }

    /// Where the task is, as its events so far say.
    pub(crate) fn status(&self) -> Status {
        self.status
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .status()
    }

    fn get(&self, index: usize) -> Option<Event> {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(index)
            .cloned()
    }

    /// Events with `seq >= from_seq`, then the live tail, ending after the terminal event.
    pub(crate) fn subscribe(self: &Arc<Self>, from_seq: u64) -> EventStream {
        let cursor = usize::try_from(from_seq.saturating_sub(1)).unwrap_or(usize::MAX);
        let rx = self.len.subscribe();
        let state = (Arc::clone(self), rx, cursor, false);
        Box::pin(futures::stream::unfold(
            state,
            |(log, mut rx, cursor, done)| async move {
                if done {
                    return None;
                }
                loop {
                    if let Some(event) = log.get(cursor) {
                        let terminal = event.is_terminal();
                        return Some((event, (log, rx, cursor + 1, terminal)));
                    }
                    if log.is_finished() || rx.changed().await.is_err() && log.get(cursor).is_none()
                    {
                        return None;
                    }
                }
            },
        ))
    }

    fn is_finished(&self) -> bool {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .last()
            .is_some_and(Event::is_terminal)
    }
}
