//! Simulated RBAC denials: requests matching a [`ForbiddenRule`] get a 403 `Forbidden`
//! Status worded like the real API server's, and `SelfSubjectAccessReview`
//! (`kubectl auth can-i`) answers from the same rules. Everything else is allowed.

use serde_json::{Value, json};

use super::registry::ResourceType;
use super::status::ApiError;

/// The user the fake reports in denials (kubectl sends no credentials over plain HTTP).
const USER: &str = "system:anonymous";

/// A verb on a resource that the fake refuses, as RBAC would.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForbiddenRule {
    /// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`, or `*`.
    pub verb: String,
    /// API group (`""` for core) or `*`.
    pub group: String,
    /// Resource (`secrets`, `pods/log`, ...) or `*`.
    pub resource: String,
    /// Limit the rule to one namespace; `None` means everywhere.
    pub namespace: Option<String>,
}

impl ForbiddenRule {
    fn matches(&self, verb: &str, group: &str, resource: &str, namespace: Option<&str>) -> bool {
        let any = |rule: &str, value: &str| rule == "*" || rule == value;
        any(&self.verb, verb)
            && any(&self.group, group)
            && any(&self.resource, resource)
            && self
                .namespace
                .as_deref()
                .is_none_or(|n| Some(n) == namespace)
    }
}

/// Refuses the request when a rule matches.
pub(crate) fn check(
    rules: &[ForbiddenRule],
    verb: &str,
    t: &ResourceType,
    sub: Option<&str>,
    namespace: Option<&str>,
) -> Result<(), ApiError> {
    let resource = match sub {
        Some(sub) => format!("{}/{sub}", t.resource),
        None => t.resource.to_owned(),
    };
    if !rules
        .iter()
        .any(|r| r.matches(verb, t.group, &resource, namespace))
    {
        return Ok(());
    }
    let scope = match namespace {
        Some(ns) => format!("in the namespace \"{ns}\""),
        None => "at the cluster scope".to_owned(),
    };
    let target = match sub {
        Some(sub) => format!("resource \"{}/{sub}\"", t.resource),
        None => format!("resource \"{}\"", t.resource),
    };
    let mut e = ApiError::bad_request(format!(
        "{} is forbidden: User \"{USER}\" cannot {verb} {target} in API group \"{}\" {scope}",
        t.qualified_resource(),
        t.group
    ));
    e.code = 403;
    e.reason = "Forbidden";
    e.details = Some(json!({"group": t.group, "kind": t.resource}));
    Err(e)
}

/// Answers a `SelfSubjectAccessReview` body from the rules.
pub(crate) fn review(rules: &[ForbiddenRule], mut body: Value) -> Value {
    let attrs = body
        .pointer("/spec/resourceAttributes")
        .cloned()
        .unwrap_or(Value::Null);
    let field = |name: &str| {
        attrs
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let (verb, group, namespace) = (field("verb"), field("group"), field("namespace"));
    let resource = match field("subresource").as_str() {
        "" => field("resource"),
        sub => format!("{}/{sub}", field("resource")),
    };
    let ns = (!namespace.is_empty()).then_some(namespace.as_str());
    let allowed = attrs.is_null()
        || !rules
            .iter()
            .any(|r| r.matches(&verb, &group, &resource, ns));
    let status = if allowed {
        json!({"allowed": true, "reason": "the kopilot fake API server allows this"})
    } else {
        json!({"allowed": false})
    };
    if let Some(map) = body.as_object_mut() {
        map.insert("status".into(), status);
        map.insert("apiVersion".into(), json!("authorization.k8s.io/v1"));
        map.insert("kind".into(), json!("SelfSubjectAccessReview"));
    }
    body
}
