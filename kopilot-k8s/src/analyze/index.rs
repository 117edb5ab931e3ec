//! What every analyzer needs, computed once per run: workloads with their pods (following
//! ownerReferences Pod→ReplicaSet→Deployment, Pod→StatefulSet/DaemonSet/Job→CronJob), usage
//! per container, and the problems found on the way (bad quantities).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use k8s_openapi::api::core::v1::{Container, Pod, PodSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use super::findings::{ObjectRef, SkippedEntry};
use super::pricing::Pricing;
use crate::snapshot::quantity::{parse_bytes, parse_cpu_millis};
use crate::snapshot::{ClusterSnapshot, ContainerKey};

/// A workload (or a bare pod) and the pods it owns.
pub(crate) struct Workload<'a> {
    pub(crate) object: ObjectRef,
    /// The pod template's spec (for bare pods and owners missing from the snapshot: the
    /// first pod's spec).
    pub(crate) spec: Option<&'a PodSpec>,
    /// Labels of the pod template (selectors match on these).
    pub(crate) template_labels: Option<&'a BTreeMap<String, String>>,
    /// Desired replicas where the kind has them (Deployment, StatefulSet, ReplicaSet).
    pub(crate) replicas: Option<i32>,
    pub(crate) pods: Vec<&'a Pod>,
}

impl<'a> Workload<'a> {
    pub(crate) fn namespace(&self) -> &str {
        self.object.namespace.as_deref().unwrap_or_default()
    }

    /// The `kubectl` resource form (`deployment/web`) for kinds `kubectl set` can change.
    pub(crate) fn settable_target(&self) -> Option<String> {
        let kind = match self.object.kind.as_str() {
            "Deployment" => "deployment",
            "StatefulSet" => "statefulset",
            "DaemonSet" => "daemonset",
            "ReplicaSet" => "replicaset",
            _ => return None,
        };
        Some(format!("{kind}/{}", self.object.name))
    }

    /// The `kubectl` resource form for kinds `kubectl scale` can change.
    pub(crate) fn scalable_target(&self) -> Option<String> {
        match self.object.kind.as_str() {
            "Deployment" | "StatefulSet" | "ReplicaSet" => self.settable_target(),
            _ => None,
        }
    }

    /// Containers of the template (app containers only).
    pub(crate) fn containers(&self) -> &[Container] {
        self.spec.map_or(&[], |s| s.containers.as_slice())
    }

    /// App and init containers of the template.
    pub(crate) fn all_containers(&self) -> impl Iterator<Item = &Container> {
        self.spec.into_iter().flat_map(|s| {
            s.containers
                .iter()
                .chain(s.init_containers.iter().flatten())
        })
    }

    /// Pods in phase Running.
    pub(crate) fn running_pods(&self) -> impl Iterator<Item = &'a Pod> + '_ {
        self.pods
            .iter()
            .copied()
            .filter(|p| pod_phase(p) == "Running")
    }
}

pub(crate) fn pod_phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("Unknown")
}

pub(crate) fn name(meta: &ObjectMeta) -> &str {
    meta.name.as_deref().unwrap_or_default()
}

pub(crate) fn namespace(meta: &ObjectMeta) -> &str {
    meta.namespace.as_deref().unwrap_or_default()
}

/// Where a usage figure came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UsageKind {
    /// One metrics-server sample.
    Sample,
    /// Prometheus history.
    History,
}

/// Usage of one container.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ContainerUsage {
    pub(crate) cpu_millis: Option<i64>,
    pub(crate) memory_bytes: Option<i64>,
}

/// Everything computed once per run.
pub(crate) struct Context<'a> {
    pub(crate) snapshot: &'a ClusterSnapshot,
    pub(crate) pricing: &'a Pricing,
    pub(crate) workloads: Vec<Workload<'a>>,
    /// Which workload owns a pod: (namespace, pod name) → index into `workloads`.
    pub(crate) pod_owner: HashMap<(&'a str, &'a str), usize>,
    by_key: HashMap<Key<'a>, usize>,
    samples: HashMap<(&'a str, &'a str, &'a str), ContainerUsage>,
    sample_time: Option<(&'a str, &'a str)>,
    pub(crate) problems: BTreeSet<SkippedEntry>,
}

