//! Loading seed objects from YAML: multi-document files, `kind: List`, the side documents
//! that carry pod logs, and the defaults the API server would have filled in.

use serde_json::{Value, json};
use time::Duration;

use super::Error;
use super::clock;
use super::controller::has_generation;
use super::registry::{self, ResourceType};
use super::store::{ContainerLogs, ObjectKey, State, meta_str, metadata_mut, uid_from};

/// The apiVersion of the fake's own side documents (never served).
pub const FAKE_API_VERSION: &str = "fake.kopilot.dev/v1";

/// Namespaces every cluster has.
const BUILT_IN_NAMESPACES: &[&str] = &["default", "kube-node-lease", "kube-public", "kube-system"];

/// One YAML source: a name for error messages and its text.
pub(crate) struct SeedSource {
    pub(crate) name: String,
    pub(crate) text: String,
}

/// Parses every document of every source into JSON values, flattening `kind: List`.
/// Each value is returned with the name of its source and its document number.
pub(crate) fn parse_sources(sources: &[SeedSource]) -> Result<Vec<(String, Value)>, Error> {
    let mut out = Vec::new();
    for source in sources {
        let docs: Vec<Value> =
            serde_saphyr::from_multiple(&source.text).map_err(|e| Error::SeedYaml {
                source_name: source.name.clone(),
                source: Box::new(e),
            })?;
        for (i, doc) in docs.into_iter().enumerate() {
            let place = format!("{} (document {})", source.name, i + 1);
            flatten(place, doc, &mut out);
        }
    }
    Ok(out)
}

fn flatten(place: String, doc: Value, out: &mut Vec<(String, Value)>) {
    match doc {
        Value::Null => {}
        Value::Object(ref map) if map.get("kind").and_then(Value::as_str) == Some("List") => {
            if let Some(Value::Array(items)) = map.get("items") {
                for (j, item) in items.iter().enumerate() {
                    flatten(format!("{place} item {}", j + 1), item.clone(), out);
                }
            }
        }
        other => out.push((place, other)),
    }
}

fn seed_error(place: &str, message: impl Into<String>) -> Error {
    Error::SeedObject {
        place: place.to_owned(),
        message: message.into(),
    }
}

