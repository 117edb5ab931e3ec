//! Objects in a preview: reading kubectl's YAML, dropping the fields that change on every write,
//! and turning a before/after pair into a redacted [`ObjectChange`].

use serde_json::{Map, Value};

use super::diff;
use super::{ChangeAction, ObjectChange};
use crate::redact::redact;

/// Metadata fields the server sets on every write; they say nothing about the change.
const NOISY_METADATA: &[&str] = &[
    "resourceVersion",
    "managedFields",
    "generation",
    "uid",
    "creationTimestamp",
    "selfLink",
];

/// The annotation `kubectl apply` keeps: a copy of the whole object on one line.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The objects in kubectl's YAML output: documents, with `List`s opened into their items.
pub(super) fn parse(yaml: &str) -> Result<Vec<Value>, String> {
    let documents: Vec<Value> = serde_saphyr::from_multiple(yaml).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for document in documents {
        let is_list = document
            .get("kind")
            .and_then(Value::as_str)
            .is_some_and(|kind| kind.ends_with("List"));
        match document.get("items").and_then(Value::as_array) {
            Some(items) if is_list => out.extend(items.iter().cloned()),
            _ if document.is_object() => out.push(document),
            _ => {}
        }
    }
    Ok(out)
}

/// Kind, API version, namespace and name of an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Identity {
    pub(super) api_version: String,
    pub(super) kind: String,
    pub(super) namespace: Option<String>,
    pub(super) name: String,
}

impl Identity {
    pub(super) fn of(object: &Value) -> Option<Self> {
        let text = |pointer: &str| object.pointer(pointer).and_then(Value::as_str);
        Some(Self {
            api_version: text("/apiVersion")?.to_owned(),
            kind: text("/kind")?.to_owned(),
            namespace: text("/metadata/namespace")
                .filter(|ns| !ns.is_empty())
                .map(str::to_owned),
            name: text("/metadata/name")?.to_owned(),
        })
    }

    /// The type as `kubectl get` takes it without ambiguity: `Deployment.v1.apps`, or `Pod`
    /// for the core group.
    pub(super) fn kubectl_type(&self) -> String {
        match self.api_version.split_once('/') {
            Some((group, version)) => format!("{}.{version}.{group}", self.kind),
            None => self.kind.clone(),
        }
    }

    /// How `kubectl … -o name` names it: `deployment.apps/web`, `pod/web`.
    pub(super) fn kubectl_name(&self) -> String {
        let kind = self.kind.to_ascii_lowercase();
        match self.api_version.split_once('/') {
            Some((group, _)) => format!("{kind}.{group}/{}", self.name),
            None => format!("{kind}/{}", self.name),
        }
    }
}

/// The object without what every write changes: `status`, the server-set metadata, the
/// last-applied annotation, and `creationTimestamp: null` in embedded templates.
pub(super) fn normalise(object: &Value) -> Value {
    let mut object = object.clone();
    if let Some(map) = object.as_object_mut() {
        map.remove("status");
        if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
            for field in NOISY_METADATA {
                meta.remove(*field);
            }
            let no_annotations = match meta.get_mut("annotations").and_then(Value::as_object_mut) {
                Some(annotations) => {
                    annotations.remove(LAST_APPLIED);
                    annotations.is_empty()
                }
                None => false,
            };
            if no_annotations {
                meta.remove("annotations");
            }
        }
    }
    drop_null_timestamps(&mut object);
    object
}

fn drop_null_timestamps(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.get("creationTimestamp").is_some_and(Value::is_null) {
                map.remove("creationTimestamp");
            }
            map.values_mut().for_each(drop_null_timestamps);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_null_timestamps),
        _ => {}
    }
}

/// YAML text of an already normalised object.
fn render(object: &Value) -> String {
    serde_saphyr::to_string(object)
        .unwrap_or_else(|_| serde_json::to_string_pretty(object).unwrap_or_default() + "\n")
}

/// The change from `before` to `after` (either may be missing, not both).
pub(super) fn change(before: Option<&Value>, after: Option<&Value>) -> Option<ObjectChange> {
    let identity = after.or(before).and_then(Identity::of)?;
    let before = before.map(normalise);
    let after = after.map(normalise);
    let action = match (&before, &after) {
        (None, Some(_)) => ChangeAction::Create,
        (Some(_), None) => ChangeAction::Delete,
        (Some(b), Some(a)) if a == b => ChangeAction::NoChange,
        _ => ChangeAction::Update,
    };
    let old_text = before.as_ref().map(render).unwrap_or_default();
    let new_text = after.as_ref().map(render).unwrap_or_default();
    Some(ObjectChange {
        api_version: identity.api_version,
        kind: identity.kind,
        namespace: identity.namespace,
        name: redact(&identity.name).into_owned(),
        action,
        diff: redacted_diff(&old_text, &new_text),
    })
}

