//! Cost checks: over-provisioned and idle workloads, orphaned claims and released volumes,
//! each with an estimated monthly cost of the waste.

use std::borrow::Cow;
use std::fmt::Write as _;

use k8s_openapi::api::core::v1::{Container, Pod};
use serde_json::{Value, json};

use super::commands::{suggest, target_name};
use super::index::{Context, FastSet, UsageKind, Workload, name, namespace, pod_phase};
use super::{Draft, ObjectRef, Out, json_object};
use crate::snapshot::quantity::{Bytes, MI, Millicores, parse_bytes, parse_cpu_millis};

/// The rightsizing rule, stated in every recommendation.
pub(crate) const RIGHTSIZING_RULE: &str = "requests = CPU peak x 1.2 rounded up to 5m (at least 10m) and memory peak x 1.3 rounded up to 1Mi (at least 32Mi)";

/// Minimum CPU difference worth acting on.
const CPU_MARGIN_MILLIS: i64 = 100;
/// Minimum memory difference worth acting on.
const MEMORY_MARGIN_BYTES: i64 = 256 * MI;
/// CPU at or below this in every pod means idle.
const IDLE_CPU_MILLIS: i64 = 5;

pub(crate) fn run(ctx: &mut Context<'_>, out: &mut Out<'_>) {
    // Asked once per run, not once per workload.
    let (over, idle_wanted) = (out.wants("cost.overprovisioned"), out.wants("cost.idle"));
    if over || idle_wanted {
        for i in 0..ctx.workloads.len() {
            // One workload, one verdict: an idle workload's whole cost already includes its
            // over-provisioning, and "scale it to zero" and "lower its requests" are two
            // fixes that contradict each other. The stronger verdict wins. Both are still
            // worked out, so a bad quantity is reported whichever wins.
            let rightsized = if over { overprovisioned(ctx, i) } else { None };
            let idle = if idle_wanted { idle(ctx, i) } else { None };
            match (idle, rightsized) {
                (Some(draft), _) => out.push("cost.idle", draft),
                (None, Some(draft)) => out.push("cost.overprovisioned", draft),
                (None, None) => {}
            }
        }
    }
    if out.wants("cost.orphaned_pvc") {
        orphaned_claims(ctx, out);
    }
    if out.wants("cost.released_pv") {
        released_volumes(ctx, out);
    }
}

/// CPU and memory requests of a container, parsed (problems are recorded).
pub(crate) fn requests(
    ctx: &mut Context<'_>,
    object: &ObjectRef,
    c: &Container,
) -> (Option<i64>, Option<i64>) {
    let requests = c.resources.as_ref().and_then(|r| r.requests.as_ref());
    let get = |k: &str| requests.and_then(|r| r.get(k)).map(|q| q.0.as_str());
    let cpu = get("cpu").and_then(|t| {
        ctx.quantity(
            object,
            format_args!("container {} requests.cpu", c.name),
            t,
            parse_cpu_millis,
        )
    });
    let memory = get("memory").and_then(|t| {
        ctx.quantity(
            object,
            format_args!("container {} requests.memory", c.name),
            t,
            parse_bytes,
        )
    });
    (cpu, memory)
}

/// Recommended requests from observed peaks, by [`RIGHTSIZING_RULE`].
pub(crate) fn recommend(cpu_peak: i64, memory_peak: i64) -> (i64, i64) {
    let cpu = (cpu_peak.saturating_mul(12) + 9) / 10;
    let cpu = ((cpu + 4) / 5 * 5).max(10);
    let memory = (memory_peak.saturating_mul(13) + 9) / 10;
    let memory = ((memory + MI - 1) / MI * MI).max(32 * MI);
    (cpu, memory)
}

