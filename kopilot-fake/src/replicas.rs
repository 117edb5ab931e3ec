//! The ReplicaSet controller, reduced: a ReplicaSet keeps `spec.replicas` pods. Missing pods
//! are made from the ReplicaSet's template, placed where a sibling runs and shaped like a
//! ready sibling (or, when none is ready, like a failing one: a broken image stays broken);
//! extra pods go, not-ready ones first. No scheduling, no metrics for new pods.

use serde_json::{Value, json};

use super::clock;
use super::registry;
use super::store::{ObjectKey, State, meta_str, uid_from};

const SUFFIX_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

pub(crate) fn is_ready(pod: &Value) -> bool {
    pod.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|c| {
            c.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
}

pub(crate) fn owned_by(pod: &Value, uid: &str) -> bool {
    pod.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .is_some_and(|refs| refs.iter().any(|r| r["uid"] == uid))
}

/// Makes the pods owned by ReplicaSet `namespace/name` number its `spec.replicas`.
/// `fallback` shapes new pods when the ReplicaSet has none yet (a rollout's new ReplicaSet
/// takes after a pod of the old one).
pub(crate) fn sync_pods(state: &mut State, namespace: &str, name: &str, fallback: Option<&Value>) {
    let (Some(rs_type), Some(pod_type)) = (
        registry::by_resource("apps", "v1", "replicasets"),
        registry::by_resource("", "v1", "pods"),
    ) else {
        return;
    };
    let Ok(rs) = state.get(rs_type, namespace, name).cloned() else {
        return;
    };
    let Some(uid) = meta_str(&rs, "uid").map(str::to_owned) else {
        return;
    };
    let desired = usize::try_from(
        rs.pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(1),
    )
    .unwrap_or(0);
    let mut pods: Vec<Value> = state
        .list(pod_type, Some(namespace))
        .filter(|p| owned_by(p, &uid) && p.pointer("/metadata/deletionTimestamp").is_none())
        .cloned()
        .collect();
    if pods.len() > desired {
        // Not-ready pods go first, then the newest.
        pods.sort_by_key(|p| {
            (
                is_ready(p),
                std::cmp::Reverse(
                    meta_str(p, "creationTimestamp")
                        .unwrap_or_default()
                        .to_owned(),
                ),
            )
        });
        for pod in pods.iter().take(pods.len() - desired) {
            let name = meta_str(pod, "name").unwrap_or_default();
            state.write(&ObjectKey::new(pod_type, namespace, name), None);
        }
        return;
    }
    let model = pods
        .iter()
        .find(|p| is_ready(p))
        .or(pods.first())
        .or(fallback)
        .cloned();
    for _ in pods.len()..desired {
        let pod = new_pod(state, &rs, &uid, model.as_ref());
        let pod_name = meta_str(&pod, "name").unwrap_or_default().to_owned();
        state.write(&ObjectKey::new(pod_type, namespace, &pod_name), Some(pod));
    }
}

/// `len` characters of the alphabet Kubernetes uses for generated names, derived from `seed`.
pub(crate) fn random_suffix(seed: &str, len: usize) -> String {
    uid_from(seed)
        .bytes()
        .filter(u8::is_ascii_hexdigit)
        .take(len)
        .map(|b| {
            char::from(
                SUFFIX_ALPHABET
                    .get(usize::from(b) % SUFFIX_ALPHABET.len())
                    .copied()
                    .unwrap_or(b'x'),
            )
        })
        .collect()
}

fn new_pod(state: &mut State, rs: &Value, rs_uid: &str, model: Option<&Value>) -> Value {
    let uid = state.next_uid();
    let suffix = random_suffix(&uid, 5);
    let rs_name = meta_str(rs, "name").unwrap_or_default();
    let now = clock::format(clock::now());
    let template = rs
        .pointer("/spec/template")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let mut spec = template.get("spec").cloned().unwrap_or_else(|| json!({}));
    let node = model.and_then(|m| m.pointer("/spec/nodeName")).cloned();
    if let (Some(node), Some(map)) = (node.clone(), spec.as_object_mut()) {
        map.insert("nodeName".into(), node);
    }
    let status = match model {
        Some(m) if is_ready(m) => running_status(&spec, m, &now, state.resource_version),
        Some(m) => failing_status(m, &now),
        None => json!({"phase": "Pending", "qosClass": "BestEffort"}),
    };
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": format!("{rs_name}-{suffix}"),
            "namespace": meta_str(rs, "namespace"),
            "uid": uid,
            "creationTimestamp": now,
            "labels": template.pointer("/metadata/labels").cloned().unwrap_or_else(|| json!({})),
            "annotations": template.pointer("/metadata/annotations").cloned().unwrap_or_else(|| json!({})),
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs_name, "uid": rs_uid,
                                 "controller": true, "blockOwnerDeletion": true}],
        },
        "spec": spec,
        "status": status,
    })
}

fn running_status(spec: &Value, model: &Value, now: &str, seq: u64) -> Value {
    let containers: Vec<Value> = spec
        .get("containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| {
            json!({"name": c["name"], "image": c["image"], "imageID": "", "ready": true, "started": true,
                   "restartCount": 0, "state": {"running": {"startedAt": now}}, "lastState": {}})
        })
        .collect();
    let conditions: Vec<Value> = [
        "PodReadyToStartContainers",
        "Initialized",
        "Ready",
        "ContainersReady",
        "PodScheduled",
    ]
    .iter()
    .map(|t| json!({"type": t, "status": "True", "lastTransitionTime": now}))
    .collect();
    let host_ip = model
        .pointer("/status/hostIP")
        .cloned()
        .unwrap_or(Value::Null);
    let ip = format!("10.244.{}.{}", 100 + seq % 100, seq % 250 + 2);
    json!({
        "phase": "Running",
        "qosClass": model.pointer("/status/qosClass").cloned().unwrap_or_else(|| json!("BestEffort")),
        "hostIP": host_ip,
        "podIP": ip,
        "podIPs": [{"ip": ip}],
        "startTime": now,
        "conditions": conditions,
        "containerStatuses": containers,
    })
}

fn failing_status(model: &Value, now: &str) -> Value {
    let mut status = model.get("status").cloned().unwrap_or_else(|| json!({}));
    if let Some(map) = status.as_object_mut() {
        map.insert("startTime".into(), json!(now));
        map.remove("podIP");
        map.remove("podIPs");
        if let Some(list) = map
            .get_mut("containerStatuses")
            .and_then(Value::as_array_mut)
        {
            for c in list.iter_mut().filter_map(Value::as_object_mut) {
                c.insert("restartCount".into(), json!(0));
                c.insert("lastState".into(), json!({}));
            }
        }
    }
    status
}
