//! Expectations on an event stream, read as the steps a task should take and checked against
//! the events it recorded, failing at the first event that differs.

use std::fmt;
use std::sync::Arc;

use crate::event::{Event, EventKind, Status};
use crate::safety::Risk;

/// The type of an event, as on the wire (`"type": "tool_call"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    /// [`EventKind::TaskStarted`].
    TaskStarted,
    /// [`EventKind::Delegated`].
    Delegated,
    /// [`EventKind::Thinking`].
    Thinking,
    /// [`EventKind::Delta`].
    Delta,
    /// [`EventKind::ToolCall`].
    ToolCall,
    /// [`EventKind::ApprovalRequested`].
    ApprovalRequested,
    /// [`EventKind::ApprovalDecided`].
    ApprovalDecided,
    /// [`EventKind::ToolResult`].
    ToolResult,
    /// [`EventKind::Reflection`].
    Reflection,
    /// [`EventKind::Notification`].
    Notification,
    /// [`EventKind::Response`].
    Response,
}

impl EventType {
    /// The type of `kind`.
    pub fn of(kind: &EventKind) -> Self {
        match kind {
            EventKind::TaskStarted { .. } => Self::TaskStarted,
            EventKind::Delegated { .. } => Self::Delegated,
            EventKind::Thinking { .. } => Self::Thinking,
            EventKind::Delta { .. } => Self::Delta,
            EventKind::ToolCall { .. } => Self::ToolCall,
            EventKind::ApprovalRequested { .. } => Self::ApprovalRequested,
            EventKind::ApprovalDecided { .. } => Self::ApprovalDecided,
            EventKind::ToolResult { .. } => Self::ToolResult,
            EventKind::Reflection { .. } => Self::Reflection,
            EventKind::Notification { .. } => Self::Notification,
            EventKind::Response(_) => Self::Response,
        }
    }

    /// The wire name, e.g. `tool_call`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::TaskStarted => "task_started",
            Self::Delegated => "delegated",
            Self::Thinking => "thinking",
            Self::Delta => "delta",
            Self::ToolCall => "tool_call",
            Self::ApprovalRequested => "approval_requested",
            Self::ApprovalDecided => "approval_decided",
            Self::ToolResult => "tool_result",
            Self::Reflection => "reflection",
            Self::Notification => "notification",
            Self::Response => "response",
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

type Check = Arc<dyn Fn(&Event) -> bool + Send + Sync>;

/// One expected event: its type, the agent that produced it, and any further checks, each
/// with the words that describe it in a failure.
#[derive(Clone)]
pub struct Step {
    what: String,
    kind: Option<EventType>,
    agent: Option<String>,
    checks: Vec<Check>,
}

impl fmt::Debug for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.what)
    }
}

impl From<EventType> for Step {
    fn from(kind: EventType) -> Self {
        Self::kind(kind)
    }
}

impl Step {
    /// An event of this type.
    pub fn kind(kind: EventType) -> Self {
        Self {
            what: kind.as_str().to_owned(),
            kind: Some(kind),
            agent: None,
            checks: Vec::new(),
        }
    }

    /// An event for which `check` holds; `what` describes it in a failure.
    pub fn matching(
        what: impl Into<String>,
        check: impl Fn(&Event) -> bool + Send + Sync + 'static,
    ) -> Self {
        Self {
            what: what.into(),
            kind: None,
            agent: None,
            checks: vec![Arc::new(check)],
        }
    }

    /// `task_started`.
    pub fn task_started() -> Self {
        Self::kind(EventType::TaskStarted)
    }

    /// `delegated` to `skill`.
    pub fn delegated(skill: &str) -> Self {
        let want = skill.to_owned();
        Self::kind(EventType::Delegated).and(
            format!("to `{skill}`"),
            move |e| matches!(&e.event, EventKind::Delegated { skill, .. } if *skill == want),
        )
    }

    /// `tool_call` of `tool`.
    pub fn tool_call(tool: &str) -> Self {
        let want = tool.to_owned();
        Self::kind(EventType::ToolCall).and(
            format!("of `{tool}`"),
            move |e| matches!(&e.event, EventKind::ToolCall { tool, .. } if *tool == want),
        )
    }

    /// `tool_result` of `tool` that succeeded.
    pub fn tool_succeeded(tool: &str) -> Self {
        Self::tool_result(tool, true)
    }

