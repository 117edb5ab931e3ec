//! A minimal OpenAPI v3: the root listing one document per group version, and per group
//! version the PATCH operations (with `x-kubernetes-group-version-kind` and a
//! `fieldValidation` parameter) from which kubectl learns that the server validates fields,
//! which is all default `kubectl apply` and `create -f` need. No schemas: `kubectl explain`
//! is not supported.

use serde_json::{Map, Value, json};

use super::registry;

/// The path of a group version's document under `/openapi/v3/`: `api/v1`, `apis/apps/v1`.
fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// `/openapi/v3`.
pub(crate) fn root() -> Value {
    let mut paths = Map::new();
    for (g, v) in registry::groups() {
        let path = gv_path(g, v);
        paths.insert(
            path.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{path}?hash=kopilot-fake-{v}")}),
        );
    }
    json!({"paths": paths})
}

/// `/openapi/v3/{path}` for a served group version.
pub(crate) fn group_version(path: &str) -> Option<Value> {
    let (g, v) = registry::groups()
        .into_iter()
        .find(|(g, v)| gv_path(g, v) == path)?;
    let mut paths = Map::new();
    for t in registry::in_group_version(g, v) {
        let gvk = json!({"group": t.group, "version": t.version, "kind": t.kind});
        let params = json!([
            {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
            {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
            {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
            {"name": "force", "in": "query", "schema": {"type": "boolean", "uniqueItems": true}},
        ]);
        let operation = |verb: &str| {
            json!({
                "operationId": format!("{verb}{}", t.kind),
                "x-kubernetes-action": verb,
                "x-kubernetes-group-version-kind": gvk,
                "parameters": params,
                "responses": {"200": {"description": "OK"}},
            })
        };
        let base = format!("/{}", gv_path(g, v));
        let item = if t.is_namespaced() {
            format!("{base}/namespaces/{{namespace}}/{}/{{name}}", t.resource)
        } else {
            format!("{base}/{}/{{name}}", t.resource)
        };
        let collection = item.trim_end_matches("/{name}").to_owned();
        if t.allows("patch") {
            paths.insert(
                item,
                json!({"patch": operation("patch"), "put": operation("put")}),
            );
        }
        if t.allows("create") {
            paths.insert(collection, json!({"post": operation("post")}));
        }
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes (kopilot fake API server)", "version": "v1.33.0"},
        "paths": paths,
        "components": {"schemas": {}},
    }))
}
