//! The few validations kubectl users meet most often, answered as 422 `Invalid` with field
//! causes: object names, negative replicas, missing containers and images.

use serde_json::Value;

use super::registry::ResourceType;
use super::status::FieldCause;

const SUBDOMAIN_HELP: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric \
characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', \
regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

const LABEL_HELP: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric \
characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or \
'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

fn is_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn is_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_label)
}

/// Problems with an object about to be stored; empty when it is acceptable.
pub(crate) fn validate(t: &ResourceType, object: &Value) -> Vec<FieldCause> {
    let mut causes = Vec::new();
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let label_named = matches!(t.resource, "namespaces" | "services");
    if name.is_empty() {
        causes.push(FieldCause {
            field: "metadata.name".into(),
            message: "Required value: name or generateName is required".into(),
        });
    } else if label_named && !is_label(name) {
        causes.push(FieldCause {
            field: "metadata.name".into(),
            message: format!("Invalid value: \"{name}\": {LABEL_HELP}"),
        });
    } else if !label_named && !is_subdomain(name) {
        causes.push(FieldCause {
            field: "metadata.name".into(),
            message: format!("Invalid value: \"{name}\": {SUBDOMAIN_HELP}"),
        });
    }
    if matches!(t.resource, "deployments" | "statefulsets" | "replicasets")
        && let Some(replicas) = object.pointer("/spec/replicas").and_then(Value::as_i64)
        && replicas < 0
    {
        causes.push(FieldCause {
            field: "spec.replicas".into(),
            message: format!("Invalid value: {replicas}: must be greater than or equal to 0"),
        });
    }
    let pod_spec = match t.resource {
        "pods" => Some(("spec", object.get("spec"))),
        "deployments" | "statefulsets" | "replicasets" | "daemonsets" | "jobs" => {
            Some(("spec.template.spec", object.pointer("/spec/template/spec")))
        }
        _ => None,
    };
    if let Some((prefix, spec)) = pod_spec {
        check_containers(prefix, spec, &mut causes);
    }
    causes
}

fn check_containers(prefix: &str, spec: Option<&Value>, causes: &mut Vec<FieldCause>) {
    let containers = spec
        .and_then(|s| s.get("containers"))
        .and_then(Value::as_array);
    match containers {
        None => causes.push(FieldCause {
            field: format!("{prefix}.containers"),
            message: "Required value".into(),
        }),
        Some(list) if list.is_empty() => causes.push(FieldCause {
            field: format!("{prefix}.containers"),
            message: "Required value".into(),
        }),
        Some(list) => {
            for (i, c) in list.iter().enumerate() {
                let image = c.get("image").and_then(Value::as_str).unwrap_or_default();
                if image.trim().is_empty() {
                    causes.push(FieldCause {
                        field: format!("{prefix}.containers[{i}].image"),
                        message: "Required value".into(),
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::by_resource;
    use serde_json::json;

    #[test]
    fn negative_replicas_and_bad_names_are_invalid() {
        let t = by_resource("apps", "v1", "deployments").unwrap();
        let d = json!({"metadata": {"name": "Web_1"}, "spec": {"replicas": -1,
                       "template": {"spec": {"containers": [{"name": "a", "image": "x"}]}}}});
        let causes = validate(t, &d);
        assert_eq!(causes.len(), 2, "{causes:?}");
        assert_eq!(
            causes[1].message,
            "Invalid value: -1: must be greater than or equal to 0"
        );
        let ok = json!({"metadata": {"name": "web"}, "spec": {"replicas": 0,
                        "template": {"spec": {"containers": [{"name": "a", "image": "x"}]}}}});
        assert!(validate(t, &ok).is_empty());
    }

    #[test]
    fn pods_need_containers_with_images() {
        let t = by_resource("", "v1", "pods").unwrap();
        let causes = validate(
            t,
            &json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a"}]}}),
        );
        assert_eq!(causes[0].field, "spec.containers[0].image");
    }
}
