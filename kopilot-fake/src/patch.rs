//! The three patch formats the API server accepts: JSON merge patch (RFC 7386), JSON patch
//! (RFC 6902) and Kubernetes strategic merge patch for the common built-in fields.

use serde_json::{Map, Value};

/// A patch that cannot be applied; the message says which operation or path failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PatchError(String);

/// Applies a JSON merge patch: objects merge recursively, `null` removes a key, anything
/// else (arrays included) replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch_map) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(target_map) = target {
        for (key, value) in patch_map {
            if value.is_null() {
                target_map.remove(key);
            } else {
                merge_patch(target_map.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

/// Applies a JSON patch (a list of `add`/`remove`/`replace`/`move`/`copy`/`test` operations).
/// On error the target is left unchanged.
pub fn json_patch(target: &mut Value, patch: &Value) -> Result<(), PatchError> {
    let ops = patch
        .as_array()
        .ok_or_else(|| PatchError("a JSON patch must be a list of operations".into()))?;
    let mut work = target.clone();
    for (i, op) in ops.iter().enumerate() {
        let field = |name: &str| {
            op.get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| PatchError(format!("operation {i}: missing \"{name}\"")))
        };
        let kind = field("op")?;
        let path = field("path")?;
        let value = || {
            op.get("value").cloned().ok_or_else(|| {
                PatchError(format!("operation {i} ({kind} {path}): missing \"value\""))
            })
        };
        let result = match kind {
            "add" => add_at(&mut work, path, value()?),
            "remove" => remove_at(&mut work, path).map(drop),
            "replace" => remove_at(&mut work, path).and_then(|_| add_at(&mut work, path, value()?)),
            "move" => {
                let from = field("from")?;
                remove_at(&mut work, from).and_then(|v| add_at(&mut work, path, v))
            }
            "copy" => {
                let from = field("from")?;
                let v = work
                    .pointer(from)
                    .cloned()
                    .ok_or_else(|| PatchError(format!("path {from} does not exist")));
                v.and_then(|v| add_at(&mut work, path, v))
            }
            "test" => {
                if work.pointer(path) == Some(&value()?) {
                    Ok(())
                } else {
                    Err(PatchError(format!("testing value {path} failed")))
                }
            }
            other => Err(PatchError(format!("unknown operation {other:?}"))),
        };
        result.map_err(|e| PatchError(format!("the {kind} operation at {path} failed: {e}")))?;
    }
    *target = work;
    Ok(())
}

fn split_pointer(path: &str) -> Result<(String, String), PatchError> {
    let (parent, last) = path
        .rsplit_once('/')
        .ok_or_else(|| PatchError(format!("invalid JSON pointer {path:?}")))?;
    let last = last.replace("~1", "/").replace("~0", "~");
    Ok((parent.to_owned(), last))
}

fn add_at(doc: &mut Value, path: &str, value: Value) -> Result<(), PatchError> {
    if path.is_empty() {
        *doc = value;
        return Ok(());
    }
    let (parent, last) = split_pointer(path)?;
    let missing = || PatchError(format!("doc is missing path: {parent}"));
    match doc.pointer_mut(&parent).ok_or_else(missing)? {
        Value::Object(map) => {
            map.insert(last, value);
            Ok(())
        }
        Value::Array(items) => {
            let index = if last == "-" {
                items.len()
            } else {
                last.parse::<usize>()
                    .map_err(|_| PatchError(format!("invalid array index {last:?}")))?
            };
            if index > items.len() {
                return Err(PatchError(format!("index {index} is out of bounds")));
            }
            items.insert(index, value);
            Ok(())
        }
        _ => Err(missing()),
    }
}

fn remove_at(doc: &mut Value, path: &str) -> Result<Value, PatchError> {
    let (parent, last) = split_pointer(path)?;
    let missing = || PatchError(format!("doc is missing path: {path}"));
    match doc.pointer_mut(&parent).ok_or_else(missing)? {
        Value::Object(map) => map.remove(&last).ok_or_else(missing),
        Value::Array(items) => {
            let index = last.parse::<usize>().map_err(|_| missing())?;
            if index < items.len() {
                Ok(items.remove(index))
            } else {
                Err(missing())
            }
        }
        _ => Err(missing()),
    }
}

/// The merge key of a list field in the built-in types, by field name (and, for `ports`,
/// by the shape of the items: container ports merge on `containerPort`, service ports on
/// `port`). Lists without a merge key are replaced.
fn merge_key(field: &str, sample: Option<&Value>) -> Option<&'static str> {
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "env"
        | "imagePullSecrets"
        | "hostAliases" => Some(match field {
            "hostAliases" => "ip",
            _ => "name",
        }),
        "volumeMounts" => Some("mountPath"),
        "volumeDevices" => Some("devicePath"),
        "conditions" => Some("type"),
        "ports" => {
            if sample.is_some_and(|s| s.get("containerPort").is_some()) {
                Some("containerPort")
            } else {
                Some("port")
            }
        }
        "ownerReferences" => Some("uid"),
        _ => None,
    }
}

