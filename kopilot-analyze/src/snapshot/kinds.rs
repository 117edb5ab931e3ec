//! The kinds a snapshot holds: which `(apiVersion, kind)` goes into which list of a
//! [`ClusterSnapshot`], in one table that both ways of reading files use.

#![allow(deprecated)] // core/v1 Endpoints: deprecated in 1.33, still served and still in dumps.

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{
    Endpoints, Event, Namespace, Node, PersistentVolume, PersistentVolumeClaim, Pod, Service,
};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use serde::{Deserialize, Deserializer};

use super::{ClusterSnapshot, NodeMetrics, PodMetrics};

macro_rules! kinds {
    ($($variant:ident => $field:ident: $ty:ty = ($api_version:literal, $kind:literal),)+) => {
        /// A kind the analyzers use.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(super) enum Kind {
            $($variant,)+
        }

        impl Kind {
            /// The kind of `apiVersion`/`kind`, or `None` for kinds the analyzers do not use.
            pub(super) fn of(api_version: &str, kind: &str) -> Option<Self> {
                match (api_version, kind) {
                    $(($api_version, $kind) => Some(Kind::$variant),)+
                    _ => None,
                }
            }

            /// Deserializes one object of this kind and adds it to `into`.
            pub(super) fn read<'de, D: Deserializer<'de>>(
                self,
                from: D,
                into: &mut ClusterSnapshot,
            ) -> Result<(), D::Error> {
                match self {
                    $(Kind::$variant => into.$field.push(<$ty>::deserialize(from)?),)+
                }
                Ok(())
            }
        }

        impl ClusterSnapshot {
            /// Moves every object of `other` to the end of this snapshot's lists, in order.
            pub(super) fn append_objects(&mut self, other: &mut ClusterSnapshot) {
                $(self.$field.append(&mut other.$field);)+
            }

            /// Asserts that both snapshots hold equal objects in the same order.
            #[cfg(test)]
            pub(super) fn assert_same_objects(&self, other: &ClusterSnapshot, what: &str) {
                $(assert_eq!(self.$field, other.$field, "{what}: {}", stringify!($field));)+
            }
        }
    };
}

kinds! {
    Namespace => namespaces: Namespace = ("v1", "Namespace"),
    Node => nodes: Node = ("v1", "Node"),
    Pod => pods: Pod = ("v1", "Pod"),
    Service => services: Service = ("v1", "Service"),
    Endpoints => endpoints: Endpoints = ("v1", "Endpoints"),
    PersistentVolumeClaim => persistent_volume_claims: PersistentVolumeClaim = ("v1", "PersistentVolumeClaim"),
    PersistentVolume => persistent_volumes: PersistentVolume = ("v1", "PersistentVolume"),
    Event => events: Event = ("v1", "Event"),
    Deployment => deployments: Deployment = ("apps/v1", "Deployment"),
    StatefulSet => stateful_sets: StatefulSet = ("apps/v1", "StatefulSet"),
    DaemonSet => daemon_sets: DaemonSet = ("apps/v1", "DaemonSet"),
    ReplicaSet => replica_sets: ReplicaSet = ("apps/v1", "ReplicaSet"),
    Job => jobs: Job = ("batch/v1", "Job"),
    CronJob => cron_jobs: CronJob = ("batch/v1", "CronJob"),
    HorizontalPodAutoscaler => horizontal_pod_autoscalers: HorizontalPodAutoscaler = ("autoscaling/v2", "HorizontalPodAutoscaler"),
    PodDisruptionBudget => pod_disruption_budgets: PodDisruptionBudget = ("policy/v1", "PodDisruptionBudget"),
    EndpointSlice => endpoint_slices: EndpointSlice = ("discovery.k8s.io/v1", "EndpointSlice"),
    Ingress => ingresses: Ingress = ("networking.k8s.io/v1", "Ingress"),
    NetworkPolicy => network_policies: NetworkPolicy = ("networking.k8s.io/v1", "NetworkPolicy"),
    PodMetrics => pod_metrics: PodMetrics = ("metrics.k8s.io/v1beta1", "PodMetrics"),
    NodeMetrics => node_metrics: NodeMetrics = ("metrics.k8s.io/v1beta1", "NodeMetrics"),
}
