//! Modes, protected namespaces, extra hard blocks and filters, and where policies come from.

use std::collections::HashMap;

use kopilot_safety::{Decision, Error, Guard, Mode, Policy, Risk};

fn decide(policy: Policy, line: &str) -> (Decision, Risk) {
    let a = Guard::new(policy).assess(line);
    (a.decision, a.risk)
}

fn mode(m: Mode) -> Policy {
    Policy::builder().mode(m).build().unwrap()
}

#[test]
fn read_only_mode_runs_only_reads() {
    assert_eq!(
        decide(mode(Mode::ReadOnly), "kubectl get pods"),
        (Decision::Allow, Risk::Low)
    );
    assert_eq!(
        decide(
            mode(Mode::ReadOnly),
            "kubectl scale deploy web --replicas=2"
        ),
        (Decision::Block, Risk::Medium)
    );
    assert_eq!(
        decide(mode(Mode::ReadOnly), "kubectl delete pod x"),
        (Decision::Block, Risk::High)
    );
    let a = Guard::new(mode(Mode::ReadOnly)).assess("kubectl delete pod x");
    assert!(
        a.reasons.iter().any(|r| r.contains("read-only mode")),
        "{:?}",
        a.reasons
    );
}

#[test]
fn approve_mode_is_the_default() {
    assert_eq!(Policy::default().mode(), Mode::Approve);
    assert_eq!(
        decide(Policy::default(), "kubectl scale deploy web --replicas=2"),
        (Decision::Approve, Risk::Medium)
    );
}

#[test]
fn full_access_runs_medium_but_still_asks_for_high_and_blocks_critical() {
    assert_eq!(
        decide(
            mode(Mode::FullAccess),
            "kubectl scale deploy web --replicas=2"
        ),
        (Decision::Allow, Risk::Medium)
    );
    assert_eq!(
        decide(mode(Mode::FullAccess), "kubectl delete pod x"),
        (Decision::Approve, Risk::High)
    );
    assert_eq!(
        decide(mode(Mode::FullAccess), "rm -rf /"),
        (Decision::Block, Risk::Critical)
    );
    assert_eq!(
        decide(mode(Mode::FullAccess), "kubectl delete ns kube-system"),
        (Decision::Block, Risk::Critical)
    );
}

#[test]
fn turning_off_destructive_approval_only_affects_full_access() {
    let relaxed = |m| {
        Policy::builder()
            .mode(m)
            .require_approval_destructive(false)
            .build()
            .unwrap()
    };
    assert_eq!(
        decide(relaxed(Mode::FullAccess), "kubectl delete pod x"),
        (Decision::Allow, Risk::High)
    );
    assert_eq!(
        decide(relaxed(Mode::Approve), "kubectl delete pod x"),
        (Decision::Approve, Risk::High)
    );
    assert_eq!(
        decide(relaxed(Mode::FullAccess), "kubectl delete ns kube-system"),
        (Decision::Block, Risk::Critical)
    );
}

#[test]
fn custom_protected_namespaces() {
    let p = Policy::builder()
        .protected_namespaces(["payments"])
        .build()
        .unwrap();
    assert_eq!(
        decide(p.clone(), "kubectl delete pod x -n payments"),
        (Decision::Block, Risk::Critical)
    );
    assert_eq!(
        decide(p.clone(), "kubectl get pods -n payments"),
        (Decision::Allow, Risk::Low)
    );
    // kube-system is no longer protected by this policy.
    assert_eq!(
        decide(p, "kubectl delete pod x -n kube-system"),
        (Decision::Approve, Risk::High)
    );
}

#[test]
fn extra_hard_block_patterns() {
    let p = Policy::builder()
        .hard_block("kubectl delete --all")
        .hard_block("helm uninstall *")
        .build()
        .unwrap();
    assert_eq!(
        decide(p.clone(), "kubectl -n shop delete pods --all"),
        (Decision::Block, Risk::Critical)
    );
    assert_eq!(
        decide(p.clone(), "sudo kubectl delete --all pods -n shop"),
        (Decision::Block, Risk::Critical)
    );
    assert_eq!(
        decide(p.clone(), "helm uninstall web"),
        (Decision::Block, Risk::Critical)
    );
    assert_eq!(
        decide(p.clone(), "kubectl delete pod x -n shop"),
        (Decision::Approve, Risk::High)
    );
    let a = Guard::new(p).assess("kubectl delete pods --all -n shop");
    assert!(
        a.reasons
            .iter()
            .any(|r| r.contains("hard-block pattern `kubectl delete --all`")),
        "{:?}",
        a.reasons
    );
}

#[test]
fn extra_read_only_filters() {
    assert_eq!(
        decide(Policy::default(), "kubectl get pods -o yaml | yq .items"),
        (Decision::Approve, Risk::High)
    );
    let p = Policy::builder().read_only_filter("yq").build().unwrap();
    assert_eq!(
        decide(p, "kubectl get pods -o yaml | yq .items"),
        (Decision::Allow, Risk::Low)
    );
}

