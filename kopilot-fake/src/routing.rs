//! Request routing: parses Kubernetes API paths and dispatches each verb to the store,
//! negotiating Tables, aggregated discovery and patch formats from the headers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State as AxumState};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::watch as shutdown_watch;

use super::access::{self, ForbiddenRule};
use super::discovery;
use super::logs;
use super::openapi;
use super::protobuf;
use super::registry::{self, ResourceType};
use super::selectors::{FieldSelector, LabelSelector};
use super::status::{ApiError, json_response, success_status};
use super::store::{State, meta_str};
use super::tables::{self, RowObject};
use super::watch::{self, WatchRequest};
use super::writes::{self, Part, PatchKind, Propagation};

/// Largest request body accepted.
const BODY_LIMIT: usize = 16 * 1024 * 1024;

/// What every request handler shares.
pub(crate) struct App {
    pub(crate) state: Arc<Mutex<State>>,
    pub(crate) shutdown: shutdown_watch::Receiver<bool>,
    pub(crate) bookmark_every: Duration,
    pub(crate) forbidden: Vec<ForbiddenRule>,
    /// The bearer token every request must carry, when one is required.
    pub(crate) token: Option<String>,
}

impl App {
    fn lock(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

/// A parsed API path.
enum Route {
    Version,
    Health,
    CoreDiscovery,
    GroupsDiscovery,
    Group(String),
    ResourceList(String, String),
    OpenApiRoot,
    OpenApiDocument(String),
    Resource {
        t: &'static ResourceType,
        namespace: Option<String>,
        name: Option<String>,
        sub: Option<String>,
    },
    NotFound,
}

fn parse_route(path: &str) -> Route {
    let segs: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    match segs.as_slice() {
        ["version"] => Route::Version,
        ["healthz" | "livez" | "readyz", ..] => Route::Health,
        ["api"] => Route::CoreDiscovery,
        ["apis"] => Route::GroupsDiscovery,
        ["apis", g] => Route::Group((*g).to_owned()),
        ["openapi", "v3"] => Route::OpenApiRoot,
        ["openapi", "v3", rest @ ..] => Route::OpenApiDocument(rest.join("/")),
        ["api", v, rest @ ..] => resource_route("", v, rest),
        ["apis", g, v, rest @ ..] => resource_route(g, v, rest),
        _ => Route::NotFound,
    }
}

fn resource_route(group: &str, version: &str, rest: &[&str]) -> Route {
    if rest.is_empty() {
        return Route::ResourceList(group.to_owned(), version.to_owned());
    }
    let namespaced_path = matches!(rest, ["namespaces", _, res, ..] if !(rest.len() == 3 && matches!(*res, "status" | "finalize")));
    let (namespace, rest) = if namespaced_path {
        (
            rest.get(1).map(|s| (*s).to_owned()),
            rest.get(2..).unwrap_or_default(),
        )
    } else {
        (None, rest)
    };
    let Some(t) = rest
        .first()
        .and_then(|r| registry::by_resource(group, version, r))
    else {
        return Route::NotFound;
    };
    if namespace.is_some() && !t.is_namespaced() {
        return Route::NotFound;
    }
    if rest.len() > 3 {
        return Route::NotFound;
    }
    let name = rest.get(1).map(|s| (*s).to_owned());
    let sub = rest.get(2).map(|s| (*s).to_owned());
    if let Some(sub) = &sub
        && !t.subresources.contains(&sub.as_str())
    {
        return Route::NotFound;
    }
    if name.is_some() && namespace.is_none() && t.is_namespaced() {
        return Route::NotFound;
    }
    Route::Resource {
        t,
        namespace,
        name,
        sub,
    }
}

/// The single handler behind the router.
/// Whether the request carries `Authorization: Bearer <token>` (compared in constant time).
fn bearer_matches(headers: &axum::http::HeaderMap, token: &str) -> bool {
    let Some(given) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    given.len() == token.len()
        && given
            .bytes()
            .zip(token.bytes())
            .fold(0_u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

pub(crate) async fn handle(AxumState(app): AxumState<Arc<App>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    if let Some(token) = &app.token
        && !bearer_matches(&parts.headers, token)
    {
        return ApiError::unauthorized().into_response();
    }
    let query: HashMap<String, String> = parts
        .uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let accept = header_str(&parts.headers, header::ACCEPT);
    match parse_route(parts.uri.path()) {
        Route::Version => json_response(StatusCode::OK, &discovery::version()),
        Route::Health => (StatusCode::OK, "ok").into_response(),
        Route::CoreDiscovery | Route::GroupsDiscovery => {
            let core = matches!(parse_route(parts.uri.path()), Route::CoreDiscovery);
            match discovery::aggregated_version(&accept) {
                Some(v) => {
                    let mut r = json_response(StatusCode::OK, &discovery::aggregated(core, v));
                    if let Ok(ct) = HeaderValue::from_str(&discovery::aggregated_content_type(v)) {
                        r.headers_mut().insert(header::CONTENT_TYPE, ct);
                    }
                    r
                }
                None if core => json_response(StatusCode::OK, &discovery::core_versions()),
                None => json_response(StatusCode::OK, &discovery::group_list()),
            }
        }
        Route::Group(g) => discovery::group(&g).map_or_else(
            || ApiError::path_not_found().into_response(),
            |v| json_response(StatusCode::OK, &v),
        ),
        Route::ResourceList(g, v) => discovery::resource_list(&g, &v).map_or_else(
            || ApiError::path_not_found().into_response(),
            |v| json_response(StatusCode::OK, &v),
        ),
        Route::OpenApiRoot => json_response(StatusCode::OK, &openapi::root()),
        Route::OpenApiDocument(path) => openapi::group_version(&path).map_or_else(
            || ApiError::path_not_found().into_response(),
            |v| json_response(StatusCode::OK, &v),
        ),
        Route::NotFound => ApiError::path_not_found().into_response(),
        Route::Resource {
            t,
            namespace,
            name,
            sub,
        } => {
            let body = match to_bytes(body, BODY_LIMIT).await {
                Ok(b) => b,
                Err(e) => {
                    return ApiError::bad_request(format!("could not read the request body: {e}"))
                        .into_response();
                }
            };
            let call = Call {
                app: &app,
                t,
                namespace,
                query,
                accept,
                headers: parts.headers,
                body: body.to_vec(),
            };
            match call.dispatch(&parts.method, name.as_deref(), sub.as_deref()) {
                Ok(r) => r,
                Err(e) => e.into_response(),
            }
        }
    }
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The `continue` token of the next page and how many items remain.
type NextPage = (String, usize);

/// One resource request.
struct Call<'a> {
    app: &'a App,
    t: &'static ResourceType,
    namespace: Option<String>,
    query: HashMap<String, String>,
    accept: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Call<'_> {
    fn ns(&self) -> &str {
        self.namespace.as_deref().unwrap_or_default()
    }

    fn q(&self, key: &str) -> Option<&str> {
        self.query
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// `dryRun=All` in the query, or (as kubectl sends it on DELETE) in the DeleteOptions body.
    fn dry_run(&self) -> bool {
        self.q("dryRun") == Some("All")
            || self.body_options().is_some_and(|b| {
                b.get("dryRun")
                    .and_then(Value::as_array)
                    .is_some_and(|a| a.iter().any(|v| v == "All"))
            })
    }

    /// The body as DeleteOptions, when it is a JSON object of that kind.
    fn body_options(&self) -> Option<Value> {
        if self.body.is_empty() {
            return None;
        }
        let v: Value = serde_json::from_slice(&self.body).ok()?;
        let kind = v.get("kind").and_then(Value::as_str);
        (kind.is_none() || kind == Some("DeleteOptions")).then_some(v)
    }

    fn table(&self) -> Option<RowObject> {
        if !self.accept.contains("as=Table") {
            return None;
        }
        Some(match self.q("includeObject") {
            Some("Object") => RowObject::Object,
            Some("None") => RowObject::None,
            _ => RowObject::Metadata,
        })
    }

    fn selectors(&self) -> Result<(LabelSelector, FieldSelector), ApiError> {
        let labels = LabelSelector::parse(self.q("labelSelector").unwrap_or_default())
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        let fields = FieldSelector::parse(self.q("fieldSelector").unwrap_or_default())
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        Ok((labels, fields))
    }

    fn require(&self, verb: &str) -> Result<(), ApiError> {
        if self.t.allows(verb) {
            Ok(())
        } else {
            Err(ApiError::method_not_allowed(verb, self.t))
        }
    }

    fn dispatch(
        &self,
        method: &Method,
        name: Option<&str>,
        sub: Option<&str>,
    ) -> Result<Response, ApiError> {
        let part = match sub {
            Some("status") => Part::Status,
            Some("scale") => Part::Scale,
            _ => Part::Main,
        };
        let watching = matches!(self.q("watch"), Some("true" | "1"));
        let verb = match (method.as_str(), name) {
            ("GET", None) if watching => "watch",
            ("GET", None) => "list",
            ("GET", Some(_)) => "get",
            ("POST", _) => "create",
            ("PUT", _) => "update",
            ("PATCH", _) => "patch",
            ("DELETE", Some(_)) => "delete",
            ("DELETE", None) => "deletecollection",
            (other, _) => other,
        };
        access::check(
            &self.app.forbidden,
            verb,
            self.t,
            sub,
            self.namespace.as_deref(),
        )?;
        if self.t.resource == "selfsubjectaccessreviews" && verb == "create" {
            let review = access::review(&self.app.forbidden, self.body_json()?);
            return Ok(json_response(StatusCode::CREATED, &review));
        }
        match (method.as_str(), name, sub) {
            ("GET", None, _) if matches!(self.q("watch"), Some("true" | "1")) => self.watch(),
            ("GET", None, _) => self.list(),
            ("GET", Some(name), Some("log")) => self.log(name),
            ("GET", Some(name), _) => self.get(name, part),
            ("POST", None, None) => self.create(),
            ("PUT", Some(name), _) => self.replace(name, part),
            ("PATCH", Some(name), _) => self.patch(name, part),
            ("DELETE", Some(name), None) => self.delete(name),
            ("DELETE", None, None) => self.delete_collection(),
            (m, _, _) => Err(ApiError::method_not_allowed(m, self.t)),
        }
    }

    /// Whether the client asked for `PartialObjectMetadata` (kube's `*_metadata` calls).
    fn wants_metadata_only(&self) -> bool {
        self.accept.contains("as=PartialObjectMetadata")
    }

    fn respond(&self, code: StatusCode, object: &Value, rv: u64) -> Response {
        if self.wants_metadata_only()
            && object.get("kind").and_then(Value::as_str) == Some(self.t.kind)
        {
            return json_response(code, &partial_metadata(object));
        }
        match self.table() {
            Some(row) if object.get("kind").and_then(Value::as_str) == Some(self.t.kind) => {
                json_response(code, &tables::table(self.t, &[object], rv, row, true))
            }
            _ => json_response(code, object),
        }
    }

    fn get(&self, name: &str, part: Part) -> Result<Response, ApiError> {
        self.require("get")?;
        let state = self.app.lock();
        let object = state.get(self.t, self.ns(), name)?;
        if part == Part::Scale {
            return Ok(json_response(
                StatusCode::OK,
                &super::controller::scale_of(object),
            ));
        }
        Ok(self.respond(StatusCode::OK, object, state.resource_version))
    }

    fn list(&self) -> Result<Response, ApiError> {
        self.require("list")?;
        let (labels, fields) = self.selectors()?;
        let state = self.app.lock();
        if let Some(ns) = &self.namespace
            && self.t.group == "metrics.k8s.io"
            && !state.namespace_exists(ns)
        {
            return Err(ApiError::namespace_not_found(ns));
        }
        let matching: Vec<&Value> = state
            .list(self.t, self.namespace.as_deref())
            .filter(|o| labels.matches(o) && fields.matches(o))
            .collect();
        let rv = state.resource_version;
        let (items, next) = self.page(&matching)?;
        let meta = match next {
            Some((token, remaining)) => json!({"resourceVersion": rv.to_string(),
                                               "continue": token, "remainingItemCount": remaining}),
            None => json!({"resourceVersion": rv.to_string()}),
        };
        let mut body = if let Some(row) = self.table() {
            tables::table(self.t, &items, rv, row, true)
        } else if self.wants_metadata_only() {
            let items: Vec<Value> = items.into_iter().map(partial_metadata).collect();
            json!({"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "items": items})
        } else {
            json!({"kind": format!("{}List", self.t.kind), "apiVersion": self.t.api_version(), "items": items})
        };
        if let Some(map) = body.as_object_mut() {
            map.insert("metadata".into(), meta);
        }
        Ok(json_response(StatusCode::OK, &body))
    }

    /// One page of a list: `limit` items from the offset in the `continue` token, and the
    /// token and remaining count for the next page when there is one.
    fn page<'v>(
        &self,
        items: &[&'v Value],
    ) -> Result<(Vec<&'v Value>, Option<NextPage>), ApiError> {
        let start = match self.q("continue") {
            None => 0,
            Some(token) => token
                .strip_prefix("kopilot-fake:")
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|n| *n <= items.len())
                .ok_or_else(|| {
                    ApiError::bad_request(format!("continue key is not valid: {token:?}"))
                })?,
        };
        let limit = self
            .q("limit")
            .and_then(|l| l.parse::<usize>().ok())
            .filter(|l| *l > 0);
        let end = limit.map_or(items.len(), |l| start.saturating_add(l).min(items.len()));
        let next = (end < items.len()).then(|| (format!("kopilot-fake:{end}"), items.len() - end));
        let page = items
            .iter()
            .skip(start)
            .take(end - start)
            .copied()
            .collect();
        Ok((page, next))
    }

    fn watch(&self) -> Result<Response, ApiError> {
        self.require("watch")?;
        let (labels, fields) = self.selectors()?;
        let from = match self.q("resourceVersion") {
            None => None,
            Some(rv) => Some(rv.parse::<u64>().map_err(|_| {
                ApiError::bad_request(format!("invalid resourceVersion {rv:?}: expected a number"))
            })?),
        };
        let timeout = self
            .q("timeoutSeconds")
            .and_then(|s| s.parse::<u64>().ok())
            .map(Duration::from_secs);
        let request = WatchRequest {
            resource: self.t,
            namespace: self.namespace.clone(),
            labels,
            fields,
            from,
            send_initial_events: self.q("sendInitialEvents") == Some("true"),
            as_table: self.table(),
            bookmarks: self.q("allowWatchBookmarks") == Some("true"),
            timeout,
        };
        Ok(watch::start(
            &self.app.state,
            request,
            self.app.shutdown.clone(),
            self.app.bookmark_every,
        ))
    }

    fn log(&self, name: &str) -> Result<Response, ApiError> {
        let state = self.app.lock();
        let text = logs::pod_log(&state, self.t, self.ns(), name, &self.query)?;
        let mut r = (StatusCode::OK, Body::from(text)).into_response();
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        Ok(r)
    }

    /// The request body as JSON: JSON or YAML text, or a protobuf envelope of a simple kind.
    fn body_json(&self) -> Result<Value, ApiError> {
        let ct = header_str(&self.headers, header::CONTENT_TYPE);
        if ct.starts_with("application/vnd.kubernetes.protobuf") {
            return protobuf::decode(&self.body).map_err(|why| {
                let mut e = ApiError::unsupported_media_type(&ct);
                e.message = format!(
                    "{} ({why}); send JSON instead, e.g. kubectl create -f FILE",
                    e.message
                );
                e
            });
        }
        if ct.contains("yaml") && serde_json::from_slice::<Value>(&self.body).is_err() {
            let text = std::str::from_utf8(&self.body)
                .map_err(|_| ApiError::bad_request("the YAML body is not UTF-8"))?;
            return serde_saphyr::from_str::<Value>(text).map_err(|e| {
                ApiError::bad_request(format!("the YAML body could not be parsed: {e}"))
            });
        }
        if !(ct.is_empty() || ct.contains("json") || ct.contains("yaml")) {
            return Err(ApiError::unsupported_media_type(&ct));
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| ApiError::bad_request(format!("the request body is not valid JSON: {e}")))
    }

    fn create(&self) -> Result<Response, ApiError> {
        self.require("create")?;
        let body = self.body_json()?;
        let mut state = self.app.lock();
        let created = writes::create(&mut state, self.t, self.ns(), body, self.dry_run())?;
        Ok(self.respond(StatusCode::CREATED, &created, state.resource_version))
    }

    fn replace(&self, name: &str, part: Part) -> Result<Response, ApiError> {
        self.require("update")?;
        let body = self.body_json()?;
        let mut state = self.app.lock();
        let stored = writes::replace(
            &mut state,
            self.t,
            self.ns(),
            name,
            part,
            body,
            self.dry_run(),
        )?;
        Ok(self.respond(StatusCode::OK, &stored, state.resource_version))
    }

    fn patch(&self, name: &str, part: Part) -> Result<Response, ApiError> {
        self.require("patch")?;
        let ct = header_str(&self.headers, header::CONTENT_TYPE);
        let kind = PatchKind::from_content_type(&ct)
            .ok_or_else(|| ApiError::unsupported_media_type(&ct))?;
        let body = if kind == PatchKind::Apply {
            let text = std::str::from_utf8(&self.body)
                .map_err(|_| ApiError::bad_request("the apply body is not UTF-8"))?;
            serde_saphyr::from_str::<Value>(text).map_err(|e| {
                ApiError::bad_request(format!("the apply body could not be parsed: {e}"))
            })?
        } else {
            serde_json::from_slice(&self.body)
                .map_err(|e| ApiError::bad_request(format!("the patch is not valid JSON: {e}")))?
        };
        let mut state = self.app.lock();
        let (stored, created) = writes::patch(
            &mut state,
            self.t,
            self.ns(),
            name,
            part,
            kind,
            &body,
            self.dry_run(),
        )?;
        let code = if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        Ok(self.respond(code, &stored, state.resource_version))
    }

    fn propagation(&self) -> Propagation {
        let from_body = self.body_options().and_then(|b| {
            b.get("propagationPolicy")
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
        let policy = from_body.or_else(|| self.q("propagationPolicy").map(str::to_owned));
        if policy.as_deref() == Some("Orphan") {
            Propagation::Orphan
        } else {
            Propagation::Cascade
        }
    }

    fn delete(&self, name: &str) -> Result<Response, ApiError> {
        let mut state = self.app.lock();
        let deleted = writes::delete(
            &mut state,
            self.t,
            self.ns(),
            name,
            self.propagation(),
            self.dry_run(),
        )?;
        Ok(json_response(StatusCode::OK, &deleted))
    }

    fn delete_collection(&self) -> Result<Response, ApiError> {
        self.require("deletecollection")?;
        let (labels, fields) = self.selectors()?;
        let mut state = self.app.lock();
        let names: Vec<(String, String)> = state
            .list(self.t, self.namespace.as_deref())
            .filter(|o| labels.matches(o) && fields.matches(o))
            .map(|o| {
                (
                    meta_str(o, "namespace").unwrap_or_default().to_owned(),
                    meta_str(o, "name").unwrap_or_default().to_owned(),
                )
            })
            .collect();
        let propagation = self.propagation();
        let mut deleted = Vec::new();
        for (ns, name) in names {
            deleted.push(writes::delete(
                &mut state,
                self.t,
                &ns,
                &name,
                propagation,
                self.dry_run(),
            )?);
        }
        if deleted.is_empty() {
            return Ok(json_response(StatusCode::OK, &success_status(self.t, "")));
        }
        let list = json!({
            "kind": format!("{}List", self.t.kind), "apiVersion": self.t.api_version(),
            "metadata": {"resourceVersion": state.resource_version.to_string()}, "items": deleted,
        });
        Ok(json_response(StatusCode::OK, &list))
    }
}

/// An object reduced to its metadata, as `PartialObjectMetadata`.
fn partial_metadata(object: &Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": object.get("metadata").cloned().unwrap_or_else(|| json!({})),
    })
}
