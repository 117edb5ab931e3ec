//! Reliability checks: missing readiness probes, a single replica behind a blocking
//! PodDisruptionBudget, containers without requests, and `latest` image tags.
//!
//! Static pods (the mirrors of kube-apiserver, etcd and the like) are left out: their spec is
//! a file on their node, which the API server refuses to change, so these findings would have
//! no fix anyone can apply through it. Health and security checks still look at them.

use std::fmt::Write as _;

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::json;

use super::commands::{suggest, target_name};
use super::cost::{RIGHTSIZING_RULE, hpa_for, peaks, recommend};
use super::index::{Context, FastMap, name, namespace};
use super::{Draft, Out, json_object};
use crate::selector::LabelSelector;
use crate::snapshot::quantity::{Bytes, Millicores};

pub(crate) fn run(ctx: &mut Context<'_>, out: &mut Out<'_>) {
    // Asked once per run, not once per workload.
    let probe = out.wants("reliability.no_readiness_probe");
    let pdb = out.wants("reliability.single_replica_pdb");
    let requests = out.wants("reliability.no_requests");
    let latest = out.wants("reliability.latest_tag");
    let services = if probe {
        services_by_namespace(ctx)
    } else {
        FastMap::default()
    };
    for i in 0..ctx.workloads.len() {
        if ctx.workloads.get(i).is_none_or(|w| w.static_pod) {
            continue;
        }
        if probe {
            readiness(ctx, i, &services, out);
        }
        if pdb {
            single_replica_pdb(ctx, i, out);
        }
        if requests {
            no_requests(ctx, i, out);
        }
        if latest {
            latest_tag(ctx, i, out);
        }
    }
}

/// Services with a selector, by namespace: (name, selector).
type ServiceSelectors<'a> = FastMap<&'a str, Vec<(&'a str, LabelSelector)>>;

fn services_by_namespace<'a>(ctx: &Context<'a>) -> ServiceSelectors<'a> {
    let mut by_ns: ServiceSelectors<'a> = FastMap::default();
    for svc in &ctx.snapshot.services {
        let Some(spec) = svc.spec.as_ref() else {
            continue;
        };
        if spec.type_.as_deref() == Some("ExternalName") {
            continue;
        }
        let Some(selector) = spec
            .selector
            .as_ref()
            .and_then(LabelSelector::from_service_selector)
        else {
            continue;
        };
        by_ns
            .entry(namespace(&svc.metadata))
            .or_default()
            .push((name(&svc.metadata), selector));
    }
    by_ns
}

/// Containers without a readiness probe in a Deployment or StatefulSet, or in any workload a
/// Service sends traffic to (a DaemonSet, a bare pod): without one, the Service routes to a
/// pod as soon as its process starts, before it can serve.
fn readiness(ctx: &Context<'_>, i: usize, services: &ServiceSelectors<'_>, out: &mut Out<'_>) {
    let Some(w) = ctx.workloads.get(i) else {
        return;
    };
    if w.replicas == Some(0) || matches!(w.object.kind.as_str(), "Job" | "CronJob") {
        return;
    }
    // The containers first: most workloads have their probes, and then no Service needs
    // matching against them.
    let missing: Vec<&str> = w
        .containers()
        .iter()
        .filter(|c| c.readiness_probe.is_none())
        .map(|c| c.name.as_str())
        .collect();
    if missing.is_empty() {
        return;
    }
    let targeted_by: Vec<&str> = match (w.template_labels, services.get(w.namespace())) {
        (Some(labels), Some(list)) => list
            .iter()
            .filter(|(_, sel)| sel.matches_map(Some(labels)))
            .map(|(n, _)| *n)
            .collect(),
        _ => Vec::new(),
    };
    if !matches!(w.object.kind.as_str(), "Deployment" | "StatefulSet") && targeted_by.is_empty() {
        return;
    }
    out.push(
        "reliability.no_readiness_probe",
        Draft {
            object: w.object.clone(),
            message: format!(
                "{}: container{} {} ha{} no readiness probe{}",
                w.object,
                if missing.len() == 1 { "" } else { "s" },
                missing.join(", "),
                if missing.len() == 1 { "s" } else { "ve" },
                match targeted_by.as_slice() {
                    [] => String::new(),
                    [one] => format!(", yet Service {one} sends it traffic"),
                    many => format!(", yet Services {} send it traffic", many.join(", ")),
                }
            ),
            evidence: json!({
                "containers_without_readiness_probe": missing,
                "targeted_by_services": targeted_by,
                "has_liveness_probe": w.containers().iter().filter(|c| missing.contains(&c.name.as_str())).map(|c| (c.name.clone(), c.liveness_probe.is_some())).collect::<std::collections::BTreeMap<_, _>>(),
            }),
            recommendation: "Add a readiness probe that checks the container can serve, so Services and rollouts only send traffic to pods that are ready.".to_owned(),
            command: None,
            monthly_cost: None,
        },
    );
}

