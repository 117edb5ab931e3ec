use kopilot_safety::{Guard, Policy};
use std::hint::black_box;
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
fn main() {
    let which = std::env::args().nth(1).unwrap_or_default();
    let guard = Guard::new(Policy::default());
    let n = if which == "none" { 0 } else { 200 };
    for _ in 0..n {
        match which.as_str() {
            "get" => {
                black_box(guard.assess(black_box("kubectl get pods -n shop -o wide")));
            }
            "pipe" => {
                black_box(guard.assess(black_box(
                    "kubectl get pods -A | grep -v Running | head -20",
                )));
            }
            "shell" => {
                black_box(guard.assess(black_box("echo $(kubectl delete pod x -n shop)")));
            }
            _ => {
                for line in CORPUS {
                    black_box(guard.assess(black_box(line)));
                }
            }
        }
    }
}