    /// `tool_result` of `tool` that failed (or was refused).
    pub fn tool_failed(tool: &str) -> Self {
        Self::tool_result(tool, false)
    }

    fn tool_result(tool: &str, ok: bool) -> Self {
        let want = tool.to_owned();
        let how = if ok { "succeeded" } else { "failed" };
        Self::kind(EventType::ToolResult).and(format!("of `{tool}`, {how}"), move |e| {
            matches!(&e.event, EventKind::ToolResult { tool, ok: was, .. } if *tool == want && *was == ok)
        })
    }

    /// `approval_requested` at `risk`.
    pub fn approval_requested(risk: Risk) -> Self {
        Self::kind(EventType::ApprovalRequested).and(format!("at risk {risk}"), move |e| {
            matches!(&e.event, EventKind::ApprovalRequested { risk: was, .. } if *was == risk)
        })
    }

    /// `approval_decided`, approved.
    pub fn approved() -> Self {
        Self::decided(true)
    }

    /// `approval_decided`, denied.
    pub fn denied() -> Self {
        Self::decided(false)
    }

    fn decided(approved: bool) -> Self {
        let how = if approved { "approved" } else { "denied" };
        Self::kind(EventType::ApprovalDecided).and(how, move |e| {
            matches!(&e.event, EventKind::ApprovalDecided { approved: was, .. } if *was == approved)
        })
    }

    /// The terminal `response` with `status`.
    pub fn response(status: Status) -> Self {
        Self::kind(EventType::Response).and(
            format!("with status {status}"),
            move |e| matches!(&e.event, EventKind::Response(result) if result.status == status),
        )
    }

    /// Produced by `agent` (`supervisor`, a skill name, or `kopilot` for the runtime).
    #[must_use]
    pub fn by(mut self, agent: impl Into<String>) -> Self {
        let agent = agent.into();
        self.what = format!("{} by `{agent}`", self.what);
        self.agent = Some(agent);
        self
    }

    /// Also `check`, described by `what`.
    #[must_use]
    pub fn and(
        mut self,
        what: impl fmt::Display,
        check: impl Fn(&Event) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.what = format!("{} {what}", self.what);
        self.checks.push(Arc::new(check));
        self
    }

    /// Whether `event` is this step.
    pub fn matches(&self, event: &Event) -> bool {
        self.kind.is_none_or(|k| k == EventType::of(&event.event))
            && self.agent.as_ref().is_none_or(|a| *a == event.agent)
            && self.checks.iter().all(|check| check(event))
    }
}

#[derive(Debug, Clone)]
struct Expected {
    step: Step,
    /// Later, with other events before it, rather than next.
    eventually: bool,
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.eventually {
            write!(f, "eventually {}", self.step.what)
        } else {
            f.write_str(&self.step.what)
        }
    }
}

/// The steps an event stream should take, checked in order against recorded events.
///
/// By default `delta`, `thinking` and `notification` events are chatter and skipped
/// ([`EventExpectation::ignoring`] changes that). Each [`then`](Self::then) step must be the
/// next event that is not skipped; a [`then_eventually`](Self::then_eventually) step may come
/// after other events; [`only`](Self::only) says nothing else follows the last step. A
/// failure names the step, the event found instead, and lists the events seen.
///
/// ```
/// use kopilot_core::testing::{EventExpectation, EventType, Step};
/// use kopilot_core::{Event, EventKind, Status};
/// # fn events() -> Vec<Event> {
/// #     let event = |seq, agent: &str, event| Event {
/// #         task_id: "t-1".into(), seq, ts: time::OffsetDateTime::UNIX_EPOCH,
/// #         agent: agent.into(), event,
/// #     };
/// #     let result = kopilot_core::TaskResult { status: Status::Succeeded, answer: "ok".into(),
/// #         error: None, findings: vec![], usage: Default::default(), duration_ms: 1,
/// #         refused: vec![], warnings: vec![] };
/// #     vec![
/// #         event(1, "kopilot", EventKind::TaskStarted { prompt: "hi".into(), skill: None,
/// #             session_id: None, model: None }),
/// #         event(2, "supervisor", EventKind::Delegated { call_id: "c-1".into(),
/// #             skill: "troubleshooting".into(), task: "look".into() }),
/// #         event(3, "troubleshooting", EventKind::ToolCall { call_id: "c-2".into(),
/// #             tool: "run_kubectl".into(), args: serde_json::json!({"args": "get pods"}),
/// #             commands: vec!["kubectl get pods".into()] }),
/// #         event(4, "troubleshooting", EventKind::Delta { text: "All fine".into() }),
/// #         event(5, "kopilot", EventKind::Response(result)),
/// #     ]
/// # }
/// let events: Vec<Event> = events(); // e.g. `task.events().collect().await`
/// EventExpectation::new()
///     .then(EventType::TaskStarted)
///     .then(Step::delegated("troubleshooting"))
///     .then(Step::tool_call("run_kubectl").by("troubleshooting"))
///     .then(Step::response(Status::Succeeded))
///     .only()
///     .assert_matches(&events);
///
/// let failure = EventExpectation::new()
///     .then(EventType::TaskStarted)
///     .then(Step::tool_call("run_kubectl"))
///     .check(&events)
///     .unwrap_err();
/// assert_eq!(failure.step(), Some(2));
/// assert!(failure.to_string().contains("found seq 2 delegated@supervisor"));
/// ```
#[derive(Debug, Clone)]
pub struct EventExpectation {
    steps: Vec<Expected>,
    ignored: Vec<EventType>,
    only: bool,
}

