//! A [`ClusterSnapshot`]: the objects the analyzers need, plus usage, gathered once from a
//! live cluster ([`ClusterSnapshot::load_live`]) or from files of YAML/JSON objects
//! ([`ClusterSnapshot::from_files`]), so analysis is a pure function over plain data.
//!
//! ```
//! use kopilot_analyze::snapshot::ClusterSnapshot;
//!
//! let yaml = "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop}\n\
//!             spec: {containers: [{name: app, image: nginx:1.27}]}\n";
//! let snapshot = ClusterSnapshot::from_yaml_str("pods.yaml", yaml)?;
//! assert_eq!(snapshot.pods.len(), 1);
//! # Ok::<(), kopilot_analyze::Error>(())
//! ```
//!
//! # Usage sources
//! - `metrics.k8s.io` [`PodMetrics`]/[`NodeMetrics`]: one point-in-time sample per container
//!   (what `kubectl top` shows). Weak evidence for rightsizing: a quiet minute says nothing
//!   about the daily peak.
//! - Prometheus history ([`UsageHistory`], [`prometheus`]): p95 CPU and maximum memory
//!   working set per container over a window (default 7 days). When present, rightsizing
//!   is based on it.

mod direct;
mod files;
mod kinds;
mod live;
mod metrics;
pub mod plugin_env;
pub mod prometheus;
pub mod quantity;
mod yaml;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::{CronJob, Job};
#[allow(deprecated)]
use k8s_openapi::api::core::v1::Endpoints;
use k8s_openapi::api::core::v1::{
    Event, Namespace, Node, PersistentVolume, PersistentVolumeClaim, Pod, Service,
};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use serde::Serialize;

pub use live::{
    KubeconfigSource, LiveOptions, LoadedKubeconfig, NamespaceScope, read_kubeconfig_list,
};
pub use metrics::{ContainerMetrics, NodeMetrics, PodMetrics};
pub use prometheus::{ContainerKey, HistoricalUsage, UsageHistory};

/// A resource that could not be read, and why (RBAC, not served, a bad object).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// What was skipped: a resource (`secrets`, `pods in payments`,
    /// `metrics.k8s.io/v1beta1 pods`) or an object (`Deployment shop/web`).
    pub resource: String,
    /// Why, in a sentence.
    pub reason: String,
}

/// Where a snapshot came from.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SnapshotSource {
    /// Built in code.
    #[default]
    Memory,
    /// Read from these files (`-` is standard input).
    Files {
        /// The file names, in the order given.
        files: Vec<String>,
    },
    /// Listed from a live API server.
    Live {
        /// The API server URL.
        server: String,
        /// The kubeconfig context, when one was used.
        context: Option<String>,
    },
}

/// Everything the analyzers look at, in the Kubernetes API's own types.
#[derive(Debug, Clone, Default)]
#[allow(deprecated)]
pub struct ClusterSnapshot {
    /// Namespaces.
    pub namespaces: Vec<Namespace>,
    /// Nodes.
    pub nodes: Vec<Node>,
    /// Pods.
    pub pods: Vec<Pod>,
    /// Deployments.
    pub deployments: Vec<Deployment>,
    /// StatefulSets.
    pub stateful_sets: Vec<StatefulSet>,
    /// DaemonSets.
    pub daemon_sets: Vec<DaemonSet>,
    /// ReplicaSets.
    pub replica_sets: Vec<ReplicaSet>,
    /// Jobs.
    pub jobs: Vec<Job>,
    /// CronJobs.
    pub cron_jobs: Vec<CronJob>,
    /// Services.
    pub services: Vec<Service>,
    /// Endpoints (core/v1, deprecated in 1.33 but still served and still in dumps).
    pub endpoints: Vec<Endpoints>,
    /// EndpointSlices.
    pub endpoint_slices: Vec<EndpointSlice>,
    /// PersistentVolumeClaims.
    pub persistent_volume_claims: Vec<PersistentVolumeClaim>,
    /// PersistentVolumes.
    pub persistent_volumes: Vec<PersistentVolume>,
    /// HorizontalPodAutoscalers (autoscaling/v2).
    pub horizontal_pod_autoscalers: Vec<HorizontalPodAutoscaler>,
    /// PodDisruptionBudgets.
    pub pod_disruption_budgets: Vec<PodDisruptionBudget>,
    /// Events (core/v1).
    pub events: Vec<Event>,
    /// Ingresses.
    pub ingresses: Vec<Ingress>,
    /// NetworkPolicies.
    pub network_policies: Vec<NetworkPolicy>,
    /// `metrics.k8s.io` pod samples.
    pub pod_metrics: Vec<PodMetrics>,
    /// `metrics.k8s.io` node samples.
    pub node_metrics: Vec<NodeMetrics>,
    /// Usage history from Prometheus, when it was asked for and answered.
    pub history: Option<UsageHistory>,
    /// Resources that could not be read; the snapshot is complete except for these.
    pub skipped: Vec<Skipped>,
    /// Where the objects came from.
    pub source: SnapshotSource,
}

impl ClusterSnapshot {
    /// The number of objects held (usage samples included).
    pub fn object_count(&self) -> usize {
        self.namespaces.len()
            + self.nodes.len()
            + self.pods.len()
            + self.deployments.len()
            + self.stateful_sets.len()
            + self.daemon_sets.len()
            + self.replica_sets.len()
            + self.jobs.len()
            + self.cron_jobs.len()
            + self.services.len()
            + self.endpoints.len()
            + self.endpoint_slices.len()
            + self.persistent_volume_claims.len()
            + self.persistent_volumes.len()
            + self.horizontal_pod_autoscalers.len()
            + self.pod_disruption_budgets.len()
            + self.events.len()
            + self.ingresses.len()
            + self.network_policies.len()
            + self.pod_metrics.len()
            + self.node_metrics.len()
    }
}
