//! What every analyzer needs, computed once per run: workloads with their pods (following
//! ownerReferences Pod→ReplicaSet→Deployment, Pod→StatefulSet/DaemonSet/Job→CronJob), usage
//! per container, and the problems found on the way (bad quantities).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};

use k8s_openapi::api::core::v1::{Container, Pod, PodSpec};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use super::findings::{ObjectRef, SkippedEntry};
use super::pricing::Pricing;
use crate::snapshot::quantity::{parse_bytes, parse_cpu_millis};
use crate::snapshot::{ClusterSnapshot, ContainerKey};

/// A map for the indexes of one run, keyed by names borrowed from the snapshot. Hashing
/// those names with the standard SipHash was a quarter of an analysis; see [`FastHasher`].
pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;
/// A set with the hasher of [`FastMap`].
pub(crate) type FastSet<K> = HashSet<K, BuildHasherDefault<FastHasher>>;

/// A multiply-rotate hasher of eight bytes at a time (the scheme rustc uses for its own
/// tables): several times faster than SipHash on short names. It is not keyed, so names
/// chosen to collide could slow one analysis down; they cannot change its result.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct FastHasher {
    hash: u64,
}

impl FastHasher {
    const MULTIPLIER: u64 = 0x517c_c1b7_2722_0a95;

    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(Self::MULTIPLIER);
    }
}

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            // The same little-endian, zero-padded word as above, built with shifts: a byte
            // copy into a buffer here compiled to a call to `memcpy`, which was most of the
            // cost of hashing short names.
            let word = rest
                .iter()
                .rev()
                .fold(0u64, |word, b| (word << 8) | u64::from(*b));
            self.add(word);
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        // The last multiply leaves the low bits depending only on the low bits of the last
        // word, while the table picks buckets by the low bits: names differing in their
        // last characters (`…-00001`, `…-00002`) crowded into few buckets, and lookups
        // spent their time comparing names. The rotation brings well-mixed bits down.
        self.hash.rotate_left(26)
    }
}

/// A workload (or a bare pod) and the pods it owns.
pub(crate) struct Workload<'a> {
    pub(crate) object: ObjectRef,
    /// The pod template's spec (for bare pods and owners missing from the snapshot: the
    /// first pod's spec).
    pub(crate) spec: Option<&'a PodSpec>,
    /// Labels of the pod template (selectors match on these).
    pub(crate) template_labels: Option<&'a BTreeMap<String, String>>,
    /// Annotations of the object itself (a bare pod's own; none for a stand-in whose owner
    /// is missing from the snapshot).
    pub(crate) annotations: Option<&'a BTreeMap<String, String>>,
    /// Annotations of the pod template (for a stand-in: its first pod's).
    pub(crate) template_annotations: Option<&'a BTreeMap<String, String>>,
    /// A static pod's mirror: its spec is a file on its node, which the kubelet runs, so a
    /// change through the API server is refused and findings about the spec have no fix there.
    pub(crate) static_pod: bool,
    /// Desired replicas where the kind has them (Deployment, StatefulSet, ReplicaSet).
    pub(crate) replicas: Option<i32>,
    pub(crate) pods: Vec<&'a Pod>,
    /// The pods in phase Running, with their usage samples found once per run.
    pub(crate) running: Vec<RunningPod<'a>>,
}

/// A running pod of a workload and where its containers' samples are.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RunningPod<'a> {
    pub(crate) pod: &'a Pod,
    samples: SampleRange,
}

/// Where one pod's container samples are in [`Context`]'s list of them (empty: none).
#[derive(Debug, Clone, Copy, Default)]
struct SampleRange {
    start: usize,
    end: usize,
}

/// What a run knows by pod name: the workload of the pod with that name and the
/// metrics-server samples of its containers. One map for both, so each pod's name is
/// hashed once.
#[derive(Debug, Clone, Copy, Default)]
struct PodEntry {
    owner: Option<usize>,
    samples: SampleRange,
}

/// The metrics-server samples of a run, by pod.
struct Samples<'a> {
    by_pod: FastMap<(&'a str, &'a str), PodEntry>,
    /// (container, usage) of every PodMetrics, a pod's containers side by side.
    containers: Vec<(&'a str, ContainerUsage)>,
    /// When the first sample was taken and over which window.
    time: Option<(&'a str, &'a str)>,
}

