//! The real kubectl reads the demo cluster as it would a real one: tables with
//! server-computed columns, selectors, describe, logs, top and events.

mod common;

use common::{Harness, cols, line_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs kubectl"]
async fn get_pods_all_namespaces_prints_server_columns() -> anyhow::Result<()> {
    common::require_kubectl();
    let h = Harness::demo().await?;
    let out = h.kubectl(&["get", "pods", "-A"]).await?.ok().stdout;
    let header = cols(out.lines().next().unwrap_or_default());
    assert_eq!(
        header,
        ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    );
    let crash = cols(line_with(&out, "CrashLoopBackOff"));
    assert_eq!(crash[0], "storefront");
    assert!(crash[1].starts_with("cart-"), "{crash:?}");
    assert_eq!(crash[2], "0/1");
    assert_eq!(
        crash[4], "14",
        "restarts then the time since the last one: {crash:?}"
    );
    assert!(crash[5].starts_with('(') && crash[6] == "ago)", "{crash:?}");
    assert!(out.contains("ImagePullBackOff"), "{out}");
    assert!(line_with(&out, "etl-worker").contains("Pending"));
    assert!(line_with(&out, "postgres-0").contains("Running"));
    assert!(line_with(&out, "nightly-report").contains("Completed"));
    assert!(
        out.lines()
            .any(|l| l.starts_with("kube-system") && l.contains("coredns"))
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs kubectl"]
async fn wide_output_adds_ip_and_node_columns() -> anyhow::Result<()> {
    common::require_kubectl();
    let h = Harness::demo().await?;
    let out = h
        .kubectl(&["get", "pods", "-n", "payments", "-o", "wide"])
        .await?
        .ok()
        .stdout;
    assert!(
        out.lines().next().unwrap_or_default().contains("IP"),
        "{out}"
    );
    let row = cols(line_with(&out, "postgres-0"));
    assert!(row[5].starts_with("10.244."), "{row:?}");
    assert_eq!(row[6], "shop-worker-2");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs kubectl"]
async fn yaml_and_json_output_carry_the_whole_object() -> anyhow::Result<()> {
    common::require_kubectl();
    let h = Harness::demo().await?;
    let yaml = h
        .kubectl(&["get", "pod", "postgres-0", "-n", "payments", "-o", "yaml"])
        .await?
        .ok()
        .stdout;
    assert!(
        yaml.contains("kind: Pod") && yaml.contains("claimName: data-postgres-0"),
        "{yaml}"
    );
    let json = h
        .kubectl(&["get", "deploy", "-n", "payments", "-o", "json"])
        .await?
        .ok()
        .stdout;
    let list: serde_json::Value = serde_json::from_str(&json)?;
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["fraud-detector", "payments-api"]);
    let names = h
        .kubectl(&["get", "deploy", "-n", "payments", "-o", "name"])
        .await?
        .ok()
        .stdout;
    assert_eq!(
        names,
        "deployment.apps/fraud-detector\ndeployment.apps/payments-api\n"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs kubectl"]
async fn label_and_field_selectors_filter_lists() -> anyhow::Result<()> {
    common::require_kubectl();
    let h = Harness::demo().await?;
    let web = h
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
    assert_eq!(web.lines().count(), 3, "{web}");
    assert!(web.lines().all(|l| l.starts_with("pod/web-")));
    let set = h
        .kubectl(&[
            "get",
            "deploy",
            "-n",
            "storefront",
            "-l",
            "tier in (backend),app notin (cart,search)",
            "-o",
            "name",
        ])
        .await?
        .ok()
        .stdout;
    assert_eq!(
        set,
        "deployment.apps/catalog\ndeployment.apps/recommendations\n"
    );
    let pending = h
        .kubectl(&[
            "get",
            "pods",
            "-A",
            "--field-selector",
            "status.phase=Pending",
            "-o",
            "name",
        ])
        .await?
        .ok()
        .stdout;
    assert!(
        pending.contains("etl-worker") && pending.contains("recommendations"),
        "{pending}"
    );
    assert_eq!(pending.lines().count(), 2, "{pending}");
    let on_node = h
        .kubectl(&[
            "get",
            "pods",
            "-A",
            "--field-selector",
            "spec.nodeName=shop-control-plane,metadata.namespace=kube-system",
            "-o",
            "name",
        ])
        .await?
        .ok()
        .stdout;
    assert_eq!(on_node.lines().count(), 5, "{on_node}");
    let none = h
        .kubectl(&["get", "pods", "-n", "storefront", "-l", "app=nothing"])
        .await?
        .ok();
    assert!(
        none.stderr
            .contains("No resources found in storefront namespace."),
        "{}",
        none.stderr
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs kubectl"]
async fn get_all_and_several_types_print_each_kind() -> anyhow::Result<()> {
    common::require_kubectl();
    let h = Harness::demo().await?;
    let all = h
        .kubectl(&["get", "all", "-n", "storefront"])
        .await?
        .ok()
        .stdout;
    for kind in [
        "pod/web-",
        "service/cart-redis",
        "deployment.apps/cart",
        "replicaset.apps/cart-",
        "horizontalpodautoscaler.autoscaling/web",
    ] {
        assert!(all.contains(kind), "missing {kind} in:\n{all}");
    }
    let cart = cols(line_with(&all, "deployment.apps/cart "));
    assert_eq!(cart[1..4], ["2/3", "3", "2"], "{cart:?}");
    let both = h
        .kubectl(&["get", "deploy,svc", "-n", "payments"])
        .await?
        .ok()
        .stdout;
    assert!(
        both.contains("deployment.apps/payments-api") && both.contains("service/postgres"),
        "{both}"
    );
    let svc = cols(line_with(&both, "service/payments-api"));
    assert_eq!(
        svc[1..5],
        ["ClusterIP", "10.96.20.11", "<none>", "443/TCP"],
        "{svc:?}"
    );
    let nodes = h.kubectl(&["get", "nodes"]).await?.ok().stdout;
    assert_eq!(cols(line_with(&nodes, "shop-worker-3"))[1], "NotReady");
    assert_eq!(
        cols(line_with(&nodes, "shop-control-plane"))[2],
        "control-plane"
    );
    let labels = h
        .kubectl(&["get", "ns", "payments", "--show-labels"])
        .await?
        .ok()
        .stdout;
    assert!(labels.contains("team=payments"), "{labels}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs kubectl"]
async fn describe_pod_shows_state_last_termination_and_events() -> anyhow::Result<()> {
    common::require_kubectl();
    let h = Harness::demo().await?;
    let name = crashing_cart_pod(&h).await?;
    let out = h
        .kubectl(&["describe", "pod", &name, "-n", "storefront"])
        .await?
        .ok()
        .stdout;
    assert!(out.contains("Reason:       CrashLoopBackOff"), "{out}");
    assert!(
        out.contains("Last State:     Terminated") && out.contains("Exit Code:    1"),
        "{out}"
    );
    assert!(out.contains("Restart Count:  14"), "{out}");
    assert!(out.contains("Controlled By:  ReplicaSet/cart-"), "{out}");
    assert!(
        out.contains("Back-off restarting failed container app"),
        "events are found by involvedObject uid:\n{out}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs kubectl"]
async fn describe_deployment_and_node() -> anyhow::Result<()> {
    common::require_kubectl();
    let h = Harness::demo().await?;
    let deploy = h
        .kubectl(&["describe", "deploy", "cart", "-n", "storefront"])
        .await?
        .ok()
        .stdout;
    assert!(
        deploy.contains("3 desired | 3 updated | 3 total | 2 available | 1 unavailable"),
        "{deploy}"
    );
    assert!(deploy.contains("NewReplicaSet:   cart-"), "{deploy}");
    assert!(deploy.contains("Scaled up replica set cart-"), "{deploy}");
    let node = h
        .kubectl(&["describe", "node", "shop-worker-4"])
        .await?
        .ok()
        .stdout;
    assert!(node.contains("MemoryPressure   True"), "{node}");
    assert!(
        node.contains("node.kubernetes.io/memory-pressure:NoSchedule"),
        "{node}"
    );
    assert!(
        node.contains("fraud-detector-"),
        "non-terminated pods on the node are listed:\n{node}"
    );
    assert!(
        !node.contains("Failed to get lease"),
        "the node lease is served:\n{node}"
    );
    let secret = h
        .kubectl(&["describe", "secret", "payments-db", "-n", "payments"])
        .await?
        .ok()
        .stdout;
    assert!(secret.contains("password:  25 bytes"), "{secret}");
    Ok(())
}

async fn crashing_cart_pod(h: &Harness) -> anyhow::Result<String> {
    let pods = h
        .kubectl(&["get", "pods", "-n", "storefront", "-l", "app=cart"])
        .await?
        .ok()
        .stdout;
    Ok(cols(line_with(&pods, "CrashLoopBackOff"))[0].to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs kubectl"]
async fn logs_tail_and_previous_come_from_the_fixture() -> anyhow::Result<()> {
    common::require_kubectl();
    let h = Harness::demo().await?;
    let name = crashing_cart_pod(&h).await?;
    let all = h
        .kubectl(&["logs", &name, "-n", "storefront"])
        .await?
        .ok()
        .stdout;
    assert!(
        all.contains("FATAL cart: cannot start without session store"),
        "{all}"
    );
    let tail = h
        .kubectl(&["logs", &name, "-n", "storefront", "--tail", "1"])
        .await?
        .ok()
        .stdout;
    assert_eq!(tail.lines().count(), 1);
    assert!(tail.contains("FATAL"), "{tail}");
    let previous = h
        .kubectl(&["logs", &name, "-n", "storefront", "--previous"])
        .await?
        .ok()
        .stdout;
    assert!(
        previous.contains("11:50:1"),
        "the previous run has its own log:\n{previous}"
    );
    let by_deploy = h
        .kubectl(&["logs", "deploy/report-builder", "-n", "analytics"])
        .await?
        .ok();
    assert!(by_deploy.stdout.contains("idle"), "{}", by_deploy.stdout);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs kubectl"]
async fn logs_previous_without_a_restart_is_a_bad_request() -> anyhow::Result<()> {
    common::require_kubectl();
    let h = Harness::demo().await?;
    let run = h
        .kubectl(&["logs", "postgres-0", "-n", "payments", "--previous"])
        .await?
        .failed();
    assert_eq!(
        run.stderr.trim(),
        "Error from server (BadRequest): previous terminated container \"postgres\" in pod \"postgres-0\" not found"
    );
    let pods = h
        .kubectl(&[
            "get",
            "pods",
            "-n",
            "storefront",
            "-l",
            "app=recommendations",
            "-o",
            "name",
        ])
        .await?
        .ok()
        .stdout;
    let run = h
        .kubectl(&["logs", pods.trim(), "-n", "storefront"])
        .await?
        .failed();
    assert!(
        run.stderr
            .contains("is waiting to start: trying and failing to pull image"),
        "{}",
        run.stderr
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs kubectl"]
async fn top_reads_seeded_pod_and_node_metrics() -> anyhow::Result<()> {
    common::require_kubectl();
    let h = Harness::demo().await?;
    let pods = h
        .kubectl(&["top", "pods", "-n", "analytics"])
        .await?
        .ok()
        .stdout;
    let row = cols(line_with(&pods, "report-builder-"));
    assert!(row[1] == "1m" || row[1] == "2m", "{row:?}");
    let nodes = h.kubectl(&["top", "nodes"]).await?.ok().stdout;
    let pressure = cols(line_with(&nodes, "shop-worker-4"));
    assert_eq!(
        pressure[1..5],
        ["2710m", "69%", "14620Mi", "98%"],
        "{pressure:?}"
    );
    assert!(
        line_with(&nodes, "shop-worker-3").contains("<unknown>"),
        "{nodes}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs kubectl"]
async fn warning_events_are_listed_with_server_columns() -> anyhow::Result<()> {
    common::require_kubectl();
    let h = Harness::demo().await?;
    let out = h
        .kubectl(&["get", "events", "-A", "--field-selector", "type=Warning"])
        .await?
        .ok()
        .stdout;
    assert!(
        out.lines().next().unwrap_or_default().contains("LAST SEEN"),
        "{out}"
    );
    assert!(
        out.contains("FailedScheduling")
            && out.contains("BackOff")
            && out.contains("Insufficient memory"),
        "{out}"
    );
    assert!(
        !out.contains("ScalingReplicaSet"),
        "Normal events are filtered out:\n{out}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs kubectl"]
async fn sort_by_gets_whole_objects_in_rows() -> anyhow::Result<()> {
    common::require_kubectl();
    let h = Harness::demo().await?;
    let out = h
        .kubectl(&[
            "get",
            "pods",
            "-n",
            "storefront",
            "--sort-by=.status.containerStatuses[0].restartCount",
        ])
        .await?
        .ok()
        .stdout;
    let last = out.lines().last().unwrap_or_default();
    assert!(
        last.contains("CrashLoopBackOff"),
        "the most restarted pod sorts last:\n{out}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs kubectl"]
async fn chunked_lists_print_the_same_rows() -> anyhow::Result<()> {
    common::require_kubectl();
    let h = Harness::demo().await?;
    let whole = h
        .kubectl(&["get", "pods", "-A", "--no-headers"])
        .await?
        .ok()
        .stdout;
    let chunked = h
        .kubectl(&["get", "pods", "-A", "--no-headers", "--chunk-size=4"])
        .await?
        .ok()
        .stdout;
    let names = |t: &str| t.lines().map(|l| cols(l)[1].to_owned()).collect::<Vec<_>>();
    assert_eq!(names(&whole), names(&chunked));
    assert!(names(&whole).len() > 30);
    Ok(())
}
