//! `GET /openapi.json`: the OpenAPI 3.0 document of the routes, generated from the types the
//! handlers read and write (their JSON Schemas come from `schemars` derives), so the document
//! cannot drift from what the server accepts and sends. The routes' table below says which
//! type each route reads and writes and which errors it can answer.

use schemars::JsonSchema;
use schemars::generate::{Contract, SchemaGenerator, SchemaSettings};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::approvals::{ApprovalList, ApprovalView, DecideBody, DecisionMade};
use crate::events::FollowParams;
use crate::meta::SkillList;
use crate::tasks::{HistoryParams, ListParams, SubmitBody, Submitted, TaskList};

/// The error body every error answers with (see [`crate::error::ApiError`]).
#[derive(Serialize, JsonSchema)]
#[allow(dead_code)]
pub(crate) struct ErrorBody {
    error: ErrorDetail,
}

/// An error's code and message.
#[derive(Serialize, JsonSchema)]
#[allow(dead_code)]
struct ErrorDetail {
    /// A stable dotted code (`auth.missing`, `task.unknown`, `request.invalid`, ...).
    code: String,
    /// What went wrong, for people.
    message: String,
}

/// How a route is called and what it answers.
struct Route {
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    /// `None`: no token needed.
    role: Option<&'static str>,
    /// Query parameters, from the handler's parameter type.
    query: Option<Value>,
    /// The JSON body's schema, when it takes one.
    body: Option<Value>,
    /// Success status, its content type and schema.
    ok: (u16, &'static str, Value),
    /// Other statuses it may answer with, each with the error body.
    errors: &'static [u16],
    /// Other successful statuses, each with a JSON object.
    also_ok: &'static [u16],
    /// Headers it reads: (name, description, required).
    headers: &'static [(&'static str, &'static str, bool)],
}

/// Statuses every authenticated route may answer: bad token, role or Host/Origin, rate.
const AUTH: [u16; 3] = [401, 403, 429];

fn describe(status: u16) -> &'static str {
    match status {
        101 => "Switching to the WebSocket protocol.",
        200 => "OK",
        202 => "Accepted",
        400 => "The request is malformed (`request.invalid`).",
        401 => "No token, or one that is not valid (`auth.missing`, `auth.invalid`).",
        403 => {
            "The token's role may not do this, four-eyes refused it, or the Host/Origin is not served (`auth.forbidden`, `approval.four_eyes`)."
        }
        404 => "No such task or approval (`task.unknown`, `approval.unknown`).",
        409 => {
            "The task has already ended, or the approval expired (`task.ended`, `approval.expired`)."
        }
        413 => {
            "The body or the prompt is too large (`request.too_large`, `rejected.prompt_too_large`)."
        }
        415 => "The body is not `application/json`.",
        422 => "The prompt is empty or names an unknown skill (`rejected.*`).",
        429 => "Too many requests from this token (`request.rate_limited`); see `Retry-After`.",
        503 => "Not ready, or shutting down (`request.unavailable`).",
        _ => "Error",
    }
}

/// Query parameters from the properties of a parameter type's schema.
fn query_parameters(schema: &Value) -> Value {
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(properties) = schema["properties"].as_object() else {
        return json!([]);
    };
    Value::Array(
        properties
            .iter()
            .map(|(name, property)| {
                let property = never_null(property.clone());
                let description = property["description"].clone();
                json!({
                    "name": name,
                    "in": "query",
                    "required": required.contains(&name.as_str()),
                    "description": description,
                    "schema": property,
                })
            })
            .collect(),
    )
}

/// A query parameter's schema: present or not, never `null` (an `Option`'s null branch,
/// `nullable` and a `null` default removed).
fn never_null(mut schema: Value) -> Value {
    let Some(object) = schema.as_object_mut() else {
        return schema;
    };
    object.remove("nullable");
    if object.get("default").is_some_and(Value::is_null) {
        object.remove("default");
    }
    if let Some(Value::Array(branches)) = object.remove("anyOf") {
        let kept: Vec<Value> = branches
            .into_iter()
            .filter(|b| b.get("enum") != Some(&json!([null])))
            .collect();
        match <[Value; 1]>::try_from(kept) {
            Ok([only]) => {
                if let Some(only) = only.as_object() {
                    for (k, v) in only {
                        object.insert(k.clone(), v.clone());
                    }
                }
            }
            Err(kept) => {
                object.insert("anyOf".to_owned(), Value::Array(kept));
            }
        }
    }
    // OpenAPI 3.0 ignores the siblings of a `$ref`.
    if object.contains_key("$ref") {
        object.retain(|k, _| k == "$ref");
    }
    schema
}

