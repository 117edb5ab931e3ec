//! Usage history from Prometheus (a local wiremock server answering `/api/v1/query` in the
//! real response shape) replaces the metrics-server sample for rightsizing, and says so.

use kopilot_analyze::snapshot::prometheus::{cpu_query, fetch_history, memory_query};
use kopilot_analyze::snapshot::{ClusterSnapshot, ContainerKey};
use kopilot_analyze::{AnalyzeOptions, CheckSelection, analyze};
use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn vector(samples: &[(&str, &str, &str, &str)]) -> serde_json::Value {
    json!({
        "status": "success",
        "data": {
            "resultType": "vector",
            "result": samples.iter().map(|(ns, pod, container, value)| json!({
                "metric": {"namespace": ns, "pod": pod, "container": container},
                "value": [1_769_940_000.123, value],
            })).collect::<Vec<_>>(),
        }
    })
}

async fn prometheus() -> MockServer {
    let server = MockServer::start().await;
    let ns = vec!["shop".to_owned()];
    Mock::given(method("GET"))
        .and(path("/prom/api/v1/query"))
        .and(query_param("query", cpu_query("14d", &ns)))
        .respond_with(ResponseTemplate::new(200).set_body_json(vector(&[
            ("shop", "api-7d9f8-aaaaa", "app", "0.41"),
            ("shop", "api-7d9f8-bbbbb", "app", "3.5e-01"),
            ("shop", "gone-pod", "app", "NaN"),
        ])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/prom/api/v1/query"))
        .and(query_param("query", memory_query("14d", &ns)))
        .respond_with(ResponseTemplate::new(200).set_body_json(vector(&[
            ("shop", "api-7d9f8-aaaaa", "app", "471859200"),
            ("shop", "api-7d9f8-bbbbb", "app", "4.5e+08"),
        ])))
        .expect(1)
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn history_is_parsed_exactly() {
    let server = prometheus().await;
    let url = format!("{}/prom", server.uri());
    let history = fetch_history(&url, "14d", &["shop".to_owned()])
        .await
        .unwrap();
    let key = |pod: &str| ContainerKey {
        namespace: "shop".into(),
        pod: pod.into(),
        container: "app".into(),
    };
    let a = history.containers[&key("api-7d9f8-aaaaa")];
    assert_eq!(
        (a.cpu_p95_millis, a.memory_max_bytes),
        (Some(410), Some(471_859_200))
    );
    let b = history.containers[&key("api-7d9f8-bbbbb")];
    assert_eq!(
        (b.cpu_p95_millis, b.memory_max_bytes),
        (Some(350), Some(450_000_000))
    );
    assert!(
        !history.containers.contains_key(&key("gone-pod")),
        "NaN is no figure"
    );
}

#[tokio::test]
async fn rightsizing_uses_history_and_names_it() {
    let server = prometheus().await;
    let url = format!("{}/prom", server.uri());
    let mut snapshot = ClusterSnapshot::from_files(&[concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/cluster.yaml"
    )])
    .unwrap();
    snapshot.history = Some(
        fetch_history(&url, "14d", &["shop".to_owned()])
            .await
            .unwrap(),
    );
    let options = AnalyzeOptions {
        checks: CheckSelection::parse(&["cost.overprovisioned"]).unwrap(),
        ..AnalyzeOptions::default()
    };
    let report = analyze(&snapshot, &options);
    let api = report
        .findings
        .iter()
        .find(|f| f.object.name == "api")
        .expect("api is still over-provisioned against its history");
    // p95 410m -> 495m; max 471859200 bytes (450Mi) -> 585Mi.
    assert_eq!(
        api.command.as_deref(),
        Some(
            "kubectl set resources deployment/api -n shop -c app --requests=cpu=495m,memory=585Mi"
        )
    );
    let source = api.evidence["usage_source"].as_str().unwrap();
    assert_eq!(
        source,
        format!(
            "Prometheus {url}: CPU is the p95 of the 5-minute rate and memory the maximum working set over 14d"
        )
    );
    // Pods Prometheus knows nothing about are not judged on a sample instead.
    assert!(report.findings.iter().all(|f| f.object.name != "sleepy"));
    // History is not a single sample: no caveat, no note.
    assert!(
        !api.recommendation.contains("metrics-server sample"),
        "{}",
        api.recommendation
    );
    assert!(
        report.summary.notes.is_empty(),
        "{:?}",
        report.summary.notes
    );
}

/// Without history, the verdicts say what they rest on, in the findings (which the agent's
/// answer shows) and in the report's notes (which the tool returns).
#[test]
fn verdicts_on_one_sample_say_so_where_they_are_read() {
    let snapshot = ClusterSnapshot::from_files(&[concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/cluster.yaml"
    )])
    .unwrap();
    let report = analyze(&snapshot, &AnalyzeOptions::default());
    let verdicts: Vec<_> = report
        .findings
        .iter()
        .filter(|f| matches!(f.check.as_str(), "cost.idle" | "cost.overprovisioned"))
        .collect();
    assert_eq!(verdicts.len(), 2);
    for f in &verdicts {
        assert!(
            f.recommendation
                .contains("This rests on one metrics-server sample per pod"),
            "{}",
            f.recommendation
        );
    }
    assert_eq!(report.summary.notes.len(), 1, "{:?}", report.summary.notes);
    assert!(
        report.summary.notes[0].starts_with(
            "2 idle or over-provisioned verdicts rest on a single metrics-server sample per pod"
        ),
        "{:?}",
        report.summary.notes
    );
    assert_eq!(
        report.to_json()["summary"]["notes"][0],
        report.summary.notes[0]
    );
    // Other checks' findings are not usage verdicts: no note when only they run.
    let other = analyze(
        &snapshot,
        &AnalyzeOptions {
            checks: CheckSelection::parse(&["cost.orphaned_pvc", "reliability.*"]).unwrap(),
            ..AnalyzeOptions::default()
        },
    );
    assert!(!other.findings.is_empty());
    assert!(other.summary.notes.is_empty(), "{:?}", other.summary.notes);
}

/// Prometheus asked for and unreachable is said in the notes, not only in `skipped`.
#[test]
fn an_unreadable_prometheus_is_a_note() {
    let mut snapshot = ClusterSnapshot::from_files(&[concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/cluster.yaml"
    )])
    .unwrap();
    snapshot.skipped.push(kopilot_analyze::snapshot::Skipped {
        resource: "prometheus".to_owned(),
        reason: "Prometheus at http://127.0.0.1:9: connection refused".to_owned(),
    });
    let report = analyze(&snapshot, &AnalyzeOptions::default());
    assert!(
        report.summary.notes[0].starts_with(
            "Prometheus history was asked for but could not be read (Prometheus at http://127.0.0.1:9: connection refused)"
        ),
        "{:?}",
        report.summary.notes
    );
    assert_eq!(report.summary.notes.len(), 2);
}

#[tokio::test]
async fn an_error_answer_is_reported_with_its_message() {
    let server = MockServer::start().await;
    Mock::given(path("/api/v1/query"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "status": "error", "errorType": "bad_data", "error": "invalid parameter \"query\": 1:1: parse error"
        })))
        .mount(&server)
        .await;
    let err = fetch_history(&server.uri(), "7d", &[])
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!(
            "Prometheus at {}: HTTP 400 Bad Request: bad_data: invalid parameter",
            server.uri()
        )),
        "{err}"
    );
    let err = fetch_history(&server.uri(), "7 days", &[])
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.ends_with("\"7 days\" is not a Prometheus duration (like 7d, 36h, 1w or 1h30m)"),
        "{err}"
    );
    let html = MockServer::start().await;
    Mock::given(path("/api/v1/query"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>login</html>"))
        .mount(&html)
        .await;
    let err = fetch_history(&html.uri(), "7d", &[])
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("the answer is not a Prometheus query response"),
        "{err}"
    );
}
