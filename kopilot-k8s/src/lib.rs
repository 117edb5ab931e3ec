//! The Kubernetes side of Kopilot's runtime: [`exec`], which runs guard-cleared kubectl and
//! helm pipelines; [`redact`] (re-exported from `kopilot-safety`), which strips secrets from
//! their output; [`tools`], the agent's Kubernetes tools; [`preview`], what a command waiting
//! for approval would change. Snapshots and analyzers are the `kopilot-analyze` crate (the
//! `analyze` tool runs them); the fake API server and demo cluster are `kopilot-fake`.
//!
//! ```no_run
//! use std::sync::Arc;
//! use kopilot_core::Kopilot;
//! use kopilot_core::safety::NullAuditSink;
//! use kopilot_k8s::tools::{K8sConfig, register};
//!
//! // run_kubectl, run_helm, get_logs, get_events, read_resource, get_metrics and analyze,
//! // each planning command lines for the guard before anything runs.
//! let builder = register(Kopilot::builder(), &K8sConfig::default(), Arc::new(NullAuditSink));
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

mod error;
pub mod exec;
pub mod preview;
pub use kopilot_core::safety::redact;
pub mod tools;

pub use error::{Error, Result};
