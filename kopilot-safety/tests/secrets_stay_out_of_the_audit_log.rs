//! Secret values in a command line never reach the audit log, while the command that runs is
//! the exact one that was assessed and approved, and the log can still prove which it was.

use std::sync::Arc;

use kopilot_safety::audit::{self, AuditRecord};
use kopilot_safety::{ApproveAll, Guard, Identity, JsonlAuditSink, Policy, RequestContext};

const SECRETS: &[&str] = &[
    "hunter2",
    "s3cr3t-token-value",
    "k-abcdef123456",
    "p4ssw0rd",
];

#[tokio::test]
async fn the_audit_log_holds_no_secret_values_but_the_command_runs_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let guard =
        Guard::new(Policy::default()).with_audit(Arc::new(JsonlAuditSink::open(&path).unwrap()));
    let ctx = RequestContext::new(Identity::new("alice")).with_task("t-1");
    let lines = [
        "kubectl create secret generic db --from-literal=password=hunter2 -n shop",
        "kubectl --token s3cr3t-token-value get pods -n shop",
        "kubectl set env deploy/web API_KEY=k-abcdef123456 -n shop",
        "helm upgrade web ./chart -n shop --set db.password=p4ssw0rd",
        "DB_PASSWORD=hunter2 kubectl get pods -n shop",
    ];
    for line in lines {
        let result = guard.authorize(line, &ctx, &ApproveAll::new("bob")).await;
        if let Ok(cleared) = result {
            // What runs is exactly what was assessed, secret and all.
            assert_eq!(cleared.line(), line);
        }
    }
    let text = std::fs::read_to_string(&path).unwrap();
    for secret in SECRETS {
        assert!(
            !text.contains(secret),
            "{secret} reached the audit log:\n{text}"
        );
    }
    assert!(text.contains("[REDACTED: credential]"), "{text}");
    // Every line is still a valid, verifiable record.
    for line in text.lines() {
        serde_json::from_str::<AuditRecord>(line).unwrap();
    }
    assert!(audit::verify(&path).unwrap().is_intact());
}

#[test]
fn an_execution_record_proves_the_exact_argv_without_holding_it() {
    let stages = vec![vec![
        "kubectl".to_owned(),
        "create".to_owned(),
        "secret".to_owned(),
        "generic".to_owned(),
        "db".to_owned(),
        "--from-literal=password=hunter2".to_owned(),
    ]];
    let (recorded, digest) = audit::recorded_argv(&stages);
    assert!(!format!("{recorded:?}").contains("hunter2"));
    assert_eq!(digest, audit::argv_sha256(&stages));
    assert_eq!(
        digest,
        audit::sha256_hex(&serde_json::to_vec(&stages).unwrap())
    );
    let other = vec![vec!["kubectl".to_owned(), "get".to_owned()]];
    assert_ne!(digest, audit::argv_sha256(&other));
}
