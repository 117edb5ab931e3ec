//! Health checks: pods that crash, cannot pull or cannot be scheduled, OOM kills, workloads
//! short of replicas, nodes that are not ready or under pressure, services without ready
//! pods, and Warning events. Pod problems are reported once per workload.

use std::collections::BTreeMap;

#[allow(deprecated)]
use k8s_openapi::api::core::v1::Endpoints;
use k8s_openapi::api::core::v1::{ContainerStatus, Pod, Service};
use serde_json::{Value, json};

use super::commands::{suggest, target_name};
use super::index::{Context, FastMap, Workload, name, namespace};
use super::{Draft, ObjectRef, Out, json_object};
use crate::selector::LabelSelector;
use crate::snapshot::quantity::{Bytes, MI, parse_bytes};

const IMAGE_PULL_REASONS: &[&str] = &[
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "ErrImageNeverPull",
];

pub(crate) fn run(ctx: &mut Context<'_>, out: &mut Out<'_>) {
    // Asked once per run, not once per workload.
    let crashloop = out.wants("health.crashloop");
    let image_pull = out.wants("health.image_pull");
    let pending_wanted = out.wants("health.pending");
    let oom = out.wants("health.oomkilled");
    for i in 0..ctx.workloads.len() {
        if crashloop || image_pull {
            waiting_pods(ctx, i, out, crashloop, image_pull);
        }
        if pending_wanted {
            pending(ctx, i, out);
        }
        if oom {
            oomkilled(ctx, i, out);
        }
    }
    if out.wants("health.unavailable_workload") {
        unavailable(ctx, out);
    }
    if out.wants("health.node_not_ready") || out.wants("health.node_pressure") {
        nodes(ctx, out);
    }
    if out.wants("health.service_no_endpoints") {
        services(ctx, out);
    }
    if out.wants("health.warning_events") {
        warning_events(ctx, out);
    }
}

fn statuses(pod: &Pod) -> impl Iterator<Item = &ContainerStatus> {
    pod.status.iter().flat_map(|s| {
        s.init_container_statuses
            .iter()
            .flatten()
            .chain(s.container_statuses.iter().flatten())
    })
}

fn pods_phrase(n: usize, total: usize) -> String {
    format!("{n} of {total} pod{}", if total == 1 { "" } else { "s" })
}

/// Containers waiting for the reasons of one check, in pod order.
#[derive(Default)]
struct Waiting<'p> {
    evidence: Vec<Value>,
    /// Pod, container and reason of the first one.
    first: Option<(&'p str, &'p str, &'p str)>,
}

/// Crash-looping containers and containers that cannot pull their image, found in one pass
/// over the workload's pods and reported as one finding per check.
fn waiting_pods(ctx: &Context<'_>, i: usize, out: &mut Out<'_>, crashloop: bool, image_pull: bool) {
    let Some(w) = ctx.workloads.get(i) else {
        return;
    };
    let mut crashing = Waiting::default();
    let mut pulling = Waiting::default();
    for pod in &w.pods {
        for cs in statuses(pod) {
            let Some(waiting) = cs.state.as_ref().and_then(|s| s.waiting.as_ref()) else {
                continue;
            };
            let reason = waiting.reason.as_deref().unwrap_or_default();
            let found = if crashloop && reason == "CrashLoopBackOff" {
                &mut crashing
            } else if image_pull && IMAGE_PULL_REASONS.contains(&reason) {
                &mut pulling
            } else {
                continue;
            };
            let last = cs.last_state.as_ref().and_then(|s| s.terminated.as_ref());
            found
                .first
                .get_or_insert((name(&pod.metadata), cs.name.as_str(), reason));
            found.evidence.push(json!({
                "pod": name(&pod.metadata),
                "container": cs.name,
                "reason": reason,
                "message": waiting.message,
                "image": cs.image,
                "restarts": cs.restart_count,
                "last_termination": last.map(|t| json!({
                    "reason": t.reason, "exit_code": t.exit_code, "finished_at": t.finished_at.as_ref().map(|t| t.0.to_string()),
                })),
            }));
        }
    }
    report_waiting(w, out, "health.crashloop", crashing);
    report_waiting(w, out, "health.image_pull", pulling);
}

