//! Cell values per kind, computed as the API server's printers do (AGE from
//! creationTimestamp, pod STATUS from container states, RESTARTS with the last restart).

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::super::clock;
use super::super::registry::ResourceType;
use super::super::selectors::LabelSelector;

fn s<'a>(o: &'a Value, pointer: &str) -> &'a str {
    o.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn n(o: &Value, pointer: &str) -> i64 {
    o.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

fn arr<'a>(o: &'a Value, pointer: &str) -> &'a [Value] {
    o.pointer(pointer)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn or_none(text: String) -> String {
    if text.is_empty() {
        "<none>".to_owned()
    } else {
        text
    }
}

fn containers_and_images(o: &Value, pointer: &str) -> (String, String) {
    let list = arr(o, pointer);
    let names: Vec<&str> = list.iter().map(|c| s(c, "/name")).collect();
    let images: Vec<&str> = list.iter().map(|c| s(c, "/image")).collect();
    (names.join(","), images.join(","))
}

fn selector_text(o: &Value) -> String {
    o.pointer("/spec/selector")
        .map(|sel| LabelSelector::from_object(sel).to_query())
        .map_or_else(|| "<none>".to_owned(), or_none)
}

pub(super) fn cells(t: &ResourceType, o: &Value, now: OffsetDateTime) -> Vec<Value> {
    let name = json!(s(o, "/metadata/name"));
    let age = json!(clock::age(
        o.pointer("/metadata/creationTimestamp")
            .and_then(Value::as_str),
        now
    ));
    match (t.group, t.resource) {
        ("", "pods") => pod_cells(o, now, name, age),
        ("apps", "deployments") => {
            let (c, i) = containers_and_images(o, "/spec/template/spec/containers");
            let ready = format!(
                "{}/{}",
                n(o, "/status/readyReplicas"),
                o.pointer("/spec/replicas")
                    .and_then(Value::as_i64)
                    .unwrap_or(1)
            );
            vec![
                name,
                json!(ready),
                json!(n(o, "/status/updatedReplicas")),
                json!(n(o, "/status/availableReplicas")),
                age,
                json!(c),
                json!(i),
                json!(selector_text(o)),
            ]
        }
        ("apps", "replicasets") => {
            let (c, i) = containers_and_images(o, "/spec/template/spec/containers");
            vec![
                name,
                json!(n(o, "/spec/replicas")),
                json!(n(o, "/status/replicas")),
                json!(n(o, "/status/readyReplicas")),
                age,
                json!(c),
                json!(i),
                json!(selector_text(o)),
            ]
        }
        ("apps", "statefulsets") => {
            let (c, i) = containers_and_images(o, "/spec/template/spec/containers");
            let ready = format!(
                "{}/{}",
                n(o, "/status/readyReplicas"),
                o.pointer("/spec/replicas")
                    .and_then(Value::as_i64)
                    .unwrap_or(1)
            );
            vec![name, json!(ready), age, json!(c), json!(i)]
        }
        ("apps", "daemonsets") => {
            let (c, i) = containers_and_images(o, "/spec/template/spec/containers");
            let node_selector = o
                .pointer("/spec/template/spec/nodeSelector")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                        .collect::<Vec<_>>()
                        .join(",")
                });
            vec![
                name,
                json!(n(o, "/status/desiredNumberScheduled")),
                json!(n(o, "/status/currentNumberScheduled")),
                json!(n(o, "/status/numberReady")),
                json!(n(o, "/status/updatedNumberScheduled")),
                json!(n(o, "/status/numberAvailable")),
                json!(or_none(node_selector.unwrap_or_default())),
                age,
                json!(c),
                json!(i),
                json!(selector_text(o)),
            ]
        }
        ("", "services") => service_cells(o, name, age),
        ("", "nodes") => node_cells(o, name, age),
        ("", "namespaces") => vec![name, json!(s(o, "/status/phase")), age],
        ("", "persistentvolumeclaims") => {
            let modes = access_modes(arr(o, "/status/accessModes"));
            vec![
                name,
                json!(s(o, "/status/phase")),
                json!(s(o, "/spec/volumeName")),
                json!(s(o, "/status/capacity/storage")),
                json!(modes),
                json!(or_unset(s(o, "/spec/storageClassName"))),
                json!(or_unset(s(o, "/spec/volumeAttributesClassName"))),
                age,
                json!(or_default(s(o, "/spec/volumeMode"), "Filesystem")),
            ]
        }
        ("", "persistentvolumes") => {
            let claim = if s(o, "/spec/claimRef/name").is_empty() {
                String::new()
            } else {
                format!(
                    "{}/{}",
                    s(o, "/spec/claimRef/namespace"),
                    s(o, "/spec/claimRef/name")
                )
            };
            vec![
                name,
                json!(s(o, "/spec/capacity/storage")),
                json!(access_modes(arr(o, "/spec/accessModes"))),
                json!(s(o, "/spec/persistentVolumeReclaimPolicy")),
                json!(s(o, "/status/phase")),
                json!(claim),
                json!(s(o, "/spec/storageClassName")),
                json!(or_unset(s(o, "/spec/volumeAttributesClassName"))),
                json!(s(o, "/status/reason")),
                age,
                json!(or_default(s(o, "/spec/volumeMode"), "Filesystem")),
            ]
        }
        ("", "events") => event_cells(o, now, name),
        ("", "configmaps") => {
            let count = o
                .get("data")
                .and_then(Value::as_object)
                .map_or(0, serde_json::Map::len)
                + o.get("binaryData")
                    .and_then(Value::as_object)
                    .map_or(0, serde_json::Map::len);
            vec![name, json!(count), age]
        }
        ("", "secrets") => {
            let count = o
                .get("data")
                .and_then(Value::as_object)
                .map_or(0, serde_json::Map::len);
            vec![
                name,
                json!(or_default(s(o, "/type"), "Opaque")),
                json!(count),
                age,
            ]
        }
        ("", "serviceaccounts") => vec![name, json!(arr(o, "/secrets").len()), age],
        ("", "endpoints") => vec![name, json!(endpoints_text(o)), age],
        ("batch", "jobs") => job_cells(o, now, name, age),
        ("batch", "cronjobs") => {
            let (c, i) =
                containers_and_images(o, "/spec/jobTemplate/spec/template/spec/containers");
            let last = o
                .pointer("/status/lastScheduleTime")
                .and_then(Value::as_str);
            vec![
                name,
                json!(s(o, "/spec/schedule")),
                json!(or_none(s(o, "/spec/timeZone").to_owned())),
                json!(
                    o.pointer("/spec/suspend")
                        .and_then(Value::as_bool)
                        .unwrap_or(false)
                ),
                json!(arr(o, "/status/active").len()),
                json!(last.map_or_else(|| "<none>".to_owned(), |l| clock::age(Some(l), now))),
                age,
                json!(c),
                json!(i),
            ]
        }
        ("autoscaling", "horizontalpodautoscalers") => hpa_cells(o, name, age),
        ("policy", "poddisruptionbudgets") => {
            let field = |p: &str| {
                o.pointer(p).map_or_else(
                    || "N/A".to_owned(),
                    |v| v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                )
            };
            vec![
                name,
                json!(field("/spec/minAvailable")),
                json!(field("/spec/maxUnavailable")),
                json!(n(o, "/status/disruptionsAllowed")),
                age,
            ]
        }
        ("networking.k8s.io", "ingresses") => {
            let hosts: Vec<&str> = arr(o, "/spec/rules")
                .iter()
                .map(|r| s(r, "/host"))
                .filter(|h| !h.is_empty())
                .collect();
            let address: Vec<&str> = arr(o, "/status/loadBalancer/ingress")
                .iter()
                .map(|i| {
                    let ip = s(i, "/ip");
                    if ip.is_empty() { s(i, "/hostname") } else { ip }
                })
                .collect();
            let ports = if arr(o, "/spec/tls").is_empty() {
                "80"
            } else {
                "80, 443"
            };
            vec![
                name,
                json!(or_none(s(o, "/spec/ingressClassName").to_owned())),
                json!(if hosts.is_empty() {
                    "*".to_owned()
                } else {
                    hosts.join(",")
                }),
                json!(address.join(",")),
                json!(ports),
                age,
            ]
        }
        ("networking.k8s.io", "networkpolicies") => {
            let sel = o
                .pointer("/spec/podSelector")
                .map(|p| LabelSelector::from_object(p).to_query())
                .unwrap_or_default();
            vec![name, json!(or_none(sel)), age]
        }
        ("discovery.k8s.io", "endpointslices") => {
            let ports: Vec<String> = arr(o, "/ports")
                .iter()
                .map(|p| n(p, "/port").to_string())
                .collect();
            let addrs: Vec<&str> = arr(o, "/endpoints")
                .iter()
                .flat_map(|e| arr(e, "/addresses"))
                .filter_map(Value::as_str)
                .collect();
            vec![
                name,
                json!(s(o, "/addressType")),
                json!(or_unset(&ports.join(","))),
                json!(or_unset(&addrs.join(","))),
                age,
            ]
        }
        ("coordination.k8s.io", "leases") => vec![name, json!(s(o, "/spec/holderIdentity")), age],
        ("rbac.authorization.k8s.io", "roles" | "clusterroles") => {
            vec![name, json!(s(o, "/metadata/creationTimestamp"))]
        }
        ("rbac.authorization.k8s.io", "rolebindings" | "clusterrolebindings") => {
            let subjects = |kind: &str| {
                arr(o, "/subjects")
                    .iter()
                    .filter(|x| s(x, "/kind") == kind)
                    .map(|x| s(x, "/name"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            vec![
                name,
                json!(format!(
                    "{}/{}",
                    s(o, "/roleRef/kind"),
                    s(o, "/roleRef/name")
                )),
                age,
                json!(subjects("User")),
                json!(subjects("Group")),
                json!(subjects("ServiceAccount")),
            ]
        }
        _ => vec![name, age],
    }
}

fn or_unset(text: &str) -> String {
    if text.is_empty() {
        "<unset>".to_owned()
    } else {
        text.to_owned()
    }
}

fn or_default(text: &str, default: &str) -> String {
    if text.is_empty() {
        default.to_owned()
    } else {
        text.to_owned()
    }
}

fn access_modes(modes: &[Value]) -> String {
    let short: Vec<&str> = modes
        .iter()
        .filter_map(Value::as_str)
        .map(|m| match m {
            "ReadWriteOnce" => "RWO",
            "ReadOnlyMany" => "ROX",
            "ReadWriteMany" => "RWX",
            "ReadWriteOncePod" => "RWOP",
            other => other,
        })
        .collect();
    short.join(",")
}

fn pod_cells(o: &Value, now: OffsetDateTime, name: Value, age: Value) -> Vec<Value> {
    let statuses = arr(o, "/status/containerStatuses");
    let total = arr(o, "/spec/containers").len();
    let ready = statuses
        .iter()
        .filter(|c| c.get("ready").and_then(Value::as_bool) == Some(true))
        .count();
    let mut restarts = 0i64;
    let mut last_restart: Option<OffsetDateTime> = None;
    let mut reason = or_default(s(o, "/status/reason"), s(o, "/status/phase"));
    for c in arr(o, "/status/initContainerStatuses") {
        let waiting = s(c, "/state/waiting/reason");
        if !waiting.is_empty() && waiting != "PodInitializing" {
            reason = format!("Init:{waiting}");
        }
    }
    for c in statuses.iter().rev() {
        restarts += n(c, "/restartCount");
        if let Some(t) = c
            .pointer("/lastState/terminated/finishedAt")
            .and_then(Value::as_str)
            .and_then(clock::parse)
        {
            last_restart = Some(last_restart.map_or(t, |l: OffsetDateTime| l.max(t)));
        }
        let waiting = s(c, "/state/waiting/reason");
        let terminated = s(c, "/state/terminated/reason");
        if !waiting.is_empty() {
            waiting.clone_into(&mut reason);
        } else if !terminated.is_empty() {
            terminated.clone_into(&mut reason);
        } else if c.pointer("/state/terminated").is_some() {
            let code = n(c, "/state/terminated/exitCode");
            let signal = n(c, "/state/terminated/signal");
            reason = if signal != 0 {
                format!("Signal:{signal}")
            } else {
                format!("ExitCode:{code}")
            };
        }
    }
    if reason.is_empty() {
        "Pending".clone_into(&mut reason);
    }
    if o.pointer("/metadata/deletionTimestamp").is_some() {
        "Terminating".clone_into(&mut reason);
    }
    let restart_text = match last_restart {
        Some(t) if restarts > 0 => format!("{restarts} ({} ago)", clock::human_duration(now - t)),
        _ => restarts.to_string(),
    };
    let ip = or_none(s(o, "/status/podIP").to_owned());
    let node = or_none(s(o, "/spec/nodeName").to_owned());
    let nominated = or_none(s(o, "/status/nominatedNodeName").to_owned());
    vec![
        name,
        json!(format!("{ready}/{total}")),
        json!(reason),
        json!(restart_text),
        age,
        json!(ip),
        json!(node),
        json!(nominated),
        json!("<none>"),
    ]
}

fn service_cells(o: &Value, name: Value, age: Value) -> Vec<Value> {
    let kind = or_default(s(o, "/spec/type"), "ClusterIP");
    let cluster_ip = or_none(s(o, "/spec/clusterIP").to_owned());
    let external: Vec<String> = arr(o, "/status/loadBalancer/ingress")
        .iter()
        .map(|i| or_default(s(i, "/ip"), s(i, "/hostname")))
        .chain(
            arr(o, "/spec/externalIPs")
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned),
        )
        .collect();
    let external = if !external.is_empty() {
        external.join(",")
    } else if kind == "LoadBalancer" {
        "<pending>".to_owned()
    } else if kind == "ExternalName" {
        s(o, "/spec/externalName").to_owned()
    } else {
        "<none>".to_owned()
    };
    let ports: Vec<String> = arr(o, "/spec/ports")
        .iter()
        .map(|p| {
            let proto = or_default(s(p, "/protocol"), "TCP");
            match p.get("nodePort").and_then(Value::as_i64) {
                Some(np) => format!("{}:{np}/{proto}", n(p, "/port")),
                None => format!("{}/{proto}", n(p, "/port")),
            }
        })
        .collect();
    let selector = o
        .pointer("/spec/selector")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    vec![
        name,
        json!(kind),
        json!(cluster_ip),
        json!(external),
        json!(or_none(ports.join(","))),
        age,
        json!(or_none(selector)),
    ]
}

