//! The Kubernetes side of Kopilot: [`fake`], a loopback fake API server that the real
//! `kubectl` and the `kube` client can use, and the bundled demo cluster built on it;
//! [`exec`], which runs guard-cleared kubectl and helm pipelines; [`redact`] (re-exported
//! from `kopilot-safety`), which strips secrets from their output; [`tools`], the agent's Kubernetes tools; [`snapshot`], which
//! gathers a [`snapshot::ClusterSnapshot`] (live through `kube`, or from YAML/JSON files); and
//! [`analyze`], the cost, health, reliability and security checks over it, with no model.
//!
//! ```no_run
//! # async fn demo() -> kopilot_k8s::Result<()> {
//! use kopilot_k8s::fake::FakeCluster;
//!
//! let cluster = FakeCluster::builder()
//!     .seed_yaml("apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop}\n\
//!                 spec: {containers: [{name: app, image: nginx:1.27}]}\n")
//!     .start()
//!     .await?;
//! cluster.write_kubeconfig("/tmp/fake.kubeconfig")?;
//! // kubectl --kubeconfig /tmp/fake.kubeconfig get pods -n shop
//! assert!(cluster.get("v1", "Pod", "shop", "web").is_some());
//! cluster.stop().await;
//! # Ok(())
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

pub mod analyze;
mod error;
pub mod exec;
pub mod fake;
pub mod preview;
pub use kopilot_core::safety::redact;
pub mod snapshot;
pub mod tools;

pub use error::{Error, Result};