fn report_waiting(w: &Workload<'_>, out: &mut Out<'_>, check: &'static str, found: Waiting<'_>) {
    let Waiting { evidence, first } = found;
    let Some((pod, container, reason)) = first else {
        return;
    };
    let affected = evidence
        .iter()
        .filter_map(|e| e.get("pod").and_then(Value::as_str))
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let ns = w.namespace().to_owned();
    let (message, recommendation) = if check == "health.crashloop" {
        let restarts = evidence
            .first()
            .and_then(|e| e.get("restarts"))
            .cloned()
            .unwrap_or(Value::Null);
        (
            format!(
                "{}: {} crash-looping (container {container}, {restarts} restarts)",
                w.object,
                pods_phrase(affected, w.pods.len())
            ),
            format!(
                "Read why it exits (kubectl logs {pod} -n {ns} -c {container} --previous) and fix the cause; restarting will not help."
            ),
        )
    } else {
        let image = evidence
            .first()
            .and_then(|e| e.get("image"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        (
            format!(
                "{}: {} cannot pull image {image} ({reason})",
                w.object,
                pods_phrase(affected, w.pods.len())
            ),
            "Check that the image name and tag exist in the registry and that the pod can authenticate (imagePullSecrets); then fix the image in the workload.".to_owned(),
        )
    };
    out.push(
        check,
        Draft {
            object: w.object.clone(),
            message,
            evidence: json_object([("pods", Value::Array(evidence))]),
            recommendation,
            command: None,
            monthly_cost: None,
        },
    );
}

/// Why a pending pod is not placed: the scheduler found no node (`Unschedulable`), or
/// scheduling gates hold it back (`SchedulingGated`, or gates in its spec before any
/// condition is written). The pod's own `PodScheduled` condition says which, events or not.
fn pending(ctx: &Context<'_>, i: usize, out: &mut Out<'_>) {
    let Some(w) = ctx.workloads.get(i) else {
        return;
    };
    let mut evidence = Vec::new();
    // The first pod's reason, as the message gives it.
    let mut first: Option<String> = None;
    let mut gated = false;
    for pod in &w.pods {
        let Some(status) = pod.status.as_ref() else {
            continue;
        };
        if status.phase.as_deref() != Some("Pending") {
            continue;
        }
        let spec = pod.spec.as_ref();
        if spec.and_then(|s| s.node_name.as_deref()).is_some() {
            continue; // placed; waiting for something else
        }
        let gates: Vec<&str> = spec
            .and_then(|s| s.scheduling_gates.as_ref())
            .into_iter()
            .flatten()
            .map(|g| g.name.as_str())
            .collect();
        let cond = status.conditions.iter().flatten().find(|c| {
            c.type_ == "PodScheduled"
                && c.status == "False"
                && matches!(
                    c.reason.as_deref(),
                    Some("Unschedulable" | "SchedulingGated")
                )
        });
        let reason = match (cond.and_then(|c| c.reason.as_deref()), gates.is_empty()) {
            (Some("Unschedulable"), _) => "Unschedulable",
            (Some(_), _) | (None, false) => "SchedulingGated",
            (None, true) => continue,
        };
        let said = if reason == "SchedulingGated" {
            gated = true;
            if gates.is_empty() {
                "held by scheduling gates".to_owned()
            } else {
                format!(
                    "held by scheduling gate{} {}",
                    if gates.len() == 1 { "" } else { "s" },
                    gates.join(", ")
                )
            }
        } else {
            cond.and_then(|c| c.message.clone())
                .unwrap_or_else(|| "no node fits it (the scheduler gave no message)".to_owned())
        };
        first.get_or_insert(said);
        evidence.push(json!({
            "pod": name(&pod.metadata),
            "reason": reason,
            "scheduler_message": cond.and_then(|c| c.message.as_deref()),
            "scheduling_gates": gates,
            "since": cond.and_then(|c| c.last_transition_time.as_ref()).map(|t| t.0.to_string()),
        }));
    }
    let Some(reason) = first else {
        return;
    };
    let recommendation = if gated {
        "A scheduling gate keeps the scheduler away until the controller that added it removes it: find that controller (a queue such as Kueue, a quota or admission system) and why it holds the pod; remove a gate by hand only if its owner is gone."
    } else {
        "Make room or relax the constraints the scheduler names: lower the requests, add or free nodes, or fix node selectors, affinity, taints and tolerations."
    }
    .to_owned();
    out.push(
        "health.pending",
        Draft {
            object: w.object.clone(),
            message: format!(
                "{}: {} cannot be scheduled: {reason}",
                w.object,
                pods_phrase(evidence.len(), w.pods.len())
            ),
            evidence: json_object([("pods", Value::Array(evidence))]),
            recommendation,
            command: None,
            monthly_cost: None,
        },
    );
}

fn memory_limit(w: &Workload<'_>, container: &str) -> Option<String> {
    w.all_containers()
        .find(|c| c.name == container)
        .and_then(|c| c.resources.as_ref())
        .and_then(|r| r.limits.as_ref())
        .and_then(|l| l.get("memory"))
        .map(|q| q.0.clone())
}

fn oomkilled(ctx: &mut Context<'_>, i: usize, out: &mut Out<'_>) {
    let Some(w) = ctx.workloads.get(i) else {
        return;
    };
    let mut evidence = Vec::new();
    let mut container = None;
    for pod in &w.pods {
        for cs in statuses(pod) {
            let state = cs.state.as_ref().and_then(|s| s.terminated.as_ref());
            let last = cs.last_state.as_ref().and_then(|s| s.terminated.as_ref());
            let Some(t) = [state, last]
                .into_iter()
                .flatten()
                .find(|t| t.reason.as_deref() == Some("OOMKilled"))
            else {
                continue;
            };
            container.get_or_insert_with(|| cs.name.clone());
            evidence.push(json!({
                "pod": name(&pod.metadata),
                "container": cs.name,
                "exit_code": t.exit_code,
                "finished_at": t.finished_at.as_ref().map(|t| t.0.to_string()),
                "restarts": cs.restart_count,
                "memory_limit": memory_limit(w, &cs.name),
            }));
        }
    }
    let Some(container) = container else { return };
    let object = w.object.clone();
    let target = w.settable_target();
    let ns = w.namespace().to_owned();
    let pods = w.pods.len();
    let limit_text = memory_limit(w, &container);
    let limit = limit_text.and_then(|t| {
        ctx.quantity(
            &object,
            format_args!("container {container} limits.memory"),
            &t,
            parse_bytes,
        )
    });
    let (command, recommendation) = match (limit, target) {
        (Some(limit), Some(target)) => {
            let raised = (limit.saturating_mul(3) / 2 + MI - 1) / MI * MI;
            (
                suggest(
                    &[
                        "kubectl",
                        "set",
                        "resources",
                        &target,
                        "-n",
                        &ns,
                        "-c",
                        &container,
                        &format!("--limits=memory={}", Bytes(raised)),
                    ],
                    &[target_name(&target), &ns, &container],
                ),
                format!(
                    "The container reached its memory limit of {}. Check for a leak or a larger working set, then raise the limit (the command raises it by half, to {}).",
                    Bytes(limit),
                    Bytes(raised)
                ),
            )
        }
        (Some(limit), None) => (
            None,
            format!("The container reached its memory limit of {}: check for a leak, then raise the limit where the pod is defined.", Bytes(limit)),
        ),
        (None, _) => (
            None,
            "The container has no memory limit, so the node ran out of memory: set a request that matches its real use and look at what else runs on the node.".to_owned(),
        ),
    };
    out.push(
        "health.oomkilled",
        Draft {
            message: format!(
                "{object}: container {container} was OOMKilled ({})",
                pods_phrase(evidence.len(), pods)
            ),
            object,
            evidence: json_object([("pods", Value::Array(evidence))]),
            recommendation,
            command,
            monthly_cost: None,
        },
    );
}

fn not_ready_pods(w: Option<&Workload<'_>>) -> Vec<Value> {
    w.map(|w| {
        w.pods
            .iter()
            .filter(|p| !super::index::pod_ready(p))
            .map(|p| json!({"pod": name(&p.metadata), "phase": super::index::pod_phase(p), "node": p.spec.as_ref().and_then(|s| s.node_name.as_deref())}))
            .collect()
    })
    .unwrap_or_default()
}

fn unavailable(ctx: &Context<'_>, out: &mut Out<'_>) {
    let snapshot = ctx.snapshot;
    let find = |kind: &'static str, ns: &str, n: &str| ctx.workload(kind, ns, n);
    let mut report = |kind: &'static str,
                      meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
                      desired: i32,
                      available: i32,
                      ready: Option<i32>| {
        if desired <= available {
            return;
        }
        let object = ObjectRef::new(kind, meta.namespace.as_deref(), name(meta));
        out.push(
            "health.unavailable_workload",
            Draft {
                message: format!("{object} has {available} of {desired} replicas available"),
                evidence: json_object([
                    ("desired", json!(desired)),
                    ("available", json!(available)),
                    ("ready", json!(ready)),
                    ("pods_not_ready", Value::Array(not_ready_pods(find(kind, namespace(meta), name(meta))))),
                ]),
                recommendation: "Look at the pods that are not ready (other findings for this workload usually say why) and fix that cause.".to_owned(),
                command: None,
                monthly_cost: None,
                object,
            },
        );
    };
    for d in &snapshot.deployments {
        let desired = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let st = d.status.as_ref();
        report(
            "Deployment",
            &d.metadata,
            desired,
            st.and_then(|s| s.available_replicas).unwrap_or(0),
            st.and_then(|s| s.ready_replicas),
        );
    }
    for s in &snapshot.stateful_sets {
        let desired = s.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let st = s.status.as_ref();
        let available = st
            .and_then(|s| s.available_replicas.or(s.ready_replicas))
            .unwrap_or(0);
        report(
            "StatefulSet",
            &s.metadata,
            desired,
            available,
            st.and_then(|s| s.ready_replicas),
        );
    }
    for ds in &snapshot.daemon_sets {
        let Some(st) = ds.status.as_ref() else {
            continue;
        };
        report(
            "DaemonSet",
            &ds.metadata,
            st.desired_number_scheduled,
            st.number_available.unwrap_or(0),
            Some(st.number_ready),
        );
    }
}

fn nodes(ctx: &Context<'_>, out: &mut Out<'_>) {
    for node in &ctx.snapshot.nodes {
        let node_name = name(&node.metadata);
        let object = ObjectRef::new("Node", None, node_name);
        let conditions: Vec<_> = node
            .status
            .iter()
            .flat_map(|s| s.conditions.iter().flatten())
            .collect();
        let taints: Vec<String> = node
            .spec
            .iter()
            .flat_map(|s| s.taints.iter().flatten())
            .map(|t| format!("{}:{}", t.key, t.effect))
            .collect();
        let ready = conditions.iter().find(|c| c.type_ == "Ready");
        if out.wants("health.node_not_ready") && ready.is_none_or(|c| c.status != "True") {
            let pods = ctx
                .snapshot
                .pods
                .iter()
                .filter(|p| p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(node_name))
                .count();
            out.push(
                "health.node_not_ready",
                Draft {
                    message: format!(
                        "{object} is not Ready (Ready={}{})",
                        ready.map_or("missing", |c| c.status.as_str()),
                        ready.and_then(|c| c.reason.as_deref()).map(|r| format!(", {r}")).unwrap_or_default()
                    ),
                    evidence: json!({
                        "status": ready.map(|c| c.status.as_str()),
                        "reason": ready.and_then(|c| c.reason.as_deref()),
                        "message": ready.and_then(|c| c.message.as_deref()),
                        "last_heartbeat": ready.and_then(|c| c.last_heartbeat_time.as_ref()).map(|t| t.0.to_string()),
                        "taints": taints,
                        "pods_on_node": pods,
                    }),
                    recommendation: format!("Check the kubelet and the machine behind {node_name}; if it is gone for good, drain it (kubectl drain {node_name} --ignore-daemonsets --delete-emptydir-data) and remove it."),
                    command: None,
                    monthly_cost: None,
                    object: object.clone(),
                },
            );
        }
        let pressure: Vec<_> = conditions
            .iter()
            .filter(|c| {
                matches!(
                    c.type_.as_str(),
                    "MemoryPressure" | "DiskPressure" | "PIDPressure"
                ) && c.status == "True"
            })
            .collect();
        if out.wants("health.node_pressure") && !pressure.is_empty() {
            let kinds: Vec<&str> = pressure.iter().map(|c| c.type_.as_str()).collect();
            let usage = ctx.snapshot.node_metrics.iter().find(|m| name(&m.metadata) == node_name).map(|m| {
                json!({"cpu": m.usage.get("cpu").map(|q| q.0.as_str()), "memory": m.usage.get("memory").map(|q| q.0.as_str()), "timestamp": m.timestamp})
            });
            let allocatable = node.status.as_ref().and_then(|s| s.allocatable.as_ref()).map(|a| {
                json!({"cpu": a.get("cpu").map(|q| q.0.as_str()), "memory": a.get("memory").map(|q| q.0.as_str())})
            });
            out.push(
                "health.node_pressure",
                Draft {
                    message: format!("{object} is under {}", kinds.join(", ")),
                    evidence: json!({
                        "conditions": pressure.iter().map(|c| json!({"type": c.type_, "reason": c.reason, "message": c.message})).collect::<Vec<_>>(),
                        "usage": usage,
                        "allocatable": allocatable,
                        "taints": taints,
                    }),
                    recommendation: "The kubelet is evicting pods to protect the node: move or shrink the heaviest pods, set requests that match real use so the scheduler spreads them, or add capacity.".to_owned(),
                    command: None,
                    monthly_cost: None,
                    object,
                },
            );
        }
    }
}

#[allow(deprecated)]
fn services(ctx: &Context<'_>, out: &mut Out<'_>) {
    let snapshot = ctx.snapshot;
    let selectors: Vec<(&Service, &str, &BTreeMap<String, String>, LabelSelector)> = snapshot
        .services
        .iter()
        .filter_map(|svc| {
            let spec = svc.spec.as_ref()?;
            if spec.type_.as_deref() == Some("ExternalName") {
                return None;
            }
            let selector = spec.selector.as_ref()?;
            let parsed = LabelSelector::from_service_selector(selector)?;
            Some((svc, namespace(&svc.metadata), selector, parsed))
        })
        .collect();
    // Most Services send traffic to a workload whose pods are ready: one such pod settles the
    // Service, and only the others need every pod of their namespace looked at.
    let settled = served_by_workloads(ctx, &selectors);
    let open: Vec<_> = selectors
        .into_iter()
        .zip(settled)
        .filter_map(|(s, settled)| (!settled).then_some(s))
        .collect();
    if open.is_empty() {
        return;
    }
    // Pods by namespace and label pair, so a selector only looks at pods carrying its
    // rarest pair instead of every pod in the namespace. Only pairs some open selector
    // names are indexed.
    let mut by_label: FastMap<(&str, &str, &str), Vec<&Pod>> = FastMap::default();
    let mut selector_keys = SelectorKeys::default();
    for (_, ns, selector, _) in &open {
        for (k, v) in *selector {
            by_label.entry((ns, k.as_str(), v.as_str())).or_default();
            selector_keys.add(k);
        }
    }
    selector_keys.finish();
    for pod in &snapshot.pods {
        let ns = namespace(&pod.metadata);
        for (k, v) in pod.metadata.labels.iter().flatten() {
            if !selector_keys.contains(k) {
                continue;
            }
            if let Some(pods) = by_label.get_mut(&(ns, k.as_str(), v.as_str())) {
                pods.push(pod);
            }
        }
    }
    // Endpoints by namespace and name.
    let endpoints: FastMap<(&str, &str), &Endpoints> = snapshot
        .endpoints
        .iter()
        .rev()
        .map(|e| ((namespace(&e.metadata), name(&e.metadata)), e))
        .collect();
    for (svc, ns, selector, parsed) in open {
        let svc_name = name(&svc.metadata);
        let candidates = selector
            .iter()
            .map(|(k, v)| {
                by_label
                    .get(&(ns, k.as_str(), v.as_str()))
                    .map_or(&[][..], Vec::as_slice)
            })
            .min_by_key(|c| c.len())
            .unwrap_or_default();
        // Every candidate carries the pair it was indexed by, so a one-pair selector (the
        // usual `app: name`) needs no second look at the labels.
        let matching: Vec<&&Pod> = if selector.len() == 1 {
            candidates.iter().collect()
        } else {
            candidates
                .iter()
                .filter(|p| parsed.matches_map(p.metadata.labels.as_ref()))
                .collect()
        };
        if matching.iter().any(|p| super::index::pod_ready(p)) {
            continue;
        }
        let endpoints = endpoints.get(&(ns, svc_name)).map(|e| {
            e.subsets
                .iter()
                .flatten()
                .map(|s| s.addresses.as_ref().map_or(0, Vec::len))
                .sum::<usize>()
        });
        let object = ObjectRef::new("Service", Some(ns), svc_name);
        out.push(
            "health.service_no_endpoints",
            Draft {
                message: format!(
                    "{object} has no ready endpoints: selector {} matches {} pod{}, none ready",
                    parsed.to_query(),
                    matching.len(),
                    if matching.len() == 1 { "" } else { "s" }
                ),
                evidence: json!({
                    "selector": selector,
                    "matching_pods": matching.iter().map(|p| name(&p.metadata)).collect::<Vec<_>>(),
                    "ready_endpoint_addresses": endpoints,
                }),
                recommendation: "Traffic to this Service fails. Fix the selector if it names the wrong labels, or deploy (or repair) the pods it should select.".to_owned(),
                command: None,
                monthly_cost: None,
                object,
            },
        );
    }
}

/// For each Service selector: whether a ready pod it selects was found among the pods of the
/// workloads whose pod template carries the selector's labels. Only a pod that is checked
/// (namespace, labels, readiness) counts, so `true` is certain; `false` means "look at every
/// pod", since pods can carry labels their template does not.
fn served_by_workloads(
    ctx: &Context<'_>,
    selectors: &[(&Service, &str, &BTreeMap<String, String>, LabelSelector)],
) -> Vec<bool> {
    // Workloads by namespace and template label pair, for the pairs some selector names.
    let mut by_label: FastMap<(&str, &str, &str), Vec<&Workload<'_>>> = FastMap::default();
    let mut keys = SelectorKeys::default();
    for (_, ns, selector, _) in selectors {
        for (k, v) in *selector {
            by_label.entry((ns, k.as_str(), v.as_str())).or_default();
            keys.add(k);
        }
    }
    keys.finish();
    for w in &ctx.workloads {
        let ns = w.namespace();
        for (k, v) in w.template_labels.into_iter().flatten() {
            if !keys.contains(k) {
                continue;
            }
            if let Some(list) = by_label.get_mut(&(ns, k.as_str(), v.as_str())) {
                list.push(w);
            }
        }
    }
    selectors
        .iter()
        .map(|(_, ns, selector, parsed)| {
            let candidates = selector
                .iter()
                .map(|(k, v)| {
                    by_label
                        .get(&(*ns, k.as_str(), v.as_str()))
                        .map_or(&[][..], Vec::as_slice)
                })
                .min_by_key(|c| c.len())
                .unwrap_or_default();
            candidates.iter().any(|w| {
                w.pods.iter().any(|p| {
                    namespace(&p.metadata) == *ns
                        && parsed.matches_map(p.metadata.labels.as_ref())
                        && super::index::pod_ready(p)
                })
            })
        })
        .collect()
}

/// The label keys selectors name, sorted, with the lengths among them: a label whose key has
/// another length (`pod-template-hash` beside `app`) is passed over without reading the key.
#[derive(Default)]
struct SelectorKeys<'a> {
    keys: Vec<&'a str>,
    /// Bit `n` set: some key is `n` bytes long (bit 63: 63 bytes or longer).
    lengths: u64,
}

impl<'a> SelectorKeys<'a> {
    fn add(&mut self, key: &'a str) {
        self.keys.push(key);
        self.lengths |= 1 << key.len().min(63);
    }

    fn finish(&mut self) {
        self.keys.sort_unstable();
        self.keys.dedup();
    }

    fn contains(&self, key: &str) -> bool {
        self.lengths & (1 << key.len().min(63)) != 0 && self.keys.binary_search(&key).is_ok()
    }
}

fn warning_events(ctx: &Context<'_>, out: &mut Out<'_>) {
    #[derive(Default)]
    struct Group {
        count: i64,
        last_message: String,
        last_seen: String,
    }
    let mut groups: BTreeMap<ObjectRef, BTreeMap<String, Group>> = BTreeMap::new();
    for ev in &ctx.snapshot.events {
        if ev.type_.as_deref() != Some("Warning") {
            continue;
        }
        let inv = &ev.involved_object;
        let kind = inv.kind.as_deref().unwrap_or("Object");
        let inv_ns = inv
            .namespace
            .as_deref()
            .or(ev.metadata.namespace.as_deref())
            .unwrap_or_default();
        let inv_name = inv.name.as_deref().unwrap_or_default();
        let object = if kind == "Pod" {
            ctx.pod_owner(inv_ns, inv_name)
                .and_then(|i| ctx.workloads.get(i))
                .map_or_else(
                    || ObjectRef::new("Pod", Some(inv_ns), inv_name),
                    |w| w.object.clone(),
                )
        } else if matches!(kind, "Node" | "PersistentVolume" | "Namespace") {
            ObjectRef::new(kind, None, inv_name)
        } else {
            ObjectRef::new(kind, Some(inv_ns), inv_name)
        };
        let reason = ev.reason.clone().unwrap_or_else(|| "Unknown".to_owned());
        let count = ev
            .series
            .as_ref()
            .and_then(|s| s.count)
            .or(ev.count)
            .map_or(1, i64::from)
            .max(1);
        let seen = ev
            .last_timestamp
            .as_ref()
            .map(|t| t.0.to_string())
            .or_else(|| ev.event_time.as_ref().map(|t| t.0.to_string()))
            .unwrap_or_default();
        let g = groups.entry(object).or_default().entry(reason).or_default();
        g.count += count;
        if seen >= g.last_seen {
            g.last_seen = seen;
            g.last_message = ev.message.clone().unwrap_or_default();
        }
    }
    for (object, reasons) in groups {
        let total: i64 = reasons.values().map(|g| g.count).sum();
        let mut list: Vec<(&String, &Group)> = reasons.iter().collect();
        list.sort_by(|a, b| b.1.count.cmp(&a.1.count).then_with(|| a.0.cmp(b.0)));
        let summary: Vec<String> = list
            .iter()
            .map(|(r, g)| format!("{r} x{}", g.count))
            .collect();
        out.push(
            "health.warning_events",
            Draft {
                message: format!("{object}: {total} Warning event{} ({})", if total == 1 { "" } else { "s" }, summary.join(", ")),
                evidence: json!({
                    "reasons": list.iter().map(|(r, g)| json!({"reason": r, "count": g.count, "last_message": g.last_message, "last_seen": g.last_seen})).collect::<Vec<_>>(),
                }),
                recommendation: "Read the latest message of each reason; the other findings for this object usually name the cause.".to_owned(),
                command: None,
                monthly_cost: None,
                object,
            },
        );
    }
}
