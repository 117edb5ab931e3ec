//! Usage history from Prometheus (cAdvisor metrics as scraped by the usual kubelet job):
//! p95 CPU and maximum memory working set per container over a window. Rightsizing is based
//! on this when it is available, because one `metrics.k8s.io` sample says little about peaks.
//!
//! Two instant queries go to `/api/v1/query`:
//! - CPU: `quantile_over_time(0.95, sum by (namespace, pod, container)
//!   (rate(container_cpu_usage_seconds_total{container!="",container!="POD"}[5m]))[WINDOW:5m])`
//! - memory: `max by (namespace, pod, container)
//!   (max_over_time(container_memory_working_set_bytes{container!="",container!="POD"}[WINDOW]))`

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde::Deserialize;

use super::quantity::{parse_bytes, parse_cpu_millis};
use crate::error::{Error, Result};

/// The default history window.
pub const DEFAULT_WINDOW: &str = "7d";

/// Identifies one container of one pod.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContainerKey {
    /// Namespace of the pod.
    pub namespace: String,
    /// Pod name.
    pub pod: String,
    /// Container name.
    pub container: String,
}

/// What Prometheus saw of one container over the window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HistoricalUsage {
    /// 95th percentile of the 5-minute CPU rate, in millicores.
    pub cpu_p95_millis: Option<i64>,
    /// Highest memory working set, in bytes.
    pub memory_max_bytes: Option<i64>,
}

/// Usage history per container, from one Prometheus.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageHistory {
    /// The Prometheus base URL it came from.
    pub url: String,
    /// The window, in Prometheus duration syntax (`7d`).
    pub window: String,
    /// Per-container figures.
    pub containers: HashMap<ContainerKey, HistoricalUsage>,
}

/// Checks a Prometheus duration (`7d`, `36h`, `1w`, `1h30m`).
pub fn validate_window(window: &str) -> std::result::Result<(), String> {
    let mut saw_unit = false;
    let mut digits = 0;
    let mut rest = window;
    while !rest.is_empty() {
        let n = rest.bytes().take_while(u8::is_ascii_digit).count();
        digits += n;
        let after = rest.get(n..).unwrap_or_default();
        let unit_len = if after.starts_with("ms") { 2 } else { 1 };
        let unit = after.get(..unit_len).unwrap_or_default();
        if n == 0 || !matches!(unit, "ms" | "s" | "m" | "h" | "d" | "w" | "y") {
            return Err(format!(
                "{window:?} is not a Prometheus duration (like 7d, 36h, 1w or 1h30m)"
            ));
        }
        saw_unit = true;
        rest = after.get(unit_len..).unwrap_or_default();
    }
    if !saw_unit || digits == 0 {
        return Err(format!(
            "{window:?} is not a Prometheus duration (like 7d, 36h, 1w or 1h30m)"
        ));
    }
    Ok(())
}

/// The PromQL label matchers for containers (and namespaces, when chosen).
fn matchers(namespaces: &[String]) -> String {
    let mut m = String::from(r#"container!="",container!="POD""#);
    if !namespaces.is_empty() {
        let escaped: Vec<String> = namespaces.iter().map(|n| regex_escape(n)).collect();
        let _ = write!(m, r#",namespace=~"{}""#, escaped.join("|"));
    }
    m
}

/// Namespace names are DNS labels; escape anything else anyway so a query cannot be bent.
fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let special = !(c.is_ascii_alphanumeric() || c == '-' || c == '_');
            let escape: &[char] = if special { &['\\', '\\'] } else { &[] };
            escape.iter().copied().chain(std::iter::once(c))
        })
        .collect()
}

/// The CPU p95 query for a window and namespace set.
pub fn cpu_query(window: &str, namespaces: &[String]) -> String {
    format!(
        "quantile_over_time(0.95, sum by (namespace, pod, container) (rate(container_cpu_usage_seconds_total{{{}}}[5m]))[{window}:5m])",
        matchers(namespaces)
    )
}

/// The memory maximum query for a window and namespace set.
pub fn memory_query(window: &str, namespaces: &[String]) -> String {
    format!(
        "max by (namespace, pod, container) (max_over_time(container_memory_working_set_bytes{{{}}}[{window}]))",
        matchers(namespaces)
    )
}