fn path_parameters(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|part| part.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| {
            json!({
                "name": name, "in": "path", "required": true,
                "schema": {"type": "string", "minLength": 1},
            })
        })
        .collect()
}

fn operation(route: &Route) -> Value {
    let mut responses = Map::new();
    let (status, content_type, schema) = &route.ok;
    let answer = if content_type.is_empty() {
        json!({"description": describe(*status)})
    } else {
        json!({"description": describe(*status), "content": {*content_type: {"schema": schema}}})
    };
    responses.insert(status.to_string(), answer);
    for status in route.also_ok {
        responses.insert(
            status.to_string(),
            json!({"description": describe(*status), "content": {"application/json": {"schema": {"type": "object"}}}}),
        );
    }
    let mut errors: Vec<u16> = route.errors.to_vec();
    if route.role.is_some() {
        errors.extend(AUTH);
    } else {
        // The Host/Origin check applies to every route.
        errors.push(403);
    }
    errors.sort_unstable();
    errors.dedup();
    for status in errors {
        responses.insert(
            status.to_string(),
            json!({
                "description": describe(status),
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
            }),
        );
    }
    let mut parameters = path_parameters(route.path);
    for (name, description, required) in route.headers {
        parameters.push(json!({
            "name": name, "in": "header", "required": required, "description": description,
            "schema": {"type": "string"},
        }));
    }
    if let Some(query) = &route.query
        && let Some(list) = query.as_array()
    {
        parameters.extend(list.iter().cloned());
    }
    let mut op = json!({
        "summary": route.summary,
        "operationId": format!("{}{}", route.method, route.path.replace(['/', '{', '}', '.', '-'], "_")),
        "parameters": parameters,
        "responses": responses,
    });
    match route.role {
        Some("agent") => {
            op["description"] = json!("Needs an agent or an admin token.");
        }
        Some(role) => {
            op["description"] = json!(format!("Needs a token with the {role} role or more."));
        }
        None => op["security"] = json!([]),
    }
    if let Some(body) = &route.body {
        op["requestBody"] = json!({
            "required": true,
            "content": {"application/json": {"schema": body}},
        });
    }
    op
}

/// Schemas for the answers (what the server writes) and the bodies (what it reads), into one
/// set of components.
struct Schemas {
    write: SchemaGenerator,
    read: SchemaGenerator,
}

impl Schemas {
    fn new() -> Self {
        let settings = |contract| {
            SchemaSettings::openapi3()
                .with(|s| s.contract = contract)
                .into_generator()
        };
        Self {
            write: settings(Contract::Serialize),
            read: settings(Contract::Deserialize),
        }
    }

    fn answer<T: JsonSchema>(&mut self) -> Value {
        self.write.subschema_for::<T>().to_value()
    }

    fn body<T: JsonSchema>(&mut self) -> Value {
        self.read.subschema_for::<T>().to_value()
    }

    fn query<T: JsonSchema>(&mut self) -> Value {
        query_parameters(&self.read.root_schema_for::<T>().to_value())
    }

    /// Every named schema; a name both sides use must mean the same on both.
    fn components(mut self) -> Map<String, Value> {
        let mut all = self.write.take_definitions(true);
        for (name, schema) in self.read.take_definitions(true) {
            match all.get(&name) {
                Some(existing) if *existing != schema => {
                    // Both directions under one name would make the document lie for one of
                    // them: keep the reading one apart.
                    all.insert(format!("{name}Input"), schema);
                }
                Some(_) => {}
                None => {
                    all.insert(name, schema);
                }
            }
        }
        all
    }
}