/// Lists of scalars that strategic merge unions instead of replacing.
fn is_merged_scalar_list(field: &str) -> bool {
    field == "finalizers"
}

/// Applies a strategic merge patch as the API server does for the built-in types: maps merge,
/// lists with a merge key (containers and volumes by `name`, volume mounts by `mountPath`,
/// ports by `containerPort`/`port`, conditions by `type`) merge item by item, other lists
/// are replaced. Directives: `$patch: replace|delete` on maps and list items,
/// `$deleteFromPrimitiveList/<field>`, and `$setElementOrder/<field>` / `$retainKeys` (dropped).
pub fn strategic_merge_patch(target: &mut Value, patch: &Value) -> Result<(), PatchError> {
    let Value::Object(patch_map) = patch else {
        *target = patch.clone();
        return Ok(());
    };
    match patch_map.get("$patch").and_then(Value::as_str) {
        Some("replace") => {
            let mut clean = patch_map.clone();
            clean.remove("$patch");
            *target = Value::Object(clean);
            return Ok(());
        }
        Some("delete") => {
            *target = Value::Object(Map::new());
            return Ok(());
        }
        Some(other) if other != "merge" => {
            return Err(PatchError(format!(
                "unknown patch directive $patch: {other}"
            )));
        }
        _ => {}
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(target_map) = target else {
        return Ok(());
    };
    for (key, value) in patch_map {
        if key == "$patch" || key == "$retainKeys" || key.starts_with("$setElementOrder/") {
            continue;
        }
        if let Some(field) = key.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(items)), Some(remove)) =
                (target_map.get_mut(field), value.as_array())
            {
                items.retain(|v| !remove.contains(v));
            }
            continue;
        }
        if value.is_null() {
            target_map.remove(key);
            continue;
        }
        match value {
            Value::Array(patch_items) => {
                let current = target_map.remove(key);
                let merged = merge_list(key, current, patch_items)?;
                target_map.insert(key.clone(), merged);
            }
            Value::Object(_) => {
                strategic_merge_patch(target_map.entry(key.clone()).or_insert(Value::Null), value)?;
                if value.get("$patch").and_then(Value::as_str) == Some("delete") {
                    target_map.remove(key);
                }
            }
            _ => {
                target_map.insert(key.clone(), value.clone());
            }
        }
    }
    Ok(())
}

