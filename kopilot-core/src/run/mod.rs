//! Running one task. Each part of the runtime has its own room:
//!
//! - [`runtime`]: what every task shares (model, skills, guard, approver, tools, store, limits)
//!   and how a task's events reach its log and the store;
//! - [`persist`]: the store writer, which writes records and events in order off the tasks' path;
//! - [`task`]: one task from the queue to its `response` event, and its state;
//! - [`supervisor`]: routing to skills with `delegate`, sub-agents run in parallel;
//! - [`agent`]: the sub-agent loop of one skill;
//! - [`model`]: one streamed model turn and the budgets on model use;
//! - [`tool_call`]: the guarded tool call (plan, guard, approve, execute);
//! - [`reflect`]: scoring an answer and re-planning once;
//! - [`offline`]: the answer from the analyzers alone, when there is no model;
//! - [`finish`]: why a task stops and the result it ends with;
//! - [`grounding`]: whether an answer rests on what the tools returned;
//! - [`text`]: the text helpers they share.

mod agent;
mod finish;
mod grounding;
mod model;
mod offline;
mod persist;
mod reflect;
mod runtime;
mod supervisor;
mod task;
mod text;
mod tool_call;

pub(crate) use persist::{Persist, store_writer};
pub(crate) use runtime::Runtime;
pub(crate) use task::TaskRun;
