//! kubectl's writes (scale, set, label, patch, rollout, delete, create, apply, diff) change
//! what later reads see, with kubectl's usual messages, and dry runs change nothing.

mod common;

use common::{Harness, cols, line_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs kubectl"]
async fn scale_then_get_shows_the_new_replica_count() -> anyhow::Result<()> {
    common::require_kubectl();
    let h = Harness::demo().await?;
    let out = h
        .kubectl(&["scale", "deploy/web", "-n", "storefront", "--replicas=5"])
        .await?
        .ok()
        .stdout;
    assert_eq!(out.trim(), "deployment.apps/web scaled");
    let get = h
        .kubectl(&["get", "deploy", "web", "-n", "storefront"])
        .await?
        .ok()
        .stdout;
    assert_eq!(
        cols(line_with(&get, "web"))[1..4],
        ["5/5", "5", "5"],
        "{get}"
    );
    let d = h
        .cluster
        .get("apps/v1", "Deployment", "storefront", "web")
        .unwrap();
    assert_eq!(
        d["metadata"]["generation"], 5,
        "a spec change bumps the generation (seeded at 4)"
    );
    assert_eq!(d["status"]["observedGeneration"], 5);
    let rs = h
        .kubectl(&["get", "rs", "-n", "storefront", "-l", "app=web"])
        .await?
        .ok()
        .stdout;
    assert_eq!(
        cols(line_with(&rs, "web-"))[1],
        "5",
        "the newest ReplicaSet follows:\n{rs}"
    );
    let pods = h
        .kubectl(&[
            "get",
            "pods",
            "-n",
            "storefront",
            "-l",
            "app=web",
            "--no-headers",
        ])
        .await?
        .ok()
        .stdout;
    assert_eq!(
        pods.lines().count(),
        5,
        "the ReplicaSet makes pods:\n{pods}"
    );
    assert!(
        pods.lines().all(|l| cols(l)[1..3] == ["1/1", "Running"]),
        "{pods}"
    );
    h.kubectl(&["scale", "deploy/web", "-n", "storefront", "--replicas=2"])
        .await?
        .ok();
    let pods = h
        .kubectl(&[
            "get",
            "pods",
            "-n",
            "storefront",
            "-l",
            "app=web",
            "-o",
            "name",
        ])
        .await?
        .ok()
        .stdout;
    assert_eq!(pods.lines().count(), 2, "{pods}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs kubectl"]
async fn set_resources_changes_only_the_named_container() -> anyhow::Result<()> {
    common::require_kubectl();
    let h = Harness::demo().await?;
    h.kubectl(&[
        "set",
        "resources",
        "deploy/catalog",
        "-n",
        "storefront",
        "-c",
        "catalog",
        "--requests=cpu=200m,memory=768Mi",
    ])
    .await?
    .ok();
    let res = h
        .kubectl(&[
            "get",
            "deploy",
            "catalog",
            "-n",
            "storefront",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].resources}",
        ])
        .await?
        .ok()
        .stdout;
    let res: serde_json::Value = serde_json::from_str(&res)?;
    assert_eq!(
        res["requests"],
        serde_json::json!({"cpu": "200m", "memory": "768Mi"})
    );
    assert_eq!(
        res["limits"],
        serde_json::json!({"cpu": "4", "memory": "8Gi"}),
        "limits are kept"
    );
    let d = h
        .cluster
        .get("apps/v1", "Deployment", "storefront", "catalog")
        .unwrap();
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        "ghcr.io/example-shop/catalog:3.8.2"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs kubectl"]
async fn label_and_annotate_then_selectors_find_the_object() -> anyhow::Result<()> {
    common::require_kubectl();
    let h = Harness::demo().await?;
    let out = h
        .kubectl(&[
            "label",
            "deploy",
            "web",
            "-n",
            "storefront",
            "owner=shop-team",
        ])
        .await?
        .ok()
        .stdout;
    assert_eq!(out.trim(), "deployment.apps/web labeled");
    let rv = h.cluster.resource_version();
    let again = h
        .kubectl(&[
            "label",
            "deploy",
            "web",
            "-n",
            "storefront",
            "owner=shop-team",
            "--overwrite",
        ])
        .await?
        .ok()
        .stdout;
    assert_eq!(again.trim(), "deployment.apps/web not labeled");
    assert_eq!(
        h.cluster.resource_version(),
        rv,
        "a no-op does not bump the resourceVersion"
    );
    h.kubectl(&[
        "annotate",
        "deploy",
        "web",
        "-n",
        "storefront",
        "kopilot.dev/reviewed=yes",
    ])
    .await?
    .ok();
    let found = h
        .kubectl(&[
            "get",
            "deploy",
            "-n",
            "storefront",
            "-l",
            "owner=shop-team",
            "-o",
            "name",
        ])
        .await?
        .ok()
        .stdout;
    assert_eq!(found.trim(), "deployment.apps/web");
    let d = h
        .cluster
        .get("apps/v1", "Deployment", "storefront", "web")
        .unwrap();
    assert_eq!(d["metadata"]["annotations"]["kopilot.dev/reviewed"], "yes");
    h.kubectl(&["label", "deploy", "web", "-n", "storefront", "owner-"])
        .await?
        .ok();
    let gone = h
        .kubectl(&[
            "get",
            "deploy",
            "-n",
            "storefront",
            "-l",
            "owner",
            "-o",
            "name",
        ])
        .await?
        .ok()
        .stdout;
    assert!(gone.is_empty(), "{gone}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs kubectl"]
async fn patch_in_all_three_formats() -> anyhow::Result<()> {
    common::require_kubectl();
    let h = Harness::demo().await?;
    let strategic = r#"{"spec":{"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:1.27.4"}]}}}}"#;
    let out = h
        .kubectl(&[
            "patch",
            "deploy",
            "web",
            "-n",
            "storefront",
            "-p",
            strategic,
        ])
        .await?
        .ok()
        .stdout;
    assert_eq!(out.trim(), "deployment.apps/web patched");
    let again = h
        .kubectl(&[
            "patch",
            "deploy",
            "web",
            "-n",
            "storefront",
            "-p",
            strategic,
        ])
        .await?
        .ok()
        .stdout;
    assert_eq!(again.trim(), "deployment.apps/web patched (no change)");
    let d = h
        .cluster
        .get("apps/v1", "Deployment", "storefront", "web")
        .unwrap();
    let c = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["image"], "nginx:1.27.4");
    assert_eq!(
        c["volumeMounts"][0]["name"], "media",
        "strategic merge keeps the other fields"
    );
    h.kubectl(&[
        "patch",
        "deploy",
        "web",
        "-n",
        "storefront",
        "--type",
        "merge",
        "-p",
        r#"{"metadata":{"labels":{"tier":null,"m":"1"}}}"#,
    ])
    .await?
    .ok();
    h.kubectl(&[
        "patch",
        "deploy",
        "web",
        "-n",
        "storefront",
        "--type",
        "json",
        "-p",
        r#"[{"op":"replace","path":"/spec/replicas","value":4}]"#,
    ])
    .await?
    .ok();
    let d = h
        .cluster
        .get("apps/v1", "Deployment", "storefront", "web")
        .unwrap();
    assert_eq!(
        d["metadata"]["labels"],
        serde_json::json!({"app": "web", "m": "1"})
    );
    assert_eq!(d["spec"]["replicas"], 4);
    let bad = h
        .kubectl(&[
            "patch",
            "deploy",
            "web",
            "-n",
            "storefront",
            "--type",
            "json",
            "-p",
            r#"[{"op":"remove","path":"/spec/nothing"}]"#,
        ])
        .await?
        .failed();
    assert!(bad.stderr.contains("/spec/nothing"), "{}", bad.stderr);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs kubectl"]
async fn rollout_restart_then_status_completes() -> anyhow::Result<()> {
    common::require_kubectl();
    let h = Harness::demo().await?;
    let out = h
        .kubectl(&[
            "rollout",
            "restart",
            "deploy/payments-api",
            "-n",
            "payments",
        ])
        .await?
        .ok()
        .stdout;
    assert_eq!(out.trim(), "deployment.apps/payments-api restarted");
    let d = h
        .cluster
        .get("apps/v1", "Deployment", "payments", "payments-api")
        .unwrap();
    assert!(
        d["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"]
            .is_string()
    );
    let status = h
        .kubectl(&[
            "rollout",
            "status",
            "deploy/payments-api",
            "-n",
            "payments",
            "--timeout=10s",
        ])
        .await?
        .ok()
        .stdout;
    assert!(
        status.contains("deployment \"payments-api\" successfully rolled out"),
        "{status}"
    );
    // A deployment whose broken pod keeps failing does not converge, as on a real cluster.
    let stuck = h
        .kubectl(&[
            "rollout",
            "status",
            "deploy/cart",
            "-n",
            "storefront",
            "--timeout=2s",
        ])
        .await?
        .failed();
    assert!(
        stuck
            .stdout
            .contains("Waiting for deployment \"cart\" rollout to finish"),
        "{}",
        stuck.stdout
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs kubectl"]
async fn a_template_change_rolls_out_a_new_replicaset() -> anyhow::Result<()> {
    common::require_kubectl();
    let h = Harness::demo().await?;
    let old_pods = h
        .kubectl(&[
            "get",
            "pods",
            "-n",
            "payments",
            "-l",
            "app=payments-api",
            "-o",
            "name",
        ])
        .await?
        .ok()
        .stdout;
    h.kubectl(&[
        "set",
        "image",
        "deploy/payments-api",
        "-n",
        "payments",
        "api=ghcr.io/example-shop/payments-api:5.3.0",
    ])
    .await?
    .ok();
    let rs = h
        .kubectl(&[
            "get",
            "rs",
            "-n",
            "payments",
            "-l",
            "app=payments-api",
            "--no-headers",
        ])
        .await?
        .ok()
        .stdout;
    assert_eq!(rs.lines().count(), 2, "old and new ReplicaSet:\n{rs}");
    assert!(
        rs.lines().any(|l| cols(l)[1..4] == ["0", "0", "0"]),
        "the old one is scaled to zero:\n{rs}"
    );
    assert!(
        rs.lines().any(|l| cols(l)[1..4] == ["2", "2", "2"]),
        "the new one has the replicas:\n{rs}"
    );
    let pods = h
        .kubectl(&[
            "get",
            "pods",
            "-n",
            "payments",
            "-l",
            "app=payments-api",
            "--no-headers",
        ])
        .await?
        .ok()
        .stdout;
    assert_eq!(pods.lines().count(), 2, "{pods}");
    assert!(
        pods.lines()
            .all(|l| !old_pods.contains(cols(l)[0]) && cols(l)[2] == "Running"),
        "{pods}"
    );
    let describe = h
        .kubectl(&["describe", "deploy", "payments-api", "-n", "payments"])
        .await?
        .ok()
        .stdout;
    let new_rs = line_with(&describe, "NewReplicaSet:");
    assert!(new_rs.contains("(2/2 replicas created)"), "{describe}");
    let history = h
        .kubectl(&[
            "rollout",
            "history",
            "deploy/payments-api",
            "-n",
            "payments",
        ])
        .await?
        .ok()
        .stdout;
    assert!(
        history.contains("5 ") && history.contains("6 "),
        "{history}"
    );
    let images = h
        .kubectl(&[
            "get",
            "pods",
            "-n",
            "payments",
            "-l",
            "app=payments-api",
            "-o",
            "jsonpath={.items[*].spec.containers[0].image}",
        ])
        .await?
        .ok()
        .stdout;
    assert_eq!(
        images,
        "ghcr.io/example-shop/payments-api:5.3.0 ghcr.io/example-shop/payments-api:5.3.0"
    );
    let undo = h
        .kubectl(&["rollout", "undo", "deploy/payments-api", "-n", "payments"])
        .await?
        .ok()
        .stdout;
    assert!(undo.contains("rolled back"), "{undo}");
    let d = h
        .cluster
        .get("apps/v1", "Deployment", "payments", "payments-api")
        .unwrap();
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        "ghcr.io/example-shop/payments-api:5.2.0"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs kubectl"]
async fn delete_pod_then_get_is_not_found() -> anyhow::Result<()> {
    common::require_kubectl();
    let h = Harness::demo().await?;
    let out = h
        .kubectl(&["delete", "pod", "postgres-0", "-n", "payments"])
        .await?
        .ok()
        .stdout;
    assert_eq!(out.trim(), "pod \"postgres-0\" deleted");
    let run = h
        .kubectl(&["get", "pod", "postgres-0", "-n", "payments"])
        .await?
        .failed();
    assert_eq!(
        run.stderr.trim(),
        "Error from server (NotFound): pods \"postgres-0\" not found"
    );
    assert!(
        h.cluster
            .get("v1", "Pod", "payments", "postgres-0")
            .is_none()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs kubectl"]
async fn a_deleted_replicaset_pod_is_replaced() -> anyhow::Result<()> {
    common::require_kubectl();
    let h = Harness::demo().await?;
    let before = h
        .kubectl(&[
            "get",
            "pods",
            "-n",
            "storefront",
            "-l",
            "app=catalog",
            "-o",
            "name",
        ])
        .await?
        .ok()
        .stdout;
    let victim = before.lines().next().unwrap().to_owned();
    h.kubectl(&["delete", &victim, "-n", "storefront"])
        .await?
        .ok();
    let after = h
        .kubectl(&[
            "get",
            "pods",
            "-n",
            "storefront",
            "-l",
            "app=catalog",
            "--no-headers",
        ])
        .await?
        .ok()
        .stdout;
    assert_eq!(after.lines().count(), 2, "{after}");
    assert!(
        !after.contains(victim.trim_start_matches("pod/")),
        "{after}"
    );
    let fresh = after
        .lines()
        .find(|l| !before.contains(cols(l)[0]))
        .unwrap();
    assert_eq!(cols(fresh)[1..3], ["1/1", "Running"], "{fresh}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs kubectl"]
async fn delete_deployment_cascades_to_replicasets_and_pods() -> anyhow::Result<()> {
    common::require_kubectl();
    let h = Harness::demo().await?;
    assert_eq!(
        h.cluster
            .list("v1", "Pod", Some("storefront"))
            .iter()
            .filter(|p| p["metadata"]["labels"]["app"] == "catalog")
            .count(),
        2
    );
    h.kubectl(&["delete", "deploy", "catalog", "-n", "storefront"])
        .await?
        .ok();
    let left = h
        .kubectl(&["get", "rs,pods", "-n", "storefront", "-l", "app=catalog"])
        .await?
        .ok();
    assert!(left.stdout.is_empty(), "{}", left.stdout);
    let run = h
        .kubectl(&["get", "deploy", "catalog", "-n", "storefront"])
        .await?
        .failed();
    assert_eq!(
        run.stderr.trim(),
        "Error from server (NotFound): deployments.apps \"catalog\" not found"
    );
    // Orphaning keeps the dependents and removes their owner reference.
    h.kubectl(&[
        "delete",
        "deploy",
        "search",
        "-n",
        "storefront",
        "--cascade=orphan",
    ])
    .await?
    .ok();
    let rs = h.cluster.list("apps/v1", "ReplicaSet", Some("storefront"));
    let search_rs = rs
        .iter()
        .find(|r| r["metadata"]["labels"]["app"] == "search")
        .unwrap();
    assert!(
        search_rs["metadata"]
            .get("ownerReferences")
            .is_none_or(|o| o.as_array().unwrap().is_empty())
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs kubectl"]
async fn deleting_a_namespace_deletes_what_is_in_it() -> anyhow::Result<()> {
    common::require_kubectl();
    let h = Harness::demo().await?;
    h.kubectl(&["delete", "namespace", "analytics", "--wait=false"])
        .await?
        .ok();
    assert!(h.cluster.list("v1", "Pod", Some("analytics")).is_empty());
    let run = h.kubectl(&["get", "ns", "analytics"]).await?.failed();
    assert!(
        run.stderr.contains("namespaces \"analytics\" not found"),
        "{}",
        run.stderr
    );
    Ok(())
}

const CONFIGMAP: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: feature-flags\n  namespace: storefront\ndata:\n  checkout: \"on\"\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs kubectl"]
async fn create_and_apply_new_and_existing_objects() -> anyhow::Result<()> {
    common::require_kubectl();
    let h = Harness::demo().await?;
    let file = h.file("cm.yaml", CONFIGMAP)?;
    let out = h.kubectl(&["create", "-f", &file]).await?.ok().stdout;
    assert_eq!(out.trim(), "configmap/feature-flags created");
    let dup = h.kubectl(&["create", "-f", &file]).await?.failed();
    assert!(
        dup.stderr.contains(&format!("Error from server (AlreadyExists): error when creating \"{file}\": configmaps \"feature-flags\" already exists")),
        "{}",
        dup.stderr
    );
    let applied = h.kubectl(&["apply", "-f", &file]).await?.ok().stdout;
    assert_eq!(applied.trim(), "configmap/feature-flags configured");
    let unchanged = h.kubectl(&["apply", "-f", &file]).await?.ok().stdout;
    assert_eq!(unchanged.trim(), "configmap/feature-flags unchanged");
    let changed = h.file("cm2.yaml", &CONFIGMAP.replace("\"on\"", "\"off\""))?;
    h.kubectl(&["apply", "-f", &changed]).await?.ok();
    assert_eq!(
        h.cluster
            .get("v1", "ConfigMap", "storefront", "feature-flags")
            .unwrap()["data"]["checkout"],
        "off"
    );
    let new = h.file("new.yaml", &CONFIGMAP.replace("feature-flags", "brand-new"))?;
    let created = h.kubectl(&["apply", "-f", &new]).await?.ok().stdout;
    assert_eq!(created.trim(), "configmap/brand-new created");
    let ssa = h.file(
        "ssa.yaml",
        &CONFIGMAP.replace("feature-flags", "server-side"),
    )?;
    let out = h
        .kubectl(&["apply", "--server-side", "-f", &ssa])
        .await?
        .ok()
        .stdout;
    assert_eq!(out.trim(), "configmap/server-side serverside-applied");
    assert!(
        h.cluster
            .get("v1", "ConfigMap", "storefront", "server-side")
            .is_some()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs kubectl"]
async fn replace_puts_the_whole_object_and_checks_the_resource_version() -> anyhow::Result<()> {
    common::require_kubectl();
    let h = Harness::demo().await?;
    let file = h.file("cm.yaml", CONFIGMAP)?;
    h.kubectl(&["create", "-f", &file]).await?.ok();
    let replaced = h.file(
        "cm2.yaml",
        &CONFIGMAP.replace("checkout: \"on\"", "search: \"beta\""),
    )?;
    let out = h.kubectl(&["replace", "-f", &replaced]).await?.ok().stdout;
    assert_eq!(out.trim(), "configmap/feature-flags replaced");
    let cm = h
        .cluster
        .get("v1", "ConfigMap", "storefront", "feature-flags")
        .unwrap();
    assert_eq!(cm["data"], serde_json::json!({"search": "beta"}));
    let stale = CONFIGMAP.replace(
        "  namespace: storefront\n",
        "  namespace: storefront\n  resourceVersion: \"1\"\n",
    );
    let stale = h.file("stale.yaml", &stale)?;
    let run = h.kubectl(&["replace", "-f", &stale]).await?.failed();
    assert!(
        run.stderr.contains("Operation cannot be fulfilled on configmaps \"feature-flags\": the object has been modified"),
        "{}",
        run.stderr
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs kubectl"]
async fn diff_and_server_dry_runs_change_nothing() -> anyhow::Result<()> {
    common::require_kubectl();
    let h = Harness::demo().await?;
    let file = h.file("cm.yaml", CONFIGMAP)?;
    h.kubectl(&["create", "-f", &file]).await?.ok();
    let changed = h.file("cm2.yaml", &CONFIGMAP.replace("\"on\"", "\"off\""))?;
    let rv = h.cluster.resource_version();
    let diff = h.kubectl(&["diff", "-f", &changed]).await?;
    assert_eq!(
        diff.code, 1,
        "kubectl diff exits 1 when there are differences: {}",
        diff.stderr
    );
    assert!(
        diff.stdout.contains("-  checkout: \"on\"") && diff.stdout.contains("+  checkout: \"off\""),
        "{}",
        diff.stdout
    );
    let new = h.file("new.yaml", &CONFIGMAP.replace("feature-flags", "not-yet"))?;
    let out = h
        .kubectl(&["create", "-f", &new, "--dry-run=server"])
        .await?
        .ok()
        .stdout;
    assert_eq!(out.trim(), "configmap/not-yet created (server dry run)");
    h.kubectl(&[
        "scale",
        "deploy/web",
        "-n",
        "storefront",
        "--replicas=9",
        "--dry-run=server",
    ])
    .await?
    .ok();
    h.kubectl(&[
        "delete",
        "deploy/web",
        "-n",
        "storefront",
        "--dry-run=server",
    ])
    .await?
    .ok();
    assert_eq!(h.cluster.resource_version(), rv, "dry runs store nothing");
    assert_eq!(
        h.cluster
            .get("v1", "ConfigMap", "storefront", "feature-flags")
            .unwrap()["data"]["checkout"],
        "on"
    );
    assert!(
        h.cluster
            .get("v1", "ConfigMap", "storefront", "not-yet")
            .is_none()
    );
    assert_eq!(
        h.cluster
            .get("apps/v1", "Deployment", "storefront", "web")
            .unwrap()["spec"]["replicas"],
        3
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs kubectl"]
async fn create_namespace_configmap_and_secret_generators_are_decoded_from_protobuf()
-> anyhow::Result<()> {
    common::require_kubectl();
    let h = Harness::demo().await?;
    let out = h
        .kubectl(&["create", "namespace", "sandbox"])
        .await?
        .ok()
        .stdout;
    assert_eq!(out.trim(), "namespace/sandbox created");
    let dup = h
        .kubectl(&["create", "namespace", "sandbox"])
        .await?
        .failed();
    assert_eq!(
        dup.stderr.trim(),
        "Error from server (AlreadyExists): namespaces \"sandbox\" already exists"
    );
    h.kubectl(&[
        "create",
        "configmap",
        "settings",
        "-n",
        "sandbox",
        "--from-literal=mode=fast",
    ])
    .await?
    .ok();
    h.kubectl(&[
        "create",
        "secret",
        "generic",
        "token",
        "-n",
        "sandbox",
        "--from-literal=value=hunter2",
    ])
    .await?
    .ok();
    assert_eq!(
        h.cluster
            .get("v1", "ConfigMap", "sandbox", "settings")
            .unwrap()["data"]["mode"],
        "fast"
    );
    assert_eq!(
        h.cluster.get("v1", "Secret", "sandbox", "token").unwrap()["data"]["value"],
        "aHVudGVyMg=="
    );
    let ns = h.kubectl(&["get", "ns", "sandbox"]).await?.ok().stdout;
    assert_eq!(cols(line_with(&ns, "sandbox"))[1], "Active");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs kubectl"]
async fn create_deployment_generator_gets_a_clear_unsupported_media_type() -> anyhow::Result<()> {
    common::require_kubectl();
    let h = Harness::demo().await?;
    let run = h
        .kubectl(&[
            "create",
            "deployment",
            "web2",
            "-n",
            "storefront",
            "--image=nginx",
        ])
        .await?
        .failed();
    assert!(run.stderr.contains("unknown format"), "{}", run.stderr);
    assert!(
        run.stderr.contains("apps/v1 Deployment") && run.stderr.contains("kubectl create -f"),
        "{}",
        run.stderr
    );
    assert!(
        h.cluster
            .get("apps/v1", "Deployment", "storefront", "web2")
            .is_none()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs kubectl"]
async fn invalid_objects_get_kubectls_invalid_message() -> anyhow::Result<()> {
    common::require_kubectl();
    let h = Harness::demo().await?;
    let run = h
        .kubectl(&[
            "patch",
            "deploy",
            "web",
            "-n",
            "storefront",
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"replicas":-1}}"#,
        ])
        .await?
        .failed();
    assert_eq!(
        run.stderr.trim(),
        "The Deployment \"web\" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0"
    );
    let pod = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"Bad_Name","namespace":"storefront"},"spec":{"containers":[{"name":"a","image":"x"}]}}"#;
    let run = h
        .kubectl_stdin(&["create", "-f", "-"], Some(pod))
        .await?
        .failed();
    assert!(run.stderr.starts_with("The Pod \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain"), "{}", run.stderr);
    let missing_ns =
        r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","namespace":"nowhere"}}"#;
    let run = h
        .kubectl_stdin(&["create", "-f", "-"], Some(missing_ns))
        .await?
        .failed();
    assert!(
        run.stderr.contains("namespaces \"nowhere\" not found"),
        "{}",
        run.stderr
    );
    Ok(())
}
