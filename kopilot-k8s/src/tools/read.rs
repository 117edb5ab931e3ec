//! `read_resource` through the Kubernetes API: the model's kind (`deploy`, `deployments.apps`,
//! `Ingress`) is resolved through discovery like kubectl does (plural, singular, kind or short
//! name, optionally with `.group` or `.version.group`), then one GET returns the object, shown
//! without `managedFields` (as `kubectl get -o yaml` shows it).

use futures::future::join_all;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResourceList;
use kube::api::{Api, ApiResource, DynamicObject};
use kube::{Client, Error as KubeError};
use serde_json::Value;

use kopilot_core::ToolError;

use crate::exec::ExecConfig;
use kopilot_analyze::snapshot::LiveOptions;

/// What `read_resource` reads.
pub(super) struct Target<'a> {
    pub(super) kind: &'a str,
    pub(super) name: &'a str,
    pub(super) namespace: Option<&'a str>,
}

/// Reads one object (not yet redacted, without `managedFields`) with the configured kubeconfig
/// and context.
pub(super) async fn read(config: &ExecConfig, target: &Target<'_>) -> Result<Value, ToolError> {
    let options = LiveOptions {
        kubeconfig: config.kubeconfig.clone(),
        context: config.context.clone(),
        ..LiveOptions::default()
    };
    let (client, _) = options
        .client()
        .await
        .map_err(|e| ToolError::new(format!("error: {e}")))?;
    let (resource, namespaced) = resolve(&client, target.kind).await?;
    let api: Api<DynamicObject> = match (namespaced, target.namespace) {
        (true, Some(ns)) => Api::namespaced_with(client, ns, &resource),
        (true, None) => Api::default_namespaced_with(client, &resource),
        (false, _) => Api::all_with(client, &resource),
    };
    let object = api
        .get(target.name)
        .await
        .map_err(|e| ToolError::new(api_error(&e)))?;
    let mut value = serde_json::to_value(&object)
        .map_err(|e| ToolError::new(format!("error: the object could not be encoded: {e}")))?;
    if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
    Ok(value)
}

/// kubectl's wording for API errors, so the model reads what it knows.
fn api_error(error: &KubeError) -> String {
    match error {
        KubeError::Api(status) => {
            let reason = if status.reason.is_empty() {
                "Unknown"
            } else {
                status.reason.as_str()
            };
            format!("Error from server ({reason}): {}", status.message)
        }
        other => format!("error: {other}"),
    }
}

/// `deployments.apps` → (`deployments`, group `apps`, no version); `deploy.v1.apps` → version
/// `v1` too; `pods` → no group.
fn split_kind(kind: &str) -> (String, Option<&str>, Option<&str>) {
    let (resource, rest) = match kind.split_once('.') {
        Some((resource, rest)) => (resource, Some(rest)),
        None => (kind, None),
    };
    let resource = resource.to_ascii_lowercase();
    let Some(rest) = rest else {
        return (resource, None, None);
    };
    match rest.split_once('.') {
        Some((version, group)) if is_version(version) => (resource, Some(group), Some(version)),
        _ if is_version(rest) => (resource, Some(""), Some(rest)),
        _ => (resource, Some(rest), None),
    }
}

/// `v1`, `v2beta1`, `v1alpha3`.
fn is_version(text: &str) -> bool {
    text.strip_prefix('v').is_some_and(|rest| {
        rest.starts_with(|c: char| c.is_ascii_digit())
            && rest.chars().all(|c| c.is_ascii_alphanumeric())
    })
}

/// The API resource the kind names, and whether it is namespaced.
async fn resolve(client: &Client, kind: &str) -> Result<(ApiResource, bool), ToolError> {
    let (wanted, group, version) = split_kind(kind);
    let lists = resource_lists(client, group, version).await?;
    for list in &lists {
        for r in &list.resources {
            if r.name.contains('/') {
                continue; // a subresource
            }
            let matches = r.name == wanted
                || r.singular_name == wanted
                || r.kind.to_ascii_lowercase() == wanted
                || r.short_names
                    .as_ref()
                    .is_some_and(|names| names.contains(&wanted));
            if matches {
                let (group, version) = match list.group_version.split_once('/') {
                    Some((group, version)) => (group.to_owned(), version.to_owned()),
                    None => (String::new(), list.group_version.clone()),
                };
                let resource = ApiResource {
                    group,
                    version,
                    api_version: list.group_version.clone(),
                    kind: r.kind.clone(),
                    plural: r.name.clone(),
                };
                return Ok((resource, r.namespaced));
            }
        }
    }
    Err(ToolError::new(format!(
        "error: the server doesn't have a resource type \"{kind}\""
    )))
}

/// The resource lists to search, core first, then each group's preferred version (or the
/// version asked for).
async fn resource_lists(
    client: &Client,
    group: Option<&str>,
    version: Option<&str>,
) -> Result<Vec<APIResourceList>, ToolError> {
    let unreachable = |e: KubeError| ToolError::new(format!("error: discovery failed: {e}"));
    let mut lists = Vec::new();
    if group.is_none_or(str::is_empty) {
        lists.push(
            client
                .list_core_api_resources(version.unwrap_or("v1"))
                .await
                .map_err(unreachable)?,
        );
        if group.is_some() {
            return Ok(lists);
        }
    }
    let groups = client.list_api_groups().await.map_err(unreachable)?;
    let versions: Vec<String> = groups
        .groups
        .iter()
        .filter(|g| group.is_none_or(|wanted| g.name == wanted))
        .filter_map(|g| match version {
            Some(v) => Some(format!("{}/{v}", g.name)),
            None => g
                .preferred_version
                .as_ref()
                .map(|p| p.group_version.clone())
                .or_else(|| g.versions.first().map(|v| v.group_version.clone())),
        })
        .collect();
    let fetched = join_all(
        versions
            .iter()
            .map(|gv| client.list_api_group_resources(gv)),
    )
    .await;
    // A group version that does not answer (an aggregated API that is down) is skipped, as
    // kubectl does.
    lists.extend(fetched.into_iter().filter_map(Result::ok));
    Ok(lists)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_kind_group_and_version_like_kubectl() {
        assert_eq!(split_kind("Deployment"), ("deployment".into(), None, None));
        assert_eq!(
            split_kind("deployments.apps"),
            ("deployments".into(), Some("apps"), None)
        );
        assert_eq!(
            split_kind("ingress.networking.k8s.io"),
            ("ingress".into(), Some("networking.k8s.io"), None)
        );
        assert_eq!(
            split_kind("deploy.v1.apps"),
            ("deploy".into(), Some("apps"), Some("v1"))
        );
        assert_eq!(split_kind("pods.v1"), ("pods".into(), Some(""), Some("v1")));
        assert!(is_version("v2beta1") && !is_version("volumes") && !is_version("v"));
    }
}