fn node_cells(o: &Value, name: Value, age: Value) -> Vec<Value> {
    let ready = arr(o, "/status/conditions")
        .iter()
        .find(|c| s(c, "/type") == "Ready");
    let mut status = match ready.map(|c| s(c, "/status")) {
        Some("True") => "Ready".to_owned(),
        Some(_) => "NotReady".to_owned(),
        None => "Unknown".to_owned(),
    };
    if o.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true) {
        status.push_str(",SchedulingDisabled");
    }
    let roles: Vec<&str> = o
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .map(|l| {
            l.keys()
                .filter_map(|k| k.strip_prefix("node-role.kubernetes.io/"))
                .collect()
        })
        .unwrap_or_default();
    let address = |kind: &str| {
        arr(o, "/status/addresses")
            .iter()
            .find(|a| s(a, "/type") == kind)
            .map_or_else(|| "<none>".to_owned(), |a| s(a, "/address").to_owned())
    };
    vec![
        name,
        json!(status),
        json!(or_none(roles.join(","))),
        age,
        json!(s(o, "/status/nodeInfo/kubeletVersion")),
        json!(address("InternalIP")),
        json!(address("ExternalIP")),
        json!(s(o, "/status/nodeInfo/osImage")),
        json!(s(o, "/status/nodeInfo/kernelVersion")),
        json!(s(o, "/status/nodeInfo/containerRuntimeVersion")),
    ]
}

