//! Every problem listed in `demo/README.md` is really in the served demo cluster, and the
//! clean objects beside them stay clean. Analyzers and end-to-end tests rely on this list.

use kopilot_fake::{FakeCluster, demo};
use serde_json::Value;

fn pods_of(c: &FakeCluster, ns: &str, app: &str) -> Vec<Value> {
    c.list("v1", "Pod", Some(ns))
        .into_iter()
        .filter(|p| p["metadata"]["labels"]["app"] == app)
        .collect()
}

fn pod_usage(c: &FakeCluster, ns: &str, pod: &Value) -> (String, String) {
    let name = pod["metadata"]["name"].as_str().unwrap();
    let m = c
        .get("metrics.k8s.io/v1beta1", "PodMetrics", ns, name)
        .unwrap_or_else(|| panic!("no metrics for {name}"));
    let u = &m["containers"][0]["usage"];
    (
        u["cpu"].as_str().unwrap().to_owned(),
        u["memory"].as_str().unwrap().to_owned(),
    )
}

fn millicores(q: &str) -> f64 {
    q.strip_suffix('m').map_or_else(
        || q.parse::<f64>().unwrap() * 1000.0,
        |m| m.parse().unwrap(),
    )
}

fn requests(d: &Value) -> (&str, &str) {
    let r = &d["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"];
    (r["cpu"].as_str().unwrap(), r["memory"].as_str().unwrap())
}

#[tokio::test]
async fn over_provisioned_and_idle_workloads() -> anyhow::Result<()> {
    let c = demo::builder().start().await?;
    for (ns, name, factor) in [
        ("storefront", "catalog", 2.0),
        ("platform", "grafana", 2.0),
        ("analytics", "report-builder", 2.0),
    ] {
        let d = c.get("apps/v1", "Deployment", ns, name).unwrap();
        let (cpu, _) = requests(&d);
        let pods = pods_of(&c, ns, name);
        assert!(!pods.is_empty());
        for p in &pods {
            let (used, _) = pod_usage(&c, ns, p);
            assert!(
                millicores(cpu) >= factor * millicores(&used),
                "{ns}/{name}: {cpu} vs {used}"
            );
            assert!(millicores(cpu) - millicores(&used) >= 100.0);
        }
    }
    for p in pods_of(&c, "analytics", "report-builder") {
        assert!(millicores(&pod_usage(&c, "analytics", &p).0) <= 5.0, "idle");
    }
    // No other workload is idle: every other pod with metrics uses more than 5m CPU.
    for ns in [
        "kube-system",
        "storefront",
        "payments",
        "platform",
        "analytics",
    ] {
        for p in c.list("v1", "Pod", Some(ns)) {
            let owned_by_node = p["metadata"]["ownerReferences"][0]["kind"] == "Node";
            let name = p["metadata"]["name"].as_str().unwrap();
            if owned_by_node || name.starts_with("report-builder-") {
                continue;
            }
            if let Some(m) = c.get("metrics.k8s.io/v1beta1", "PodMetrics", ns, name) {
                let cpu = m["containers"][0]["usage"]["cpu"].as_str().unwrap();
                assert!(
                    millicores(cpu) > 5.0,
                    "{ns}/{name} would look idle at {cpu}"
                );
            }
        }
    }
    // The clean web deployment uses more than half of what it requests.
    for p in pods_of(&c, "storefront", "web") {
        assert!(millicores(&pod_usage(&c, "storefront", &p).0) * 2.0 > 100.0);
    }
    Ok(())
}