impl Default for EventExpectation {
    fn default() -> Self {
        Self::new()
    }
}

impl EventExpectation {
    /// No steps yet; `delta`, `thinking` and `notification` events are skipped.
    pub fn new() -> Self {
        Self {
            steps: Vec::new(),
            ignored: vec![
                EventType::Delta,
                EventType::Thinking,
                EventType::Notification,
            ],
            only: false,
        }
    }

    /// Skips these types instead (none: every event counts).
    #[must_use]
    pub fn ignoring(mut self, types: impl IntoIterator<Item = EventType>) -> Self {
        self.ignored = types.into_iter().collect();
        self
    }

    /// The next event (not skipped) is `step`.
    #[must_use]
    pub fn then(mut self, step: impl Into<Step>) -> Self {
        self.steps.push(Expected {
            step: step.into(),
            eventually: false,
        });
        self
    }

    /// The next event (not skipped) satisfies `check`, described by `what`.
    #[must_use]
    pub fn then_matching(
        self,
        what: impl Into<String>,
        check: impl Fn(&Event) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.then(Step::matching(what, check))
    }

    /// `step` comes later, perhaps after other events.
    #[must_use]
    pub fn then_eventually(mut self, step: impl Into<Step>) -> Self {
        self.steps.push(Expected {
            step: step.into(),
            eventually: true,
        });
        self
    }

    /// No event (not skipped) follows the last step.
    #[must_use]
    pub fn only(mut self) -> Self {
        self.only = true;
        self
    }

    /// Checks `events` against the steps.
    pub fn check(&self, events: &[Event]) -> Result<(), ExpectationFailure> {
        let seen: Vec<&Event> = events
            .iter()
            .filter(|e| !self.ignored.contains(&EventType::of(&e.event)))
            .collect();
        let mut next = 0;
        for (index, expected) in self.steps.iter().enumerate() {
            let rest = seen.get(next..).unwrap_or_default();
            let found = if expected.eventually {
                rest.iter().position(|e| expected.step.matches(e))
            } else {
                rest.first().filter(|e| expected.step.matches(e)).map(|_| 0)
            };
            let Some(offset) = found else {
                let at = (!expected.eventually).then_some(next);
                return Err(self.failure(Some(index), &seen, at));
            };
            next += offset + 1;
        }
        if self.only && next < seen.len() {
            return Err(self.failure(None, &seen, Some(next)));
        }
        Ok(())
    }

    /// Checks `events` against the steps and panics with the failure's report when they
    /// differ (for tests).
    #[track_caller]
    #[allow(clippy::panic)] // A test assertion: failing loudly is its job.
    pub fn assert_matches(&self, events: &[Event]) {
        if let Err(failure) = self.check(events) {
            panic!("{failure}");
        }
    }

