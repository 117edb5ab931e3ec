//! `metrics.k8s.io/v1beta1` objects (served by metrics-server; not part of `k8s-openapi`).

use std::borrow::Cow;
use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};

const GROUP: &str = "metrics.k8s.io";
const VERSION: &str = "v1beta1";

/// One `PodMetrics` sample: current usage of each container of a pod.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PodMetrics {
    /// Name and namespace of the pod.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// When the sample was taken (RFC 3339).
    #[serde(default)]
    pub timestamp: Option<String>,
    /// The window the rate was computed over (e.g. `30s`).
    #[serde(default)]
    pub window: Option<String>,
    /// Per-container usage.
    #[serde(default)]
    pub containers: Vec<ContainerMetrics>,
}

/// Usage of one container: `cpu` and `memory` quantities.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContainerMetrics {
    /// The container name.
    pub name: String,
    /// `cpu` (cores) and `memory` (working set bytes).
    #[serde(default)]
    pub usage: BTreeMap<String, Quantity>,
}

/// One `NodeMetrics` sample.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeMetrics {
    /// Name of the node.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// When the sample was taken (RFC 3339).
    #[serde(default)]
    pub timestamp: Option<String>,
    /// The window the rate was computed over.
    #[serde(default)]
    pub window: Option<String>,
    /// `cpu` and `memory` in use on the node.
    #[serde(default)]
    pub usage: BTreeMap<String, Quantity>,
}

impl kube::Resource for PodMetrics {
    type DynamicType = ();
    type Scope = k8s_openapi::NamespaceResourceScope;

    fn kind((): &()) -> Cow<'_, str> {
        Cow::Borrowed("PodMetrics")
    }
    fn group((): &()) -> Cow<'_, str> {
        Cow::Borrowed(GROUP)
    }
    fn version((): &()) -> Cow<'_, str> {
        Cow::Borrowed(VERSION)
    }
    fn plural((): &()) -> Cow<'_, str> {
        Cow::Borrowed("pods")
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

impl kube::Resource for NodeMetrics {
    type DynamicType = ();
    type Scope = k8s_openapi::ClusterResourceScope;

    fn kind((): &()) -> Cow<'_, str> {
        Cow::Borrowed("NodeMetrics")
    }
    fn group((): &()) -> Cow<'_, str> {
        Cow::Borrowed(GROUP)
    }
    fn version((): &()) -> Cow<'_, str> {
        Cow::Borrowed(VERSION)
    }
    fn plural((): &()) -> Cow<'_, str> {
        Cow::Borrowed("nodes")
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}
