//! The cluster as the user's kubeconfig names it: `KUBECONFIG=a:missing:b` is merged as
//! kubectl merges it, with the missing file skipped, by `ask` (offline), `analyze` and `config
//! show`; and `ask` checks the kubeconfig, the context and the server before a task starts,
//! failing with exit 2 naming what is wrong (the contexts that exist, the file, the server).

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use kopilot_core::Status;
use kopilot_fake::FakeCluster;
use serde_json::Value;
use support::Scenario;

const RUN_LIMIT: Duration = Duration::from_secs(60);

/// A claim no pod mounts: one known finding (cost.orphaned_pvc).
const SHOP: &str = "
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: old-data, namespace: shop}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 50Gi}}
status: {phase: Bound}
";

/// A first kubeconfig that names a context `dev` on a server where nothing listens, and sets
/// no current context; then a file that does not exist; then the fake cluster's own
/// kubeconfig (context `kopilot-fake`, its current context).
fn kubeconfig_list(scenario: &Scenario) -> (String, PathBuf) {
    let dir = scenario.dir.path();
    let first = dir.join("dev.yaml");
    std::fs::write(
        &first,
        "apiVersion: v1\nkind: Config\n\
         clusters:\n- name: dev\n  cluster:\n    server: http://127.0.0.1:9\n\
         users:\n- name: dev\n  user: {}\n\
         contexts:\n- name: dev\n  context: {cluster: dev, user: dev}\n",
    )
    .unwrap();
    let missing = dir.join("gone.yaml");
    let list =
        std::env::join_paths([first.as_path(), missing.as_path(), scenario.kubeconfig()]).unwrap();
    (list.to_string_lossy().into_owned(), missing)
}

/// The invocation with `KUBECONFIG` set to `list`.
fn with_kubeconfig(
    mut invocation: support::process::Invocation,
    list: &str,
) -> support::process::Invocation {
    invocation.env.push(("KUBECONFIG".into(), list.into()));
    invocation
}

fn scenario() -> Scenario {
    Scenario::new().with_cluster(FakeCluster::builder().seed_yaml(SHOP))
}

fn tasks_stored(data_dir: &Path) -> bool {
    data_dir.join("kopilot.db").exists()
}

#[test]
fn ask_offline_analyze_and_config_show_read_a_kubeconfig_list_with_a_missing_file() {
    let scenario = scenario();
    let (list, missing) = kubeconfig_list(&scenario);

    let ask = with_kubeconfig(
        scenario.kopilot(&["ask", "--offline", "--output", "json", "Find orphaned PVCs"]),
        &list,
    )
    .run(RUN_LIMIT);
    ask.expect_code(0);
    let result = ask.result();
    assert_eq!(result.status, Status::Succeeded, "{result:?}");
    assert!(
        result
            .findings
            .iter()
            .any(|f| f.check == "cost.orphaned_pvc" && f.object.name == "old-data"),
        "the merged kubeconfig's current context is the fake cluster: {result:?}"
    );

    let analyze =
        with_kubeconfig(scenario.kopilot(&["analyze", "-A", "-o", "json"]), &list).run(RUN_LIMIT);
    analyze.expect_code(0);
    let report: Value = serde_json::from_str(&analyze.stdout).unwrap();
    let checks: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["check"].as_str())
        .collect();
    assert!(checks.contains(&"cost.orphaned_pvc"), "{checks:?}");

    let show = with_kubeconfig(scenario.kopilot(&["config", "show"]), &list).run(RUN_LIMIT);
    show.expect_code(0);
    for expected in [
        "dev.yaml".to_owned(),
        format!("missing, skipped: {}", missing.display()),
        "dev, kopilot-fake".to_owned(),
    ] {
        assert!(
            show.stdout.contains(&expected),
            "{expected}:\n{}",
            show.stdout
        );
    }
}

#[test]
fn a_context_that_is_not_in_the_kubeconfig_is_exit_2_listing_the_contexts() {
    let scenario = scenario();
    let (list, _) = kubeconfig_list(&scenario);
    let out = with_kubeconfig(
        scenario.kopilot(&[
            "ask",
            "--offline",
            "--context",
            "prod",
            "Find orphaned PVCs",
        ]),
        &list,
    )
    .run(RUN_LIMIT);
    out.expect_code(2);
    for expected in ["`prod`", "dev.yaml", "its contexts are: dev, kopilot-fake"] {
        assert!(out.stderr.contains(expected), "{expected}: {}", out.stderr);
    }
    assert!(
        !tasks_stored(&scenario.data_dir()),
        "no task should have started"
    );

    // The same with --kubeconfig naming one file.
    let out = scenario
        .kopilot(&[
            "ask",
            "--offline",
            "--kubeconfig",
            &scenario.kubeconfig().display().to_string(),
            "--context",
            "prod",
            "Find orphaned PVCs",
        ])
        .run(RUN_LIMIT);
    out.expect_code(2);
    assert!(
        out.stderr.contains("its contexts are: kopilot-fake"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_missing_kubeconfig_or_an_unreachable_server_is_exit_2_naming_it() {
    let scenario = scenario();
    let (list, _) = kubeconfig_list(&scenario);

    // The context exists, but nothing listens at its server.
    let dead = with_kubeconfig(
        scenario.kopilot(&["ask", "--offline", "--context", "dev", "Find orphaned PVCs"]),
        &list,
    )
    .run(RUN_LIMIT);
    dead.expect_code(2);
    assert!(
        dead.stderr.contains("http://127.0.0.1:9/") && dead.stderr.contains("`dev`"),
        "{}",
        dead.stderr
    );

    let gone = scenario.dir.path().join("nowhere.kubeconfig");
    let named = scenario
        .kopilot(&[
            "ask",
            "--offline",
            "--kubeconfig",
            &gone.display().to_string(),
            "hi",
        ])
        .run(RUN_LIMIT);
    named.expect_code(2);
    assert!(
        named.stderr.contains(&gone.display().to_string()),
        "{}",
        named.stderr
    );

    // No KUBECONFIG and no ~/.kube/config (the scenario's HOME is empty), not in a pod.
    let nothing = scenario.kopilot(&["ask", "--offline", "hi"]).run(RUN_LIMIT);
    nothing.expect_code(2);
    assert!(
        nothing.stderr.contains("no cluster configured") && nothing.stderr.contains("--demo"),
        "{}",
        nothing.stderr
    );
    assert!(!tasks_stored(&scenario.data_dir()));
}
