//! Benchmarks on a generated cluster of 50,000 pods across 2,000 Deployments (with their
//! ReplicaSets, PodMetrics, Services, PVCs and Warning events): every analyzer over the
//! snapshot (target: under 200 ms on one core), and loading the same cluster from a file as
//! a `kubectl get -o yaml` and `-o json` dump (target: under 2 s).
//!
//! Run: `cargo bench -p kopilot-analyze --bench analyze` (pin to one core with `taskset -c 0`).
//! With `KOPILOT_BENCH_REPORT=FILE` set, the whole report over the generated cluster is
//! written to FILE, so two builds' findings can be compared byte for byte (`cmp`).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kopilot_analyze::snapshot::ClusterSnapshot;
use kopilot_analyze::{AnalyzeOptions, analyze};
use serde_json::{Value, json};

const WORKLOADS: usize = 2_000;
const PODS_PER_WORKLOAD: usize = 25;

/// Every object of the generated cluster, as `kubectl get -o json` would give them.
fn generate() -> Vec<Value> {
    let mut items = Vec::new();
    for n in 0..10 {
        items.push(json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": format!("node-{n}")},
            "status": {"allocatable": {"cpu": "64", "memory": "256Gi"},
                       "conditions": [{"type": "Ready", "status": if n == 3 { "False" } else { "True" }}]}}));
    }
    for w in 0..WORKLOADS {
        let ns = format!("team-{}", w % 40);
        let name = format!("svc-{w}");
        let hash = format!("{:05x}", w * 7919 % 0xfffff);
        let labels = json!({"app": name, "tier": "backend"});
        // A mix: over-provisioned, idle, crash-looping, latest tags, privileged, no probes.
        let (cpu_req, mem_req) = if w % 3 == 0 {
            ("2", "4Gi")
        } else {
            ("250m", "512Mi")
        };
        let image = if w % 11 == 0 {
            format!("registry.example/{name}:latest")
        } else {
            format!("registry.example/{name}:1.{w}")
        };
        let mut container = json!({
            "name": "app", "image": image,
            "resources": {"requests": {"cpu": cpu_req, "memory": mem_req}, "limits": {"memory": mem_req}},
            "env": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "API_TOKEN", "value": if w % 13 == 0 { "t0ken" } else { "" }}],
            "securityContext": {"privileged": w % 17 == 0},
        });
        if w % 5 != 0 {
            container["readinessProbe"] = json!({"httpGet": {"path": "/ready", "port": 8080}});
        }
        items.push(json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
            "spec": {"replicas": PODS_PER_WORKLOAD, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [container.clone()]}}},
            "status": {"replicas": PODS_PER_WORKLOAD, "availableReplicas": if w % 7 == 0 { PODS_PER_WORKLOAD - 1 } else { PODS_PER_WORKLOAD }}}));
        let rs = format!("{name}-{hash}");
        items.push(json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": rs, "namespace": ns,
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name, "uid": format!("d-{w}"), "controller": true}]},
            "spec": {"replicas": PODS_PER_WORKLOAD, "selector": {"matchLabels": labels}}}));
        items.push(json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
            "spec": {"selector": {"app": if w % 19 == 0 { "nobody".to_owned() } else { name.clone() }}, "ports": [{"port": 80}]}}));
        if w % 4 == 0 {
            items.push(json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": format!("data-{name}"), "namespace": ns},
                "spec": {"resources": {"requests": {"storage": "20Gi"}}}, "status": {"phase": "Bound", "capacity": {"storage": "20Gi"}}}));
        }
        for p in 0..PODS_PER_WORKLOAD {
            let pod = format!("{rs}-{p:05}");
            let crashing = w % 23 == 0 && p == 0;
            let state = if crashing {
                json!({"waiting": {"reason": "CrashLoopBackOff"}})
            } else {
                json!({"running": {"startedAt": "2026-01-01T00:00:00Z"}})
            };
            items.push(json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": pod, "namespace": ns, "labels": {"app": name, "tier": "backend", "pod-template-hash": hash},
                             "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs, "uid": format!("r-{w}"), "controller": true}]},
                "spec": {"nodeName": format!("node-{}", (w + p) % 10), "containers": [container.clone()],
                         "volumes": if w % 8 == 0 { json!([{"name": "data", "persistentVolumeClaim": {"claimName": format!("data-{name}")}}]) } else { json!([]) }},
                "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": if crashing { "False" } else { "True" }}],
                           "containerStatuses": [{"name": "app", "image": image, "imageID": format!("registry.example/{name}@sha256:{:064x}", w),
                                                  "ready": !crashing, "restartCount": if crashing { 9 } else { 0 }, "state": state}]}}));
            let cpu = if w % 9 == 0 {
                "2m".to_owned()
            } else {
                format!("{}m", 40 + (w + p) % 200)
            };
            items.push(json!({"apiVersion": "metrics.k8s.io/v1beta1", "kind": "PodMetrics", "metadata": {"name": pod, "namespace": ns},
                "timestamp": "2026-01-15T12:00:00Z", "window": "30s",
                "containers": [{"name": "app", "usage": {"cpu": cpu, "memory": format!("{}Mi", 100 + (w * p) % 300)}}]}));
            if crashing {
                items.push(json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": format!("{pod}.1"), "namespace": ns},
                    "involvedObject": {"kind": "Pod", "namespace": ns, "name": pod}, "type": "Warning", "reason": "BackOff",
                    "message": "Back-off restarting failed container", "count": 40}));
            }
        }
    }
    items
}

fn snapshot_of(items: &[Value]) -> ClusterSnapshot {
    let mut s = ClusterSnapshot::default();
    for (i, item) in items.iter().enumerate() {
        s.add_document(&format!("item {i}"), item.clone()).unwrap();
    }
    s
}

fn benches(c: &mut Criterion) {
    let items = generate();
    let snapshot = snapshot_of(&items);
    assert_eq!(snapshot.pods.len(), WORKLOADS * PODS_PER_WORKLOAD);
    let options = AnalyzeOptions::default();
    let report = analyze(&snapshot, &options);
    eprintln!(
        "generated: {} objects, {} findings, ${}/month",
        snapshot.object_count(),
        report.findings.len(),
        report.summary.monthly_cost_total
    );
    // The whole report, to compare the findings of two builds byte for byte.
    if let Some(path) = std::env::var_os("KOPILOT_BENCH_REPORT") {
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&report.to_json()).unwrap(),
        )
        .unwrap();
    }
    c.bench_function("analyze_all_checks_50k_pods", |b| {
        b.iter(|| analyze(black_box(&snapshot), black_box(&options)));
    });

    let list = json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items});
    let json_text = serde_json::to_string(&list).unwrap();
    let yaml_text = serde_saphyr::to_string(&list).unwrap();
    eprintln!(
        "file sizes: JSON {} MiB, YAML {} MiB",
        json_text.len() / 1_048_576,
        yaml_text.len() / 1_048_576
    );
    let mut group = c.benchmark_group("load_snapshot_file_50k_pods");
    group.sample_size(10);
    group.bench_function("json", |b| {
        b.iter(|| ClusterSnapshot::from_yaml_str("cluster.json", black_box(&json_text)).unwrap());
    });
    group.bench_function("yaml", |b| {
        b.iter(|| ClusterSnapshot::from_yaml_str("cluster.yaml", black_box(&yaml_text)).unwrap());
    });
    group.finish();
}

criterion_group!(analyze_benches, benches);
criterion_main!(analyze_benches);
