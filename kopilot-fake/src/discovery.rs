//! `/version` and API discovery: aggregated (`apidiscovery.k8s.io` v2 and v2beta1, which
//! kubectl recognises only by the response Content-Type) and the older per-group documents.

use serde_json::{Value, json};

use super::registry::{self, ResourceType, Scope, subresource_kind};

/// The Kubernetes version the fake claims; kubectl's dispatcher picks its 1.33 client for it.
pub(crate) fn version() -> Value {
    json!({
        "major": "1",
        "minor": "33",
        "gitVersion": "v1.33.0",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-04-23T00:00:00Z",
        "goVersion": "go1.24.2",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

/// Which aggregated discovery version the client asked for, if any.
pub(crate) fn aggregated_version(accept: &str) -> Option<&'static str> {
    if !accept.contains("as=APIGroupDiscoveryList") {
        return None;
    }
    if accept.contains("v=v2;") || accept.contains("v=v2,") || accept.ends_with("v=v2") {
        Some("v2")
    } else if accept.contains("v=v2beta1") {
        Some("v2beta1")
    } else {
        None
    }
}

/// The Content-Type that marks a response as aggregated discovery.
pub(crate) fn aggregated_content_type(version: &str) -> String {
    format!("application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList")
}

fn scope_name(t: &ResourceType) -> &'static str {
    match t.scope {
        Scope::Namespaced => "Namespaced",
        Scope::Cluster => "Cluster",
    }
}

fn aggregated_resource(t: &ResourceType) -> Value {
    let subresources: Vec<Value> = t
        .subresources
        .iter()
        .map(|sub| {
            let (g, v, k) = subresource_kind(t, sub);
            let verbs: &[&str] = match *sub {
                "log" => &["get"],
                _ => &["get", "patch", "update"],
            };
            json!({"subresource": sub, "responseKind": {"group": g, "version": v, "kind": k}, "verbs": verbs})
        })
        .collect();
    let mut r = json!({
        "resource": t.resource,
        "responseKind": {"group": t.group, "version": t.version, "kind": t.kind},
        "scope": scope_name(t),
        "singularResource": t.singular,
        "verbs": t.verbs,
    });
    if let Some(map) = r.as_object_mut() {
        if !t.short_names.is_empty() {
            map.insert("shortNames".into(), json!(t.short_names));
        }
        if !t.categories.is_empty() {
            map.insert("categories".into(), json!(t.categories));
        }
        if !subresources.is_empty() {
            map.insert("subresources".into(), Value::Array(subresources));
        }
    }
    r
}

/// The aggregated discovery document for `/api` (core only) or `/apis` (all other groups).
pub(crate) fn aggregated(core: bool, version: &str) -> Value {
    let items: Vec<Value> = registry::groups()
        .into_iter()
        .filter(|(g, _)| g.is_empty() == core)
        .map(|(g, v)| {
            let resources: Vec<Value> = registry::in_group_version(g, v)
                .map(aggregated_resource)
                .collect();
            json!({
                "metadata": {"name": g, "creationTimestamp": null},
                "versions": [{"version": v, "resources": resources, "freshness": "Current"}],
            })
        })
        .collect();
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": format!("apidiscovery.k8s.io/{version}"),
        "metadata": {},
        "items": items,
    })
}

/// `/api` without aggregation: the core versions.
pub(crate) fn core_versions() -> Value {
    json!({"kind": "APIVersions", "versions": ["v1"],
           "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]})
}

fn group_entry(g: &str, v: &str) -> Value {
    let gv = format!("{g}/{v}");
    json!({"name": g, "versions": [{"groupVersion": gv, "version": v}],
           "preferredVersion": {"groupVersion": gv, "version": v}})
}

/// `/apis` without aggregation: the group list.
pub(crate) fn group_list() -> Value {
    let groups: Vec<Value> = registry::groups()
        .into_iter()
        .filter(|(g, _)| !g.is_empty())
        .map(|(g, v)| group_entry(g, v))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/{group}`: one group, if served.
pub(crate) fn group(name: &str) -> Option<Value> {
    registry::groups()
        .into_iter()
        .find(|(g, _)| *g == name && !g.is_empty())
        .map(|(g, v)| {
            let mut entry = group_entry(g, v);
            if let Some(map) = entry.as_object_mut() {
                map.insert("kind".into(), json!("APIGroup"));
                map.insert("apiVersion".into(), json!("v1"));
            }
            entry
        })
}

/// `/api/v1` or `/apis/{group}/{version}`: the resource list, if served.
pub(crate) fn resource_list(group: &str, version: &str) -> Option<Value> {
    let types: Vec<&ResourceType> = registry::in_group_version(group, version).collect();
    if types.is_empty() {
        return None;
    }
    let mut resources = Vec::new();
    for t in &types {
        let mut r = json!({
            "name": t.resource, "singularName": t.singular, "namespaced": t.is_namespaced(),
            "kind": t.kind, "verbs": t.verbs,
        });
        if let Some(map) = r.as_object_mut() {
            if !t.short_names.is_empty() {
                map.insert("shortNames".into(), json!(t.short_names));
            }
            if !t.categories.is_empty() {
                map.insert("categories".into(), json!(t.categories));
            }
        }
        resources.push(r);
        for sub in t.subresources {
            let (g, v, k) = subresource_kind(t, sub);
            resources.push(json!({
                "name": format!("{}/{sub}", t.resource), "singularName": "", "namespaced": t.is_namespaced(),
                "group": g, "version": v, "kind": k,
                "verbs": if *sub == "log" { json!(["get"]) } else { json!(["get", "patch", "update"]) },
            }));
        }
    }
    let gv = if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    };
    Some(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}),
    )
}
