//! Create, replace, patch and delete against the store, with the API server's rules:
//! 201/409, generateName, uid and timestamps, resourceVersion preconditions, a generation
//! bump on spec change, status and scale subresources, dry runs, and owner cascades.

use serde_json::{Value, json};

use super::clock;
use super::controller::{self, has_generation, scale_of, spec_changed};
use super::patch::{self, PatchError};
use super::registry::ResourceType;
use super::status::ApiError;
use super::store::{ObjectKey, State, meta_str, metadata_mut};
use super::validation::validate;

/// The patch formats, by request Content-Type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PatchKind {
    /// `application/json-patch+json`
    Json,
    /// `application/merge-patch+json`
    Merge,
    /// `application/strategic-merge-patch+json`
    Strategic,
    /// `application/apply-patch+yaml` (server-side apply, approximated by a strategic merge)
    Apply,
}

impl PatchKind {
    pub(crate) fn from_content_type(ct: &str) -> Option<Self> {
        let base = ct.split(';').next().unwrap_or_default().trim();
        match base {
            "application/json-patch+json" => Some(Self::Json),
            "application/merge-patch+json" => Some(Self::Merge),
            "application/strategic-merge-patch+json" => Some(Self::Strategic),
            "application/apply-patch+yaml" | "application/apply-patch+json" => Some(Self::Apply),
            _ => None,
        }
    }
}

/// Which part of an object a write addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    Main,
    Status,
    Scale,
}

fn bad_patch(e: &PatchError) -> ApiError {
    ApiError::bad_request(e.to_string())
}

/// Fills `apiVersion`, `kind` and `metadata.namespace`, refusing a body that names another
/// type or namespace than the URL.
fn normalise_body(t: &'static ResourceType, ns: &str, body: &mut Value) -> Result<(), ApiError> {
    let Some(map) = body.as_object_mut() else {
        return Err(ApiError::bad_request(
            "the request body must be a JSON object",
        ));
    };
    let want = t.api_version();
    if let Some(v) = map.get("apiVersion").and_then(Value::as_str)
        && v != want
    {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({v}) does not match the expected API version ({want})"
        )));
    }
    if let Some(k) = map.get("kind").and_then(Value::as_str)
        && k != t.kind
    {
        return Err(ApiError::bad_request(format!(
            "the kind in the data ({k}) does not match the expected kind ({})",
            t.kind
        )));
    }
    map.insert("apiVersion".into(), json!(want));
    map.insert("kind".into(), json!(t.kind));
    let meta =
        metadata_mut(body).ok_or_else(|| ApiError::bad_request("metadata must be an object"))?;
    if t.is_namespaced() {
        match meta.get("namespace").and_then(Value::as_str) {
            Some(n) if n != ns => {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            _ => {
                meta.insert("namespace".into(), json!(ns));
            }
        }
    } else {
        meta.remove("namespace");
    }
    Ok(())
}

const GENERATE_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// Creates an object. Returns the stored (or, on dry run, would-be) object.
pub(crate) fn create(
    state: &mut State,
    t: &'static ResourceType,
    ns: &str,
    mut body: Value,
    dry_run: bool,
) -> Result<Value, ApiError> {
    if !t.allows("create") {
        return Err(ApiError::method_not_allowed("create", t));
    }
    normalise_body(t, ns, &mut body)?;
    if t.is_namespaced() && !state.namespace_exists(ns) {
        return Err(ApiError::namespace_not_found(ns));
    }
    let uid = state.next_uid();
    let meta = metadata_mut(&mut body)
        .ok_or_else(|| ApiError::bad_request("metadata must be an object"))?;
    if meta
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .is_empty()
        && let Some(prefix) = meta.get("generateName").and_then(Value::as_str)
    {
        let suffix: String = uid
            .bytes()
            .filter(u8::is_ascii_hexdigit)
            .take(5)
            .map(|b| {
                GENERATE_ALPHABET
                    .get(usize::from(b) % GENERATE_ALPHABET.len())
                    .copied()
                    .unwrap_or(b'x') as char
            })
            .collect();
        meta.insert("name".into(), json!(format!("{prefix}{suffix}")));
    }
    meta.insert("uid".into(), json!(uid));
    meta.insert(
        "creationTimestamp".into(),
        json!(clock::format(clock::now())),
    );
    meta.remove("resourceVersion");
    meta.remove("deletionTimestamp");
    meta.remove("managedFields");
    if has_generation(t) {
        meta.insert("generation".into(), json!(1));
    } else {
        meta.remove("generation");
    }
    let name = meta_str(&body, "name").unwrap_or_default().to_owned();
    let causes = validate(t, &body);
    if !causes.is_empty() {
        return Err(ApiError::invalid(t, &name, &causes));
    }
    let key = ObjectKey::new(t, ns, &name);
    if state.objects.contains_key(&key) {
        return Err(ApiError::already_exists(t, &name));
    }
    apply_create_defaults(state, t, &mut body);
    controller::reconcile(t, &mut body);
    if dry_run {
        return Ok(body);
    }
    state
        .write(&key, Some(body))
        .ok_or_else(|| ApiError::bad_request("nothing was written"))
}