/// Whether a PDB allows no voluntary eviction when one pod is expected.
fn blocks_single_pod(spec: &k8s_openapi::api::policy::v1::PodDisruptionBudgetSpec) -> bool {
    let percent = |s: &str| {
        s.strip_suffix('%')
            .and_then(|p| p.trim().parse::<u32>().ok())
    };
    if let Some(min) = &spec.min_available {
        return match min {
            IntOrString::Int(n) => *n >= 1,
            IntOrString::String(s) => percent(s).is_some_and(|p| p > 0),
        };
    }
    match &spec.max_unavailable {
        Some(IntOrString::Int(n)) => *n == 0,
        Some(IntOrString::String(s)) => percent(s) == Some(0),
        None => false,
    }
}

fn single_replica_pdb(ctx: &Context<'_>, i: usize, out: &mut Out<'_>) {
    let Some(w) = ctx.workloads.get(i) else {
        return;
    };
    if !matches!(w.object.kind.as_str(), "Deployment" | "StatefulSet") || w.replicas != Some(1) {
        return;
    }
    let Some(labels) = w.template_labels else {
        return;
    };
    let Some(pdb) = ctx.pdbs_in(w.namespace()).iter().find(|p| {
        p.spec.as_ref().is_some_and(|s| {
            blocks_single_pod(s)
                && s.selector
                    .as_ref()
                    .is_some_and(|sel| LabelSelector::from_api(sel).matches_map(Some(labels)))
        })
    }) else {
        return;
    };
    let pdb_name = pdb.metadata.name.as_deref().unwrap_or_default();
    let spec = pdb.spec.as_ref();
    let hpa = hpa_for(ctx, &w.object);
    let ns = w.namespace();
    let command = match (&hpa, w.object.kind.as_str()) {
        (Some(hpa), _) => suggest(
            &[
                "kubectl",
                "patch",
                "hpa",
                hpa,
                "-n",
                ns,
                "--type",
                "merge",
                "-p",
                r#"{"spec":{"minReplicas":2}}"#,
            ],
            &[hpa, ns],
        ),
        (None, "Deployment") => w.scalable_target().and_then(|t| {
            suggest(
                &["kubectl", "scale", &t, "-n", ns, "--replicas=2"],
                &[target_name(&t), ns],
            )
        }),
        _ => None,
    };
    let show = |v: Option<&IntOrString>| {
        v.map(|v| match v {
            IntOrString::Int(n) => json!(n),
            IntOrString::String(s) => json!(s),
        })
    };
    out.push(
        "reliability.single_replica_pdb",
        Draft {
            object: w.object.clone(),
            message: format!(
                "{}: one replica and PodDisruptionBudget {pdb_name} allows no eviction, so node drains and upgrades block",
                w.object
            ),
            evidence: json!({
                "replicas": 1,
                "pod_disruption_budget": pdb_name,
                "min_available": show(spec.and_then(|s| s.min_available.as_ref())),
                "max_unavailable": show(spec.and_then(|s| s.max_unavailable.as_ref())),
                "disruptions_allowed": pdb.status.as_ref().map(|s| s.disruptions_allowed),
                "horizontal_pod_autoscaler": hpa,
            }),
            recommendation: "Run at least two replicas so one can be evicted while the other serves, or relax the budget (maxUnavailable: 1) if a short outage is acceptable.".to_owned(),
            command,
            monthly_cost: None,
        },
    );
}

fn no_requests(ctx: &Context<'_>, i: usize, out: &mut Out<'_>) {
    let Some(w) = ctx.workloads.get(i) else {
        return;
    };
    let mut missing = Vec::new();
    let mut commands = Vec::new();
    let target = w.settable_target();
    for c in w.all_containers() {
        let has = |k: &str| {
            let r = c.resources.as_ref();
            r.and_then(|r| r.requests.as_ref())
                .is_some_and(|m| m.contains_key(k))
                || r.and_then(|r| r.limits.as_ref())
                    .is_some_and(|m| m.contains_key(k))
        };
        let lacking: Vec<&str> = ["cpu", "memory"].into_iter().filter(|k| !has(k)).collect();
        if lacking.is_empty() {
            continue;
        }
        let (cpu_peak, memory_peak, observed) = peaks(ctx, w, &c.name);
        let mut suggested = serde_json::Map::new();
        if observed > 0 {
            let (cpu, memory) = recommend(cpu_peak.unwrap_or(0), memory_peak.unwrap_or(0));
            let mut set = Vec::new();
            if lacking.contains(&"cpu") && cpu_peak.is_some() {
                set.push(format!("cpu={}", Millicores(cpu)));
                suggested.insert("cpu".into(), json!(Millicores(cpu).to_string()));
            }
            if lacking.contains(&"memory") && memory_peak.is_some() {
                set.push(format!("memory={}", Bytes(memory)));
                suggested.insert("memory".into(), json!(Bytes(memory).to_string()));
            }
            if let (Some(t), false) = (&target, set.is_empty()) {
                commands.extend(suggest(
                    &[
                        "kubectl",
                        "set",
                        "resources",
                        t,
                        "-n",
                        w.namespace(),
                        "-c",
                        &c.name,
                        &format!("--requests={}", set.join(",")),
                    ],
                    &[target_name(t), w.namespace(), &c.name],
                ));
            }
        }
        missing.push(
            json!({"container": c.name, "missing": lacking, "suggested_requests": suggested}),
        );
    }
    if missing.is_empty() {
        return;
    }
    let names: Vec<&str> = missing
        .iter()
        .filter_map(|m| m.get("container").and_then(|c| c.as_str()))
        .collect();
    let mut recommendation = "Set CPU and memory requests so the scheduler places the pods on nodes with room for them and they are not evicted first under pressure.".to_owned();
    if !commands.is_empty() {
        let _ = write!(
            recommendation,
            " Suggested values follow observed usage ({RIGHTSIZING_RULE})."
        );
    }
    out.push(
        "reliability.no_requests",
        Draft {
            object: w.object.clone(),
            message: format!(
                "{}: container{} {} ha{} no CPU or memory request",
                w.object,
                if names.len() == 1 { "" } else { "s" },
                names.join(", "),
                if names.len() == 1 { "s" } else { "ve" }
            ),
            evidence: json!({
                "containers": missing,
                "usage_source": (!commands.is_empty()).then(|| ctx.usage_source()),
            }),
            recommendation,
            command: (!commands.is_empty()).then(|| commands.join(" && ")),
            monthly_cost: None,
        },
    );
}