/// Highest usage of one container over the workload's running pods, and how many pods had data.
pub(crate) fn peaks(
    ctx: &Context<'_>,
    w: &Workload<'_>,
    container: &str,
) -> (Option<i64>, Option<i64>, usize) {
    let mut cpu = None;
    let mut memory = None;
    let mut observed = 0;
    for pod in &w.running {
        if let Some(u) = ctx.usage(*pod, container) {
            observed += 1;
            cpu = cpu.max(u.cpu_millis);
            memory = memory.max(u.memory_bytes);
        }
    }
    (cpu, memory, observed)
}

struct Rightsized {
    evidence: Value,
    command: Option<String>,
    phrase: String,
    waste_cpu: i64,
    waste_memory: i64,
}

/// The over-provisioning of workload `i`, if it requests at least twice its peak.
fn overprovisioned(ctx: &mut Context<'_>, i: usize) -> Option<Draft> {
    let w = ctx.workloads.get(i)?;
    let target = w.settable_target()?;
    let object = w.object.clone();
    let ns = w.namespace().to_owned();
    // Borrowed from the snapshot, not from `ctx`, which `requests` needs mutably.
    let containers = w.spec.map_or(&[][..], |s| s.containers.as_slice());
    let running = w.running.len();
    let mut observed_pods = 0;
    let mut flagged: Vec<Rightsized> = Vec::new();
    for c in containers {
        let w = ctx.workloads.get(i)?;
        let (cpu_peak, memory_peak, observed) = peaks(ctx, w, &c.name);
        observed_pods = observed_pods.max(observed);
        let (cpu_req, memory_req) = requests(ctx, &object, c);
        let (cpu_rec, memory_rec) = recommend(cpu_peak.unwrap_or(0), memory_peak.unwrap_or(0));
        let cpu_over = matches!((cpu_req, cpu_peak), (Some(r), Some(p))
            if r >= 2 * p && r - p >= CPU_MARGIN_MILLIS && cpu_rec < r);
        let memory_over = matches!((memory_req, memory_peak), (Some(r), Some(p))
            if r >= 2 * p && r - p >= MEMORY_MARGIN_BYTES && memory_rec < r);
        if !cpu_over && !memory_over {
            continue;
        }
        let mut set = Vec::new();
        let mut phrase = Vec::new();
        let mut waste_cpu = 0;
        let mut waste_memory = 0;
        if let (true, Some(r), Some(p)) = (cpu_over, cpu_req, cpu_peak) {
            set.push(format!("cpu={}", Millicores(cpu_rec)));
            phrase.push(format!("cpu {} vs {}", Millicores(r), Millicores(p)));
            waste_cpu = r - cpu_rec;
        }
        if let (true, Some(r), Some(p)) = (memory_over, memory_req, memory_peak) {
            set.push(format!("memory={}", Bytes(memory_rec)));
            phrase.push(format!("memory {} vs {}", Bytes(r), Bytes(p)));
            waste_memory = r - memory_rec;
        }
        flagged.push(Rightsized {
            evidence: json!({
                "container": c.name,
                "requests": {"cpu": cpu_req.map(|v| Millicores(v).to_string()), "memory": memory_req.map(|v| Bytes(v).to_string())},
                "observed_peak": {"cpu": cpu_peak.map(|v| Millicores(v).to_string()), "memory": memory_peak.map(|v| Bytes(v).to_string())},
                "recommended_requests": {
                    "cpu": cpu_over.then(|| Millicores(cpu_rec).to_string()),
                    "memory": memory_over.then(|| Bytes(memory_rec).to_string()),
                },
            }),
            command: suggest(
                &[
                    "kubectl",
                    "set",
                    "resources",
                    &target,
                    "-n",
                    &ns,
                    "-c",
                    &c.name,
                    &format!("--requests={}", set.join(",")),
                ],
                &[target_name(&target), &ns, &c.name],
            ),
            phrase: format!("{}: {}", c.name, phrase.join(", ")),
            waste_cpu,
            waste_memory,
        });
    }
    if flagged.is_empty() {
        return None;
    }
    let pods = i64::try_from(running).unwrap_or(i64::MAX);
    let waste_cpu: i64 = flagged.iter().map(|f| f.waste_cpu).sum::<i64>() * pods;
    let waste_memory: i64 = flagged.iter().map(|f| f.waste_memory).sum::<i64>() * pods;
    let phrases: Vec<&str> = flagged.iter().map(|f| f.phrase.as_str()).collect();
    let message = format!(
        "{object} requests at least twice its observed peak ({}; requested vs peak per pod)",
        phrases.join("; ")
    );
    let commands: Option<Vec<&str>> = flagged.iter().map(|f| f.command.as_deref()).collect();
    let command = commands.map(|c| c.join(" && "));
    let containers: Vec<Value> = flagged.into_iter().map(|f| f.evidence).collect();
    Some(Draft {
        message,
        evidence: json_object([
            ("usage_source", json!(ctx.usage_source())),
            ("running_pods", json!(running)),
            ("pods_with_usage", json!(observed_pods)),
            ("containers", Value::Array(containers)),
            (
                "waste",
                json!({"cpu": Millicores(waste_cpu).to_string(), "memory": Bytes(waste_memory).to_string()}),
            ),
            ("rule", json!(RIGHTSIZING_RULE)),
        ]),
        recommendation: format!(
            "Lower the requests to the observed peak plus headroom ({RIGHTSIZING_RULE}); keep limits at or above the new requests.{}",
            sample_caveat(ctx)
        ),
        command,
        monthly_cost: Some(ctx.pricing.compute_per_month(waste_cpu, waste_memory)),
        object,
    })
}