impl Workload<'_> {
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
    by_key: FastMap<Key<'a>, usize>,
    /// Pods by (namespace, name): their workload and their samples.
    pods_by_name: FastMap<(&'a str, &'a str), PodEntry>,
    /// (container, usage) of every PodMetrics; see [`SampleRange`].
    container_samples: Vec<(&'a str, ContainerUsage)>,
    sample_time: Option<(&'a str, &'a str)>,
    /// The first HorizontalPodAutoscaler of each scale target: (namespace, kind, name) → HPA name.
    hpa_by_target: FastMap<(&'a str, &'a str, &'a str), &'a str>,
    /// PodDisruptionBudgets by namespace, in snapshot order.
    pdbs_by_namespace: FastMap<&'a str, Vec<&'a PodDisruptionBudget>>,
    /// [`Context::usage_source`], formatted once per run rather than once per finding.
    usage_source: String,
    pub(crate) problems: BTreeSet<SkippedEntry>,
}

type Key<'a> = (&'static str, &'a str, &'a str);

impl<'a> Context<'a> {
    pub(crate) fn new(snapshot: &'a ClusterSnapshot, pricing: &'a Pricing) -> Self {
        let mut problems = BTreeSet::new();
        let mut workloads: Vec<Workload<'a>> = Vec::new();
        let mut by_key: FastMap<Key<'a>, usize> = FastMap::default();
        by_key.reserve(
            snapshot.deployments.len()
                + snapshot.stateful_sets.len()
                + snapshot.daemon_sets.len()
                + snapshot.cron_jobs.len()
                + snapshot.jobs.len()
                + snapshot.replica_sets.len(),
        );
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
        let mut owner_of: FastMap<Key<'a>, Key<'a>> = FastMap::default();
        owner_of.reserve(snapshot.jobs.len() + snapshot.replica_sets.len());
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
        let Samples {
            by_pod: mut pods_by_name,
            containers: container_samples,
            time: sample_time,
        } = sample_usage(snapshot, &mut problems);
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
                let bare = key.0 == "Pod";
                workloads.push(Workload {
                    object: ObjectRef::new(key.0, Some(ns), key.2),
                    spec: pod.spec.as_ref(),
                    template_labels: pod.metadata.labels.as_ref(),
                    annotations: if bare {
                        pod.metadata.annotations.as_ref()
                    } else {
                        None
                    },
                    template_annotations: if bare {
                        None
                    } else {
                        pod.metadata.annotations.as_ref()
                    },
                    static_pod: bare && is_mirror_pod(pod),
                    replicas: None,
                    pods: Vec::new(),
                    running: Vec::new(),
                });
                by_key.insert(key, workloads.len() - 1);
                workloads.len() - 1
            };
            let entry = pods_by_name.entry((ns, pod_name)).or_default();
            entry.owner = Some(index);
            if let Some(w) = workloads.get_mut(index) {
                w.pods.push(pod);
                if pod_phase(pod) == "Running" {
                    w.running.push(RunningPod {
                        pod,
                        samples: entry.samples,
                    });
                }
            }
        }
        // Reversed, so the first HPA of a target is the one kept.
        let hpa_by_target = snapshot
            .horizontal_pod_autoscalers
            .iter()
            .rev()
            .filter_map(|h| {
                let target = &h.spec.as_ref()?.scale_target_ref;
                Some((
                    (
                        namespace(&h.metadata),
                        target.kind.as_str(),
                        target.name.as_str(),
                    ),
                    name(&h.metadata),
                ))
            })
            .collect();
        let mut pdbs_by_namespace: FastMap<&str, Vec<&PodDisruptionBudget>> = FastMap::default();
        for pdb in &snapshot.pod_disruption_budgets {
            pdbs_by_namespace
                .entry(namespace(&pdb.metadata))
                .or_default()
                .push(pdb);
        }
        let mut ctx = Self {
            snapshot,
            pricing,
            workloads,
            by_key,
            pods_by_name,
            container_samples,
            sample_time,
            hpa_by_target,
            pdbs_by_namespace,
            usage_source: String::new(),
            problems,
        };
        ctx.usage_source = ctx.describe_usage_source();
        ctx
    }

    /// The name of the first HorizontalPodAutoscaler whose scale target is `object`.
    pub(crate) fn hpa_for(&self, object: &ObjectRef) -> Option<&'a str> {
        let ns = object.namespace.as_deref()?;
        lookup_hpa(
            &self.hpa_by_target,
            (ns, object.kind.as_str(), object.name.as_str()),
        )
    }

    /// The PodDisruptionBudgets of `namespace`, in snapshot order.
    pub(crate) fn pdbs_in(&self, namespace: &str) -> &[&'a PodDisruptionBudget] {
        self.pdbs_by_namespace
            .get(namespace)
            .map_or(&[], Vec::as_slice)
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

    /// The index in `workloads` of the workload that owns the pod `namespace/name`.
    pub(crate) fn pod_owner(&self, namespace: &str, name: &str) -> Option<usize> {
        self.pods_by_name
            .get(&(namespace, name))
            .and_then(|entry| entry.owner)
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
        } else if self.container_samples.is_empty() {
            None
        } else {
            Some(UsageKind::Sample)
        }
    }

    /// Usage of one container from the preferred source.
    pub(crate) fn usage(&self, running: RunningPod<'_>, container: &str) -> Option<ContainerUsage> {
        match self.usage_kind()? {
            UsageKind::History => {
                let ns = namespace(&running.pod.metadata);
                let pod_name = name(&running.pod.metadata);
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
            // The last sample of a container wins, as when PodMetrics repeat a pod.
            UsageKind::Sample => self
                .container_samples
                .get(running.samples.start..running.samples.end)?
                .iter()
                .rev()
                .find(|(name, _)| *name == container)
                .map(|(_, usage)| *usage),
        }
    }

    /// A sentence for the evidence: where the usage figures came from and how far to trust them.
    pub(crate) fn usage_source(&self) -> &str {
        &self.usage_source
    }

    fn describe_usage_source(&self) -> String {
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

    /// Parses a quantity of `object`, recording a problem when it is not one (`field` is
    /// only formatted then).
    pub(crate) fn quantity(
        &mut self,
        object: &ObjectRef,
        field: fmt::Arguments<'_>,
        text: &str,
        parse: fn(&str) -> Result<i64, crate::snapshot::quantity::QuantityError>,
    ) -> Option<i64> {
        quantity(
            &mut self.problems,
            format_args!("{object}"),
            field,
            text,
            parse,
        )
    }
}

/// Parses the usage of every PodMetrics (recording problems) and indexes it by pod.
fn sample_usage<'a>(
    snapshot: &'a ClusterSnapshot,
    problems: &mut BTreeSet<SkippedEntry>,
) -> Samples<'a> {
    let mut by_pod: FastMap<(&str, &str), PodEntry> = FastMap::default();
    by_pod.reserve(snapshot.pods.len().max(snapshot.pod_metrics.len()));
    let mut containers: Vec<(&str, ContainerUsage)> =
        Vec::with_capacity(snapshot.pod_metrics.len());
    let mut time = None;
    for pm in &snapshot.pod_metrics {
        let ns = namespace(&pm.metadata);
        let pod = name(&pm.metadata);
        if time.is_none() {
            time = Some((
                pm.timestamp.as_deref().unwrap_or("unknown time"),
                pm.window.as_deref().unwrap_or("unknown"),
            ));
        }
        let entry = by_pod.entry((ns, pod)).or_default();
        let start = containers.len();
        // A pod sampled twice: the earlier containers come first, so a later sample of the
        // same container is found before them.
        containers.extend_from_within(entry.samples.start..entry.samples.end);
        for c in &pm.containers {
            let what = format_args!("PodMetrics {ns}/{pod}");
            // One walk over the usage map rather than a lookup per key.
            let (mut cpu_text, mut memory_text) = (None, None);
            for (key, q) in &c.usage {
                match key.as_str() {
                    "cpu" => cpu_text = Some(q),
                    "memory" => memory_text = Some(q),
                    _ => {}
                }
            }
            let cpu = cpu_text.and_then(|q| {
                quantity(
                    problems,
                    what,
                    format_args!("container {} usage.cpu", c.name),
                    &q.0,
                    parse_cpu_millis,
                )
            });
            let memory = memory_text.and_then(|q| {
                quantity(
                    problems,
                    what,
                    format_args!("container {} usage.memory", c.name),
                    &q.0,
                    parse_bytes,
                )
            });
            containers.push((
                c.name.as_str(),
                ContainerUsage {
                    cpu_millis: cpu,
                    memory_bytes: memory,
                },
            ));
        }
        entry.samples = SampleRange {
            start,
            end: containers.len(),
        };
    }
    Samples {
        by_pod,
        containers,
        time,
    }
}

