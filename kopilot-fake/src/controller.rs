//! Just enough of the controllers for kubectl's waits to finish: when a workload's spec
//! changes, its status catches up at once (observedGeneration, replica counts), so
//! `kubectl scale` and `kubectl rollout status` behave as on a healthy cluster.
//!
//! Unavailability already present in the fixture is kept: a Deployment seeded with two of
//! three replicas available still has one unavailable after a restart, as a real one would
//! while its broken pod keeps failing.

use serde_json::{Map, Value, json};

use super::registry::ResourceType;

/// Kinds whose `metadata.generation` tracks their spec.
pub(crate) fn has_generation(t: &ResourceType) -> bool {
    !matches!(
        t.resource,
        "pods"
            | "events"
            | "configmaps"
            | "secrets"
            | "endpoints"
            | "serviceaccounts"
            | "namespaces"
            | "nodes"
            | "leases"
            | "endpointslices"
    ) && t.group != "metrics.k8s.io"
}

fn count(status: &Value, field: &str) -> i64 {
    status.get(field).and_then(Value::as_i64).unwrap_or(0)
}

/// Sets a count as the API server serialises it: zero counts are left out.
fn put_count(status: &mut Map<String, Value>, field: &str, value: i64) {
    if value == 0 {
        status.remove(field);
    } else {
        status.insert(field.into(), json!(value));
    }
}

/// Brings a workload's status up to its spec when its generation is newer than the one
/// the status last saw. Other kinds are left alone.
pub(crate) fn reconcile(t: &ResourceType, object: &mut Value) {
    if !matches!(
        t.resource,
        "deployments" | "statefulsets" | "replicasets" | "daemonsets"
    ) {
        return;
    }
    let generation = object
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let status = object.get("status").cloned().unwrap_or_else(|| json!({}));
    if status
        .get("observedGeneration")
        .and_then(Value::as_i64)
        .unwrap_or(0)
        >= generation
    {
        return;
    }
    let desired = object
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let mut next = status.as_object().cloned().unwrap_or_default();
    next.insert("observedGeneration".into(), json!(generation));
    if t.resource == "daemonsets" {
        let scheduled = count(&status, "desiredNumberScheduled");
        let shortfall = (scheduled - count(&status, "numberAvailable")).max(0);
        put_count(&mut next, "currentNumberScheduled", scheduled);
        put_count(&mut next, "updatedNumberScheduled", scheduled);
        put_count(&mut next, "numberReady", (scheduled - shortfall).max(0));
        put_count(&mut next, "numberAvailable", (scheduled - shortfall).max(0));
        put_count(&mut next, "numberUnavailable", shortfall.min(scheduled));
    } else {
        let shortfall = (count(&status, "replicas") - count(&status, "availableReplicas")).max(0);
        let available = (desired - shortfall).max(0);
        put_count(&mut next, "replicas", desired);
        put_count(&mut next, "readyReplicas", available);
        put_count(&mut next, "availableReplicas", available);
        match t.resource {
            "deployments" => {
                put_count(&mut next, "updatedReplicas", desired);
                put_count(&mut next, "unavailableReplicas", desired - available);
                set_deployment_conditions(&mut next, desired, available);
            }
            "statefulsets" => {
                put_count(&mut next, "currentReplicas", desired);
                put_count(&mut next, "updatedReplicas", desired);
            }
            _ => put_count(&mut next, "fullyLabeledReplicas", desired),
        }
    }
    if let Some(map) = object.as_object_mut() {
        map.insert("status".into(), Value::Object(next));
    }
}

fn set_deployment_conditions(status: &mut Map<String, Value>, desired: i64, available: i64) {
    let now = super::clock::format(super::clock::now());
    let (avail_status, avail_reason, avail_message) = if available >= desired {
        (
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
        )
    } else {
        (
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
        )
    };
    let mut conditions: Vec<Value> = status
        .get("conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut upsert = |kind: &str, state: &str, reason: &str, message: &str| {
        let fresh = json!({"type": kind, "status": state, "reason": reason, "message": message,
                           "lastUpdateTime": now, "lastTransitionTime": now});
        match conditions
            .iter_mut()
            .find(|c| c.get("type").and_then(Value::as_str) == Some(kind))
        {
            Some(existing) => {
                let changed = existing.get("status").and_then(Value::as_str) != Some(state);
                if let Some(map) = existing.as_object_mut() {
                    map.insert("reason".into(), json!(reason));
                    map.insert("message".into(), json!(message));
                    map.insert("lastUpdateTime".into(), json!(now));
                    if changed {
                        map.insert("status".into(), json!(state));
                        map.insert("lastTransitionTime".into(), json!(now));
                    }
                }
            }
            None => conditions.push(fresh),
        }
    };
    upsert("Available", avail_status, avail_reason, avail_message);
    upsert(
        "Progressing",
        "True",
        "NewReplicaSetAvailable",
        "ReplicaSet has successfully progressed.",
    );
    status.insert("conditions".into(), Value::Array(conditions));
}

/// Whether two objects differ in `spec` (a generation bump).
pub(crate) fn spec_changed(old: &Value, new: &Value) -> bool {
    old.get("spec") != new.get("spec")
}

/// The Scale (autoscaling/v1) view of a scalable workload.
pub(crate) fn scale_of(object: &Value) -> Value {
    let meta = object.get("metadata").cloned().unwrap_or_else(|| json!({}));
    let selector = object
        .pointer("/spec/selector")
        .map(|s| super::selectors::LabelSelector::from_object(s).to_query())
        .unwrap_or_default();
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": meta.get("name"), "namespace": meta.get("namespace"), "uid": meta.get("uid"),
            "resourceVersion": meta.get("resourceVersion"),
            "creationTimestamp": meta.get("creationTimestamp"),
        },
        "spec": {"replicas": object.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1)},
        "status": {
            "replicas": object.pointer("/status/replicas").and_then(Value::as_i64).unwrap_or(0),
            "selector": selector,
        },
    })
}