type Key<'a> = (&'static str, &'a str, &'a str);

impl<'a> Context<'a> {
    pub(crate) fn new(snapshot: &'a ClusterSnapshot, pricing: &'a Pricing) -> Self {
        let mut problems = BTreeSet::new();
        let mut workloads: Vec<Workload<'a>> = Vec::new();
        let mut by_key: HashMap<Key<'a>, usize> = HashMap::new();
        let mut add = |workloads: &mut Vec<Workload<'a>>, key: Key<'a>, w: Workload<'a>| {
            by_key.entry(key).or_insert_with(|| {
                workloads.push(w);
                workloads.len() - 1
            });
        };
        for d in &snapshot.deployments {
            let t = d.spec.as_ref().map(|s| &s.template);
            let w = template_workload(
                "Deployment",
                &d.metadata,
                t,
                d.spec.as_ref().and_then(|s| s.replicas).or(Some(1)),
            );
            add(
                &mut workloads,
                ("Deployment", namespace(&d.metadata), name(&d.metadata)),
                w,
            );
        }
        for s in &snapshot.stateful_sets {
            let t = s.spec.as_ref().map(|s| &s.template);
            let w = template_workload(
                "StatefulSet",
                &s.metadata,
                t,
                s.spec.as_ref().and_then(|s| s.replicas).or(Some(1)),
            );
            add(
                &mut workloads,
                ("StatefulSet", namespace(&s.metadata), name(&s.metadata)),
                w,
            );
        }
        for ds in &snapshot.daemon_sets {
            let t = ds.spec.as_ref().map(|s| &s.template);
            let w = template_workload("DaemonSet", &ds.metadata, t, None);
            add(
                &mut workloads,
                ("DaemonSet", namespace(&ds.metadata), name(&ds.metadata)),
                w,
            );
        }
        for cj in &snapshot.cron_jobs {
            let t = cj
                .spec
                .as_ref()
                .and_then(|s| s.job_template.spec.as_ref())
                .map(|s| &s.template);
            let w = template_workload("CronJob", &cj.metadata, t, None);
            add(
                &mut workloads,
                ("CronJob", namespace(&cj.metadata), name(&cj.metadata)),
                w,
            );
        }
        // Jobs and ReplicaSets are workloads only when nothing owns them.
        let mut owner_of: HashMap<Key<'a>, Key<'a>> = HashMap::new();
        for job in &snapshot.jobs {
            let ns = namespace(&job.metadata);
            let key = ("Job", ns, name(&job.metadata));
            if let Some(owner) = controller(&job.metadata).filter(|o| o.kind == "CronJob") {
                owner_of.insert(key, ("CronJob", ns, owner.name.as_str()));
            } else {
                let t = job.spec.as_ref().map(|s| &s.template);
                add(
                    &mut workloads,
                    key,
                    template_workload("Job", &job.metadata, t, None),
                );
            }
        }
        for rs in &snapshot.replica_sets {
            let ns = namespace(&rs.metadata);
            let key = ("ReplicaSet", ns, name(&rs.metadata));
            if let Some(owner) = controller(&rs.metadata).filter(|o| o.kind == "Deployment") {
                owner_of.insert(key, ("Deployment", ns, owner.name.as_str()));
            } else {
                let t = rs.spec.as_ref().and_then(|s| s.template.as_ref());
                let replicas = rs.spec.as_ref().and_then(|s| s.replicas).or(Some(1));
                add(
                    &mut workloads,
                    key,
                    template_workload("ReplicaSet", &rs.metadata, t, replicas),
                );
            }
        }
        let deployments: BTreeSet<(&str, &str)> = snapshot
            .deployments
            .iter()
            .map(|d| (namespace(&d.metadata), name(&d.metadata)))
            .collect();
        let mut pod_owner = HashMap::with_capacity(snapshot.pods.len());
        for pod in &snapshot.pods {
            let ns = namespace(&pod.metadata);
            let pod_name = name(&pod.metadata);
            let key = match controller(&pod.metadata) {
                Some(owner) => {
                    let direct = (kind_static(&owner.kind), ns, owner.name.as_str());
                    let resolved = owner_of
                        .get(&direct)
                        .copied()
                        .or_else(|| infer_deployment(pod, direct, &deployments))
                        .unwrap_or(direct);
                    if resolved.0 == "Node" || resolved.0 == "Other" {
                        ("Pod", ns, pod_name)
                    } else {
                        resolved
                    }
                }
                None => ("Pod", ns, pod_name),
            };
            let index = if let Some(i) = by_key.get(&key) {
                *i
            } else {
                // A bare pod, or an owner missing from the snapshot: the pod stands in.
                workloads.push(Workload {
                    object: ObjectRef::new(key.0, Some(ns), key.2),
                    spec: pod.spec.as_ref(),
                    template_labels: pod.metadata.labels.as_ref(),
                    replicas: None,
                    pods: Vec::new(),
                });
                by_key.insert(key, workloads.len() - 1);
                workloads.len() - 1
            };
            if let Some(w) = workloads.get_mut(index) {
                w.pods.push(pod);
            }
            pod_owner.insert((ns, pod_name), index);
        }
        let mut samples = HashMap::new();
        let mut sample_time = None;
        for pm in &snapshot.pod_metrics {
            let ns = namespace(&pm.metadata);
            let pod = name(&pm.metadata);
            if sample_time.is_none() {
                sample_time = Some((
                    pm.timestamp.as_deref().unwrap_or("unknown time"),
                    pm.window.as_deref().unwrap_or("unknown"),
                ));
            }
            for c in &pm.containers {
                let what = format!("PodMetrics {ns}/{pod}");
                let cpu = c.usage.get("cpu").and_then(|q| {
                    quantity(
                        &mut problems,
                        &what,
                        &format!("container {} usage.cpu", c.name),
                        &q.0,
                        parse_cpu_millis,
                    )
                });
                let memory = c.usage.get("memory").and_then(|q| {
                    quantity(
                        &mut problems,
                        &what,
                        &format!("container {} usage.memory", c.name),
                        &q.0,
                        parse_bytes,
                    )
                });
                samples.insert(
                    (ns, pod, c.name.as_str()),
                    ContainerUsage {
                        cpu_millis: cpu,
                        memory_bytes: memory,
                    },
                );
            }
        }
        Self {
            snapshot,
            pricing,
            workloads,
            pod_owner,
            by_key,
            samples,
            sample_time,
            problems,
        }
    }

    /// The workload of `kind` named `name` in `namespace`.
    pub(crate) fn workload(
        &self,
        kind: &'static str,
        namespace: &str,
        name: &str,
    ) -> Option<&Workload<'a>> {
        // The map is keyed by names borrowed from the snapshot; `lookup` lets a key with a
        // shorter lifetime be used (the map is covariant in its keys).
        lookup(&self.by_key, (kind, namespace, name)).and_then(|i| self.workloads.get(i))
    }

    /// Which usage this run prefers: Prometheus history when there is any, else samples.
    pub(crate) fn usage_kind(&self) -> Option<UsageKind> {
        if self
            .snapshot
            .history
            .as_ref()
            .is_some_and(|h| !h.containers.is_empty())
        {
            Some(UsageKind::History)
        } else if self.samples.is_empty() {
            None
        } else {
            Some(UsageKind::Sample)
        }
    }

    /// Usage of one container from the preferred source.
    pub(crate) fn usage(&self, pod: &Pod, container: &str) -> Option<ContainerUsage> {
        let ns = namespace(&pod.metadata);
        let pod_name = name(&pod.metadata);
        match self.usage_kind()? {
            UsageKind::History => {
                let h = self
                    .snapshot
                    .history
                    .as_ref()?
                    .containers
                    .get(&ContainerKey {
                        namespace: ns.to_owned(),
                        pod: pod_name.to_owned(),
                        container: container.to_owned(),
                    })?;
                Some(ContainerUsage {
                    cpu_millis: h.cpu_p95_millis,
                    memory_bytes: h.memory_max_bytes,
                })
            }
            UsageKind::Sample => self.samples.get(&(ns, pod_name, container)).copied(),
        }
    }

    /// A sentence for the evidence: where the usage figures came from and how far to trust them.
    pub(crate) fn usage_source(&self) -> String {
        match (self.usage_kind(), &self.snapshot.history) {
            (Some(UsageKind::History), Some(h)) => format!(
                "Prometheus {}: CPU is the p95 of the 5-minute rate and memory the maximum working set over {}",
                h.url, h.window
            ),
            (Some(UsageKind::Sample), _) => {
                let (at, window) = self.sample_time.unwrap_or(("unknown time", "unknown"));
                format!(
                    "metrics-server: one point-in-time sample per pod (at {at}, window {window}); a single sample is weak evidence for rightsizing, confirm with history (--prometheus) before applying"
                )
            }
            _ => "none: no metrics.k8s.io samples or Prometheus history in the snapshot".to_owned(),
        }
    }

    /// Parses a quantity of `object`, recording a problem when it is not one.
    pub(crate) fn quantity(
        &mut self,
        object: &ObjectRef,
        field: &str,
        text: &str,
        parse: fn(&str) -> Result<i64, crate::snapshot::quantity::QuantityError>,
    ) -> Option<i64> {
        quantity(&mut self.problems, &object.to_string(), field, text, parse)
    }
}

