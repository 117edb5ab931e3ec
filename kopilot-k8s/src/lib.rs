//! The Kubernetes side of Kopilot's runtime: [`exec`], which runs guard-cleared kubectl and
//! helm pipelines; [`redact`] (re-exported from `kopilot-safety`), which strips secrets from
//! their output; [`tools`], the agent's Kubernetes tools; [`preview`], what a command waiting
//! for approval would change; [`snapshot`], which gathers a [`snapshot::ClusterSnapshot`]
//! (live through `kube`, or from YAML/JSON files); and [`analyze`], the cost, health,
//! reliability and security checks over it, with no model. The fake API server and demo
//! cluster are the `kopilot-fake` crate.
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

pub mod analyze;
mod error;
pub mod exec;
pub mod preview;
pub use kopilot_core::safety::redact;
pub mod snapshot;
pub mod tools;

pub use error::{Error, Result};
