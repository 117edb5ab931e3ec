//! `GET /tasks/{id}/events`: a task's events as Server-Sent Events.
//!
//! Each event's `id:` is its `seq` and its `data:` the protocol's JSON. `Last-Event-ID: N`
//! resumes at `N + 1`; `?from_seq=N` starts at `N` (0 or 1: from the start). The backlog comes
//! first, then the live tail; idle streams get keep-alive comments; the stream ends after the
//! `response` event.
//!
//! A slow client never holds the task up: the task writes its log whatever its readers do,
//! and each subscriber has a bounded buffer. When that buffer stays full for longer than the
//! configured stall, the subscriber gets a last `lagged` notice (event name `lagged`, data
//! [`StreamNotice::Lagged`] with the `seq` to resume from) and its stream ends; it can follow
//! again from there and lose nothing.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use axum::extract::rejection::QueryRejection;
use axum::extract::ws::{Message, WebSocketUpgrade};
use axum::extract::{Extension, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures::{Stream, StreamExt};
use kopilot_core::protocol::StreamNotice;
use kopilot_core::{Event, EventStream};
use serde::Deserialize;
use tokio::sync::mpsc;

use crate::AppState;
use crate::admission::require;
use crate::error::{ApiError, ApiResult};
use crate::tokens::{Caller, Role};

/// `?from_seq=N`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FollowParams {
    /// The first `seq` to send (0 or 1: from the start); `Last-Event-ID` wins over it.
    #[serde(default)]
    from_seq: Option<u64>,
}

/// How many event-stream subscribers are connected now (for `/metrics`).
pub(crate) static SUBSCRIBERS: AtomicUsize = AtomicUsize::new(0);

/// Counts a subscriber while its stream lives.
struct Subscribed;

impl Subscribed {
    fn new() -> Self {
        SUBSCRIBERS.fetch_add(1, Ordering::Relaxed);
        Self
    }
}