fn quantity(
    problems: &mut BTreeSet<SkippedEntry>,
    object: &str,
    field: &str,
    text: &str,
    parse: fn(&str) -> Result<i64, crate::snapshot::quantity::QuantityError>,
) -> Option<i64> {
    match parse(text) {
        Ok(v) => Some(v),
        Err(e) => {
            problems.insert(SkippedEntry {
                resource: object.to_owned(),
                reason: format!("{field}: {e}"),
            });
            None
        }
    }
}

fn template_workload<'a>(
    kind: &'static str,
    meta: &'a ObjectMeta,
    template: Option<&'a k8s_openapi::api::core::v1::PodTemplateSpec>,
    replicas: Option<i32>,
) -> Workload<'a> {
    Workload {
        object: ObjectRef::new(kind, meta.namespace.as_deref(), name(meta)),
        spec: template.and_then(|t| t.spec.as_ref()),
        template_labels: template
            .and_then(|t| t.metadata.as_ref())
            .and_then(|m| m.labels.as_ref()),
        replicas,
        pods: Vec::new(),
    }
}

/// The controlling owner (or the only owner).
pub(crate) fn controller(meta: &ObjectMeta) -> Option<&OwnerReference> {
    let owners = meta.owner_references.as_deref()?;
    owners
        .iter()
        .find(|o| o.controller == Some(true))
        .or(owners.first())
}

