//! Cases shaped like what kube-score's, Polaris's and k8sgpt's own tests expect (written here,
//! none copied): each problem sits beside a clean neighbour that must not be flagged.

use kopilot_analyze::snapshot::ClusterSnapshot;
use kopilot_analyze::{AnalyzeOptions, CheckSelection, Finding, Report, analyze};

fn run(check: &str, yaml: &str) -> Report {
    let snapshot = ClusterSnapshot::from_yaml_str("peers.yaml", yaml).unwrap();
    analyze(
        &snapshot,
        &AnalyzeOptions {
            checks: CheckSelection::parse(&[check]).unwrap(),
            ..AnalyzeOptions::default()
        },
    )
}

fn flagged(report: &Report) -> Vec<String> {
    report
        .findings
        .iter()
        .map(|f| f.object.to_string())
        .collect()
}

fn finding<'r>(report: &'r Report, object: &str) -> &'r Finding {
    report
        .findings
        .iter()
        .find(|f| f.object.to_string() == object)
        .unwrap_or_else(|| panic!("no finding for {object}: {:?}", flagged(report)))
}

/// A bare pod `name` in `web` with labels `app: name` and `container` (a flow mapping).
fn pod(name: &str, spec_extra: &str, container: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: web, labels: {{app: {name}}}}}\n\
         spec: {{{spec_extra}containers: [{container}]}}\nstatus: {{phase: Running}}\n---\n"
    )
}

fn service(name: &str, app: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: web}}\n\
         spec: {{selector: {{app: {app}}}, ports: [{{port: 80}}]}}\n---\n"
    )
}

#[test]
fn pods_a_service_targets_need_a_readiness_probe() {
    let probe = "readinessProbe: {httpGet: {path: /ready, port: 8080}}";
    let yaml = [
        pod("frontend", "", "{name: app, image: 'nginx:1.27'}"),
        service("frontend", "frontend"),
        // Probed: ready before traffic.
        pod("api", "", &format!("{{name: app, image: 'nginx:1.27', {probe}}}")),
        service("api", "api"),
        // No Service sends it traffic: a bare pod without a probe is not this check's business.
        pod("batch", "", "{name: app, image: 'nginx:1.27'}"),
        // A DaemonSet a Service targets.
        "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: agent, namespace: web}\n\
         spec: {selector: {matchLabels: {app: agent}}, template: {metadata: {labels: {app: agent}}, \
         spec: {containers: [{name: agent, image: 'agent:2'}]}}}\n---\n"
            .to_owned(),
        service("agent-metrics", "agent"),
    ]
    .concat();
    let report = run("reliability.no_readiness_probe", &yaml);
    assert_eq!(
        flagged(&report),
        ["DaemonSet web/agent", "Pod web/frontend"]
    );
    let f = finding(&report, "Pod web/frontend");
    assert_eq!(
        f.evidence["targeted_by_services"],
        serde_json::json!(["frontend"])
    );
    assert!(
        f.message.contains("yet Service frontend sends it traffic"),
        "{}",
        f.message
    );
}

#[test]
fn pending_pods_say_why_from_their_own_condition() {
    let pending = |name: &str, extra: &str, conditions: &str| {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: jobs}}\n\
             spec: {{{extra}containers: [{{name: c, image: 'x:1'}}]}}\n\
             status: {{phase: Pending, conditions: [{conditions}]}}\n---\n"
        )
    };
    let yaml = [
        // No events yet: the condition alone says why.
        pending(
            "too-big",
            "",
            "{type: PodScheduled, status: 'False', reason: Unschedulable, \
             message: '0/3 nodes are available: 3 Insufficient cpu.'}",
        ),
        pending(
            "queued",
            "schedulingGates: [{name: example.com/quota-check}], ",
            "{type: PodScheduled, status: 'False', reason: SchedulingGated, message: Scheduling is blocked due to non-empty scheduling gates}",
        ),
        // Gated before the scheduler wrote any condition.
        pending("just-created", "schedulingGates: [{name: kueue.x-k8s.io/admission}], ", ""),
        // Placed on a node, waiting for its image: not a scheduling problem.
        pending(
            "pulling",
            "nodeName: n1, ",
            "{type: PodScheduled, status: 'True'}",
        ),
        // Pending with nothing said yet: no evidence to report.
        pending("brand-new", "", ""),
    ]
    .concat();
    let report = run("health.pending", &yaml);
    let mut objects = flagged(&report);
    objects.sort();
    assert_eq!(
        objects,
        [
            "Pod jobs/just-created",
            "Pod jobs/queued",
            "Pod jobs/too-big"
        ]
    );
    assert!(
        finding(&report, "Pod jobs/too-big")
            .message
            .ends_with("cannot be scheduled: 0/3 nodes are available: 3 Insufficient cpu.")
    );
    let queued = finding(&report, "Pod jobs/queued");
    assert!(
        queued
            .message
            .ends_with("held by scheduling gate example.com/quota-check"),
        "{}",
        queued.message
    );
    assert!(queued.recommendation.contains("scheduling gate"));
    let fresh = finding(&report, "Pod jobs/just-created");
    assert_eq!(fresh.evidence["pods"][0]["reason"], "SchedulingGated");
    assert_eq!(
        fresh.evidence["pods"][0]["scheduling_gates"],
        serde_json::json!(["kueue.x-k8s.io/admission"])
    );
}