/// Loads parsed seed documents into the store. Timestamps are shifted by `shift` first.
pub(crate) fn load(
    state: &mut State,
    docs: Vec<(String, Value)>,
    shift: Option<Duration>,
) -> Result<(), Error> {
    let now = clock::format(clock::now());
    let mut staged: Vec<(&'static ResourceType, ObjectKey, Value)> = Vec::new();
    for (place, mut doc) in docs {
        if !doc.is_object() {
            return Err(seed_error(
                &place,
                "a seed document must be a mapping with apiVersion and kind",
            ));
        }
        if let Some(shift) = shift {
            clock::shift_timestamps(&mut doc, shift);
        }
        let api_version = doc
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let kind = doc
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if api_version == FAKE_API_VERSION && kind == "PodLogs" {
            load_logs(state, &place, &doc)?;
            continue;
        }
        let t = registry::by_kind(&api_version, &kind).ok_or_else(|| {
            seed_error(&place, format!(
                "the fake API server does not serve kind {kind:?} in apiVersion {api_version:?} \
                 (see kopilot_fake::registry::RESOURCE_TYPES, or use kind PodLogs in {FAKE_API_VERSION} for logs)"
            ))
        })?;
        let name = meta_str(&doc, "name").unwrap_or_default().to_owned();
        if name.is_empty() {
            return Err(seed_error(&place, format!("{kind} has no metadata.name")));
        }
        let ns = if t.is_namespaced() {
            meta_str(&doc, "namespace").unwrap_or("default").to_owned()
        } else {
            String::new()
        };
        let key = ObjectKey::new(t, &ns, &name);
        let meta = metadata_mut(&mut doc)
            .ok_or_else(|| seed_error(&place, "metadata must be a mapping"))?;
        if t.is_namespaced() {
            meta.insert("namespace".into(), json!(ns));
        }
        meta.entry("uid").or_insert_with(|| {
            json!(uid_from(&format!(
                "seed/{}/{}/{ns}/{name}",
                t.api_version(),
                t.kind
            )))
        });
        meta.entry("creationTimestamp")
            .or_insert_with(|| json!(now));
        if has_generation(t) {
            meta.entry("generation").or_insert(json!(1));
        }
        if staged.iter().any(|(_, k, _)| *k == key) {
            return Err(seed_error(
                &place,
                format!("{} \"{name}\" is seeded twice", t.qualified_resource()),
            ));
        }
        staged.push((t, key, doc));
    }
    add_missing_namespaces(&mut staged, &now);
    resolve_references(&mut staged);
    for (_, key, doc) in staged {
        state.write(&key, Some(doc));
    }
    Ok(())
}

fn add_missing_namespaces(staged: &mut Vec<(&'static ResourceType, ObjectKey, Value)>, now: &str) {
    let Some(ns_type) = registry::by_resource("", "v1", "namespaces") else {
        return;
    };
    let mut wanted: Vec<String> = BUILT_IN_NAMESPACES
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    wanted.extend(
        staged
            .iter()
            .filter(|(t, _, _)| t.is_namespaced())
            .map(|(_, k, _)| k.namespace.clone()),
    );
    for ns in wanted {
        let key = ObjectKey::new(ns_type, "", &ns);
        if staged.iter().any(|(_, k, _)| *k == key) {
            continue;
        }
        let doc = json!({
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": ns, "uid": uid_from(&format!("seed/v1/Namespace//{ns}")),
                         "creationTimestamp": now, "labels": {"kubernetes.io/metadata.name": ns}},
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"},
        });
        staged.insert(0, (ns_type, key, doc));
    }
}

/// Fills uids that fixtures may leave out: owner references, event subjects and PV claims,
/// looked up by kind, namespace and name among the seeded objects.
fn resolve_references(staged: &mut [(&'static ResourceType, ObjectKey, Value)]) {
    let lookup: Vec<(String, String, String, String)> = staged
        .iter()
        .map(|(t, k, v)| {
            (
                t.kind.to_owned(),
                k.namespace.clone(),
                k.name.clone(),
                meta_str(v, "uid").unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let find = |kind: &str, ns: &str, name: &str| {
        lookup
            .iter()
            .find(|(k, n, nm, _)| k == kind && nm == name && (n == ns || n.is_empty()))
            .map(|(_, _, _, uid)| uid.clone())
    };
    for (_, key, doc) in staged.iter_mut() {
        if let Some(refs) = doc
            .pointer_mut("/metadata/ownerReferences")
            .and_then(Value::as_array_mut)
        {
            for r in refs {
                if r.get("uid").is_none() {
                    let kind = r
                        .get("kind")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned();
                    let name = r
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned();
                    if let (Some(uid), Some(map)) =
                        (find(&kind, &key.namespace, &name), r.as_object_mut())
                    {
                        map.insert("uid".into(), json!(uid));
                    }
                }
            }
        }
        for (subject, ns_field) in [
            ("/involvedObject", "namespace"),
            ("/regarding", "namespace"),
            ("/spec/claimRef", "namespace"),
        ] {
            let Some(obj) = doc.pointer_mut(subject) else {
                continue;
            };
            if obj.get("uid").is_some() {
                continue;
            }
            let kind = obj
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or("PersistentVolumeClaim")
                .to_owned();
            let ns = obj
                .get(ns_field)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let name = obj
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            if let (Some(uid), Some(map)) = (find(&kind, &ns, &name), obj.as_object_mut()) {
                map.insert("uid".into(), json!(uid));
            }
        }
    }
}

fn load_logs(state: &mut State, place: &str, doc: &Value) -> Result<(), Error> {
    let pod = meta_str(doc, "name")
        .ok_or_else(|| seed_error(place, "PodLogs needs metadata.name (the pod)"))?;
    let ns = meta_str(doc, "namespace").unwrap_or("default");
    let containers = doc
        .get("containers")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            seed_error(
                place,
                "PodLogs needs a containers list of {name, log, previous}",
            )
        })?;
    for c in containers {
        let name = c
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| seed_error(place, "each PodLogs container needs a name"))?;
        let logs = ContainerLogs {
            current: c
                .get("log")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            previous: c.get("previous").and_then(Value::as_str).map(str::to_owned),
        };
        state
            .logs
            .insert((ns.to_owned(), pod.to_owned(), name.to_owned()), logs);
    }
    Ok(())
}