fn merge_list(
    field: &str,
    current: Option<Value>,
    patch_items: &[Value],
) -> Result<Value, PatchError> {
    let mut items = match current {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    };
    let replace_all = patch_items
        .iter()
        .any(|p| p.get("$patch").and_then(Value::as_str) == Some("replace"));
    if replace_all {
        let kept: Vec<Value> = patch_items
            .iter()
            .filter(|p| p.get("$patch").is_none())
            .cloned()
            .collect();
        return Ok(Value::Array(kept));
    }
    if is_merged_scalar_list(field) {
        for p in patch_items {
            if !items.contains(p) {
                items.push(p.clone());
            }
        }
        return Ok(Value::Array(items));
    }
    let Some(key) = merge_key(field, patch_items.first().or(items.first())) else {
        return Ok(Value::Array(patch_items.to_vec()));
    };
    for p in patch_items {
        let Some(id) = p.get(key) else {
            return Err(PatchError(format!(
                "map: {p} does not contain declared merge key: {key}"
            )));
        };
        let position = items.iter().position(|i| i.get(key) == Some(id));
        let delete = p.get("$patch").and_then(Value::as_str) == Some("delete");
        match (position, delete) {
            (Some(at), true) => {
                items.remove(at);
            }
            (None, true) => {}
            (Some(at), false) => {
                if let Some(existing) = items.get_mut(at) {
                    strategic_merge_patch(existing, p)?;
                }
            }
            (None, false) => {
                let mut fresh = Value::Object(Map::new());
                strategic_merge_patch(&mut fresh, p)?;
                items.push(fresh);
            }
        }
    }
    Ok(Value::Array(items))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment() -> Value {
        json!({"metadata": {"name": "web", "labels": {"app": "web", "tier": "front"}, "finalizers": ["a"]},
               "spec": {"replicas": 2, "template": {"spec": {
                   "containers": [
                       {"name": "app", "image": "web:1", "ports": [{"containerPort": 80, "protocol": "TCP"}],
                        "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                        "resources": {"requests": {"cpu": "1"}}},
                       {"name": "sidecar", "image": "proxy:1"}],
                   "volumes": [{"name": "data", "emptyDir": {}}]}}}})
    }

    #[test]
    fn merge_patch_merges_maps_removes_nulls_replaces_lists() {
        let mut d = deployment();
        merge_patch(
            &mut d,
            &json!({"metadata": {"labels": {"tier": null, "new": "x"}},
                                   "spec": {"replicas": 5, "template": {"spec": {"containers": [{"name": "only"}]}}}}),
        );
        assert_eq!(d["metadata"]["labels"], json!({"app": "web", "new": "x"}));
        assert_eq!(d["spec"]["replicas"], 5);
        assert_eq!(
            d["spec"]["template"]["spec"]["containers"],
            json!([{"name": "only"}])
        );
    }

    #[test]
    fn json_patch_applies_ops_in_order_and_is_atomic() {
        let mut d = deployment();
        json_patch(
            &mut d,
            &json!([
                {"op": "replace", "path": "/spec/replicas", "value": 7},
                {"op": "add", "path": "/metadata/labels/team", "value": "a"},
                {"op": "remove", "path": "/spec/template/spec/containers/1"},
                {"op": "add", "path": "/metadata/finalizers/-", "value": "b"},
                {"op": "copy", "from": "/metadata/labels/app", "path": "/metadata/labels/copy"},
                {"op": "test", "path": "/spec/replicas", "value": 7}
            ]),
        )
        .unwrap();
        assert_eq!(d["spec"]["replicas"], 7);
        assert_eq!(d["metadata"]["labels"]["team"], "a");
        assert_eq!(d["metadata"]["labels"]["copy"], "web");
        assert_eq!(d["metadata"]["finalizers"], json!(["a", "b"]));
        assert_eq!(
            d["spec"]["template"]["spec"]["containers"]
                .as_array()
                .unwrap()
                .len(),
            1
        );

        let before = d.clone();
        let err = json_patch(
            &mut d,
            &json!([
                {"op": "replace", "path": "/spec/replicas", "value": 1},
                {"op": "remove", "path": "/spec/nothing"}
            ]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("/spec/nothing"), "{err}");
        assert_eq!(d, before, "a failed patch must not change the object");
        assert!(json_patch(&mut d, &json!({"op": "add"})).is_err());
    }

    #[test]
    fn strategic_merges_containers_by_name_and_keeps_the_rest() {
        let mut d = deployment();
        strategic_merge_patch(&mut d, &json!({"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "app"}, {"name": "sidecar"}],
            "containers": [{"name": "app", "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]}}}})).unwrap();
        let containers = &d["spec"]["template"]["spec"]["containers"];
        assert_eq!(containers.as_array().unwrap().len(), 2);
        assert_eq!(containers[0]["image"], "web:1");
        assert_eq!(
            containers[0]["resources"]["requests"],
            json!({"cpu": "100m", "memory": "64Mi"})
        );
        assert_eq!(containers[1]["name"], "sidecar");
        assert!(d.to_string().find("$setElementOrder").is_none());
    }

    #[test]
    fn strategic_merges_ports_mounts_and_adds_new_items() {
        let mut d = deployment();
        strategic_merge_patch(&mut d, &json!({"spec": {"template": {"spec": {"containers": [
            {"name": "app", "ports": [{"containerPort": 80, "name": "http"}, {"containerPort": 9090}],
             "volumeMounts": [{"mountPath": "/data", "readOnly": true}]},
            {"name": "new", "image": "n:1"}]}}}})).unwrap();
        let c = &d["spec"]["template"]["spec"]["containers"];
        assert_eq!(
            c[0]["ports"],
            json!([{"containerPort": 80, "protocol": "TCP", "name": "http"}, {"containerPort": 9090}])
        );
        assert_eq!(
            c[0]["volumeMounts"],
            json!([{"name": "data", "mountPath": "/data", "readOnly": true}])
        );
        assert_eq!(c[2]["image"], "n:1");
    }

    #[test]
    fn strategic_directives_delete_and_replace() {
        let mut d = deployment();
        strategic_merge_patch(
            &mut d,
            &json!({
            "metadata": {"labels": {"$patch": "replace", "only": "this"}},
            "spec": {"template": {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}],
                                            "volumes": null}}}}),
        )
        .unwrap();
        assert_eq!(d["metadata"]["labels"], json!({"only": "this"}));
        assert_eq!(
            d["spec"]["template"]["spec"]["containers"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        assert!(d["spec"]["template"]["spec"].get("volumes").is_none());
        strategic_merge_patch(
            &mut d,
            &json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}),
        )
        .unwrap();
        assert_eq!(d["metadata"]["finalizers"], json!([]));
        let err = strategic_merge_patch(
            &mut d,
            &json!({"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}}),
        );
        assert!(err.unwrap_err().to_string().contains("merge key"));
    }

    #[test]
    fn strategic_replaces_lists_without_merge_keys() {
        let mut d = json!({"spec": {"args": ["a", "b"], "tolerations": [{"key": "x"}]}});
        strategic_merge_patch(
            &mut d,
            &json!({"spec": {"args": ["c"], "tolerations": [{"key": "y"}]}}),
        )
        .unwrap();
        assert_eq!(
            d,
            json!({"spec": {"args": ["c"], "tolerations": [{"key": "y"}]}})
        );
    }
}
