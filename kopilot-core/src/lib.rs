//! # kopilot-core
//!
//! Kopilot's agent runtime: one prompt in, a stream of [`Event`]s out, a final answer, and no
//! command run that the guard and the approver have not cleared.
//!
//! - A **supervisor** sees the enabled skills as one `delegate(skill, task)` tool; several
//!   `delegate` calls in one turn run concurrently as **sub-agents** (ReAct loops with the skill's
//!   prompt, documentation and allowed tools). With a skill named in the request, that skill
//!   answers directly.
//! - **Tools** ([`Tool`]) first *plan* the command lines they would run; the runtime passes each
//!   through the [`Guard`](safety::Guard) and, when needed, the [`Approver`](safety::Approver);
//!   only then does the tool *execute*, with [`ClearedCommand`](safety::ClearedCommand)s that
//!   only the guard can make. Blocked and denied commands go back to the model as errors; a
//!   denied command is never asked again in the same task.
//! - **Budgets** ([`Limits`], with the protocol's [`Budget`]): model turns per agent, and per
//!   task tool calls, tokens, wall-clock time and (where the model's [`Prices`] are known)
//!   dollars; a task that reaches one fails with a `limit.*` [`ErrorCode`].
//!   [`TaskHandle::cancel`] stops a task within a second wherever it is. At most
//!   `max_concurrent_tasks` run at once; the rest wait in order.
//! - **Reflection** (optional): a second model call scores the answer; below the threshold the
//!   supervisor re-plans once. **Offline mode** (no model): route by keywords, run the chosen
//!   skills' analyzers through the `analyze` tool, and answer from their findings.
//! - **Storage**: a [`TaskStore`] keeps tasks, events and results ([`MemoryStore`], or
//!   `SqliteStore` with the `sqlite` feature); sessions continue earlier conversations.
//!
//! ```
//! use std::sync::Arc;
//! use kopilot_core::llm::ScriptedModel;
//! use kopilot_core::{Kopilot, Status, TaskRequest};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> kopilot_core::Result<()> {
//! let model = ScriptedModel::new("scripted")
//!     .then_answer("All 12 pods in `shop` are running.");
//! let kopilot = Kopilot::builder().model(Arc::new(model)).build()?;
//! let task = kopilot.submit(TaskRequest::new("How are my pods?").skill("troubleshooting"));
//! let result = task.result().await;
//! assert_eq!(result.status, Status::Succeeded);
//! assert_eq!(result.answer, "All 12 pods in `shop` are running.");
//! # Ok(()) }
//! ```
//!
//! An embedder needs only this crate: it re-exports the leaf crates as [`llm`], [`safety`] and
//! [`skills`], and the event protocol's types (`kopilot-protocol`) as [`protocol`], the most
//! used of them also at the top. Features: `providers` (default; the HTTP model providers), `sqlite` (default; the
//! SQLite store), `test-util` (`ScriptedModel` and the `testing` doubles).
#![doc = ""]
#![doc = include_str!("docs/events.md")]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub use kopilot_llm as llm;
pub use kopilot_protocol as protocol;
pub use kopilot_safety as safety;
pub use kopilot_skills as skills;

mod error;
mod event;
mod kopilot;
mod limits;
mod log;
pub mod preview;
mod prompts;
mod request;
mod run;
pub mod schema;
mod service;
#[cfg(feature = "sqlite")]
mod sqlite;
mod store;
#[cfg(feature = "test-util")]
pub mod testing;
mod tool;

pub use error::{Error, Result};
pub use event::{Event, EventKind, Status, TaskResult};
pub use kopilot::{DEFAULT_REFLECTION_THRESHOLD, Kopilot, KopilotBuilder, TaskHandle};
pub use kopilot_protocol::{Budget, ErrorCode, Exit, Failure, Finding, Prices, Usage, names};
pub use limits::Limits;
pub use log::EventStream;
pub use request::{DirectCall, TaskRequest};
pub use service::TaskInfo;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;
pub use store::{MemoryStore, TaskQuery, TaskRecord, TaskStore, interrupted_result};
pub use tool::{Plan, Tool, ToolContext, ToolError, ToolOutput};
