//! The Deployment controller, reduced: a template change rolls out a new ReplicaSet (named
//! by a hash of the template, like `pod-template-hash`) at the Deployment's replica count and
//! scales the old ones to zero; a replica change scales the newest ReplicaSet. Pods follow
//! through the ReplicaSet controller in `replicas.rs`.

use serde_json::{Value, json};

use super::registry;
use super::replicas::{self, is_ready, owned_by, random_suffix};
use super::store::{ObjectKey, State, meta_str, metadata_mut};
use super::writes;

const REVISION: &str = "deployment.kubernetes.io/revision";

fn revision(rs: &Value) -> i64 {
    rs.pointer("/metadata/annotations")
        .and_then(|a| a.get(REVISION))
        .and_then(Value::as_str)
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

fn template_changed(old: &Value, new: &Value) -> bool {
    old.pointer("/spec/template") != new.pointer("/spec/template")
}

/// The ReplicaSets a Deployment owns.
fn owned_replicasets(state: &State, deployment: &Value) -> Vec<Value> {
    let (Some(uid), Some(rs_type)) = (
        meta_str(deployment, "uid"),
        registry::by_resource("apps", "v1", "replicasets"),
    ) else {
        return Vec::new();
    };
    let ns = meta_str(deployment, "namespace").unwrap_or_default();
    state
        .list(rs_type, Some(ns))
        .filter(|rs| owned_by(rs, uid))
        .cloned()
        .collect()
}

/// Before a Deployment is stored: a template change gets the next revision number.
pub(crate) fn prepare(state: &State, old: &Value, new: &mut Value) {
    if !template_changed(old, new) {
        return;
    }
    let next = owned_replicasets(state, old)
        .iter()
        .map(revision)
        .max()
        .unwrap_or(0)
        + 1;
    if let Some(meta) = metadata_mut(new) {
        let annotations = meta.entry("annotations").or_insert_with(|| json!({}));
        if let Some(map) = annotations.as_object_mut() {
            map.insert(REVISION.into(), json!(next.to_string()));
        }
    }
}

/// After a Deployment is stored: roll out a changed template, or scale the newest ReplicaSet.
pub(crate) fn apply(state: &mut State, old: &Value, stored: &Value) {
    if template_changed(old, stored) {
        roll_out(state, stored);
    } else if old.pointer("/spec/replicas") != stored.pointer("/spec/replicas") {
        let newest = owned_replicasets(state, stored)
            .into_iter()
            .max_by_key(revision);
        if let Some(rs) = newest {
            set_replicas(
                state,
                &rs,
                stored
                    .pointer("/spec/replicas")
                    .and_then(Value::as_i64)
                    .unwrap_or(1),
                None,
            );
        }
    }
}

fn set_replicas(state: &mut State, rs: &Value, replicas: i64, revision_annotation: Option<&str>) {
    let Some(rs_type) = registry::by_resource("apps", "v1", "replicasets") else {
        return;
    };
    let ns = meta_str(rs, "namespace").unwrap_or_default().to_owned();
    let name = meta_str(rs, "name").unwrap_or_default().to_owned();
    let mut next = rs.clone();
    if let Some(spec) = next.get_mut("spec").and_then(Value::as_object_mut) {
        spec.insert("replicas".into(), json!(replicas));
    }
    if let (Some(rev), Some(meta)) = (revision_annotation, metadata_mut(&mut next)) {
        let annotations = meta.entry("annotations").or_insert_with(|| json!({}));
        if let Some(map) = annotations.as_object_mut() {
            map.insert(REVISION.into(), json!(rev));
        }
    }
    // Read from the store a moment ago and changed only in replicas and an annotation:
    // nothing here can be refused, and a refusal would leave nothing for a caller to fix.
    let _ = writes::replace_internal(
        state,
        rs_type,
        &ObjectKey::new(rs_type, &ns, &name),
        rs,
        next,
    );
}

fn roll_out(state: &mut State, deployment: &Value) {
    let (Some(rs_type), Some(pod_type)) = (
        registry::by_resource("apps", "v1", "replicasets"),
        registry::by_resource("", "v1", "pods"),
    ) else {
        return;
    };
    let ns = meta_str(deployment, "namespace")
        .unwrap_or_default()
        .to_owned();
    let name = meta_str(deployment, "name").unwrap_or_default().to_owned();
    let replicas = deployment
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let revision = deployment
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(REVISION))
        .and_then(Value::as_str)
        .unwrap_or("1")
        .to_owned();
    let template = deployment
        .pointer("/spec/template")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let hash = random_suffix(&template.to_string(), 10);
    let rs_name = format!("{name}-{hash}");
    let owned = owned_replicasets(state, deployment);
    let model = owned
        .iter()
        .flat_map(|rs| {
            let uid = meta_str(rs, "uid").unwrap_or_default().to_owned();
            state
                .list(pod_type, Some(&ns))
                .filter(move |p| owned_by(p, &uid))
                .cloned()
                .collect::<Vec<_>>()
        })
        .max_by_key(is_ready);
    if let Some(existing) = owned
        .iter()
        .find(|rs| meta_str(rs, "name") == Some(rs_name.as_str()))
    {
        set_replicas(state, existing, replicas, Some(&revision));
    } else {
        let mut rs_template = template.clone();
        if let Some(labels) = rs_template
            .pointer_mut("/metadata/labels")
            .and_then(Value::as_object_mut)
        {
            labels.insert("pod-template-hash".into(), json!(hash));
        }
        let mut selector = deployment
            .pointer("/spec/selector")
            .cloned()
            .unwrap_or_else(|| json!({}));
        if let Some(map) = selector.as_object_mut() {
            let labels = map.entry("matchLabels").or_insert_with(|| json!({}));
            if let Some(labels) = labels.as_object_mut() {
                labels.insert("pod-template-hash".into(), json!(hash));
            }
        }
        let rs = json!({
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": rs_name,
                "namespace": ns,
                "labels": rs_template.pointer("/metadata/labels").cloned().unwrap_or_else(|| json!({})),
                "annotations": {REVISION: revision, "deployment.kubernetes.io/desired-replicas": replicas.to_string()},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name,
                                     "uid": meta_str(deployment, "uid"), "controller": true, "blockOwnerDeletion": true}],
            },
            "spec": {"replicas": replicas, "selector": selector, "template": rs_template},
        });
        if writes::create(state, rs_type, &ns, rs, false).is_ok() {
            replicas::sync_pods(state, &ns, &rs_name, model.as_ref());
        }
    }
    for old in owned
        .iter()
        .filter(|rs| meta_str(rs, "name") != Some(rs_name.as_str()))
    {
        if old.pointer("/spec/replicas").and_then(Value::as_i64) != Some(0) {
            set_replicas(state, old, 0, None);
        }
    }
}