/// What the API server and controllers fill in on a new object.
fn apply_create_defaults(state: &State, t: &ResourceType, body: &mut Value) {
    let Some(map) = body.as_object_mut() else {
        return;
    };
    match t.resource {
        "namespaces" => {
            map.insert("spec".into(), json!({"finalizers": ["kubernetes"]}));
            map.insert("status".into(), json!({"phase": "Active"}));
        }
        "pods" => {
            map.insert(
                "status".into(),
                json!({"phase": "Pending", "qosClass": "BestEffort"}),
            );
        }
        "services" => {
            let spec = map.entry("spec").or_insert_with(|| json!({}));
            if let Some(spec) = spec.as_object_mut() {
                let kind = spec
                    .entry("type")
                    .or_insert_with(|| json!("ClusterIP"))
                    .clone();
                if kind != "ExternalName" && !spec.contains_key("clusterIP") {
                    let n = state.resource_version % 60000;
                    let ip = format!("10.96.{}.{}", n / 250, n % 250 + 2);
                    spec.insert("clusterIP".into(), json!(ip));
                    spec.insert("clusterIPs".into(), json!([ip]));
                }
            }
        }
        _ => {
            if t.subresources.contains(&"status") {
                map.remove("status");
            }
        }
    }
}

/// Stores `new` as the next version of `old`: keeps what clients may not change, refuses a
/// stale resourceVersion, bumps generation on spec change, lets the controller catch up,
/// and writes only when something really changed.
fn commit(
    state: &mut State,
    t: &'static ResourceType,
    key: &ObjectKey,
    old: &Value,
    mut new: Value,
    dry_run: bool,
) -> Result<Value, ApiError> {
    if let Some(rv) = meta_str(&new, "resourceVersion")
        && !rv.is_empty()
        && Some(rv) != meta_str(old, "resourceVersion")
    {
        return Err(ApiError::conflict(t, &key.name));
    }
    if let Some(url_name) = meta_str(&new, "name")
        && url_name != key.name
    {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({url_name}) does not match the name on the URL ({})",
            key.name
        )));
    }
    let old_meta = old.get("metadata").cloned().unwrap_or_else(|| json!({}));
    if let Some(meta) = metadata_mut(&mut new) {
        for field in [
            "name",
            "namespace",
            "uid",
            "creationTimestamp",
            "resourceVersion",
            "generation",
        ] {
            match old_meta.get(field) {
                Some(v) => meta.insert(field.into(), v.clone()),
                None => meta.remove(field),
            };
        }
        meta.remove("managedFields");
    }
    let causes = validate(t, &new);
    if !causes.is_empty() {
        return Err(ApiError::invalid(t, &key.name, &causes));
    }
    if new == *old {
        return Ok(old.clone());
    }
    if has_generation(t) && spec_changed(old, &new) {
        let generation = old
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(1)
            + 1;
        if let Some(meta) = metadata_mut(&mut new) {
            meta.insert("generation".into(), json!(generation));
        }
    }
    if t.resource == "deployments" {
        super::rollout::prepare(state, old, &mut new);
    }
    controller::reconcile(t, &mut new);
    if dry_run {
        return Ok(new);
    }
    let stored = state
        .write(key, Some(new))
        .ok_or_else(|| ApiError::bad_request("nothing was written"))?;
    match t.resource {
        "deployments" => super::rollout::apply(state, old, &stored),
        "replicasets" if old.pointer("/spec/replicas") != stored.pointer("/spec/replicas") => {
            super::replicas::sync_pods(state, &key.namespace, &key.name, None);
        }
        _ => {}
    }
    Ok(stored)
}

