//! # kopilot-protocol
//!
//! The types every side of Kopilot meets at: the events of a task's stream ([`Event`],
//! [`EventKind`]), the one [`Status`] of a task's life, its [`TaskResult`] with a coded
//! [`Failure`] ([`ErrorCode`]), the analyzers' [`Finding`]s, the guard's [`Risk`] and
//! [`Decision`], the [`ChangePreview`] an approver is shown, [`Usage`] and [`Budget`], and the
//! tool and agent [`names`].
//!
//! They are plain serde types: this crate needs `serde`, `serde_json` (tool arguments and a
//! finding's evidence are arbitrary JSON) and `time`, and nothing else. The runtime
//! (`kopilot-core`) produces them, the analyzers (`kopilot-analyze`) make findings, the guard
//! (`kopilot-safety`) names risks with them, and adapters (CLI, server, operator, MCP) read
//! them without linking any of those. With the `schema` feature every type also derives
//! `schemars::JsonSchema`, for custom resources, MCP output schemas and OpenAPI documents.
//!
//! ```
//! use kopilot_protocol::{ErrorCode, Event, EventKind, Failure, Status};
//!
//! let line = r#"{"task_id":"t-1","seq":7,"ts":"2026-11-22T10:00:01.2Z","agent":"kopilot",
//!   "event":{"type":"response","status":"failed","answer":"",
//!   "error":{"code":"limit.tool_calls","message":"the task made more than 50 tool calls"},
//!   "usage":{"input_tokens":900,"output_tokens":40},"duration_ms":5120}}"#;
//! let event: Event = serde_json::from_str(line)?;
//! let EventKind::Response(result) = &event.event else { unreachable!() };
//! assert_eq!(result.status, Status::Failed);
//! assert!(result.status.is_terminal());
//! assert_eq!(result.error.as_ref().map(|f| &f.code), Some(&ErrorCode::LimitToolCalls));
//! # let _: Option<Failure> = None;
//! # Ok::<(), serde_json::Error>(())
//! ```
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

mod budget;
mod code;
mod event;
mod finding;
pub mod names;
mod preview;
mod risk;
mod status;

pub use budget::{Budget, Prices, Usage};
pub use code::{ErrorCode, Failure};
pub use event::{
    Event, EventKind, Exit, RefusalKind, RefusedCommand, StreamNotice, TaskResult, Warning,
};
pub use finding::{Finding, ObjectRef, Severity};
pub use preview::{ChangeAction, ChangePreview, ObjectChange};
pub use risk::{Decision, Risk};
pub use status::{Status, UnknownStatus};
