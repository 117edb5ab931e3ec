//! A kubeconfig whose user is an exec credential plugin (as EKS, GKE and AKS write them),
//! against `kopilot demo serve --tls` (kubectl runs credential plugins only over TLS, and the
//! server requires the token it wrote into its kubeconfig): `kopilot ask` runs kubectl, kubectl
//! runs the plugin, and the plugin sees the cloud variable it needs (`AWS_PROFILE`) but never
//! the model's key (`OPENAI_API_KEY`) that `kopilot` itself was given; nor does it when
//! kopilot's in-process client runs it (the pre-flight check).

mod support;

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::time::Duration;

use kopilot_core::Status;
use serde_json::{Value, json};
use support::{EventsExt, Reply, SUPERVISOR_MARKER, Scenario, Script, skill_marker};

const RUN_LIMIT: Duration = Duration::from_secs(60);

/// The model key kopilot is given: it must reach the model server and nothing else.
const MODEL_KEY: &str = "sk-canary-model-key-0f3b9c";

/// The plugin: refuses to work without `AWS_PROFILE` (as `aws eks get-token` needs a profile
/// or keys), records who ran it and what it could see, and prints an ExecCredential with the
/// token the server requires.
fn write_plugin(dir: &Path, token: &str) -> std::path::PathBuf {
    let path = dir.join("fake-aws-eks-get-token");
    let script = format!(
        r#"#!/bin/sh
parent=$(cat /proc/$PPID/comm 2>/dev/null)
echo "parent=$parent aws_profile=${{AWS_PROFILE:-<unset>}} openai_api_key=${{OPENAI_API_KEY:-<unset>}} exec_info=${{KUBERNETES_EXEC_INFO:+set}}" >> "$PLUGIN_RECORD"
if [ "$AWS_PROFILE" != "kopilot-e2e" ]; then
  echo "fake-aws-eks-get-token: AWS_PROFILE is not set" >&2
  exit 1
fi
printf '%s\n' '{{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{{"token":"{token}"}}}}'
"#
    );
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
#[ignore = "needs kubectl"]
fn kubectl_runs_an_exec_credential_plugin_with_cloud_variables_and_without_the_model_key() {
    support::require_kubectl();
    let get_pods = json!({"args": ["get", "pods", "-n", "storefront"]});
    let scenario = Scenario::new()
        .with_stub(
            Script::new()
                .route(
                    "supervisor",
                    SUPERVISOR_MARKER,
                    [
                        Reply::delegate("troubleshooting", "List the pods in storefront."),
                        Reply::text("The specialist found:\n\n{{last_tool_result}}"),
                    ],
                )
                .route(
                    "troubleshooting",
                    &skill_marker("troubleshooting"),
                    [
                        Reply::tool_call("run_kubectl", get_pods.clone()),
                        Reply::text("Pods in storefront:\n{{last_tool_result}}"),
                    ],
                ),
        )
        .env("OPENAI_API_KEY", MODEL_KEY);
    let dir = scenario.dir.path();

    // The demo cluster over HTTPS, requiring the token it writes into its kubeconfig.
    let served = dir.join("demo-tls.kubeconfig");
    let mut serve = scenario
        .kopilot(&[
            "demo",
            "serve",
            "--tls",
            "--write-kubeconfig",
            &served.display().to_string(),
        ])
        .spawn();
    serve.wait_for_stdout(RUN_LIMIT, "the demo cluster", |out| {
        out.contains("Press Ctrl-C")
    });
    let demo: Value = serde_saphyr::from_str(&std::fs::read_to_string(&served).unwrap()).unwrap();
    let cluster = &demo["clusters"][0]["cluster"];
    let server = cluster["server"].as_str().unwrap();
    assert!(server.starts_with("https://127.0.0.1:"), "{server}");
    let ca = cluster["certificate-authority-data"].as_str().unwrap();
    let token = demo["users"][0]["user"]["token"].as_str().unwrap();

    // The user's kubeconfig: the same cluster, and the plugin instead of the token.
    let record = dir.join("plugin-record.txt");
    let plugin = write_plugin(dir, token);
    let kubeconfig = dir.join("eks-like.kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\n\
             clusters:\n- name: eks\n  cluster:\n    server: {server}\n    certificate-authority-data: {ca}\n\
             users:\n- name: eks-user\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n\
             \x20     command: {plugin}\n      args: [eks, get-token, --cluster-name, shop]\n\
             \x20     env:\n      - name: PLUGIN_RECORD\n        value: {record}\n\
             \x20     interactiveMode: Never\n\
             contexts:\n- name: eks\n  context: {{cluster: eks, user: eks-user, namespace: default}}\n\
             current-context: eks\n",
            plugin = plugin.display(),
            record = record.display(),
        ),
    )
    .unwrap();
    let kubeconfig_arg = kubeconfig.display().to_string();
    let ask = |with_profile: bool| {
        let mut invocation = scenario.kopilot(&[
            "ask",
            "--kubeconfig",
            &kubeconfig_arg,
            "--output",
            "json",
            "Which pods in storefront are failing?",
        ]);
        if with_profile {
            invocation
                .env
                .push(("AWS_PROFILE".into(), "kopilot-e2e".into()));
        }
        invocation.run(RUN_LIMIT)
    };

    // Without the variable the plugin needs, the cluster cannot be used: the pre-flight check
    // says so (exit 2) before any task, and the model is never asked.
    let refused = ask(false);
    refused.expect_code(2);
    assert!(
        refused.stderr.contains("AWS_PROFILE is not set") || refused.stderr.contains("eks"),
        "{}",
        refused.stderr
    );
    assert!(scenario.stub().requests().is_empty());
    std::fs::remove_file(&record).ok();

    let out = ask(true);
    out.expect_code(0);
    let events = out.events();
    let kubectl = &events.tool_results()[0];
    assert!(
        kubectl.ok && kubectl.output.contains("cart-zk98gxtx6z-r29gb"),
        "kubectl, authenticated by the plugin's token, lists the pods: {kubectl:?}"
    );
    let result = events.result();
    assert_eq!(result.status, Status::Succeeded, "{result:?}");

    let seen = std::fs::read_to_string(&record).expect("the plugin ran");
    let by_kubectl: Vec<&str> = seen
        .lines()
        .filter(|l| l.starts_with("parent=kubectl"))
        .collect();
    assert!(
        !by_kubectl.is_empty(),
        "kubectl never ran the plugin:\n{seen}"
    );
    for line in by_kubectl {
        assert!(line.contains("exec_info=set"), "{line}");
    }
    // Whoever ran it (kubectl, or kopilot's own client for the pre-flight check), the plugin
    // had the profile and never the model's key.
    for line in seen.lines() {
        assert!(line.contains("aws_profile=kopilot-e2e"), "{line}");
        assert!(line.contains("openai_api_key=<unset>"), "{line}");
    }
    assert!(!seen.contains(MODEL_KEY), "{seen}");
    // The key did reach the model server, where it belongs.
    assert!(!scenario.stub().requests().is_empty());

    serve.signal("INT");
    serve.wait(RUN_LIMIT).expect_code(0);
}