/// Parses a quantity; when it is not one, records a problem of `object` (the names are
/// formatted only then).
fn quantity(
    problems: &mut BTreeSet<SkippedEntry>,
    object: fmt::Arguments<'_>,
    field: fmt::Arguments<'_>,
    text: &str,
    parse: fn(&str) -> Result<i64, crate::snapshot::quantity::QuantityError>,
) -> Option<i64> {
    match parse(text) {
        Ok(v) => Some(v),
        Err(e) => {
            problems.insert(SkippedEntry {
                resource: object.to_string(),
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
        annotations: meta.annotations.as_ref(),
        template_annotations: template
            .and_then(|t| t.metadata.as_ref())
            .and_then(|m| m.annotations.as_ref()),
        static_pod: false,
        replicas,
        pods: Vec::new(),
        running: Vec::new(),
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

/// The annotation the kubelet puts on the API server's mirror of a static pod.
const MIRROR_ANNOTATION: &str = "kubernetes.io/config.mirror";

/// Whether `pod` is the mirror of a static pod (the control plane of kubeadm clusters:
/// kube-apiserver, etcd, ...): it carries the kubelet's mirror annotation, or its node is its
/// controller, as the kubelet sets for mirror pods.
pub(crate) fn is_mirror_pod(pod: &Pod) -> bool {
    pod.metadata
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key(MIRROR_ANNOTATION))
        || controller(&pod.metadata).is_some_and(|o| o.kind == "Node")
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

fn lookup_hpa<'k, 'v>(
    map: &FastMap<(&'k str, &'k str, &'k str), &'v str>,
    key: (&'k str, &'k str, &'k str),
) -> Option<&'v str> {
    map.get(&key).copied()
}

fn lookup(map: &FastMap<Key<'_>, usize>, key: (&'static str, &str, &str)) -> Option<usize> {
    map.get(&key).copied()
}

#[cfg(test)]
mod tests {
    use crate::snapshot::ClusterSnapshot;
    use crate::{AnalyzeOptions, analyze};

    #[test]
    fn hpas_and_pdbs_are_found_by_target_and_namespace_first_one_wins() {
        let yaml = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\n\
            spec: {replicas: 1, selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, \
            spec: {containers: [{name: app, image: 'nginx:1.27', resources: {requests: {cpu: 500m, memory: 1Gi}}}]}}}\n\
            ---\napiVersion: v1\nkind: Pod\nmetadata: {name: web-1, namespace: shop, labels: {app: web}, \
            ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, uid: u, controller: true}]}\n\
            spec: {containers: [{name: app, image: 'nginx:1.27', resources: {requests: {cpu: 500m, memory: 1Gi}}}]}\n\
            status: {phase: Running}\n\
            ---\napiVersion: metrics.k8s.io/v1beta1\nkind: PodMetrics\nmetadata: {name: web-1, namespace: shop}\n\
            containers: [{name: app, usage: {cpu: 1m, memory: 20Mi}}]\n\
            ---\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: elsewhere, namespace: lab}\n\
            spec: {maxReplicas: 3, scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}}\n\
            ---\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: other-kind, namespace: shop}\n\
            spec: {maxReplicas: 3, scaleTargetRef: {apiVersion: apps/v1, kind: StatefulSet, name: web}}\n\
            ---\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: first, namespace: shop}\n\
            spec: {maxReplicas: 3, scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}}\n\
            ---\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: second, namespace: shop}\n\
            spec: {maxReplicas: 3, scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}}\n\
            ---\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: lab-pdb, namespace: lab}\n\
            spec: {minAvailable: 1, selector: {matchLabels: {app: web}}}\n\
            ---\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: loose, namespace: shop}\n\
            spec: {maxUnavailable: 1, selector: {matchLabels: {app: web}}}\n\
            ---\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: strict, namespace: shop}\n\
            spec: {minAvailable: 1, selector: {matchLabels: {app: web}}}\n";
        let snapshot = ClusterSnapshot::from_yaml_str("hpa.yaml", yaml).unwrap();
        let report = analyze(&snapshot, &AnalyzeOptions::default());
        let finding = |check: &str| {
            report
                .findings
                .iter()
                .find(|f| f.check == check)
                .unwrap_or_else(|| panic!("no {check} finding"))
        };
        let idle = finding("cost.idle");
        assert_eq!(idle.evidence["horizontal_pod_autoscaler"], "first");
        let pdb = finding("reliability.single_replica_pdb");
        assert_eq!(pdb.evidence["pod_disruption_budget"], "strict");
        assert_eq!(pdb.evidence["horizontal_pod_autoscaler"], "first");
        assert!(
            pdb.command
                .as_deref()
                .is_some_and(|c| c.starts_with("kubectl patch hpa first -n shop")),
            "{:?}",
            pdb.command
        );
    }
}
