//! Pod logs (`/log`) from the text seeded for each container, with the errors the kubelet
//! gives when there is nothing to show.

use std::collections::HashMap;

use serde_json::Value;

use super::registry::ResourceType;
use super::status::ApiError;
use super::store::State;

/// The log text for `GET .../pods/{name}/log` with the request's query.
pub(crate) fn pod_log(
    state: &State,
    t: &'static ResourceType,
    ns: &str,
    pod_name: &str,
    query: &HashMap<String, String>,
) -> Result<String, ApiError> {
    let pod = state.get(t, ns, pod_name)?;
    let names: Vec<&str> = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .chain(
            pod.pointer("/spec/initContainers")
                .and_then(Value::as_array)
                .into_iter()
                .flatten(),
        )
        .filter_map(|c| c.get("name").and_then(Value::as_str))
        .collect();
    let container = match query.get("container").map(String::as_str) {
        Some(c) if !c.is_empty() => c.to_owned(),
        _ => match names.as_slice() {
            [only] => (*only).to_owned(),
            _ => {
                return Err(ApiError::bad_request(format!(
                    "a container name must be specified for pod {pod_name}, choose one of: [{}]",
                    names.join(" ")
                )));
            }
        },
    };
    if !names.contains(&container.as_str()) {
        return Err(ApiError::bad_request(format!(
            "container {container} is not valid for pod {pod_name}"
        )));
    }
    let previous = query
        .get("previous")
        .is_some_and(|v| v == "true" || v == "1");
    let stored = state
        .logs
        .get(&(ns.to_owned(), pod_name.to_owned(), container.clone()));
    let status = pod
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .and_then(|list| {
            list.iter()
                .find(|c| c.get("name").and_then(Value::as_str) == Some(&container))
        });
    let text = if previous {
        match stored.and_then(|l| l.previous.clone()) {
            Some(text) => text,
            None => {
                return Err(ApiError::bad_request(format!(
                    "previous terminated container \"{container}\" in pod \"{pod_name}\" not found"
                )));
            }
        }
    } else {
        let waiting = status
            .and_then(|s| s.pointer("/state/waiting/reason"))
            .and_then(Value::as_str);
        match (stored, waiting) {
            (Some(l), _) if !l.current.is_empty() => l.current.clone(),
            (_, Some("ImagePullBackOff" | "ErrImagePull" | "InvalidImageName")) => {
                return Err(ApiError::bad_request(format!(
                    "container \"{container}\" in pod \"{pod_name}\" is waiting to start: trying and failing to pull image"
                )));
            }
            (_, Some(reason @ ("ContainerCreating" | "PodInitializing"))) => {
                return Err(ApiError::bad_request(format!(
                    "container \"{container}\" in pod \"{pod_name}\" is waiting to start: {reason}"
                )));
            }
            (Some(l), _) => l.current.clone(),
            (None, _) => String::new(),
        }
    };
    Ok(trim(&text, query))
}

/// Applies `tailLines` and `limitBytes`.
fn trim(text: &str, query: &HashMap<String, String>) -> String {
    let mut out = text.to_owned();
    if let Some(n) = query.get("tailLines").and_then(|v| v.parse::<usize>().ok()) {
        let lines: Vec<&str> = out.lines().collect();
        let start = lines.len().saturating_sub(n);
        let mut tail = lines.get(start..).unwrap_or_default().join("\n");
        if !tail.is_empty() {
            tail.push('\n');
        }
        out = tail;
    }
    if let Some(limit) = query
        .get("limitBytes")
        .and_then(|v| v.parse::<usize>().ok())
    {
        let mut end = limit.min(out.len());
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_and_limit() {
        let mut q = HashMap::new();
        q.insert("tailLines".to_owned(), "2".to_owned());
        assert_eq!(trim("a\nb\nc\n", &q), "b\nc\n");
        q.insert("limitBytes".to_owned(), "3".to_owned());
        assert_eq!(trim("a\nb\nc\n", &q), "b\nc");
    }
}
