//! Assessment time on a mixed corpus of typical command lines.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kopilot_safety::{Guard, Policy};

const CORPUS: &[&str] = &[
    "kubectl get pods -A",
    "kubectl get pods -n shop -o wide",
    "kubectl describe deploy web -n shop",
    "kubectl logs web-7d9f -n shop --tail 100",
    "kubectl top pods -A",
    "kubectl get pods -A | grep -v Running | head -20",
    "kubectl get pods -o json | jq '.items[].metadata.name'",
    "kubectl get events -n shop --sort-by=.lastTimestamp",
    "kubectl rollout status deploy/web -n shop",
    "kubectl scale deploy/web --replicas=3 -n shop",
    "kubectl set resources deploy/web -c app --requests=cpu=100m,memory=128Mi -n shop",
    "kubectl delete pod web-7d9f -n shop",
    "kubectl apply -f deploy.yaml -n shop",
    "helm list -A",
    "helm upgrade web ./chart -n shop --dry-run",
    "kubectl delete ns kube-system",
    "kubectl get pods; kubectl delete pod x -n shop",
    "echo $(kubectl delete pod x -n shop)",
    "sh -c 'kubectl get pods | grep web'",
    "rm -rf /",
];

/// Typical lines an agent runs: plain reads and pipelines of two or three known filters.
const TYPICAL: &[(&str, &str)] = &[
    ("kubectl_get_pods", "kubectl get pods -n shop -o wide"),
    ("kubectl_describe", "kubectl describe deploy web -n shop"),
    ("helm_list", "helm list -A"),
    (
        "pipeline_2_stages",
        "kubectl get pods -o json | jq '.items[].metadata.name'",
    ),
    (
        "pipeline_3_stages",
        "kubectl get pods -A | grep -v Running | head -20",
    ),
];

/// Lines that need the full shell parser.
const SHELL: &[(&str, &str)] = &[
    (
        "shell_command_substitution",
        "echo $(kubectl delete pod x -n shop)",
    ),
    ("shell_sh_c", "sh -c 'kubectl get pods | grep web'"),
    (
        "shell_here_doc",
        "kubectl apply -n shop -f - <<EOF\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\nEOF",
    ),
    (
        "shell_loop",
        "for p in web api; do kubectl logs $p -n shop --tail 20; done",
    ),
];

fn bench(c: &mut Criterion) {
    let guard = Guard::new(Policy::default());
    for (name, line) in TYPICAL.iter().chain(SHELL) {
        c.bench_function(&format!("assess/{name}"), |b| {
            b.iter(|| black_box(guard.assess(black_box(line))));
        });
    }
    c.bench_function("assess/mixed_corpus_20_lines", |b| {
        b.iter(|| {
            for line in CORPUS {
                black_box(guard.assess(black_box(line)));
            }
        });
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
