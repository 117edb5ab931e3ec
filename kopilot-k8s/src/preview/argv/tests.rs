//! The preview's argv, pinned: for the commands the preview tests use (and a few more), the dry
//! run and read argv are exactly what the preview built before it read the guard's parse (when
//! it kept a flag table of its own), except where a row says why.

use kopilot_core::safety::{Guard, Policy, parse_argv};

use crate::preview::Target;

/// The argv a preview runs for `line`: the dry run's and the read's (joined with spaces), and
/// the `--replicas` value for `kubectl scale`; `None` when there is no preview.
fn plan(line: &str) -> Option<(Option<String>, Option<String>, Option<i64>)> {
    let guard = Guard::new(Policy::default());
    let joined = |argv: &[String]| Some(argv.join(" "));
    Some(match Target::of(&guard.assess(line))? {
        Target::DryRun(argv) => (joined(&argv), None, None),
        Target::Scale { dry_run, replicas } => (joined(&dry_run), None, replicas),
        Target::Delete { dry_run, read } => (joined(&dry_run), joined(&read), None),
        Target::Restart { read } => (None, joined(&read), None),
    })
}

/// A pinned plan: (command, dry run, read, replicas).
type Pinned = (
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    Option<i64>,
);

/// The plans of the existing previews, as the old flag table built them.
const SAME_AS_BEFORE: &[Pinned] = &[
    (
        "kubectl scale deploy/web -n storefront --replicas=5",
        Some("kubectl scale deploy/web -n storefront --replicas=5 --dry-run=server -o yaml"),
        None,
        Some(5),
    ),
    (
        "kubectl delete deployment web cart -n storefront",
        Some("kubectl delete deployment web cart -n storefront --dry-run=server -o name"),
        Some("kubectl get deployment web cart -n storefront -o yaml"),
        None,
    ),
    (
        "kubectl delete pods -l app=web -n storefront --grace-period 0 --wait=false",
        Some(
            "kubectl delete pods -l app=web -n storefront --grace-period 0 --wait=false --dry-run=server -o name",
        ),
        Some("kubectl get pods -l app=web -n storefront -o yaml"),
        None,
    ),
    (
        "kubectl create configmap feature-flags -n storefront --from-literal=checkout=v2",
        Some(
            "kubectl create configmap feature-flags -n storefront --from-literal=checkout=v2 --dry-run=server -o yaml",
        ),
        None,
        None,
    ),
    (
        "kubectl rollout restart deploy/web -n storefront",
        None,
        Some("kubectl get deploy/web -n storefront -o yaml"),
        None,
    ),
    (
        "kubectl scale deploy/no-such-app -n storefront --replicas=2",
        Some(
            "kubectl scale deploy/no-such-app -n storefront --replicas=2 --dry-run=server -o yaml",
        ),
        None,
        Some(2),
    ),
    (
        "kubectl patch secret db -n shop --type=merge -p '{\"data\":{\"password\":\"x\"}}'",
        Some(
            "kubectl patch secret db -n shop --type=merge -p {\"data\":{\"password\":\"x\"}} --dry-run=server -o yaml",
        ),
        None,
        None,
    ),
    (
        "kubectl -n shop delete pod x",
        Some("kubectl -n shop delete pod x --dry-run=server -o name"),
        Some("kubectl -n shop get pod x -o yaml"),
        None,
    ),
    (
        "kubectl --namespace=shop rollout restart deploy/web",
        None,
        Some("kubectl --namespace=shop get deploy/web -o yaml"),
        None,
    ),
    (
        "kubectl create job j -n shop --image=busybox -- echo hi",
        Some("kubectl create job j -n shop --image=busybox --dry-run=server -o yaml -- echo hi"),
        None,
        None,
    ),
    (
        "kubectl delete pods -l app=web -n shop --grace-period 0 --force --cascade=orphan -o name --wait=false",
        Some(
            "kubectl delete pods -l app=web -n shop --grace-period 0 --force --cascade=orphan -o name --wait=false --dry-run=server -o name",
        ),
        Some("kubectl get pods -l app=web -n shop -o yaml"),
        None,
    ),
    (
        "kubectl rollout restart deploy/web -n shop --field-manager x",
        None,
        Some("kubectl get deploy/web -n shop -o yaml"),
        None,
    ),
    (
        "kubectl scale deploy/web --replicas 0 -n shop",
        Some("kubectl scale deploy/web --replicas 0 -n shop --dry-run=server -o yaml"),
        None,
        Some(0),
    ),
    (
        "kubectl set image deploy/web -n shop web=nginx:2",
        Some("kubectl set image deploy/web -n shop web=nginx:2 --dry-run=server -o yaml"),
        None,
        None,
    ),
    (
        "kubectl annotate deploy web -n shop a=b",
        Some("kubectl annotate deploy web -n shop a=b --dry-run=server -o yaml"),
        None,
        None,
    ),
    (
        "kubectl autoscale deploy web -n shop --min=2 --max=5",
        Some("kubectl autoscale deploy web -n shop --min=2 --max=5 --dry-run=server -o yaml"),
        None,
        None,
    ),
    (
        "kubectl replace -f x.yaml -n shop",
        Some("kubectl replace -f x.yaml -n shop --dry-run=server -o yaml"),
        None,
        None,
    ),
    (
        "kubectl delete -f x.yaml -n shop",
        Some("kubectl delete -f x.yaml -n shop --dry-run=server -o name"),
        Some("kubectl get -f x.yaml -n shop -o yaml"),
        None,
    ),
];