#[test]
fn a_released_volume_known_only_by_its_status_is_reported() {
    let yaml = "apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: pv-status-only}\nstatus: {phase: Released}\n---\n\
                apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: pv-bound}\nstatus: {phase: Bound}\n---\n\
                apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: pv-empty}\n\
                spec: {capacity: {storage: '0'}}\nstatus: {phase: Released}\n";
    let report = run("cost.released_pv", yaml);
    assert_eq!(flagged(&report), ["PersistentVolume pv-status-only"]);
    let f = &report.findings[0];
    assert!(f.message.contains("is Released"), "{}", f.message);
    assert!(
        f.message.contains("size is not in the snapshot"),
        "{}",
        f.message
    );
    // An unknown size is not priced as zero.
    assert_eq!(f.monthly_cost, None);
    assert_eq!(
        f.command.as_deref(),
        Some("kubectl delete pv pv-status-only")
    );
}

#[test]
fn containers_that_may_run_as_root_with_the_reason() {
    let c = |name: &str, sc: &str| format!("{{name: {name}, image: 'app:1'{sc}}}");
    let yaml = [
        // Nothing set anywhere.
        pod("plain", "", &c("app", "")),
        // runAsNonRoot false and no user.
        pod(
            "allowed",
            "",
            &c("app", ", securityContext: {runAsNonRoot: false}"),
        ),
        // Clean: the pod forbids root.
        pod(
            "pod-level",
            "securityContext: {runAsNonRoot: true}, ",
            &c("app", ""),
        ),
        // Clean: a non-zero user on the container.
        pod(
            "uid",
            "",
            &c("app", ", securityContext: {runAsUser: 10001}"),
        ),
        // Clean: the container's non-zero user over a pod-level runAsNonRoot false.
        pod(
            "override",
            "securityContext: {runAsNonRoot: false}, ",
            &c("app", ", securityContext: {runAsUser: 1000}"),
        ),
        // uid 0 explicitly is security.run_as_root's, not this check's.
        pod("root", "", &c("app", ", securityContext: {runAsUser: 0}")),
        // Windows pods run as a user name.
        pod("win", "os: {name: windows}, ", &c("app", "")),
    ]
    .concat();
    let report = run("security.may_run_as_root", &yaml);
    let mut objects = flagged(&report);
    objects.sort();
    assert_eq!(objects, ["Pod web/allowed", "Pod web/plain"]);
    for f in &report.findings {
        assert_eq!(f.severity, kopilot_analyze::Severity::Medium);
    }
    assert_eq!(
        finding(&report, "Pod web/plain").evidence["containers"][0]["reason"],
        "neither runAsNonRoot: true nor a non-zero runAsUser is set"
    );
    assert_eq!(
        finding(&report, "Pod web/allowed").evidence["containers"][0]["reason"],
        "runAsNonRoot is false and no runAsUser is set"
    );
    let root = run("security.run_as_root", &yaml);
    assert_eq!(flagged(&root), ["Pod web/root"]);
}

#[test]
fn secret_values_in_env_are_named_never_shown() {
    let pem = "-----BEGIN OPENSSH PRIVATE KEY-----\\nb3BlbnNzaC1rZXktdjEAAAAA\\n-----END OPENSSH PRIVATE KEY-----";
    let token = "ghp_Zq9Xw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0Fe9Dc8";
    let yaml = [
        // The name says nothing; the value's shape gives it away.
        pod(
            "deployer",
            "",
            &format!("{{name: app, image: 'app:1', env: [{{name: SSH_IDENTITY, value: \"{pem}\"}}, {{name: GH_AUTH, value: {token}}}]}}"),
        ),
        // By name.
        pod(
            "db-client",
            "",
            "{name: app, image: 'app:1', env: [{name: POSTGRES_PASSWORD, value: 'correct-horse-battery'}]}",
        ),
        // Clean: the same names, from a Secret; and harmless literals.
        pod(
            "clean",
            "",
            "{name: app, image: 'app:1', env: [{name: POSTGRES_PASSWORD, valueFrom: {secretKeyRef: {name: db, key: password}}}, \
             {name: TLS_CERT_PATH, value: /etc/tls/tls.crt}, {name: GREETING, value: hello}]}",
        ),
    ]
    .concat();
    let report = run("security.secret_env_literal", &yaml);
    let mut objects = flagged(&report);
    objects.sort();
    assert_eq!(objects, ["Pod web/db-client", "Pod web/deployer"]);
    let deployer = finding(&report, "Pod web/deployer");
    assert!(deployer.message.contains("SSH_IDENTITY") && deployer.message.contains("GH_AUTH"));
    assert_eq!(
        deployer.evidence["variables"][0]["reason"],
        "the value looks like a private key"
    );
    assert_eq!(
        deployer.evidence["variables"][1]["reason"],
        "the value looks like a GitHub token"
    );
    assert_eq!(
        finding(&report, "Pod web/db-client").evidence["variables"][0]["reason"],
        "the name says it holds a secret"
    );
    let text = serde_json::to_string(&report).unwrap();
    for secret in [
        "PRIVATE KEY",
        "b3BlbnNzaC1rZXktdjEAAAAA",
        token,
        "correct-horse-battery",
    ] {
        assert!(
            !text.contains(secret),
            "the report carries {secret}: {text}"
        );
    }
}