fn event_cells(o: &Value, now: OffsetDateTime, name: Value) -> Vec<Value> {
    let last = [
        "/lastTimestamp",
        "/eventTime",
        "/metadata/creationTimestamp",
    ]
    .iter()
    .find_map(|p| o.pointer(p).and_then(Value::as_str));
    let first = [
        "/firstTimestamp",
        "/eventTime",
        "/metadata/creationTimestamp",
    ]
    .iter()
    .find_map(|p| o.pointer(p).and_then(Value::as_str));
    let object = format!(
        "{}/{}",
        s(o, "/involvedObject/kind").to_lowercase(),
        s(o, "/involvedObject/name")
    );
    let source = or_default(s(o, "/source/component"), s(o, "/reportingComponent"));
    let source = match s(o, "/source/host") {
        "" => source,
        host => format!("{source}, {host}"),
    };
    vec![
        json!(clock::age(last, now)),
        json!(s(o, "/type")),
        json!(s(o, "/reason")),
        json!(object),
        json!(s(o, "/involvedObject/fieldPath")),
        json!(source),
        json!(s(o, "/message")),
        json!(clock::age(first, now)),
        json!(n(o, "/count").max(1).to_string()),
        name,
    ]
}

fn endpoints_text(o: &Value) -> String {
    let mut parts = Vec::new();
    for subset in arr(o, "/subsets") {
        for addr in arr(subset, "/addresses") {
            for port in arr(subset, "/ports") {
                parts.push(format!("{}:{}", s(addr, "/ip"), n(port, "/port")));
            }
        }
    }
    let more = parts.len().saturating_sub(3);
    parts.truncate(3);
    let text = parts.join(",");
    if more > 0 {
        format!("{text} + {more} more...")
    } else {
        or_none(text)
    }
}