fn owner_uids(object: &Value) -> impl Iterator<Item = &str> {
    object
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|o| o.get("uid").and_then(Value::as_str))
}

/// Stores `new` as the next version of `old` on behalf of a controller (no dry run).
pub(crate) fn replace_internal(
    state: &mut State,
    t: &'static ResourceType,
    key: &ObjectKey,
    old: &Value,
    new: Value,
) -> Result<Value, ApiError> {
    commit(state, t, key, old, new, false)
}

/// Replaces an object (PUT) or its status or scale.
pub(crate) fn replace(
    state: &mut State,
    t: &'static ResourceType,
    ns: &str,
    name: &str,
    part: Part,
    body: Value,
    dry_run: bool,
) -> Result<Value, ApiError> {
    let old = state.get(t, ns, name)?.clone();
    let key = ObjectKey::new(t, ns, name);
    let new = match part {
        Part::Scale => return update_scale(state, t, &key, &old, &body, dry_run),
        Part::Status => with_status_of(&old, &body),
        Part::Main => {
            let mut body = body;
            normalise_body(t, ns, &mut body)?;
            keep_status(t, &old, body)
        }
    };
    commit(state, t, &key, &old, new, dry_run)
}

/// Patches an object, its status or its scale; a server-side apply of a missing object
/// creates it (the `bool` says whether it was created).
#[allow(clippy::too_many_arguments)]
pub(crate) fn patch(
    state: &mut State,
    t: &'static ResourceType,
    ns: &str,
    name: &str,
    part: Part,
    kind: PatchKind,
    body: &Value,
    dry_run: bool,
) -> Result<(Value, bool), ApiError> {
    let old = match state.get(t, ns, name) {
        Ok(old) => old.clone(),
        Err(not_found) => {
            if kind == PatchKind::Apply && part == Part::Main {
                let mut fresh = body.clone();
                if let Some(meta) = metadata_mut(&mut fresh) {
                    meta.insert("name".into(), json!(name));
                }
                return create(state, t, ns, fresh, dry_run).map(|v| (v, true));
            }
            return Err(not_found);
        }
    };
    let key = ObjectKey::new(t, ns, name);
    let mut view = if part == Part::Scale {
        scale_of(&old)
    } else {
        old.clone()
    };
    // A precondition carried in the patch (kubectl diff sends one) is checked against the
    // stored object, then removed so it does not overwrite the server's value.
    let precondition = body
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if let Some(rv) = &precondition
        && Some(rv.as_str()) != meta_str(&old, "resourceVersion")
    {
        return Err(ApiError::conflict(t, name));
    }
    match kind {
        PatchKind::Merge => patch::merge_patch(&mut view, body),
        PatchKind::Json => patch::json_patch(&mut view, body).map_err(|e| bad_patch(&e))?,
        PatchKind::Strategic | PatchKind::Apply => {
            patch::strategic_merge_patch(&mut view, body).map_err(|e| bad_patch(&e))?;
        }
    }
    if let Some(meta) = metadata_mut(&mut view) {
        meta.remove("resourceVersion");
    }
    let new = match part {
        Part::Scale => {
            return update_scale(state, t, &key, &old, &view, dry_run).map(|v| (v, false));
        }
        Part::Status => with_status_of(&old, &view),
        Part::Main => {
            normalise_body(t, ns, &mut view)?;
            keep_status(t, &old, view)
        }
    };
    commit(state, t, &key, &old, new, dry_run).map(|v| (v, false))
}