/// The tag of an image reference, `None` when it is pinned by digest; untagged means `latest`.
fn image_tag(image: &str) -> Option<&str> {
    if image.contains('@') {
        return None;
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    Some(last.split_once(':').map_or("latest", |(_, tag)| tag))
}

/// The repository part of an image reference (`ghcr.io/x/search` of `ghcr.io/x/search:latest`).
fn repository(image: &str) -> &str {
    let slash = image.rfind('/').map_or(0, |i| i + 1);
    match image.get(slash..).and_then(|last| last.find(':')) {
        Some(colon) => image.get(..slash + colon).unwrap_or(image),
        None => image,
    }
}

fn latest_tag(ctx: &Context<'_>, i: usize, out: &mut Out<'_>) {
    let Some(w) = ctx.workloads.get(i) else {
        return;
    };
    let mut flagged = Vec::new();
    let mut commands = Vec::new();
    for c in w.all_containers() {
        let image = c.image.as_deref().unwrap_or_default();
        if image.is_empty()
            || image_tag(image).is_some_and(|t| t != "latest")
            || image_tag(image).is_none()
        {
            continue;
        }
        // The digest every pod is running now, when they agree: pin to it.
        let digests: std::collections::BTreeSet<&str> = w
            .pods
            .iter()
            .flat_map(|p| {
                p.status
                    .iter()
                    .flat_map(|s| s.container_statuses.iter().flatten())
            })
            .filter(|cs| cs.name == c.name)
            .filter_map(|cs| cs.image_id.split_once("@sha256:").map(|(_, d)| d))
            .collect();
        let pinned = match (digests.len(), digests.first()) {
            (1, Some(d)) => Some(format!("{}@sha256:{d}", repository(image))),
            _ => None,
        };
        if let (Some(p), Some(t)) = (&pinned, w.settable_target()) {
            commands.extend(suggest(
                &[
                    "kubectl",
                    "set",
                    "image",
                    &t,
                    "-n",
                    w.namespace(),
                    &format!("{}={p}", c.name),
                ],
                &[target_name(&t), w.namespace(), &c.name],
            ));
        }
        flagged.push(json!({"container": c.name, "image": image, "running_digest": pinned}));
    }
    if flagged.is_empty() {
        return;
    }
    let images: Vec<&str> = flagged
        .iter()
        .filter_map(|f| f.get("image").and_then(|i| i.as_str()))
        .collect();
    let message = format!(
        "{}: image {} is not pinned to a version",
        w.object,
        images.join(", ")
    );
    out.push(
        "reliability.latest_tag",
        Draft {
            object: w.object.clone(),
            message,
            evidence: json_object([("containers", serde_json::Value::Array(flagged))]),
            recommendation: "Use an explicit version tag or a digest, so every pod runs the same code and a rollback means something. The command pins the digest the pods run now.".to_owned(),
            command: (!commands.is_empty()).then(|| commands.join(" && ")),
            monthly_cost: None,
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_tags() {
        assert_eq!(image_tag("nginx"), Some("latest"));
        assert_eq!(image_tag("nginx:latest"), Some("latest"));
        assert_eq!(image_tag("nginx:1.27"), Some("1.27"));
        assert_eq!(image_tag("localhost:5000/app"), Some("latest"));
        assert_eq!(image_tag("localhost:5000/app:2"), Some("2"));
        assert_eq!(image_tag("ghcr.io/a/b@sha256:abc"), None);
        assert_eq!(
            repository("localhost:5000/app:latest"),
            "localhost:5000/app"
        );
        assert_eq!(repository("ghcr.io/x/search"), "ghcr.io/x/search");
        assert_eq!(repository("nginx:latest"), "nginx");
    }
}