/// The diff of two object texts, aligned on the real lines and printed with the redacted ones,
/// so that a changed secret shows as a changed line without its value. Should redaction ever
/// change the number of lines, the redacted texts themselves are compared instead.
fn redacted_diff(old: &str, new: &str) -> String {
    let (old_redacted, new_redacted) = (redact(old), redact(new));
    let old_lines: Vec<&str> = old.lines().collect();
    let new_lines: Vec<&str> = new.lines().collect();
    let old_shown: Vec<&str> = old_redacted.lines().collect();
    let new_shown: Vec<&str> = new_redacted.lines().collect();
    if old_lines.len() == old_shown.len() && new_lines.len() == new_shown.len() {
        diff::unified(&old_lines, &new_lines, &old_shown, &new_shown)
    } else {
        diff::unified(&old_shown, &new_shown, &old_shown, &new_shown)
    }
}

/// `object` with `spec.replicas` set (what `kubectl scale` changes).
pub(super) fn with_replicas(object: &Value, replicas: i64) -> Value {
    let mut object = object.clone();
    if let Some(map) = object.as_object_mut() {
        let spec = map
            .entry("spec")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(spec) = spec.as_object_mut() {
            spec.insert("replicas".into(), Value::from(replicas));
        }
    }
    object
}

/// `object` with the pod template annotation `kubectl rollout restart` sets.
pub(super) fn with_restarted_at(object: &Value, at_time: &str) -> Value {
    let mut object = object.clone();
    let mut at = &mut object;
    for key in ["spec", "template", "metadata", "annotations"] {
        let Some(map) = at.as_object_mut() else {
            return object;
        };
        at = map.entry(key).or_insert_with(|| Value::Object(Map::new()));
    }
    if let Some(map) = at.as_object_mut() {
        map.insert(
            "kubectl.kubernetes.io/restartedAt".into(),
            Value::from(at_time.to_owned()),
        );
    }
    object
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn parses_single_objects_lists_and_documents() {
        let one = parse("apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n").unwrap();
        assert_eq!(one.len(), 1);
        let list = parse(
            "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Pod, metadata: {name: a}}\n- {apiVersion: v1, kind: Pod, metadata: {name: b}}\n",
        )
        .unwrap();
        assert_eq!(list.len(), 2);
        let docs = parse("kind: Pod\napiVersion: v1\n---\nkind: Pod\napiVersion: v1\n").unwrap();
        assert_eq!(docs.len(), 2);
        assert!(parse("kind: [unclosed\n").is_err());
        assert!(parse("").unwrap().is_empty());
    }

    #[test]
    fn drops_fields_every_write_changes() {
        let object = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "resourceVersion": "9", "generation": 4, "uid": "u",
                         "creationTimestamp": "2026-01-01T00:00:00Z", "managedFields": [{}],
                         "annotations": {LAST_APPLIED: "{}"}},
            "spec": {"template": {"metadata": {"creationTimestamp": null}}},
            "status": {"replicas": 3}
        });
        assert_eq!(
            normalise(&object),
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                   "spec": {"template": {"metadata": {}}}})
        );
    }

    #[test]
    fn identity_names_the_type_the_way_kubectl_does() {
        let id = Identity::of(&json!({"apiVersion": "apps/v1", "kind": "Deployment",
                                      "metadata": {"name": "web", "namespace": "shop"}}))
        .unwrap();
        assert_eq!(id.kubectl_type(), "Deployment.v1.apps");
        assert_eq!(id.kubectl_name(), "deployment.apps/web");
        let id =
            Identity::of(&json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}))
                .unwrap();
        assert_eq!((id.kubectl_type().as_str(), id.namespace), ("Pod", None));
    }

    #[test]
    fn a_changed_secret_value_shows_as_a_change_without_the_value() {
        let before = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"},
                            "data": {"password": "b2xkLXZhbHVl", "user": "YXBw"}});
        let mut after = before.clone();
        after["data"]["password"] = json!("bmV3LXZhbHVl");
        let change = change(Some(&before), Some(&after)).unwrap();
        assert_eq!(change.action, ChangeAction::Update);
        assert!(
            change.diff.contains("-  password: [REDACTED"),
            "{}",
            change.diff
        );
        assert!(
            change.diff.contains("+  password: [REDACTED"),
            "{}",
            change.diff
        );
        assert!(!change.diff.contains("bmV3") && !change.diff.contains("b2xk"));
    }

    #[test]
    fn scale_and_restart_edit_what_kubectl_would() {
        let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w"},
                       "spec": {"replicas": 3, "template": {"spec": {}}}});
        assert_eq!(with_replicas(&d, 5)["spec"]["replicas"], 5);
        let restarted = with_restarted_at(&d, "2026-11-23T22:00:00Z");
        assert_eq!(
            restarted["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"],
            "2026-11-23T22:00:00Z"
        );
    }
}