#[tokio::test]
async fn storage_problems() -> anyhow::Result<()> {
    let c = demo::builder().start().await?;
    let mounted: Vec<String> = c
        .list("v1", "Pod", None)
        .iter()
        .flat_map(|p| {
            let ns = p["metadata"]["namespace"].as_str().unwrap().to_owned();
            p["spec"]["volumes"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter_map(move |v| {
                    v["persistentVolumeClaim"]["claimName"]
                        .as_str()
                        .map(|n| format!("{ns}/{n}"))
                })
        })
        .collect();
    let pvc = c
        .get("v1", "PersistentVolumeClaim", "analytics", "warehouse-data")
        .unwrap();
    assert_eq!(pvc["status"]["phase"], "Bound");
    assert!(!mounted.contains(&"analytics/warehouse-data".to_owned()));
    assert!(mounted.contains(&"storefront/media-uploads".to_owned()));
    assert!(mounted.contains(&"payments/data-postgres-0".to_owned()));
    let pv = c
        .get(
            "v1",
            "PersistentVolume",
            "",
            "pvc-4d8e2f1c-3b7a-4a9e-8c6d-1e2f3a4b5c6d",
        )
        .unwrap();
    assert_eq!(pv["status"]["phase"], "Released");
    assert_eq!(pv["spec"]["capacity"]["storage"], "200Gi");
    assert!(
        c.get("v1", "PersistentVolumeClaim", "analytics", "old-reports")
            .is_none()
    );
    Ok(())
}

fn container_status(pod: &Value) -> &Value {
    &pod["status"]["containerStatuses"][0]
}

#[tokio::test]
async fn failing_pods_and_their_evidence() -> anyhow::Result<()> {
    let c = demo::builder().start().await?;
    let crash = c
        .get("v1", "Pod", "storefront", "cart-zk98gxtx6z-r29gb")
        .unwrap();
    let s = container_status(&crash);
    assert_eq!(s["state"]["waiting"]["reason"], "CrashLoopBackOff");
    assert_eq!(s["restartCount"], 14);
    assert_eq!(s["lastState"]["terminated"]["exitCode"], 1);
    let log = c
        .logs("storefront", "cart-zk98gxtx6z-r29gb", "app")
        .unwrap();
    assert!(
        log.current
            .contains("FATAL cart: cannot start without session store")
    );
    assert!(log.previous.is_some());

    let pull = c
        .get(
            "v1",
            "Pod",
            "storefront",
            "recommendations-5dm49pw85f-9hxtn",
        )
        .unwrap();
    assert_eq!(
        container_status(&pull)["state"]["waiting"]["reason"],
        "ImagePullBackOff"
    );

    let pending = c
        .get("v1", "Pod", "analytics", "etl-worker-hht7qwp52t-7pjlf")
        .unwrap();
    assert_eq!(pending["status"]["phase"], "Pending");
    let cond = &pending["status"]["conditions"][0];
    assert_eq!(
        (
            cond["type"].as_str(),
            cond["status"].as_str(),
            cond["reason"].as_str()
        ),
        (Some("PodScheduled"), Some("False"), Some("Unschedulable"))
    );
    assert!(
        cond["message"]
            .as_str()
            .unwrap()
            .contains("Insufficient memory")
    );

    let oom = c
        .get("v1", "Pod", "payments", "fraud-detector-dlx42wnj84-gpzcf")
        .unwrap();
    assert_eq!(
        container_status(&oom)["lastState"]["terminated"]["reason"],
        "OOMKilled"
    );

    let cart = c
        .get("apps/v1", "Deployment", "storefront", "cart")
        .unwrap();
    assert_eq!(
        (
            cart["spec"]["replicas"].as_i64(),
            cart["status"]["availableReplicas"].as_i64()
        ),
        (Some(3), Some(2))
    );

    // Owner chain: Deployment -> ReplicaSet -> Pod, by uid.
    let rs = c
        .get("apps/v1", "ReplicaSet", "storefront", "cart-zk98gxtx6z")
        .unwrap();
    assert_eq!(
        rs["metadata"]["ownerReferences"][0]["uid"],
        cart["metadata"]["uid"]
    );
    assert_eq!(
        crash["metadata"]["ownerReferences"][0]["uid"],
        rs["metadata"]["uid"]
    );
    Ok(())
}

#[tokio::test]
async fn services_nodes_and_events() -> anyhow::Result<()> {
    let c = demo::builder().start().await?;
    let svc = c.get("v1", "Service", "storefront", "cart-redis").unwrap();
    let selector = kopilot_fake::selectors::LabelSelector::from_object(&svc["spec"]["selector"]);
    assert!(
        c.list("v1", "Pod", Some("storefront"))
            .iter()
            .all(|p| !selector.matches(p))
    );
    assert!(
        c.get("v1", "Endpoints", "storefront", "cart-redis")
            .unwrap()
            .get("subsets")
            .is_none()
    );

    let cond = |node: &Value, t: &str| {
        node["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == t)
            .unwrap()["status"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let n3 = c.get("v1", "Node", "", "shop-worker-3").unwrap();
    assert_eq!(cond(&n3, "Ready"), "Unknown");
    let n4 = c.get("v1", "Node", "", "shop-worker-4").unwrap();
    assert_eq!(cond(&n4, "MemoryPressure"), "True");
    assert_eq!(cond(&n4, "Ready"), "True");
    for n in ["shop-worker-1", "shop-worker-2"] {
        let node = c.get("v1", "Node", "", n).unwrap();
        assert_eq!(cond(&node, "Ready"), "True");
        assert_eq!(cond(&node, "MemoryPressure"), "False");
    }
    let warnings: Vec<String> = c
        .list("v1", "Event", None)
        .iter()
        .filter(|e| e["type"] == "Warning")
        .map(|e| e["reason"].as_str().unwrap().to_owned())
        .collect();
    for reason in [
        "BackOff",
        "Failed",
        "FailedScheduling",
        "Unhealthy",
        "Killing",
    ] {
        assert!(
            warnings.iter().any(|r| r == reason),
            "{reason} in {warnings:?}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn reliability_and_security_findings() -> anyhow::Result<()> {
    let c = demo::builder().start().await?;
    let search = c
        .get("apps/v1", "Deployment", "storefront", "search")
        .unwrap();
    let container = &search["spec"]["template"]["spec"]["containers"][0];
    assert!(container["image"].as_str().unwrap().ends_with(":latest"));
    assert!(container.get("readinessProbe").is_none());
    let pdb = c
        .get(
            "policy/v1",
            "PodDisruptionBudget",
            "payments",
            "fraud-detector",
        )
        .unwrap();
    assert_eq!(pdb["status"]["disruptionsAllowed"], 0);
    let fd = c
        .get("apps/v1", "Deployment", "payments", "fraud-detector")
        .unwrap();
    assert_eq!(fd["spec"]["replicas"], 1);
    let env = fd["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .unwrap();
    assert!(
        env.iter()
            .any(|e| e["name"] == "FRAUD_API_TOKEN" && e["value"].is_string())
    );
    let ds = c
        .get("apps/v1", "DaemonSet", "platform", "log-shipper")
        .unwrap();
    let spec = &ds["spec"]["template"]["spec"];
    assert_eq!(spec["containers"][0]["securityContext"]["privileged"], true);
    assert_eq!(spec["volumes"][0]["hostPath"]["path"], "/var/log");
    let sp = c
        .get("apps/v1", "Deployment", "platform", "status-page")
        .unwrap();
    let container = &sp["spec"]["template"]["spec"]["containers"][0];
    assert!(
        container["resources"].get("requests").is_none(),
        "no requests"
    );
    assert_eq!(container["securityContext"]["runAsUser"], 0);
    let secret = c.get("v1", "Secret", "payments", "payments-db").unwrap();
    assert_eq!(
        secret["data"]["password"], "ZGVtby1TdXAzclMzY3JldC1wYTU1d29yZA==",
        "base64 of demo-Sup3rS3cret-pa55word"
    );
    let api = pods_of(&c, "payments", "payments-api");
    assert!(
        api[0]["spec"]["containers"][0]["env"]
            .to_string()
            .contains("\"name\":\"payments-db\"")
    );
    Ok(())
}