#[test]
fn the_argv_of_the_existing_previews_are_unchanged() {
    for (line, dry_run, read, replicas) in SAME_AS_BEFORE {
        let expected = (
            dry_run.map(str::to_owned),
            read.map(str::to_owned),
            *replicas,
        );
        assert_eq!(plan(line), Some(expected), "{line}");
    }
}

/// A command that ends with a flag the grammar reads without a value: kubectl's own table may
/// take the next word as its value (`set env --prefix` takes one; the guard does not know it),
/// and an appended `--dry-run=server` would then be that value, and the change would be made
/// before anyone approved it. The flags also go right after the command path, where no flag can
/// take them. (The old table appended them only.)
#[test]
fn the_dry_run_cannot_be_taken_as_a_flags_value() {
    for (line, dry_run) in [
        (
            "kubectl set env deploy/web -n shop FOO=bar --prefix",
            "kubectl set env --dry-run=server -o yaml deploy/web -n shop FOO=bar --prefix --dry-run=server -o yaml",
        ),
        (
            "kubectl apply -f x.yaml -n shop --server-side",
            "kubectl apply --dry-run=server -o yaml -f x.yaml -n shop --server-side --dry-run=server -o yaml",
        ),
        (
            "kubectl label pods web -n shop tier=front --overwrite",
            "kubectl label --dry-run=server -o yaml pods web -n shop tier=front --overwrite --dry-run=server -o yaml",
        ),
    ] {
        let (got, _, _) = plan(line).unwrap_or_else(|| panic!("no preview for {line}"));
        assert_eq!(got.as_deref(), Some(dry_run), "{line}");
    }
    // With `-i` (a boolean `get` lacks) dropped from the read.
    assert_eq!(
        plan("kubectl delete pod web -n shop -i"),
        Some((
            Some(
                "kubectl delete --dry-run=server -o name pod web -n shop -i --dry-run=server -o name"
                    .to_owned()
            ),
            Some("kubectl get pod web -n shop -o yaml".to_owned()),
            None
        ))
    );
}

#[test]
fn what_the_guard_reads_as_a_flags_value_is_not_taken_for_a_flag() {
    // `--replicas` is read where kubectl reads it: the last one counts, and a value is not a flag.
    assert_eq!(
        plan("kubectl scale deploy/web -n shop --replicas=1 --replicas=4").and_then(|p| p.2),
        Some(4)
    );
    // `-n delete` is the namespace `delete`; the verb is the second `delete`.
    assert_eq!(
        plan("kubectl -n delete delete pod x").and_then(|p| p.1),
        Some("kubectl -n delete get pod x -o yaml".to_owned())
    );
    // `--prune=false` still counts as pruning for the preview (the guard reads it as high).
    assert_eq!(
        plan("kubectl apply -f x.yaml -n shop --prune=false -l a=b"),
        None
    );
    // A cluster that mixes a flag `get` lacks with one it takes cannot be split: no preview.
    assert_eq!(plan("kubectl delete pod web -n shop -iR"), None);
}

#[test]
fn commands_the_preview_does_not_rewrite() {
    for line in [
        "kubectl get pods -n shop",
        "kubectl scale deploy/web -n shop --replicas=5 | tee /tmp/out",
        "kubectl edit deploy web -n shop",
        "kubectl create token default -n shop",
        "/tmp/kubectl scale deploy/web -n shop --replicas=5",
        // The command path can be read two ways (`--foo` may take `scale` as its value).
        "kubectl --foo scale deploy/web -n shop --replicas=5",
    ] {
        assert!(plan(line).is_none(), "{line}");
    }
}

#[test]
fn a_read_is_read_back_by_the_guard_as_a_get() {
    let read = plan("kubectl delete pods -l app=web -n shop --grace-period 0 --force")
        .and_then(|p| p.1)
        .unwrap_or_default();
    let words: Vec<&str> = read.split(' ').collect();
    let parsed = parse_argv(&words);
    assert_eq!(parsed.verb.as_deref(), Some("get"));
    assert_eq!(
        parsed.flag("output").and_then(|f| f.value.as_deref()),
        Some("yaml")
    );
}