#[test]
fn invalid_builder_settings_are_errors() {
    assert!(matches!(
        Policy::builder().protected_namespaces([""]).build(),
        Err(Error::InvalidPolicy(_))
    ));
    assert!(matches!(
        Policy::builder().hard_block("   ").build(),
        Err(Error::InvalidPolicy(_))
    ));
    assert!(matches!(
        Policy::builder().read_only_filter("/usr/bin/yq").build(),
        Err(Error::InvalidPolicy(_))
    ));
}

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |k| map.get(k).cloned()
}

#[test]
fn policy_from_environment() {
    let p = Policy::from_lookup(env(&[
        ("SAFETY_MODE", "read-only"),
        (
            "SAFETY_PROTECTED_NAMESPACES",
            r#"["payments","kube-system"]"#,
        ),
        ("SAFETY_REQUIRE_APPROVAL_DESTRUCTIVE", "true"),
        ("SAFETY_HARD_BLOCK", r#"["kubectl drain"]"#),
        ("SAFETY_READ_ONLY_FILTERS", r#"["yq"]"#),
        ("SAFETY_FOUR_EYES", "true"),
    ]))
    .unwrap();
    assert_eq!(p.mode(), Mode::ReadOnly);
    assert_eq!(p.protected_namespaces(), ["payments", "kube-system"]);
    assert!(p.four_eyes());
    assert_eq!(p.hard_block_patterns()[0].as_str(), "kubectl drain");
    assert_eq!(p.read_only_filters(), ["yq"]);
    let empty = Policy::from_lookup(env(&[])).unwrap();
    assert_eq!(empty, Policy::default());
}

#[test]
fn bad_environment_values_name_the_variable() {
    for (var, value) in [
        ("SAFETY_MODE", "yolo"),
        ("SAFETY_PROTECTED_NAMESPACES", "kube-system,payments"),
        ("SAFETY_REQUIRE_APPROVAL_DESTRUCTIVE", "maybe"),
        ("SAFETY_HARD_BLOCK", "[1,2]"),
        ("SAFETY_FOUR_EYES", "2"),
    ] {
        let err = Policy::from_lookup(env(&[(var, value)])).unwrap_err();
        assert!(err.to_string().contains(var), "{var}: {err}");
    }
}

#[test]
fn policy_from_yaml_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.yaml");
    std::fs::write(
        &path,
        "mode: full-access\nprotected_namespaces: [prod]\nhard_block: [\"kubectl delete --all\"]\nread_only_filters: [yq]\nfour_eyes: true\napproval_ttl_secs: 30\n",
    )
    .unwrap();
    let p = Policy::from_yaml_file(&path).unwrap();
    assert_eq!(p.mode(), Mode::FullAccess);
    assert_eq!(p.protected_namespaces(), ["prod"]);
    assert!(p.four_eyes());
    assert_eq!(p.approval_ttl().as_secs(), 30);

    let from_env = Policy::from_lookup(env(&[
        ("SAFETY_POLICY_FILE", path.to_str().unwrap()),
        ("SAFETY_MODE", "approve"),
    ]))
    .unwrap();
    assert_eq!(
        from_env.mode(),
        Mode::Approve,
        "variables override the file"
    );
    assert_eq!(from_env.protected_namespaces(), ["prod"]);
}

#[test]
fn bad_yaml_files_name_the_file_and_the_position() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.yaml");
    std::fs::write(
        &path,
        "mode: approve\nprotected_namespaces: [prod]\nprotected_namespace: [typo]\n",
    )
    .unwrap();
    let err = Policy::from_yaml_file(&path).unwrap_err().to_string();
    assert!(err.contains("policy.yaml"), "{err}");
    assert!(err.contains("protected_namespace"), "{err}");
    assert!(err.contains("line 3"), "{err}");

    std::fs::write(&path, "mode: sometimes\n").unwrap();
    let err = Policy::from_yaml_file(&path).unwrap_err().to_string();
    assert!(err.contains("line 1"), "{err}");

    let missing = Policy::from_yaml_file(&dir.path().join("nope.yaml"))
        .unwrap_err()
        .to_string();
    assert!(missing.contains("nope.yaml"), "{missing}");
}

#[test]
fn commands_without_a_namespace_act_in_the_contexts_default_namespace() {
    use Decision::{Allow, Approve, Block};
    let protected = || Policy::default().with_default_namespace("kube-system");
    for (line, want) in [
        ("kubectl delete pod coredns-1", Block),
        ("kubectl scale deploy coredns --replicas=0", Block),
        ("kubectl label pods --all team=x", Block),
        ("helm uninstall cilium", Block),
        ("kubectl delete pod web-1 -n shop", Approve),
        ("kubectl delete node node-1", Approve),
        ("kubectl get pods", Allow),
        ("kubectl delete pod coredns-1 --dry-run=server", Allow),
    ] {
        assert_eq!(decide(protected(), line).0, want, "{line}");
    }
    let shop = Policy::default().with_default_namespace("shop");
    assert_eq!(decide(shop, "kubectl delete pod web-1").0, Approve);
    // Unknown (the adapter did not say): as before.
    assert_eq!(
        decide(Policy::default(), "kubectl delete pod web-1").0,
        Approve
    );
}