/// Workload `i`'s idleness, if every running pod uses at most [`IDLE_CPU_MILLIS`].
fn idle(ctx: &mut Context<'_>, i: usize) -> Option<Draft> {
    let w = ctx.workloads.get(i)?;
    if !matches!(
        w.object.kind.as_str(),
        "Deployment" | "StatefulSet" | "ReplicaSet"
    ) {
        return None;
    }
    if w.running.is_empty() {
        return None;
    }
    let mut per_pod = Vec::new();
    for &running_pod in &w.running {
        let pod = running_pod.pod;
        let containers = pod
            .spec
            .as_ref()
            .map(|s| s.containers.as_slice())
            .unwrap_or_default();
        let mut total = 0;
        for c in containers {
            match ctx.usage(running_pod, &c.name).and_then(|u| u.cpu_millis) {
                Some(v) => total += v,
                None => return None, // unknown usage is not idleness
            }
        }
        if total > IDLE_CPU_MILLIS {
            return None;
        }
        per_pod.push(json!({"pod": name(&pod.metadata), "cpu": Millicores(total).to_string()}));
    }
    // Borrowed from the snapshot, not from `ctx`, which `requests` needs mutably.
    let running: Vec<&Pod> = w.running.iter().map(|r| r.pod).collect();
    let object = w.object.clone();
    let command = w.scalable_target().and_then(|t| {
        suggest(
            &["kubectl", "scale", &t, "-n", w.namespace(), "--replicas=0"],
            &[target_name(&t), w.namespace()],
        )
    });
    let hpa = hpa_for(ctx, &object);
    let (mut cpu, mut memory) = (0, 0);
    for pod in &running {
        for c in pod
            .spec
            .as_ref()
            .map(|s| s.containers.as_slice())
            .unwrap_or_default()
        {
            let (c_cpu, c_mem) = requests(ctx, &object, c);
            cpu += c_cpu.unwrap_or(0);
            memory += c_mem.unwrap_or(0);
        }
    }
    let mut recommendation = format!(
        "Confirm nothing depends on it, then scale it to zero or delete it; its requests are reserved capacity you pay for.{}",
        sample_caveat(ctx)
    );
    if let Some(hpa) = &hpa {
        let _ = write!(
            recommendation,
            " HorizontalPodAutoscaler {hpa} targets it and would scale it back up: remove or change the HPA first."
        );
    }
    Some(Draft {
        message: if running.len() == 1 {
            format!("{object} is idle: its running pod uses at most {IDLE_CPU_MILLIS}m CPU")
        } else {
            format!(
                "{object} is idle: all {} running pods use at most {IDLE_CPU_MILLIS}m CPU",
                running.len()
            )
        },
        evidence: json_object([
            ("usage_source", json!(ctx.usage_source())),
            ("pods", Value::Array(per_pod)),
            (
                "requested",
                json!({"cpu": Millicores(cpu).to_string(), "memory": Bytes(memory).to_string()}),
            ),
            ("horizontal_pod_autoscaler", json!(hpa)),
        ]),
        recommendation,
        command,
        monthly_cost: Some(ctx.pricing.compute_per_month(cpu, memory)),
        object,
    })
}

