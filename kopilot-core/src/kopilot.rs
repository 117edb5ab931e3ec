//! The embedder's entry point: [`Kopilot`], its builder, and [`TaskHandle`].

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use time::OffsetDateTime;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::Prices;
use crate::error::{Error, Result};
use crate::event::{Status, TaskResult};
use crate::limits::Limits;
use crate::llm::ChatModel;
use crate::log::{EventLog, EventStream};
use crate::names::tools::DELEGATE;
use crate::preview::ChangePreviewer;
use crate::request::TaskRequest;
use crate::run::{Persist, Runtime, TaskRun, store_writer};
use crate::safety::{
    Approver, AuditSink, ChannelApprover, DenyAll, Guard, Policy, TracingAuditSink,
};
use crate::service::LiveTasks;
use crate::skills::{SkillLoader, SkillRegistry};
use crate::store::{MemoryStore, TaskStore};
use crate::tool::Tool;

/// Default threshold below which a reflected answer is re-planned.
pub const DEFAULT_REFLECTION_THRESHOLD: u8 = 7;

/// The agent runtime. Cheap to clone; clones share tasks, limits and the store.
///
/// ```no_run
/// use std::sync::Arc;
/// use kopilot_core::{Kopilot, TaskRequest};
/// use kopilot_core::llm::{ProviderConfig, build_model};
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let kopilot = Kopilot::builder()
///     .model(build_model(&ProviderConfig::from_env()?)?)
///     .build()?;
/// let task = kopilot.submit(TaskRequest::new("Why is checkout crashlooping?").requester("alice"));
/// let result = task.result().await;
/// println!("{}: {}", result.status, result.answer);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Kopilot {
    pub(crate) inner: Arc<Runtime>,
}

impl std::fmt::Debug for Kopilot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kopilot")
            .field(
                "model",
                &self.inner.model.as_ref().map(|m| m.model().to_owned()),
            )
            .field("tools", &self.inner.tool_order)
            .field("limits", &self.inner.limits)
            .finish_non_exhaustive()
    }
}

impl Kopilot {
    /// A builder with the defaults: no model (offline mode), the built-in skills, the default
    /// policy, a deny-all approver, audit to `tracing`, an in-memory store, default limits.
    pub fn builder() -> KopilotBuilder {
        KopilotBuilder::default()
    }

    /// Starts a task. It waits in line when `max_concurrent_tasks` are already running.
    /// Must be called inside a Tokio runtime.
    pub fn submit(&self, request: TaskRequest) -> TaskHandle {
        let id = new_task_id();
        let log = EventLog::new();
        let cancel = CancellationToken::new();
        let (result_tx, result_rx) = watch::channel(None);
        let task = TaskRun::new(
            Arc::clone(&self.inner),
            id.clone(),
            request,
            Arc::clone(&log),
            cancel.clone(),
        );
        let handle = TaskHandle {
            id,
            log,
            cancel,
            result: result_rx,
        };
        // Held before it starts, so the task service knows it from the first moment.
        self.inner.live.insert(handle.clone(), task.record());
        tokio::spawn(async move {
            let result = task.run().await;
            let _ = result_tx.send(Some(result));
        });
        handle
    }

    /// Waits until every task record and event produced so far is in the store (they are
    /// written off the tasks' path). Call it before the process exits, so the history is
    /// complete.
    pub async fn flush(&self) {
        let (done, wait) = tokio::sync::oneshot::channel();
        if self.inner.persist.send(Persist::Flush(done)).is_ok() {
            let _ = wait.await;
        }
    }

    /// The task store (history, replay of finished tasks).
    pub fn store(&self) -> &Arc<dyn TaskStore> {
        &self.inner.store
    }

    /// The skills.
    pub fn skills(&self) -> &SkillRegistry {
        &self.inner.skills
    }

    /// The guard.
    pub fn guard(&self) -> &Guard {
        &self.inner.guard
    }

