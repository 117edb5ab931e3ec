//! Reading `kopilot ask --output json`: every stdout line must be one `kopilot_core::Event`,
//! with `seq` strictly increasing and a `response` last.

use kopilot_core::testing::EventType;
use kopilot_core::{Event, EventKind, TaskResult};

/// Parses stdout as JSON Lines of events, failing at the first line that is not one, and
/// checks the stream's shape: `seq` strictly increasing, exactly one `response`, last.
#[track_caller]
pub fn parse_events(stdout: &str, stderr: &str) -> Vec<Event> {
    let mut events = Vec::new();
    for (i, line) in stdout.lines().enumerate() {
        let event: Event = serde_json::from_str(line).unwrap_or_else(|e| {
            panic!(
                "stdout line {} is not a kopilot event ({e}):\n{line}\nstderr:\n{stderr}",
                i + 1
            )
        });
        events.push(event);
    }
    assert!(!events.is_empty(), "no events on stdout\nstderr:\n{stderr}");
    for pair in events.windows(2) {
        assert!(
            pair[1].seq > pair[0].seq,
            "seq does not increase: {} then {}\nstdout:\n{stdout}",
            pair[0].seq,
            pair[1].seq
        );
    }
    let task = &events[0].task_id;
    assert!(
        events.iter().all(|e| &e.task_id == task),
        "events of several tasks in one stream:\n{stdout}"
    );
    let responses = events.iter().filter(|e| e.is_terminal()).count();
    assert_eq!(
        responses, 1,
        "expected exactly one response event:\n{stdout}"
    );
    assert!(
        events.last().is_some_and(Event::is_terminal),
        "the last event is not the response:\n{stdout}"
    );
    events
}

/// A `tool_result` event, flattened.
#[derive(Debug, Clone)]
pub struct ToolResultSeen {
    pub agent: String,
    pub tool: String,
    pub ok: bool,
    pub output: String,
}

/// An `approval_decided` event, flattened.
#[derive(Debug, Clone)]
pub struct DecisionSeen {
    pub approved: bool,
    pub decided_by: String,
    pub reason: String,
}

/// Queries over an event stream.
pub trait EventsExt {
    fn all(&self) -> &[Event];

    /// The result in the terminal `response` event.
    #[track_caller]
    fn result(&self) -> TaskResult {
        match self.all().last().map(|e| &e.event) {
            Some(EventKind::Response(result)) => result.clone(),
            other => panic!("the stream does not end with a response: {other:?}"),
        }
    }

    /// `type@agent` for every event, runs of `delta` from one agent folded into one.
    fn outline(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for e in self.all() {
            let entry = format!("{}@{}", EventType::of(&e.event), e.agent);
            if entry.starts_with("delta@") && out.last() == Some(&entry) {
                continue;
            }
            out.push(entry);
        }
        out
    }

    /// The events of one type.
    fn of_type(&self, kind: EventType) -> Vec<&Event> {
        self.all()
            .iter()
            .filter(|e| EventType::of(&e.event) == kind)
            .collect()
    }

    /// Every `tool_result`, in order.
    fn tool_results(&self) -> Vec<ToolResultSeen> {
        self.all()
            .iter()
            .filter_map(|e| match &e.event {
                EventKind::ToolResult {
                    tool, ok, output, ..
                } => Some(ToolResultSeen {
                    agent: e.agent.clone(),
                    tool: tool.clone(),
                    ok: *ok,
                    output: output.clone(),
                }),
                _ => None,
            })
            .collect()
    }

    /// Every `approval_decided`, in order.
    fn decisions(&self) -> Vec<DecisionSeen> {
        self.all()
            .iter()
            .filter_map(|e| match &e.event {
                EventKind::ApprovalDecided {
                    approved,
                    decided_by,
                    reason,
                    ..
                } => Some(DecisionSeen {
                    approved: *approved,
                    decided_by: decided_by.clone(),
                    reason: reason.clone().unwrap_or_default(),
                }),
                _ => None,
            })
            .collect()
    }

    /// The events as JSON, one per line (for messages and leak checks).
    fn json_lines(&self) -> String {
        self.all()
            .iter()
            .map(|e| serde_json::to_string(e).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Checks `seq` starts at 1 and grows by exactly one, as `events.md` documents.
    #[track_caller]
    fn assert_contiguous_seq(&self) {
        for (i, e) in self.all().iter().enumerate() {
            assert_eq!(
                e.seq,
                i as u64 + 1,
                "seq should start at 1 and grow by one:\n{}",
                self.json_lines()
            );
        }
    }
}

impl EventsExt for Vec<Event> {
    fn all(&self) -> &[Event] {
        self
    }
}

impl EventsExt for [Event] {
    fn all(&self) -> &[Event] {
        self
    }
}