fn kind_static(kind: &str) -> &'static str {
    match kind {
        "Deployment" => "Deployment",
        "StatefulSet" => "StatefulSet",
        "DaemonSet" => "DaemonSet",
        "ReplicaSet" => "ReplicaSet",
        "Job" => "Job",
        "CronJob" => "CronJob",
        "Node" => "Node",
        _ => "Other",
    }
}

/// A pod whose ReplicaSet is missing from the snapshot: `<deployment>-<pod-template-hash>`.
fn infer_deployment<'a>(
    pod: &'a Pod,
    direct: Key<'a>,
    deployments: &BTreeSet<(&'a str, &'a str)>,
) -> Option<Key<'a>> {
    if direct.0 != "ReplicaSet" {
        return None;
    }
    let hash = pod.metadata.labels.as_ref()?.get("pod-template-hash")?;
    let deployment = direct.2.strip_suffix(hash.as_str())?.strip_suffix('-')?;
    deployments
        .get(&(direct.1, deployment))
        .map(|(ns, d)| ("Deployment", *ns, *d))
}

/// A pod that is Ready and not being deleted.
pub(crate) fn pod_ready(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_none()
        && pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn lookup(map: &HashMap<Key<'_>, usize>, key: (&'static str, &str, &str)) -> Option<usize> {
    map.get(&key).copied()
}