    /// The limits every task runs under (a request's own budget replaces them field by field;
    /// adapters whose callers may only ask for less apply
    /// [`Budget::tightened_by`](crate::Budget::tightened_by) to these first).
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// Whether a model is configured (otherwise every task runs in offline mode).
    pub fn has_model(&self) -> bool {
        self.inner.model.is_some()
    }

    /// How many tasks are running now (queued ones excluded).
    pub fn running_tasks(&self) -> usize {
        self.inner.running.load(Ordering::SeqCst)
    }
}

/// A running (or finished) task.
#[derive(Debug, Clone)]
pub struct TaskHandle {
    id: String,
    log: Arc<EventLog>,
    cancel: CancellationToken,
    result: watch::Receiver<Option<TaskResult>>,
}

impl TaskHandle {
    /// The task id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Every event from the start, then the live tail; ends after the `response` event.
    pub fn events(&self) -> EventStream {
        self.log.subscribe(1)
    }

    /// Events with `seq >= from_seq`, then the live tail.
    pub fn events_from(&self, from_seq: u64) -> EventStream {
        self.log.subscribe(from_seq)
    }

    /// Where the task is now: `queued`, `running`, `waiting_for_approval`, or how it ended.
    pub fn status(&self) -> Status {
        self.log.status()
    }

    /// The result, if the task has ended.
    pub fn finished_result(&self) -> Option<TaskResult> {
        self.result.borrow().clone()
    }

    /// Cancels the task: it stops within a second wherever it is (a model call, an approval
    /// wait, a running command) and ends with status `cancelled`.
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// Waits for the task to end and returns its result.
    pub async fn result(&self) -> TaskResult {
        let mut rx = self.result.clone();
        loop {
            if let Some(result) = rx.borrow_and_update().clone() {
                return result;
            }
            if rx.changed().await.is_err() {
                // The driver is gone without a result: only possible if the runtime shut down.
                return crate::store::interrupted_result();
            }
        }
    }
}

/// Builds a [`Kopilot`]; see [`Kopilot::builder`].
#[derive(Default)]
pub struct KopilotBuilder {
    model: Option<Arc<dyn ChatModel>>,
    skills: Option<SkillRegistry>,
    policy: Option<Policy>,
    approver: Option<Arc<dyn Approver>>,
    audit: Option<Arc<dyn AuditSink>>,
    tools: Vec<Arc<dyn Tool>>,
    store: Option<Arc<dyn TaskStore>>,
    limits: Option<Limits>,
    prices: Option<Prices>,
    reflect: bool,
    reflection_threshold: Option<u8>,
    desk: Option<ChannelApprover>,
    previewer: Option<Arc<dyn ChangePreviewer>>,
}

impl KopilotBuilder {
    /// The model. Without one, tasks answer from the analyzers only (offline mode).
    #[must_use]
    pub fn model(mut self, model: Arc<dyn ChatModel>) -> Self {
        self.model = Some(model);
        self
    }

    /// The skills (default: the built-in ones).
    #[must_use]
    pub fn skills(mut self, skills: SkillRegistry) -> Self {
        self.skills = Some(skills);
        self
    }

