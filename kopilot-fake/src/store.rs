//! The object store: objects as JSON keyed by resource type, namespace and name, one global
//! resourceVersion bumped only on real change, and the event history watches replay from.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::broadcast;

use super::clock;
use super::registry::{RESOURCE_TYPES, ResourceType};
use super::status::ApiError;

/// How many past events a watch can resume from.
const HISTORY_LIMIT: usize = 4096;

/// Where an object lives: its resource type (an index into the registry), namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct ObjectKey {
    pub(crate) type_index: usize,
    pub(crate) namespace: String,
    pub(crate) name: String,
}

impl ObjectKey {
    pub(crate) fn new(t: &'static ResourceType, namespace: &str, name: &str) -> Self {
        let namespace = if t.is_namespaced() { namespace } else { "" };
        Self {
            type_index: type_index(t),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        }
    }

    pub(crate) fn resource_type(&self) -> &'static ResourceType {
        resource_type(self.type_index)
    }
}

/// The registry index of a resource type.
pub(crate) fn type_index(t: &'static ResourceType) -> usize {
    RESOURCE_TYPES
        .iter()
        .position(|x| std::ptr::eq(x, t))
        .unwrap_or(0)
}

/// The resource type at a registry index.
pub(crate) fn resource_type(index: usize) -> &'static ResourceType {
    RESOURCE_TYPES.get(index).unwrap_or(&FALLBACK)
}

static FALLBACK: ResourceType = ResourceType {
    group: "",
    version: "v1",
    resource: "unknown",
    singular: "unknown",
    kind: "Unknown",
    scope: super::registry::Scope::Cluster,
    short_names: &[],
    categories: &[],
    verbs: &[],
    subresources: &[],
};

/// A change to one object, as watches deliver it.
#[derive(Debug, Clone)]
pub(crate) struct WatchEvent {
    pub(crate) event_type: &'static str,
    pub(crate) type_index: usize,
    pub(crate) namespace: String,
    pub(crate) object: Value,
    pub(crate) previous: Option<Value>,
    pub(crate) resource_version: u64,
}

/// Log text of one container: the current run and, when it restarted, the previous one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerLogs {
    /// Output of the running (or last) container instance.
    pub current: String,
    /// Output of the previous instance (`kubectl logs --previous`), if it restarted.
    pub previous: Option<String>,
}

/// Everything the server holds, behind one mutex.
pub(crate) struct State {
    pub(crate) objects: BTreeMap<ObjectKey, Value>,
    pub(crate) resource_version: u64,
    history: VecDeque<Arc<WatchEvent>>,
    events: broadcast::Sender<Arc<WatchEvent>>,
    /// Logs by (namespace, pod, container).
    pub(crate) logs: HashMap<(String, String, String), ContainerLogs>,
    uid_seq: u64,
}

impl State {
    pub(crate) fn new() -> Self {
        let (events, _) = broadcast::channel(1024);
        Self {
            objects: BTreeMap::new(),
            resource_version: 1000,
            history: VecDeque::new(),
            events,
            logs: HashMap::new(),
            uid_seq: 0,
        }
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Arc<WatchEvent>> {
        self.events.subscribe()
    }

    /// Events after `rv`, or `None` when `rv` is older than the retained history.
    pub(crate) fn events_since(&self, rv: u64) -> Option<Vec<Arc<WatchEvent>>> {
        if let Some(first) = self.history.front()
            && rv + 1 < first.resource_version
        {
            return None;
        }
        Some(
            self.history
                .iter()
                .filter(|e| e.resource_version > rv)
                .cloned()
                .collect(),
        )
    }

    pub(crate) fn get(
        &self,
        t: &'static ResourceType,
        ns: &str,
        name: &str,
    ) -> Result<&Value, ApiError> {
        self.objects
            .get(&ObjectKey::new(t, ns, name))
            .ok_or_else(|| ApiError::not_found(t, name))
    }

    /// Objects of one type, in one namespace or (with `None`) all of them, ordered by
    /// namespace and name.
    pub(crate) fn list<'a>(
        &'a self,
        t: &'static ResourceType,
        ns: Option<&'a str>,
    ) -> impl Iterator<Item = &'a Value> + 'a {
        let index = type_index(t);
        self.objects
            .iter()
            .filter(move |(k, _)| {
                k.type_index == index && ns.is_none_or(|n| k.namespace == n || !t.is_namespaced())
            })
            .map(|(_, v)| v)
    }

    /// Whether a namespace exists (objects in missing namespaces are refused).
    pub(crate) fn namespace_exists(&self, ns: &str) -> bool {
        super::registry::by_resource("", "v1", "namespaces")
            .is_some_and(|t| self.objects.contains_key(&ObjectKey::new(t, "", ns)))
    }

    /// A fresh uid for an object created at run time.
    pub(crate) fn next_uid(&mut self) -> String {
        self.uid_seq += 1;
        let seed = format!("runtime/{}/{}", self.uid_seq, clock::format(clock::now()));
        uid_from(&seed)
    }

    /// Stores `object` under `key` (or removes it when `object` is `None`), bumping the
    /// resourceVersion and telling watchers. Returns the stored object.
    pub(crate) fn write(&mut self, key: &ObjectKey, object: Option<Value>) -> Option<Value> {
        self.resource_version += 1;
        let rv = self.resource_version;
        let previous = self.objects.get(key).cloned();
        let (event_type, mut stored) = match (object, &previous) {
            (Some(obj), None) => ("ADDED", obj),
            (Some(obj), Some(_)) => ("MODIFIED", obj),
            (None, Some(old)) => ("DELETED", old.clone()),
            (None, None) => return None,
        };
        set_resource_version(&mut stored, rv);
        if event_type == "DELETED" {
            self.objects.remove(key);
        } else {
            self.objects.insert(key.clone(), stored.clone());
        }
        let event = Arc::new(WatchEvent {
            event_type,
            type_index: key.type_index,
            namespace: key.namespace.clone(),
            object: stored.clone(),
            previous,
            resource_version: rv,
        });
        self.history.push_back(event.clone());
        while self.history.len() > HISTORY_LIMIT {
            self.history.pop_front();
        }
        // No receivers is fine: nobody is watching.
        let _ = self.events.send(event);
        Some(stored)
    }
}

/// Sets `metadata.resourceVersion`.
pub(crate) fn set_resource_version(object: &mut Value, rv: u64) {
    if let Some(meta) = metadata_mut(object) {
        meta.insert("resourceVersion".into(), json!(rv.to_string()));
    }
}

/// `metadata` as a mutable map, created when missing.
pub(crate) fn metadata_mut(object: &mut Value) -> Option<&mut serde_json::Map<String, Value>> {
    let map = object.as_object_mut()?;
    let meta = map.entry("metadata").or_insert_with(|| json!({}));
    if !meta.is_object() {
        *meta = json!({});
    }
    meta.as_object_mut()
}

/// A string field of `metadata`.
pub(crate) fn meta_str<'a>(object: &'a Value, field: &str) -> Option<&'a str> {
    object.get("metadata")?.get(field)?.as_str()
}

/// A UUID-shaped uid derived from `seed` (stable for seeded objects, so fixtures and golden
/// outputs keep their uids across runs).
pub(crate) fn uid_from(seed: &str) -> String {
    let digest = Sha256::digest(seed.as_bytes());
    let h = hex::encode(digest);
    let part = |a: usize, b: usize| h.get(a..b).unwrap_or("0").to_owned();
    format!(
        "{}-{}-4{}-8{}-{}",
        part(0, 8),
        part(8, 12),
        part(13, 16),
        part(17, 20),
        part(20, 32)
    )
}