    /// The failure at step `index` (`None`: after the last step, under `only`), with the
    /// event found there, if any.
    fn failure(
        &self,
        index: Option<usize>,
        seen: &[&Event],
        at: Option<usize>,
    ) -> ExpectationFailure {
        use fmt::Write as _;
        let found = at.and_then(|i| seen.get(i));
        let total = self.steps.len();
        let mut report = match index.and_then(|i| self.steps.get(i).map(|s| (i, s))) {
            Some((i, expected)) => format!(
                "the events differ from the expectation at step {} of {total}: expected {expected}, ",
                i + 1
            ),
            None => format!(
                "the events differ from the expectation after its last step ({total}): expected no more events, "
            ),
        };
        match found {
            Some(event) => {
                let _ = write!(report, "found {}", summary(event));
            }
            None if index.is_some_and(|i| self.steps.get(i).is_some_and(|s| s.eventually)) => {
                report.push_str("found none");
            }
            None => report.push_str("found the end of the stream"),
        }
        report.push_str("\nexpected:\n");
        for (i, expected) in self.steps.iter().enumerate() {
            let marker = if Some(i) == index { "->" } else { "  " };
            let _ = writeln!(report, " {marker} {}. {expected}", i + 1);
        }
        if self.only {
            let marker = if index.is_none() { "->" } else { "  " };
            let _ = writeln!(report, " {marker} and nothing more");
        }
        let skipped: Vec<&str> = self.ignored.iter().map(|t| t.as_str()).collect();
        if skipped.is_empty() {
            report.push_str("events seen:\n");
        } else {
            let _ = writeln!(report, "events seen ({} skipped):", skipped.join(", "));
        }
        if seen.is_empty() {
            report.push_str("    (none)\n");
        }
        for (i, event) in seen.iter().enumerate() {
            let marker = if Some(i) == at { "->" } else { "  " };
            let _ = writeln!(report, " {marker} {}", summary(event));
        }
        ExpectationFailure {
            step: index.map(|i| i + 1),
            report,
        }
    }
}

/// Why an event stream did not match an [`EventExpectation`]; its `Display` is the report.
#[derive(Clone, PartialEq, Eq)]
pub struct ExpectationFailure {
    step: Option<usize>,
    report: String,
}

impl ExpectationFailure {
    /// The step that failed, from 1; `None` when every step matched but more events followed
    /// under [`EventExpectation::only`].
    pub fn step(&self) -> Option<usize> {
        self.step
    }
}

impl fmt::Display for ExpectationFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.report)
    }
}

// The report, so that `check(..).unwrap()` prints it readably.
impl fmt::Debug for ExpectationFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.report)
    }
}

impl std::error::Error for ExpectationFailure {}

/// One line for an event: `seq 4 tool_result@troubleshooting (run_kubectl, ok: "NAME …")`.
fn summary(event: &Event) -> String {
    let detail = match &event.event {
        EventKind::TaskStarted { prompt, .. } => format!("{:?}", short(prompt)),
        EventKind::Delegated { skill, task, .. } => format!("{skill}: {:?}", short(task)),
        EventKind::Thinking { text } | EventKind::Delta { text } => format!("{:?}", short(text)),
        EventKind::ToolCall { tool, args, .. } => format!("{tool} {}", short(&args.to_string())),
        EventKind::ApprovalRequested { command, risk, .. } => {
            format!("{risk}: {:?}", short(command))
        }
        EventKind::ApprovalDecided {
            approved,
            decided_by,
            ..
        } => format!(
            "{} by {decided_by}",
            if *approved { "approved" } else { "denied" }
        ),
        EventKind::ToolResult {
            tool, ok, output, ..
        } => format!(
            "{tool}, {}: {:?}",
            if *ok { "ok" } else { "failed" },
            short(output)
        ),
        EventKind::Reflection { score, replan, .. } => {
            format!("score {score}{}", if *replan { ", replan" } else { "" })
        }
        EventKind::Notification { message } => format!("{:?}", short(message)),
        EventKind::Response(result) => match &result.error {
            Some(error) => format!(
                "{} {}: {:?}",
                result.status,
                error.code,
                short(&error.message)
            ),
            None => result.status.to_string(),
        },
    };
    format!(
        "seq {} {}@{} ({detail})",
        event.seq,
        EventType::of(&event.event),
        event.agent
    )
}

/// At most 60 characters of `text`, with `…` when cut.
fn short(text: &str) -> String {
    const MAX: usize = 60;
    if text.chars().count() <= MAX {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(MAX).collect();
        cut.push('…');
        cut
    }
}