    /// The safety policy (default: [`Policy::default`]).
    #[must_use]
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = Some(policy);
        self
    }

    /// Who answers approval requests (default: deny everything). Replaces an approval desk.
    #[must_use]
    pub fn approver(mut self, approver: Arc<dyn Approver>) -> Self {
        self.approver = Some(approver);
        self.desk = None;
        self
    }

    /// Approvals are answered by id through the task service ([`Kopilot::approvals`],
    /// [`Kopilot::answer_approval`]): `desk` becomes the approver, and its four-eyes setting
    /// applies to every answer. Replaces an approver set before.
    #[must_use]
    pub fn approval_desk(mut self, desk: ChannelApprover) -> Self {
        self.approver = Some(Arc::new(desk.clone()));
        self.desk = Some(desk);
        self
    }

    /// Shows approvers what a command would change (default: no previews). The runtime calls
    /// it before asking, and the preview travels with the approval request and its event.
    #[must_use]
    pub fn previewer(mut self, previewer: Arc<dyn ChangePreviewer>) -> Self {
        self.previewer = Some(previewer);
        self
    }

    /// Where assessments and approval decisions are audited (default: `tracing`).
    #[must_use]
    pub fn audit(mut self, sink: Arc<dyn AuditSink>) -> Self {
        self.audit = Some(sink);
        self
    }

    /// Adds a tool.
    #[must_use]
    pub fn tool(mut self, tool: Arc<dyn Tool>) -> Self {
        self.tools.push(tool);
        self
    }

    /// The task store (default: in memory).
    #[must_use]
    pub fn store(mut self, store: Arc<dyn TaskStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// The budgets.
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = Some(limits);
        self
    }

    /// The model's prices: with them, the dollar budget ([`Budget::dollars`](crate::Budget))
    /// is enforced after each model call. Without them a dollar budget is not checked.
    #[must_use]
    pub fn prices(mut self, prices: Prices) -> Self {
        self.prices = Some(prices);
        self
    }

    /// Reflect on every answer unless a request says otherwise (default off).
    #[must_use]
    pub fn reflection(mut self, on: bool) -> Self {
        self.reflect = on;
        self
    }

    /// Score below which a reflected answer is re-planned (0-10, default 7).
    #[must_use]
    pub fn reflection_threshold(mut self, threshold: u8) -> Self {
        self.reflection_threshold = Some(threshold);
        self
    }

    /// Checks the settings and starts the store writer. Must be called inside a Tokio runtime.
    pub fn build(self) -> Result<Kopilot> {
        let limits = self.limits.unwrap_or_default();
        limits.check()?;
        let threshold = self
            .reflection_threshold
            .unwrap_or(DEFAULT_REFLECTION_THRESHOLD);
        if threshold > 10 {
            return Err(Error::Config(format!(
                "the reflection threshold is a score from 0 to 10, not {threshold}"
            )));
        }
        let skills = match self.skills {
            Some(skills) => skills,
            None => SkillLoader::with_builtins().load()?,
        };
        let mut tools = HashMap::new();
        let mut tool_order = Vec::new();
        for tool in self.tools {
            let name = tool.name().to_owned();
            if name == DELEGATE || tools.contains_key(&name) {
                return Err(Error::DuplicateTool(name));
            }
            tool_order.push(name.clone());
            tools.insert(name, tool);
        }
        let guard = Guard::new(self.policy.unwrap_or_default())
            .with_audit(self.audit.unwrap_or_else(|| Arc::new(TracingAuditSink)));
        let store = self
            .store
            .unwrap_or_else(|| Arc::new(MemoryStore::default()));
        let (persist, rx) = mpsc::unbounded_channel();
        let live = Arc::new(LiveTasks::default());
        tokio::spawn(store_writer(Arc::clone(&store), Arc::clone(&live), rx));
        Ok(Kopilot {
            inner: Arc::new(Runtime {
                model: self.model,
                skills: Arc::new(skills),
                guard,
                approver: self
                    .approver
                    .unwrap_or_else(|| Arc::new(DenyAll::default())),
                tools,
                tool_order,
                store,
                limits,
                prices: self.prices,
                reflect_by_default: self.reflect,
                reflection_threshold: threshold,
                slots: Arc::new(Semaphore::new(limits.max_concurrent_tasks)),
                running: AtomicUsize::new(0),
                persist,
                live,
                desk: self.desk,
                previewer: self.previewer,
            }),
        })
    }
}

static TASK_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A sortable, unique task id: `t-` + milliseconds since the epoch + a counter + randomness.
fn new_task_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let millis = OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
    let counter = TASK_COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(counter);
    let random = hasher.finish() & 0xffff_ffff;
    format!("t-{millis:011x}{:04x}{random:08x}", counter & 0xffff)
}