#[derive(Deserialize)]
struct QueryResponse {
    status: String,
    #[serde(default)]
    data: Option<QueryData>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct QueryData {
    #[serde(rename = "resultType")]
    result_type: String,
    #[serde(default)]
    result: Vec<Sample>,
}

#[derive(Deserialize)]
struct Sample {
    #[serde(default)]
    metric: HashMap<String, String>,
    /// `[unix_time, "value"]`.
    value: (serde_json::Value, String),
}

/// Queries Prometheus at `url` for the usage history of every container (in `namespaces`,
/// or everywhere when empty) over `window`.
pub async fn fetch_history(url: &str, window: &str, namespaces: &[String]) -> Result<UsageHistory> {
    let fail = |message: String| Error::Prometheus {
        url: url.to_owned(),
        message,
    };
    validate_window(window).map_err(fail)?;
    let mut base = url::Url::parse(url).map_err(|e| fail(format!("not a URL: {e}")))?;
    if !matches!(base.scheme(), "http" | "https") {
        return Err(fail(
            "the URL must start with http:// or https://".to_owned(),
        ));
    }
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    let endpoint = base
        .join("api/v1/query")
        .map_err(|e| fail(format!("not a URL: {e}")))?;
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(120))
        .build()
        .map_err(|e| fail(format!("cannot build an HTTP client: {e}")))?;
    let (cpu, memory) = futures::future::try_join(
        instant_query(&client, &endpoint, &cpu_query(window, namespaces), &fail),
        instant_query(&client, &endpoint, &memory_query(window, namespaces), &fail),
    )
    .await?;
    let mut containers: HashMap<ContainerKey, HistoricalUsage> = HashMap::new();
    for (key, value) in cpu {
        if let Ok(millis) = parse_cpu_millis(&value) {
            containers.entry(key).or_default().cpu_p95_millis = Some(millis);
        }
    }
    for (key, value) in memory {
        if let Ok(bytes) = parse_bytes(&value) {
            containers.entry(key).or_default().memory_max_bytes = Some(bytes);
        }
    }
    Ok(UsageHistory {
        url: url.to_owned(),
        window: window.to_owned(),
        containers,
    })
}

async fn instant_query(
    client: &reqwest::Client,
    endpoint: &url::Url,
    query: &str,
    fail: &impl Fn(String) -> Error,
) -> Result<Vec<(ContainerKey, String)>> {
    let mut url = endpoint.clone();
    url.query_pairs_mut().append_pair("query", query);
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|e| fail(error_chain(&e)))?;
    let status = response.status();
    let body = response.text().await.map_err(|e| fail(error_chain(&e)))?;
    let parsed: QueryResponse = serde_json::from_str(&body).map_err(|e| {
        fail(format!(
            "HTTP {status}: the answer is not a Prometheus query response ({e})"
        ))
    })?;
    if parsed.status != "success" {
        return Err(fail(format!(
            "HTTP {status}: {}: {}",
            parsed.error_type.as_deref().unwrap_or("error"),
            parsed.error.as_deref().unwrap_or("no message")
        )));
    }
    let data = parsed
        .data
        .ok_or_else(|| fail("a success answer without data".to_owned()))?;
    if data.result_type != "vector" {
        return Err(fail(format!(
            "expected a vector result, got {:?}",
            data.result_type
        )));
    }
    Ok(data
        .result
        .into_iter()
        .filter_map(|s| {
            let label = |l: &str| s.metric.get(l).cloned();
            let key = ContainerKey {
                namespace: label("namespace")?,
                pod: label("pod")?,
                container: label("container")?,
            };
            Some((key, s.value.1))
        })
        .collect())
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_checked() {
        for ok in ["7d", "36h", "1w", "1h30m", "90s", "500ms", "1y"] {
            assert_eq!(validate_window(ok), Ok(()), "{ok}");
        }
        for bad in ["", "7", "d", "7 d", "7days", "-1d", "1.5d", "7d;"] {
            assert!(validate_window(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn namespaces_are_escaped_into_the_matcher() {
        let q = memory_query("7d", &["shop".into(), "a.b".into()]);
        assert!(q.contains(r#"namespace=~"shop|a\\.b""#), "{q}");
        assert_eq!(
            cpu_query("7d", &[]),
            r#"quantile_over_time(0.95, sum by (namespace, pod, container) (rate(container_cpu_usage_seconds_total{container!="",container!="POD"}[5m]))[7d:5m])"#
        );
    }
}
