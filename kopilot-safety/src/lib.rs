//! # kopilot-safety
//!
//! The guard every Kopilot command passes before anything runs. It parses a command line like a
//! shell does (pipes, lists, subshells, `$( )`, backticks, redirections, here-documents,
//! `VAR=x cmd`, and wrappers such as `sudo`, `env`, `timeout`, `xargs`, `watch`, `sh -c` and
//! `eval`), classifies every simple command it finds (with real grammars for `kubectl` and
//! `helm`), and takes the most severe result:
//!
//! | risk | examples | default decision |
//! |---|---|---|
//! | low | `kubectl get`, `logs`, `top`; `helm list`; `grep`, `jq`, `head` | allow |
//! | medium | `kubectl apply`, `scale`, `rollout restart`; `helm upgrade` | approve |
//! | high | `kubectl delete`, `drain`, `exec`; writes to files; unknown programs | approve |
//! | critical | `rm -rf /`, `mkfs`, `curl … \| sh`; mutations in protected namespaces or with `-A` | block |
//!
//! A [`Guard`] turns a line into a [`Verdict`]; only the guard can make a [`ClearedCommand`],
//! the type executors accept. Commands that need approval go to an [`Approver`]; every
//! assessment and decision goes to an [`AuditSink`].
//!
//! ```
//! use kopilot_safety::{ApproveAll, Guard, Identity, Policy, RequestContext, Verdict};
//!
//! # tokio_test_block(async {
//! let guard = Guard::new(Policy::default());
//! let ctx = RequestContext::new(Identity::new("alice")).with_task("t-1");
//!
//! // Reads clear at once.
//! assert!(matches!(guard.check("kubectl top pods -n shop", &ctx), Verdict::Allowed(_)));
//!
//! // A mutation waits for a human; here an explicit approve-all approver answers.
//! let cleared = guard
//!     .authorize("kubectl scale deploy/web --replicas=2 -n shop", &ctx, &ApproveAll::new("bob"))
//!     .await
//!     .expect("approved");
//! assert_eq!(cleared.approval().map(|d| d.decided_by().as_str()), Some("bob"));
//! # });
//! # fn tokio_test_block(f: impl std::future::Future<Output = ()>) {
//! #     tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
//! # }
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

mod approval;
mod assess;
pub mod audit;
mod error;
mod expand;
mod fastpath;
mod filters;
mod flags;
mod guard;
mod helm;
mod kubectl;
mod policy;
mod programs;
mod quote;
mod reading;
pub mod redact;
mod risk;
mod shell;

pub use approval::{
    ApprovalDecision, ApprovalRequest, ApproveAll, Approver, ChannelApprover, DenyAll, Identity,
};
pub use assess::{Assessment, CommandAssessment, Exposure, OutputFormat, ParsedFlag};
pub use audit::{
    AuditEvent, AuditRecord, AuditSink, JsonlAuditSink, MemoryAuditSink, NullAuditSink,
    TracingAuditSink,
};
pub use error::{Error, Result};
pub use guard::{
    ApprovalTicket, ClearedCommand, Guard, Refusal, RequestContext, Verdict, parse_argv,
};
pub use policy::{
    BlockPattern, DEFAULT_APPROVAL_TTL, DEFAULT_PROTECTED_NAMESPACES, Policy, PolicyBuilder,
};
pub use quote::{quote_argv, quote_word};
pub use reading::{ArgvReading, FlagWord};
pub use risk::{Decision, Mode, Risk};
pub use shell::{MAX_BRACKET_DEPTH, MAX_COMMAND_DEPTH, MAX_COMMANDS, MAX_LINE_BYTES};