fn job_cells(o: &Value, now: OffsetDateTime, name: Value, age: Value) -> Vec<Value> {
    let (c, i) = containers_and_images(o, "/spec/template/spec/containers");
    let condition = |kind: &str| {
        arr(o, "/status/conditions")
            .iter()
            .any(|x| s(x, "/type") == kind && s(x, "/status") == "True")
    };
    let status = if condition("Complete") {
        "Complete"
    } else if condition("Failed") {
        "Failed"
    } else if o.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true) {
        "Suspended"
    } else {
        "Running"
    };
    let completions = format!(
        "{}/{}",
        n(o, "/status/succeeded"),
        o.pointer("/spec/completions")
            .and_then(Value::as_i64)
            .unwrap_or(1)
    );
    let start = o
        .pointer("/status/startTime")
        .and_then(Value::as_str)
        .and_then(clock::parse);
    let end = o
        .pointer("/status/completionTime")
        .and_then(Value::as_str)
        .and_then(clock::parse)
        .unwrap_or(now);
    let duration = start.map_or_else(String::new, |st| clock::human_duration(end - st));
    vec![
        name,
        json!(status),
        json!(completions),
        json!(duration),
        age,
        json!(c),
        json!(i),
        json!(selector_text(o)),
    ]
}

fn hpa_cells(o: &Value, name: Value, age: Value) -> Vec<Value> {
    let reference = format!(
        "{}/{}",
        s(o, "/spec/scaleTargetRef/kind"),
        s(o, "/spec/scaleTargetRef/name")
    );
    let current = arr(o, "/status/currentMetrics");
    let targets: Vec<String> = arr(o, "/spec/metrics")
        .iter()
        .filter(|m| s(m, "/type") == "Resource")
        .map(|m| {
            let resource = s(m, "/resource/name");
            let now = current
                .iter()
                .find(|c| s(c, "/resource/name") == resource)
                .and_then(|c| c.pointer("/resource/current/averageUtilization"))
                .and_then(Value::as_i64)
                .map_or_else(|| "<unknown>".to_owned(), |v| format!("{v}%"));
            format!(
                "{resource}: {now}/{}%",
                n(m, "/resource/target/averageUtilization")
            )
        })
        .collect();
    let min = o
        .pointer("/spec/minReplicas")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    vec![
        name,
        json!(reference),
        json!(or_none(targets.join(", "))),
        json!(min.to_string()),
        json!(n(o, "/spec/maxReplicas").to_string()),
        json!(n(o, "/status/currentReplicas").to_string()),
        age,
    ]
}