/// For types with a status subresource, writes to the main resource keep the old status.
fn keep_status(t: &ResourceType, old: &Value, mut new: Value) -> Value {
    if t.subresources.contains(&"status")
        && let Some(map) = new.as_object_mut()
    {
        match old.get("status") {
            Some(s) => map.insert("status".into(), s.clone()),
            None => map.remove("status"),
        };
    }
    new
}

/// The old object with only its status taken from `body`.
fn with_status_of(old: &Value, body: &Value) -> Value {
    let mut new = old.clone();
    if let Some(map) = new.as_object_mut() {
        match body.get("status") {
            Some(s) => map.insert("status".into(), s.clone()),
            None => map.remove("status"),
        };
    }
    new
}

fn update_scale(
    state: &mut State,
    t: &'static ResourceType,
    key: &ObjectKey,
    old: &Value,
    scale: &Value,
    dry_run: bool,
) -> Result<Value, ApiError> {
    let replicas = scale
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .ok_or_else(|| ApiError::bad_request("a Scale needs spec.replicas as an integer"))?;
    let mut new = old.clone();
    if let Some(spec) = new.get_mut("spec").and_then(Value::as_object_mut) {
        spec.insert("replicas".into(), json!(replicas));
    }
    let stored = commit(state, t, key, old, new, dry_run)?;
    Ok(scale_of(&stored))
}

/// How dependents of a deleted object are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Propagation {
    /// Dependents are deleted too (Background and Foreground behave alike here).
    Cascade,
    /// Dependents stay, with the owner reference removed.
    Orphan,
}

/// Deletes an object and, unless orphaned, everything it owns (by ownerReference uid);
/// deleting a namespace deletes everything in it. Returns the deleted object.
pub(crate) fn delete(
    state: &mut State,
    t: &'static ResourceType,
    ns: &str,
    name: &str,
    propagation: Propagation,
    dry_run: bool,
) -> Result<Value, ApiError> {
    if !t.allows("delete") {
        return Err(ApiError::method_not_allowed("delete", t));
    }
    let mut object = state.get(t, ns, name)?.clone();
    if dry_run {
        return Ok(object);
    }
    let key = ObjectKey::new(t, ns, name);
    let uid = meta_str(&object, "uid").unwrap_or_default().to_owned();
    if t.resource == "namespaces" {
        let inside: Vec<ObjectKey> = state
            .objects
            .keys()
            .filter(|k| k.namespace == name)
            .cloned()
            .collect();
        for k in inside {
            state.write(&k, None);
        }
        if let Some(meta) = metadata_mut(&mut object) {
            meta.insert(
                "deletionTimestamp".into(),
                json!(clock::format(clock::now())),
            );
        }
        if let Some(map) = object.as_object_mut() {
            map.insert("status".into(), json!({"phase": "Terminating"}));
        }
    }
    state.write(&key, None);
    if t.resource == "pods" {
        // The owning ReplicaSet, if any, replaces the pod.
        let owner = object
            .pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
            .and_then(|refs| {
                refs.iter()
                    .find(|r| r["kind"] == "ReplicaSet" && r["controller"] == true)
            })
            .and_then(|r| r["name"].as_str().map(str::to_owned));
        if let Some(rs) = owner {
            super::replicas::sync_pods(state, ns, &rs, None);
        }
    }
    let dependents: Vec<(ObjectKey, Value)> = state
        .objects
        .iter()
        .filter(|(_, v)| !uid.is_empty() && owner_uids(v).any(|o| o == uid))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (dep_key, dep) in dependents {
        let dep_type = dep_key.resource_type();
        match propagation {
            Propagation::Cascade => {
                let _ = delete(
                    state,
                    dep_type,
                    &dep_key.namespace,
                    &dep_key.name,
                    propagation,
                    false,
                );
            }
            Propagation::Orphan => {
                let mut orphan = dep.clone();
                if let Some(refs) = orphan
                    .pointer_mut("/metadata/ownerReferences")
                    .and_then(Value::as_array_mut)
                {
                    refs.retain(|r| r.get("uid").and_then(Value::as_str) != Some(uid.as_str()));
                }
                let _ = commit(state, dep_type, &dep_key, &dep, orphan, false);
            }
        }
    }
    Ok(object)
}