impl Drop for Subscribed {
    fn drop(&mut self) {
        SUBSCRIBERS.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Where to start: `Last-Event-ID` (the browser's reconnect) wins over `?from_seq`.
pub(crate) fn start_seq(headers: &HeaderMap, from_seq: Option<u64>) -> ApiResult<u64> {
    if let Some(last) = headers.get("last-event-id") {
        let last = last
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .ok_or_else(|| {
                ApiError::invalid("Last-Event-ID must be the `seq` of the last event received")
            })?;
        return Ok(Event::resume_from(last));
    }
    Ok(from_seq.unwrap_or(1).max(1))
}

/// One item for a subscriber: an event, or the notice that ends a lagging stream.
enum Item {
    Event(Box<Event>),
    Lagged(u64),
}

/// Feeds `events` into a bounded buffer for one subscriber, until the stream ends, the
/// subscriber goes away, or the buffer stays full for longer than `stall`: then the stream
/// ends with the `lagged` notice after what was buffered.
fn bounded(
    mut events: EventStream,
    capacity: usize,
    stall: std::time::Duration,
) -> impl Stream<Item = Item> + Send {
    let (tx, mut rx) = mpsc::channel::<Box<Event>>(capacity.max(1));
    // The seq the subscriber must resume from, once it lagged (0: it has not).
    let lagged = Arc::new(AtomicU64::new(0));
    let feeder_lagged = Arc::clone(&lagged);
    tokio::spawn(async move {
        while let Some(event) = events.next().await {
            match tokio::time::timeout(stall, tx.reserve()).await {
                Ok(Ok(slot)) => slot.send(Box::new(event)),
                // The subscriber went away.
                Ok(Err(_)) => return,
                Err(_) => {
                    feeder_lagged.store(event.seq, Ordering::SeqCst);
                    return;
                }
            }
        }
    });
    let mut told = false;
    futures::stream::poll_fn(move |cx| match rx.poll_recv(cx) {
        std::task::Poll::Ready(Some(event)) => std::task::Poll::Ready(Some(Item::Event(event))),
        std::task::Poll::Ready(None) => {
            let resume_from = lagged.load(Ordering::SeqCst);
            if told || resume_from == 0 {
                std::task::Poll::Ready(None)
            } else {
                told = true;
                std::task::Poll::Ready(Some(Item::Lagged(resume_from)))
            }
        }
        std::task::Poll::Pending => std::task::Poll::Pending,
    })
}

/// The notice that ends a lagging subscriber's stream.
fn lagged(resume_from: u64) -> StreamNotice {
    StreamNotice::Lagged {
        resume_from,
        message: format!(
            "this stream read too slowly and was ended; follow again from seq {resume_from} (Last-Event-ID: {})",
            resume_from.saturating_sub(1)
        ),
    }
}

fn sse_of(item: Item) -> SseEvent {
    match item {
        Item::Event(event) => {
            let data = serde_json::to_string(&*event).unwrap_or_else(|e| {
                format!(
                    r#"{{"type":"notification","message":"event {} could not be written: {e}"}}"#,
                    event.seq
                )
            });
            SseEvent::default().id(event.seq.to_string()).data(data)
        }
        Item::Lagged(resume_from) => SseEvent::default()
            .event("lagged")
            .data(serde_json::to_string(&lagged(resume_from)).unwrap_or_default()),
    }
}

/// A task's events for `caller`, from where the request says (SSE and WebSocket alike).
async fn open(
    state: &AppState,
    caller: &Caller,
    id: &str,
    headers: &HeaderMap,
    query: Result<Query<FollowParams>, QueryRejection>,
) -> ApiResult<EventStream> {
    require(caller, Role::Viewer, "following a task")?;
    let Query(params) = query.map_err(|e| ApiError::invalid(e.body_text()))?;
    let from = start_seq(headers, params.from_seq)?;
    Ok(state.kopilot.follow(id, from).await?)
}

/// `GET /tasks/{id}/events/ws`: the same stream over a WebSocket: one text message per event
/// (the protocol's JSON), the `lagged` notice as a text message of its own, and a normal close
/// after the `response` event. Where to start is read as for SSE (`Last-Event-ID` header or
/// `?from_seq`); what the client sends is ignored.
pub(crate) async fn websocket(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: Result<Query<FollowParams>, QueryRejection>,
    upgrade: WebSocketUpgrade,
) -> ApiResult<axum::response::Response> {
    let events = open(&state, &caller, &id, &headers, query).await?;
    let (capacity, stall) = (
        state.config.subscriber_buffer,
        state.config.subscriber_stall,
    );
    Ok(upgrade.on_upgrade(move |mut socket| async move {
        let _subscribed = Subscribed::new();
        let mut items = std::pin::pin!(bounded(events, capacity, stall));
        while let Some(item) = items.next().await {
            let text = match item {
                Item::Event(event) => serde_json::to_string(&*event),
                Item::Lagged(resume_from) => serde_json::to_string(&lagged(resume_from)),
            };
            let Ok(text) = text else { break };
            if socket.send(Message::Text(text.into())).await.is_err() {
                return;
            }
        }
        let _ = socket.send(Message::Close(None)).await;
    }))
}

/// `GET /tasks/{id}/events`.
pub(crate) async fn sse(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: Result<Query<FollowParams>, QueryRejection>,
) -> ApiResult<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>> {
    let events = open(&state, &caller, &id, &headers, query).await?;
    let subscribed = Arc::new(Subscribed::new());
    let stream = bounded(
        events,
        state.config.subscriber_buffer,
        state.config.subscriber_stall,
    )
    .map(move |item| {
        let _alive = &subscribed;
        Ok(sse_of(item))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(state.config.keep_alive)))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures::StreamExt;
    use kopilot_core::{Event, EventKind};

    use super::{Item, bounded};

    fn event(seq: u64) -> Event {
        Event {
            task_id: "t-1".into(),
            seq,
            ts: time::OffsetDateTime::now_utc(),
            agent: "kopilot".into(),
            event: EventKind::Notification {
                message: format!("event {seq}"),
            },
        }
    }

    fn seqs(items: &[Item]) -> Vec<String> {
        items
            .iter()
            .map(|i| match i {
                Item::Event(e) => e.seq.to_string(),
                Item::Lagged(from) => format!("lagged:{from}"),
            })
            .collect()
    }

    #[tokio::test]
    async fn a_subscriber_that_stops_reading_gets_what_fit_then_where_to_resume() {
        let events = futures::stream::iter((1..=10).map(event)).boxed();
        let stream = bounded(events, 3, Duration::from_millis(100));
        // Nobody reads for longer than the stall.
        tokio::time::sleep(Duration::from_millis(400)).await;
        let items: Vec<Item> = stream.collect().await;
        assert_eq!(seqs(&items), ["1", "2", "3", "lagged:4"]);
    }

    #[tokio::test]
    async fn a_subscriber_that_keeps_up_gets_everything_and_no_notice() {
        let events = futures::stream::iter((1..=10).map(event)).boxed();
        let items: Vec<Item> = bounded(events, 3, Duration::from_millis(100))
            .collect()
            .await;
        assert_eq!(
            seqs(&items),
            ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"]
        );
    }
}