/// What a verdict resting on one metrics-server sample must say where it is read (the
/// agent's answer shows recommendations, not the report's summary).
pub(crate) const SAMPLE_CAVEAT: &str = " This rests on one metrics-server sample per pod, not on usage over time: confirm with Prometheus history (--prometheus or PROMETHEUS_URL) before acting.";

/// [`SAMPLE_CAVEAT`] when this run's usage is metrics-server samples, else nothing.
fn sample_caveat(ctx: &Context<'_>) -> &'static str {
    if ctx.usage_kind() == Some(UsageKind::Sample) {
        SAMPLE_CAVEAT
    } else {
        ""
    }
}

/// The name of an HPA whose scale target is `object`.
pub(crate) fn hpa_for(ctx: &Context<'_>, object: &ObjectRef) -> Option<String> {
    ctx.hpa_for(object).map(str::to_owned)
}

fn storage_bytes(ctx: &mut Context<'_>, object: &ObjectRef, text: Option<String>) -> Option<i64> {
    text.and_then(|t| ctx.quantity(object, format_args!("storage"), &t, parse_bytes))
}

fn orphaned_claims(ctx: &mut Context<'_>, out: &mut Out<'_>) {
    let snapshot = ctx.snapshot;
    let mut mounted: FastSet<(&str, Cow<'_, str>)> = FastSet::default();
    for pod in &snapshot.pods {
        if matches!(pod_phase(pod), "Succeeded" | "Failed") {
            continue;
        }
        let ns = namespace(&pod.metadata);
        for v in pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()) {
            if let Some(claim) = &v.persistent_volume_claim {
                mounted.insert((ns, Cow::Borrowed(claim.claim_name.as_str())));
            }
            if v.ephemeral.is_some() {
                mounted.insert((
                    ns,
                    Cow::Owned(format!("{}-{}", name(&pod.metadata), v.name)),
                ));
            }
        }
    }
    for pvc in &snapshot.persistent_volume_claims {
        let status = pvc.status.as_ref();
        if status.and_then(|s| s.phase.as_deref()) != Some("Bound") {
            continue;
        }
        let ns = namespace(&pvc.metadata);
        let claim = name(&pvc.metadata);
        if mounted.contains(&(ns, Cow::Borrowed(claim))) {
            continue;
        }
        let object = ObjectRef::new("PersistentVolumeClaim", Some(ns), claim);
        let text = status
            .and_then(|s| s.capacity.as_ref())
            .and_then(|c| c.get("storage"))
            .or_else(|| {
                pvc.spec
                    .as_ref()
                    .and_then(|s| s.resources.as_ref())
                    .and_then(|r| r.requests.as_ref())
                    .and_then(|r| r.get("storage"))
            })
            .map(|q| q.0.clone());
        let bytes = storage_bytes(ctx, &object, text);
        let spec = pvc.spec.as_ref();
        out.push(
            "cost.orphaned_pvc",
            Draft {
                message: format!(
                    "{object} is bound ({}) but no running or pending pod mounts it",
                    bytes.map_or_else(|| "size unknown".to_owned(), |b| Bytes(b).to_string())
                ),
                evidence: json!({
                    "phase": "Bound",
                    "capacity": bytes.map(|b| Bytes(b).to_string()),
                    "storage_class": spec.and_then(|s| s.storage_class_name.as_deref()),
                    "volume": spec.and_then(|s| s.volume_name.as_deref()),
                    "mounted_by": Value::Array(Vec::new()),
                }),
                recommendation: "Back up the data if it is still needed, then delete the claim; with reclaim policy Delete its volume is deleted too.".to_owned(),
                command: suggest(&["kubectl", "delete", "pvc", claim, "-n", ns], &[claim, ns]),
                monthly_cost: Some(ctx.pricing.storage_per_month(bytes.unwrap_or(0))),
                object,
            },
        );
    }
}

fn released_volumes(ctx: &mut Context<'_>, out: &mut Out<'_>) {
    let snapshot = ctx.snapshot;
    for pv in &snapshot.persistent_volumes {
        let phase = pv
            .status
            .as_ref()
            .and_then(|s| s.phase.as_deref())
            .unwrap_or_default();
        if !matches!(phase, "Released" | "Available") {
            continue;
        }
        let pv_name = name(&pv.metadata);
        let object = ObjectRef::new("PersistentVolume", None, pv_name);
        let spec = pv.spec.as_ref();
        let text = spec
            .and_then(|s| s.capacity.as_ref())
            .and_then(|c| c.get("storage"))
            .map(|q| q.0.clone());
        let bytes = storage_bytes(ctx, &object, text);
        // A volume whose spec says it holds nothing is no waste. One described only by its
        // status (a trimmed dump, an RBAC-limited read) is still reported, its size unknown.
        if bytes == Some(0) {
            continue;
        }
        let policy = spec
            .and_then(|s| s.persistent_volume_reclaim_policy.as_deref())
            .unwrap_or("Retain");
        let claim = spec.and_then(|s| s.claim_ref.as_ref()).map(|c| {
            format!(
                "{}/{}",
                c.namespace.as_deref().unwrap_or_default(),
                c.name.as_deref().unwrap_or_default()
            )
        });
        let handle = spec
            .and_then(|s| s.csi.as_ref())
            .map(|c| c.volume_handle.clone());
        let mut recommendation = match phase {
            "Released" => {
                "Its claim is gone: delete the volume once you are sure the data is not needed."
                    .to_owned()
            }
            _ => "Nothing has claimed it: delete it if it is not kept on purpose.".to_owned(),
        };
        if policy == "Retain" {
            let _ = write!(
                recommendation,
                " With reclaim policy Retain, deleting the PV object does not delete the disk behind it{}: delete that in your storage provider too.",
                handle
                    .as_deref()
                    .map(|h| format!(" ({h})"))
                    .unwrap_or_default()
            );
        }
        out.push(
            "cost.released_pv",
            Draft {
                message: match bytes {
                    Some(bytes) => format!("{object} is {phase} and still holds {}", Bytes(bytes)),
                    None => format!("{object} is {phase} and may still hold data (its size is not in the snapshot)"),
                },
                evidence: json!({
                    "phase": phase,
                    "capacity": bytes.map(|b| Bytes(b).to_string()),
                    "reclaim_policy": policy,
                    "storage_class": spec.and_then(|s| s.storage_class_name.as_deref()),
                    "former_claim": claim,
                    "volume_handle": handle,
                }),
                recommendation,
                command: suggest(&["kubectl", "delete", "pv", pv_name], &[pv_name]),
                monthly_cost: bytes.map(|b| ctx.pricing.storage_per_month(b)),
                object,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rightsizing_rule_with_floors() {
        assert_eq!(recommend(151, 612 * MI), (185, 796 * MI));
        assert_eq!(recommend(100, 100 * MI), (120, 130 * MI));
        assert_eq!(recommend(1, MI), (10, 32 * MI));
        assert_eq!(recommend(0, 0), (10, 32 * MI));
    }
}
