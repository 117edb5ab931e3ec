//! Server-side printing: `meta.k8s.io/v1` Tables with the columns the real API server
//! computes for each kind, so `kubectl get` prints what it prints against a real cluster.

use serde_json::{Value, json};

use super::clock;
use super::registry::ResourceType;

mod cells;
mod columns;

use cells::cells;
use columns::columns;

fn column_definitions(t: &ResourceType) -> Value {
    let defs: Vec<Value> = columns(t)
        .iter()
        .map(|(name, kind, priority)| {
            let format = if *name == "Name" { "name" } else { "" };
            json!({"name": name, "type": kind, "format": format, "description": "", "priority": priority})
        })
        .collect();
    Value::Array(defs)
}

/// How much of each object a row carries (`includeObject`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RowObject {
    /// `PartialObjectMetadata` (the default): enough for NAMESPACE and `--show-labels`.
    Metadata,
    /// The whole object (`includeObject=Object`, used by `--sort-by`).
    Object,
    /// No object.
    None,
}

/// A Table of `objects`. `with_columns` is false for the later events of a watch.
pub(crate) fn table(
    t: &ResourceType,
    objects: &[&Value],
    rv: u64,
    row_object: RowObject,
    with_columns: bool,
) -> Value {
    let now = clock::now();
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| {
            let object = match row_object {
                RowObject::Object => (*o).clone(),
                RowObject::Metadata => json!({
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": o.get("metadata").cloned().unwrap_or_else(|| json!({})),
                }),
                RowObject::None => Value::Null,
            };
            json!({"cells": cells(t, o, now), "object": object})
        })
        .collect();
    let columns = if with_columns {
        column_definitions(t)
    } else {
        json!([])
    };
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": rv.to_string()},
        "columnDefinitions": columns,
        "rows": rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::by_resource;

    fn row(resource: &str, group: &str, version: &str, object: &Value, wide: bool) -> Vec<String> {
        let t = by_resource(group, version, resource).unwrap();
        let table = table(t, &[object], 7, RowObject::Metadata, true);
        let defs = table["columnDefinitions"].as_array().unwrap();
        let cells = table["rows"][0]["cells"].as_array().unwrap();
        assert_eq!(defs.len(), cells.len(), "one cell per column");
        assert_eq!(table["rows"][0]["object"]["kind"], "PartialObjectMetadata");
        defs.iter()
            .zip(cells)
            .filter(|(d, _)| wide || d["priority"] == 0)
            .map(|(_, c)| c.as_str().map_or_else(|| c.to_string(), str::to_owned))
            .collect()
    }

    fn ago(minutes: i64) -> String {
        clock::format(clock::now() - time::Duration::minutes(minutes))
    }

    #[test]
    fn pod_rows_show_waiting_reasons_and_restarts() {
        let pod = json!({"metadata": {"name": "p", "creationTimestamp": ago(300)},
            "spec": {"containers": [{"name": "a"}, {"name": "b"}], "nodeName": "n1"},
            "status": {"phase": "Running", "podIP": "10.0.0.5", "containerStatuses": [
                {"name": "a", "ready": true, "restartCount": 0, "state": {"running": {}}},
                {"name": "b", "ready": false, "restartCount": 4, "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                 "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(3)}}}]}});
        assert_eq!(
            row("pods", "", "v1", &pod, false),
            ["p", "1/2", "CrashLoopBackOff", "4 (3m ago)", "5h"]
        );
        let wide = row("pods", "", "v1", &pod, true);
        assert_eq!(wide[5..7], ["10.0.0.5", "n1"]);
        let done = json!({"metadata": {"name": "j"}, "spec": {"containers": [{"name": "a"}]},
            "status": {"phase": "Succeeded", "containerStatuses": [{"name": "a", "ready": false, "restartCount": 0,
                "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}});
        assert_eq!(row("pods", "", "v1", &done, false)[2], "Completed");
        let pending = json!({"metadata": {"name": "q"}, "spec": {"containers": [{"name": "a"}]}, "status": {"phase": "Pending"}});
        assert_eq!(
            row("pods", "", "v1", &pending, false)[1..4],
            ["0/1", "Pending", "0"]
        );
    }

    #[test]
    fn deployment_node_and_service_rows() {
        let d = json!({"metadata": {"name": "web"}, "spec": {"replicas": 3},
                       "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}});
        assert_eq!(
            row("deployments", "apps", "v1", &d, false)[..4],
            ["web", "2/3", "3", "2"]
        );
        let node = json!({"metadata": {"name": "n", "labels": {"node-role.kubernetes.io/control-plane": ""}},
                          "spec": {"unschedulable": true},
                          "status": {"conditions": [{"type": "Ready", "status": "Unknown"}], "nodeInfo": {"kubeletVersion": "v1.33.0"}}});
        let r = row("nodes", "", "v1", &node, false);
        assert_eq!(
            [r[1].as_str(), r[2].as_str(), r[4].as_str()],
            ["NotReady,SchedulingDisabled", "control-plane", "v1.33.0"]
        );
        let svc = json!({"metadata": {"name": "s"}, "spec": {"type": "LoadBalancer", "clusterIP": "10.96.0.9",
                         "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}]}});
        assert_eq!(
            row("services", "", "v1", &svc, false)[1..5],
            [
                "LoadBalancer",
                "10.96.0.9",
                "<pending>",
                "80:30080/TCP,53/UDP"
            ]
        );
    }

    #[test]
    fn unknown_layouts_fall_back_to_name_and_age() {
        let lease = json!({"metadata": {"name": "l"}, "spec": {"holderIdentity": "me"}});
        assert_eq!(
            row("leases", "coordination.k8s.io", "v1", &lease, false),
            ["l", "me", "<unknown>"]
        );
        let pm = json!({"metadata": {"name": "m"}});
        assert_eq!(
            row("pods", "metrics.k8s.io", "v1beta1", &pm, false),
            ["m", "<unknown>"]
        );
    }
}
