//! `kopilot analyze` on snapshot files and on a live (fake) cluster: output formats, check
//! selection, and exit status 0 (done), 1 (`--fail-on` met) and 2 (usage, unreadable file).

use std::process::Output;

use assert_cmd::Command;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../kopilot-analyze/tests/fixtures/cluster.yaml"
);

fn kopilot(args: &[&str]) -> Output {
    Command::cargo_bin("kopilot")
        .unwrap()
        .arg("analyze")
        .args(args)
        .env_remove("PROMETHEUS_URL")
        .env_remove("KOPILOT_PRICES")
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn json_from_a_snapshot_file() {
    let o = kopilot(&["--snapshot", FIXTURE, "-o", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["summary"]["findings"], 36);
    assert_eq!(v["summary"]["monthly_cost_total"], 69.25);
    let first = &v["findings"][0];
    for key in [
        "check",
        "severity",
        "object",
        "message",
        "evidence",
        "recommendation",
        "command",
        "monthly_cost",
    ] {
        assert!(first.get(key).is_some(), "findings carry {key}");
    }
    assert_eq!(
        first["object"],
        serde_json::json!({"kind": "Node", "namespace": null, "name": "node-down"})
    );
    assert!(v["skipped"].as_array().unwrap().is_empty());
}

#[test]
fn fail_on_sets_exit_status_one() {
    let o = kopilot(&["--snapshot", FIXTURE, "--fail-on", "critical", "-o", "json"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        serde_json::from_slice::<serde_json::Value>(&o.stdout).is_ok(),
        "the report is still printed"
    );
    let o = kopilot(&[
        "--snapshot",
        FIXTURE,
        "--fail-on",
        "high",
        "--checks",
        "cost.*,reliability.latest_tag",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn namespace_and_checks_narrow_the_report() {
    let o = kopilot(&[
        "--snapshot",
        FIXTURE,
        "-n",
        "data",
        "--checks",
        "cost",
        "-o",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let names: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["object"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["old-exports", "scratch"]);
}

#[test]
fn excluded_namespaces_leave_their_findings_out() {
    let all = kopilot(&["--snapshot", FIXTURE, "-o", "json"]);
    let all: serde_json::Value = serde_json::from_slice(&all.stdout).unwrap();
    let in_ns = |v: &serde_json::Value, ns: &str| {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["object"]["namespace"] == ns)
            .count()
    };
    assert!(in_ns(&all, "data") > 0 && in_ns(&all, "ops") > 0);
    let o = kopilot(&[
        "--snapshot",
        FIXTURE,
        "--exclude-namespace",
        "data",
        "--exclude-namespace",
        "ops,nowhere",
        "-o",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(in_ns(&v, "data") + in_ns(&v, "ops"), 0);
    assert_eq!(in_ns(&v, "shop"), in_ns(&all, "shop"));
    // Cluster-scoped findings (the NotReady node) stay.
    assert_eq!(v["findings"][0]["object"]["name"], "node-down");
    assert_eq!(
        v["summary"]["excluded_namespaces"],
        serde_json::json!(["data", "ops", "nowhere"])
    );
    let o = kopilot(&["--snapshot", FIXTURE, "--exclude-namespace", "Kube System"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--exclude-namespace: \"Kube System\" is not a namespace name"),
        "{}",
        stderr(&o)
    );
}

#[test]
#[allow(clippy::float_cmp)] // prices rounded to cents, so exact
fn prices_come_from_one_file_and_flags_override_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("prices.yaml");
    std::fs::write(
        &file,
        "# our negotiated rates\ncurrency: EUR\nstorage_per_gib_month: 0.1\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let cost = |v: &serde_json::Value, name: &str| {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["object"]["name"] == name)
            .and_then(|f| f["monthly_cost"].as_f64())
            .unwrap()
    };
    let args = ["--snapshot", FIXTURE, "--checks", "cost.*", "-o", "json"];
    let o = kopilot(&[&args[..], &["--prices", file]].concat());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // 50Gi at 0.1 a month; CPU and memory keep the defaults.
    assert_eq!(cost(&v, "old-exports"), 5.0);
    assert_eq!(v["summary"]["currency"], "EUR");
    assert_eq!(v["summary"]["pricing"]["cpu_per_vcpu_hour"], 0.04048);
    // The same file through the environment, and a flag over it.
    let o = Command::cargo_bin("kopilot")
        .unwrap()
        .arg("analyze")
        .args(args)
        .args(["--storage-gib-month-price", "0.2"])
        .env("KOPILOT_PRICES", file)
        .env_remove("PROMETHEUS_URL")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(cost(&v, "old-exports"), 10.0);
    assert_eq!(v["summary"]["currency"], "EUR");
}

#[test]
fn a_bad_prices_file_is_a_usage_error_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("prices.json");
    std::fs::write(
        &file,
        "{\n  \"currency\": \"USD\",\n  \"cpu_per_vcpu_hour\": \"free\"\n}\n",
    )
    .unwrap();
    let o = kopilot(&["--snapshot", FIXTURE, "--prices", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains(&format!("prices file {}: ", file.display())) && err.contains("line 3"),
        "{err}"
    );
    let o = kopilot(&[
        "--snapshot",
        FIXTURE,
        "--prices",
        "/nonexistent/prices.yaml",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("prices file /nonexistent/prices.yaml: cannot read it"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn plain_table_when_piped_and_markdown_for_tickets() {
    let o = kopilot(&["--snapshot", FIXTURE]);
    let text = stdout(&o);
    assert!(
        text.starts_with("CRITICAL (1)\n  health.node_not_ready"),
        "{text}"
    );
    assert!(!text.contains('\u{1b}'), "no colour codes in a pipe");
    assert!(text.contains("Estimated waste: $69.25/month"));
    let o = kopilot(&["--snapshot", FIXTURE, "-o", "markdown"]);
    assert!(stdout(&o).starts_with("# Kopilot analysis\n\n**36 findings**"));
}

#[test]
fn snapshot_from_standard_input() {
    let o = Command::cargo_bin("kopilot")
        .unwrap()
        .args(["analyze", "--snapshot", "-", "-o", "json", "--checks", "reliability.latest_tag"])
        .write_stdin("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: app, image: nginx}]}\n")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["findings"][0]["check"], "reliability.latest_tag");
}

#[test]
fn unknown_checks_are_a_usage_error_listing_the_valid_ones() {
    let o = kopilot(&["--snapshot", FIXTURE, "--checks", "cost.cheap"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains(
            "--checks: unknown check \"cost.cheap\"; valid checks: cost.overprovisioned, cost.idle"
        ),
        "{err}"
    );
}

#[test]
fn unreadable_files_are_a_usage_error_naming_the_file() {
    let o = kopilot(&["--snapshot", "/nonexistent/cluster.yaml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("could not read snapshot file /nonexistent/cluster.yaml"),
        "{}",
        stderr(&o)
    );
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "apiVersion: v1\nkind: Pod\nmetadata: {name: [x\n").unwrap();
    let o = kopilot(&["--snapshot", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains(&format!("{}: invalid YAML", bad.display())) && err.contains("line"),
        "{err}"
    );
    assert!(o.stdout.is_empty());
}

#[test]
fn conflicting_and_bad_flags_are_usage_errors() {
    for args in [
        vec!["--snapshot", FIXTURE, "--context", "prod"],
        vec![
            "--snapshot",
            FIXTURE,
            "--prometheus",
            "http://127.0.0.1:9",
            "--prometheus-window",
            "a week",
        ],
        vec!["--snapshot", FIXTURE, "--prometheus", "ftp://x"],
        vec!["--snapshot", FIXTURE, "--cpu-hour-price", "-1"],
        vec!["--snapshot", FIXTURE, "--fail-on", "urgent"],
        vec!["--snapshot", FIXTURE, "-n", "a", "-A"],
    ] {
        let o = kopilot(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn help_has_examples_and_checks_are_listed() {
    let o = kopilot(&["--help"]);
    let help = stdout(&o);
    assert!(
        help.contains("Examples:") && help.contains("--fail-on high"),
        "{help}"
    );
    let o = kopilot(&["--list-checks"]);
    let list = stdout(&o);
    assert_eq!(list.lines().count(), 22);
    assert!(
        list.lines()
            .any(|l| l.starts_with("health.node_not_ready") && l.contains("critical"))
    );
}

#[test]
fn a_missing_kubeconfig_is_a_usage_error() {
    let o = kopilot(&["--kubeconfig", "/nonexistent/kubeconfig"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("/nonexistent/kubeconfig"));
}

#[test]
fn live_cluster_with_a_forbidden_resource() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let cluster = runtime
        .block_on(
            kopilot_fake::FakeCluster::builder()
                .seed_yaml(std::fs::read_to_string(FIXTURE).unwrap())
                .forbid("list", "", "events")
                .start(),
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    cluster.write_kubeconfig(&kubeconfig).unwrap();
    let o = kopilot(&[
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "-o",
        "json",
        "--fail-on",
        "critical",
    ]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "a NotReady node is critical: {}",
        stderr(&o)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["skipped"][0]["resource"], "events");
    assert!(
        v["skipped"][0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("forbidden by RBAC")
    );
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["check"] == "cost.overprovisioned")
    );
    // With the kubeconfig's context by name and one namespace.
    let o = kopilot(&[
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "--context",
        "kopilot-fake",
        "-n",
        "data",
        "-o",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["summary"]["namespaces"], serde_json::json!(["data"]));
    assert_eq!(v["summary"]["by_check"]["cost.orphaned_pvc"], 2);
    // A namespace the cluster does not have is an error, not an empty report that
    // `--fail-on` would pass; a name no namespace can have is a usage error.
    let o = kopilot(&[
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "-n",
        "nope",
        "--fail-on",
        "high",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no namespace `nope` in the cluster (it has: ")
            && stderr(&o).contains("data"),
        "{}",
        stderr(&o)
    );
    let o = kopilot(&[
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "-n",
        "bad ns!",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("is not a namespace name"),
        "{}",
        stderr(&o)
    );
    drop(cluster);
}

#[test]
fn an_unreachable_cluster_exits_one() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {{server: 'http://127.0.0.1:{port}'}}\nusers:\n- name: u\n  user: {{}}\ncontexts:\n- name: x\n  context: {{cluster: c, user: u}}\ncurrent-context: x\n"),
    )
    .unwrap();
    let o = kopilot(&["--kubeconfig", kubeconfig.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("cannot reach the Kubernetes API server"),
        "{}",
        stderr(&o)
    );
}