/// The whole document.
pub(crate) fn document() -> Value {
    let mut s = Schemas::new();
    let object = json!({"type": "object"});
    let text = json!({"type": "string"});
    let routes = vec![
        Route {
            method: "post",
            path: "/tasks",
            summary: "Submit a task; it runs in the background.",
            role: Some("operator"),
            query: None,
            body: Some(s.body::<SubmitBody>()),
            ok: (202, "application/json", s.answer::<Submitted>()),
            errors: &[400, 413, 415, 422, 503],
            also_ok: &[],
            headers: &[],
        },
        Route {
            method: "get",
            path: "/tasks",
            summary: "Tasks, newest first.",
            role: Some("viewer"),
            query: Some(s.query::<ListParams>()),
            body: None,
            ok: (200, "application/json", s.answer::<TaskList>()),
            errors: &[400],
            also_ok: &[],
            headers: &[],
        },
        Route {
            method: "get",
            path: "/tasks/history",
            summary: "The newest tasks, as `kopilot history` lists them.",
            role: Some("viewer"),
            query: Some(s.query::<HistoryParams>()),
            body: None,
            ok: (200, "application/json", s.answer::<TaskList>()),
            errors: &[400],
            also_ok: &[],
            headers: &[],
        },
        Route {
            method: "get",
            path: "/tasks/{id}",
            summary: "One task: its status and, once ended, its result.",
            role: Some("viewer"),
            query: None,
            body: None,
            ok: (
                200,
                "application/json",
                s.answer::<kopilot_core::TaskInfo>(),
            ),
            errors: &[404],
            also_ok: &[],
            headers: &[],
        },
        Route {
            method: "post",
            path: "/tasks/{id}/cancel",
            summary: "Cancel a task (its owner, or an admin).",
            role: Some("operator"),
            query: None,
            body: None,
            ok: (
                202,
                "application/json",
                s.answer::<kopilot_core::TaskInfo>(),
            ),
            errors: &[404, 409, 415],
            also_ok: &[],
            headers: &[],
        },
        Route {
            method: "get",
            path: "/tasks/{id}/events",
            summary: "The task's events as Server-Sent Events (`id:` is the `seq`; `Last-Event-ID` resumes).",
            role: Some("viewer"),
            query: Some(s.query::<FollowParams>()),
            body: None,
            ok: (200, "text/event-stream", text.clone()),
            errors: &[400, 404],
            also_ok: &[],
            headers: &[],
        },
        Route {
            method: "get",
            path: "/tasks/{id}/events/ws",
            summary: "The task's events over a WebSocket: one text message per event, then a normal close.",
            role: Some("viewer"),
            query: Some(s.query::<FollowParams>()),
            body: None,
            ok: (101, "", text.clone()),
            errors: &[400, 404],
            also_ok: &[],
            headers: &[],
        },
        Route {
            method: "get",
            path: "/approvals",
            summary: "Commands waiting for a person's approval.",
            role: Some("viewer"),
            query: Some(s.query::<crate::approvals::ListParams>()),
            body: None,
            ok: (200, "application/json", s.answer::<ApprovalList>()),
            errors: &[400],
            also_ok: &[],
            headers: &[],
        },
        Route {
            method: "get",
            path: "/approvals/{id}",
            summary: "One pending approval.",
            role: Some("viewer"),
            query: None,
            body: None,
            ok: (200, "application/json", s.answer::<ApprovalView>()),
            errors: &[404],
            also_ok: &[],
            headers: &[],
        },
        Route {
            method: "post",
            path: "/approvals/{id}",
            summary: "Approve or deny a pending command, in the token's name.",
            role: Some("approver"),
            query: None,
            body: Some(s.body::<DecideBody>()),
            ok: (200, "application/json", s.answer::<DecisionMade>()),
            errors: &[400, 404, 409, 413, 415],
            also_ok: &[],
            headers: &[],
        },
        Route {
            method: "get",
            path: "/skills",
            summary: "The active skills.",
            role: Some("viewer"),
            query: None,
            body: None,
            ok: (200, "application/json", s.answer::<SkillList>()),
            errors: &[],
            also_ok: &[],
            headers: &[],
        },
        Route {
            method: "get",
            path: "/skills/portable",
            summary: "The active skills as portable manifests.",
            role: Some("viewer"),
            query: None,
            body: None,
            ok: (
                200,
                "application/json",
                s.answer::<kopilot_core::skills::PortableManifest>(),
            ),
            errors: &[],
            also_ok: &[],
            headers: &[],
        },
        Route {
            method: "get",
            path: "/.well-known/agent-manifest.json",
            summary: "Discovery for another agent: endpoints, auth, skills, safety mode.",
            role: Some("viewer"),
            query: None,
            body: None,
            ok: (200, "application/json", object.clone()),
            errors: &[],
            also_ok: &[],
            headers: &[],
        },
        Route {
            method: "post",
            path: "/webhook",
            summary: "An Alertmanager notification (version 4), signed: one read-only investigation per firing group, deduplicated by groupKey (200 when ignored or deduplicated).",
            role: None,
            query: None,
            body: Some(s.body::<crate::webhook::Notification>()),
            ok: (202, "application/json", object.clone()),
            errors: &[400, 401, 404, 409, 413, 415, 503],
            also_ok: &[200],
            headers: &[
                (
                    "X-Kopilot-Signature",
                    "`sha256=` and the hex HMAC-SHA256 of `{timestamp}.{body}` with the shared secret (the header's name is configurable).",
                    true,
                ),
                (
                    "X-Kopilot-Timestamp",
                    "When it was signed, in Unix seconds; outside the window it is refused.",
                    true,
                ),
            ],
        },
        Route {
            method: "post",
            path: "/asyncchat",
            summary: "KubeCopilot's agent-server contract: start a task; its chunks and response go to the configured webhook.",
            role: Some("agent"),
            query: None,
            body: Some(s.body::<crate::asyncchat::AsyncChat>()),
            ok: (
                200,
                "application/json",
                s.answer::<crate::asyncchat::Queued>(),
            ),
            errors: &[400, 404, 413, 415, 422, 503],
            also_ok: &[],
            headers: &[],
        },
        Route {
            method: "delete",
            path: "/cancel/{queue_id}",
            summary: "KubeCopilot's agent-server contract: cancel a task started with /asyncchat.",
            role: Some("agent"),
            query: None,
            body: None,
            ok: (200, "application/json", object.clone()),
            errors: &[404, 409],
            also_ok: &[],
            headers: &[],
        },
        Route {
            method: "get",
            path: "/health",
            summary: "Alive: skills count, model, version.",
            role: None,
            query: None,
            body: None,
            ok: (200, "application/json", object.clone()),
            errors: &[],
            also_ok: &[],
            headers: &[],
        },
        Route {
            method: "get",
            path: "/healthz",
            summary: "Alive (the same as /health).",
            role: None,
            query: None,
            body: None,
            ok: (200, "application/json", object.clone()),
            errors: &[],
            also_ok: &[],
            headers: &[],
        },
        Route {
            method: "get",
            path: "/readyz",
            summary: "Ready: the store takes writes, the model and the cluster answer.",
            role: None,
            query: None,
            body: None,
            ok: (200, "application/json", object.clone()),
            errors: &[503],
            also_ok: &[],
            headers: &[],
        },
        Route {
            method: "get",
            path: "/metrics",
            summary: "Prometheus text: tasks, commands, approvals, tokens, latencies, subscribers.",
            role: None,
            query: None,
            body: None,
            ok: (200, "text/plain", text.clone()),
            errors: &[],
            also_ok: &[],
            headers: &[],
        },
        Route {
            method: "get",
            path: "/openapi.json",
            summary: "This document.",
            role: Some("viewer"),
            query: None,
            body: None,
            ok: (200, "application/json", object),
            errors: &[],
            also_ok: &[],
            headers: &[],
        },
    ];
    let error = s.answer::<ErrorBody>();
    debug_assert!(error["$ref"].is_string());
    let mut paths = Map::new();
    for route in &routes {
        let entry = paths
            .entry(route.path.to_owned())
            .or_insert_with(|| json!({}));
        entry[route.method] = operation(route);
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Kopilot",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "An approval-gated AI operator for Kubernetes over HTTP: tasks, their events, approvals. Every error is {\"error\":{\"code\",\"message\"}}.",
        },
        "paths": paths,
        "components": {
            "schemas": s.components(),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_reference_resolves_and_every_route_is_there() {
        let doc = super::document();
        let text = doc.to_string();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        let mut rest = text.as_str();
        while let Some(at) = rest.find("#/components/schemas/") {
            rest = &rest[at + "#/components/schemas/".len()..];
            let name: String = rest.chars().take_while(|c| *c != '"').collect();
            assert!(schemas.contains_key(&name), "unresolved $ref {name}");
        }
        for path in [
            "/tasks",
            "/tasks/{id}/events",
            "/approvals/{id}",
            "/metrics",
        ] {
            assert!(doc["paths"][path].is_object(), "{path}");
        }
        assert_eq!(
            doc["paths"]["/tasks"]["post"]["requestBody"]["content"]["application/json"]["schema"]
                ["$ref"],
            "#/components/schemas/SubmitBody"
        );
        assert!(schemas["SubmitBody"]["properties"]["prompt"].is_object());
        assert_eq!(
            doc["paths"]["/healthz"]["get"]["security"],
            serde_json::json!([])
        );
    }
}
