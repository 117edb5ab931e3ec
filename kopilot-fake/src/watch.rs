//! Watches: a chunked stream of `{"type":…,"object":…}` lines, one single-line JSON event per
//! line (kube splits on newlines), starting from a resourceVersion, as Tables when kubectl
//! asks for them, with BOOKMARKs when allowed, closed at `timeoutSeconds` or held open.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;

use super::registry::ResourceType;
use super::selectors::{FieldSelector, LabelSelector};
use super::status::ApiError;
use super::store::{State, WatchEvent, type_index};
use super::tables::{self, RowObject};

/// What one watch asked for.
pub(crate) struct WatchRequest {
    pub(crate) resource: &'static ResourceType,
    pub(crate) namespace: Option<String>,
    pub(crate) labels: LabelSelector,
    pub(crate) fields: FieldSelector,
    /// `None` (or `0`) means: send the current objects as ADDED first.
    pub(crate) from: Option<u64>,
    pub(crate) send_initial_events: bool,
    pub(crate) as_table: Option<RowObject>,
    pub(crate) bookmarks: bool,
    pub(crate) timeout: Option<Duration>,
}

impl WatchRequest {
    fn matches(&self, namespace: &str, object: &Value) -> bool {
        self.namespace
            .as_deref()
            .is_none_or(|n| n == namespace || !self.resource.is_namespaced())
            && self.labels.matches(object)
            && self.fields.matches(object)
    }

    /// The event to send for a change, if the watcher sees it at all: an object that stops
    /// matching the selectors is DELETED for this watcher, one that starts matching is ADDED.
    fn translate(&self, event: &WatchEvent) -> Option<(&'static str, Value)> {
        if event.type_index != type_index(self.resource) {
            return None;
        }
        let now = self.matches(&event.namespace, &event.object);
        let before = event
            .previous
            .as_ref()
            .is_some_and(|p| self.matches(&event.namespace, p));
        match (event.event_type, before, now) {
            ("MODIFIED", true, false) => Some(("DELETED", event.object.clone())),
            ("MODIFIED", false, true) => Some(("ADDED", event.object.clone())),
            (kind, _, true) => Some((kind, event.object.clone())),
            _ => None,
        }
    }

    fn line(&self, kind: &str, object: &Value, rv: u64, first: bool) -> String {
        let object = match self.as_table {
            Some(row) if kind != "BOOKMARK" => {
                tables::table(self.resource, &[object], rv, row, first)
            }
            _ => object.clone(),
        };
        let mut line = json!({"type": kind, "object": object}).to_string();
        line.push('\n');
        line
    }

    fn bookmark(&self, rv: u64, initial_end: bool) -> String {
        let meta = if initial_end {
            json!({"resourceVersion": rv.to_string(), "annotations": {"k8s.io/initial-events-end": "true"}})
        } else {
            json!({"resourceVersion": rv.to_string()})
        };
        let object = json!({"kind": self.resource.kind, "apiVersion": self.resource.api_version(), "metadata": meta});
        self.line("BOOKMARK", &object, rv, false)
    }
}

/// Starts a watch: takes a consistent starting point under the lock, then streams.
pub(crate) fn start(
    state: &Arc<Mutex<State>>,
    request: WatchRequest,
    shutdown: watch::Receiver<bool>,
    bookmark_every: Duration,
) -> Response {
    let (initial, mut live, start_rv) = {
        let guard = match state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        let live = guard.subscribe();
        let replay_all = request.send_initial_events || request.from.is_none_or(|rv| rv == 0);
        let initial: Vec<(&'static str, Value, u64)> = if replay_all {
            let rv = guard.resource_version;
            guard
                .list(request.resource, request.namespace.as_deref())
                .filter(|o| request.labels.matches(o) && request.fields.matches(o))
                .map(|o| ("ADDED", o.clone(), rv))
                .collect()
        } else {
            let from = request.from.unwrap_or(0);
            if let Some(events) = guard.events_since(from) {
                events
                    .iter()
                    .filter_map(|e| {
                        request
                            .translate(e)
                            .map(|(k, o)| (k, o, e.resource_version))
                    })
                    .collect()
            } else {
                let status = ApiError::gone(format!(
                    "too old resource version: {from} ({})",
                    guard.resource_version
                ));
                let line = format!(
                    "{}\n",
                    json!({"type": "ERROR", "object": status.to_status()})
                );
                return stream_response(&[line], None);
            }
        };
        (initial, live, guard.resource_version)
    };

    let (tx, rx) = mpsc::channel::<Result<String, std::io::Error>>(64);
    tokio::spawn(async move {
        let mut shutdown = shutdown;
        let mut first = true;
        for (kind, object, rv) in &initial {
            if tx
                .send(Ok(request.line(kind, object, *rv, first)))
                .await
                .is_err()
            {
                return;
            }
            first = false;
        }
        let mut last_rv = start_rv;
        if request.bookmarks
            && request.send_initial_events
            && tx.send(Ok(request.bookmark(start_rv, true))).await.is_err()
        {
            return;
        }
        let deadline = request.timeout.map(|d| tokio::time::Instant::now() + d);
        let mut ticker = tokio::time::interval(bookmark_every);
        ticker.tick().await;
        loop {
            let line = tokio::select! {
                () = sleep_until(deadline) => return,
                _ = shutdown.changed() => return,
                _ = ticker.tick(), if request.bookmarks => Some(request.bookmark(last_rv, false)),
                received = live.recv() => match received {
                    Ok(event) if event.resource_version > last_rv => {
                        last_rv = event.resource_version;
                        request.translate(&event).map(|(kind, object)| request.line(kind, &object, last_rv, first))
                    }
                    Ok(_) => None,
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        let status = ApiError::gone("the watch fell behind; start a new one");
                        let _ = tx.send(Ok(format!("{}\n", json!({"type": "ERROR", "object": status.to_status()})))).await;
                        return;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            };
            if let Some(line) = line {
                first = false;
                if tx.send(Ok(line)).await.is_err() {
                    return;
                }
            }
        }
    });
    stream_response(&[], Some(rx))
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

fn stream_response(
    lines: &[String],
    rx: Option<mpsc::Receiver<Result<String, std::io::Error>>>,
) -> Response {
    let body = match rx {
        Some(rx) => Body::from_stream(ReceiverStream::new(rx)),
        None => Body::from(lines.concat()),
    };
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
