//! The classes of fail-open paths an attacker tried on the guard, each with many siblings:
//! raw API requests, helm and kubectl flags that run or read local things, output formats,
//! kustomizations, protected namespaces reached indirectly, Secrets printed in shapes that
//! redaction cannot check, and critical commands hidden behind here-documents, pipes into
//! shells, `trap`, `env -S`, globs, braces, ANSI-C quoting and wrappers.

mod common;

use kopilot_safety::{Decision, Guard, Policy, Risk};
use proptest::prelude::*;

use Decision::{Allow as A, Approve as P, Block as B};
use Risk::{Critical as C, High as H, Low as L, Medium as M};

/// (command line, expected decision, expected risk) under the default policy.
const CASES: &[(&str, Decision, Risk)] = &[
    // ---- --raw never lowers risk, and raw mutations of protected paths are critical
    (
        "kubectl delete --raw /api/v1/namespaces/kube-system --dry-run=server",
        B,
        C,
    ),
    ("kubectl delete --raw /api/v1/namespaces/kube-system", B, C),
    (
        "kubectl delete --raw=/api/v1/namespaces/kube-public --dry-run=client",
        B,
        C,
    ),
    (
        "kubectl create --raw /api/v1/namespaces/kube-system/pods -f pod.json --dry-run=server",
        B,
        C,
    ),
    (
        "kubectl replace --raw /api/v1/namespaces/kube-system/configmaps/x -f cm.json",
        B,
        C,
    ),
    (
        "kubectl delete --raw /api/v1/namespaces/shop/pods/web --dry-run=server",
        P,
        H,
    ),
    (
        "kubectl create --raw /api/v1/namespaces/shop/configmaps -f cm.json --dry-run=client",
        P,
        M,
    ),
    ("kubectl delete --raw /api/v1/namespaces", B, C),
    (
        "kubectl delete --raw /apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        B,
        C,
    ),
    ("kubectl delete --raw /api/v1/nodes", B, C),
    (
        "kubectl delete --raw /api/v1/namespaces/shop/../kube-system/pods/x",
        B,
        C,
    ),
    (
        "kubectl delete --raw /api/v1/namespaces/kube%2Dsystem",
        B,
        C,
    ),
    ("kubectl delete --raw \"$P\"", B, C),
    ("kubectl delete --raw /api/v1/namespaces/shop/pods", P, H),
    (
        "kubectl get --raw /api/v1/namespaces/shop/services/web:80/proxy/admin/reset",
        P,
        H,
    ),
    ("kubectl get --raw /api/v1/nodes/node-1/proxy/logs/", P, H),
    (
        "kubectl get --raw /api/v1/namespaces/kube-system/pods",
        A,
        L,
    ),
    ("kubectl get --raw \"$P\"", P, H),
    // ---- helm flags that run programs, write files or read local files, on every verb
    (
        "helm template web ./chart --post-renderer ./render.sh",
        P,
        H,
    ),
    ("helm template web ./chart --post-renderer=my-plugin", P, H),
    ("helm template web ./chart --output-dir /tmp/out", P, H),
    (
        "helm upgrade web ./chart -n shop --dry-run --post-renderer ./x",
        P,
        H,
    ),
    (
        "helm install web ./chart -n shop --dry-run=server --output-dir out",
        P,
        H,
    ),
    ("helm template web ./chart --set-file cfg=/etc/passwd", P, H),
    ("helm template web ./chart --dependency-update", P, H),
    ("helm template web ./chart --post-renderer-args x", P, H),
    (
        "helm template web ./chart --pass-credentials --post-renderer ./x",
        P,
        H,
    ),
    ("helm template web ./chart", A, L),
    ("helm template web ./chart -f values.yaml --set a=b", A, L),
    // ---- output formats: a whitelist; *-file formats read local files
    ("kubectl get pods -o go-template-file=/etc/passwd", P, H),
    ("kubectl get pods -o jsonpath-file=/root/.kube/config", P, H),
    ("kubectl get pods -o custom-columns-file=/etc/shadow", P, H),
    ("kubectl get pods -o templatefile=/etc/passwd", P, H),
    (
        "kubectl get pods -o go-template-file --template /etc/passwd",
        P,
        H,
    ),
    ("kubectl get pods --output=jsonpath-file=/x", P, H),
    ("kubectl get pods -ojsonpath-file=/x", P, H),
    ("kubectl get nodes -o banana", P, H),
    ("kubectl get pods -o \"$FMT\"", P, H),
    ("kubectl get pods -o json", A, L),
    ("kubectl get pods -o yaml", A, L),
    ("kubectl get pods -o name", A, L),
    (
        "kubectl get pods -o custom-columns=NAME:.metadata.name",
        A,
        L,
    ),
    ("kubectl get pods -o go-template='{{.metadata.name}}'", A, L),
    (
        "kubectl get pods -o jsonpath={.items[*].metadata.name}",
        A,
        L,
    ),
    ("kubectl explain pods --output=plaintext-openapiv2", A, L),
    ("kubectl version -o json", A, L),
    ("kubectl config view -o jsonpath='{.contexts}'", A, L),
    // ---- Secrets in shapes redaction cannot check
    (
        "kubectl get secret db -n shop -o jsonpath='{.data.password}'",
        P,
        H,
    ),
    (
        "kubectl get secrets -n shop -o go-template='{{range .items}}{{.data}}{{end}}'",
        P,
        H,
    ),
    (
        "kubectl get secret/db -o custom-columns=P:.data.password",
        P,
        H,
    ),
    ("kubectl get secrets,pods -o jsonpath='{..data}'", P, H),
    ("kubectl get -f secret.yaml -o jsonpath='{.data}'", P, H),
    (
        "kubectl get Secret db --template='{{.data.password}}'",
        P,
        H,
    ),
    (
        "kubectl create secret generic x --from-literal=a=b --dry-run=client -o jsonpath='{.data.a}'",
        P,
        H,
    ),
    (
        "kubectl get secret db -n shop -o json | jq -r .data.password",
        P,
        H,
    ),
    (
        "kubectl get secret db -n shop -o yaml | grep password",
        P,
        H,
    ),
    (
        "kubectl get --raw /api/v1/namespaces/shop/secrets | jq .",
        P,
        H,
    ),
    ("kubectl get secret db -n shop -o json", A, L),
    ("kubectl get secrets -n shop", A, L),
    ("kubectl get secrets -n shop | grep db", A, L),
    ("kubectl describe secret db -n shop", A, L),
    // ---- kustomize: remote sources, plugins, exec, helm, files outside the root
    ("kubectl kustomize overlays/prod", A, L),
    (
        "kubectl kustomize 'https://github.com/org/repo//overlays?ref=main'",
        P,
        H,
    ),
    ("kubectl kustomize github.com/org/repo/overlays", P, H),
    ("kubectl kustomize git@github.com:org/repo.git", P, H),
    (
        "kubectl kustomize ./dir --load-restrictor LoadRestrictionsNone",
        P,
        H,
    ),
    (
        "kubectl kustomize ./dir --load-restrictor=LoadRestrictionsRootOnly",
        A,
        L,
    ),
    ("kubectl kustomize ./dir --enable-alpha-plugins", P, H),
    ("kubectl kustomize ./dir --enable-exec", P, H),
    (
        "kubectl kustomize ./dir --enable-helm --helm-command /tmp/evil",
        P,
        H,
    ),
    ("kubectl kustomize ./dir -o out.yaml", P, H),
    ("kubectl kustomize \"$DIR\"", P, H),
    ("kubectl get -k https://github.com/org/repo", P, H),
    ("kubectl diff -k github.com/org/repo/base", P, H),
    ("kubectl get -k overlays/prod", A, L),
    // ---- protected namespaces reached indirectly
    ("kubectl delete ns --all", B, C),
    ("kubectl delete namespaces --all --dry-run=none", B, C),
    ("kubectl delete ns -l team=x", B, C),
    ("kubectl delete ns --selector=team=x", B, C),
    (
        "kubectl delete ns --field-selector metadata.name!=default",
        B,
        C,
    ),
    ("kubectl delete ns $(kubectl get ns -o name)", B, C),
    ("kubectl delete ns \"$NS\"", B, C),
    ("kubectl delete namespace/$NS", B, C),
    ("kubectl delete ns kube-*", B, C),
    ("kubectl delete ns kube-{system,x}", B, C),
    ("kubectl delete ns $'kube\\x2dsystem'", B, C),
    ("echo kube-system | xargs kubectl delete ns", B, C),
    ("printf '%s\\n' kube-system | xargs kubectl delete ns", B, C),
    ("echo kube-system | xargs -I{} kubectl delete ns {}", B, C),
    ("echo delete ns kube-system | xargs kubectl", B, C),
    ("kubectl get ns -o name | xargs kubectl delete", B, C),
    ("kubectl get ns -o name | xargs kubectl delete ns", B, C),
    ("kubectl label ns --all team=x", B, C),
    ("kubectl annotate namespaces -l x=y a=b", B, C),
    ("kubectl delete $T kube-system", B, C),
    ("kubectl delete $T --all", B, C),
    ("kubectl delete crd --all", B, C),
    ("kubectl delete crds -l app=x", B, C),
    ("kubectl delete nodes --all", B, C),
    ("kubectl delete node --selector role=worker", B, C),
    ("kubectl delete clusterrolebindings --all", B, C),
    ("kubectl delete validatingwebhookconfigurations --all", B, C),
    ("kubectl delete mutatingwebhookconfiguration -l x=y", B, C),
    ("kubectl delete pv --all", B, C),
    (
        "kubectl delete storageclass --field-selector metadata.name=x",
        B,
        C,
    ),
    ("kubectl delete widgets.example.com --all -n shop", B, C),
    ("kubectl drain -l role=worker --ignore-daemonsets", B, C),
    ("kubectl delete pods --all -n shop", P, H),
    ("kubectl delete pod $(cat victims) -n shop", P, H),
    ("kubectl delete node node-1", P, H),
    ("kubectl delete ns team-a", P, H),
    ("kubectl label pods -l app=web tier=x -n shop", P, M),
    ("kubectl delete ns kube-system --dry-run=server", A, L),
    // ---- manifests on standard input name their namespaces; downloaded ones are unseen
    (
        "kubectl apply -f - <<EOF\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: kube-system\nEOF",
        B,
        C,
    ),
    (
        "kubectl delete -f - <<'EOF'\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: kube-system\nEOF",
        B,
        C,
    ),
    (
        "kubectl create -f - <<EOF\napiVersion: v1\nkind: Pod\nmetadata: {name: x}\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: kube-public\nEOF",
        B,
        C,
    ),
    (
        "echo '{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"kube-public\"}}' | kubectl delete -f -",
        B,
        C,
    ),
    (
        "kubectl apply -f - <<< '{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"x\",\"namespace\":\"kube-node-lease\"}}'",
        B,
        C,
    ),
    (
        "kubectl apply -f - <<EOF\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: shop\nEOF",
        P,
        M,
    ),
    (
        "kubectl apply -f https://example.com/app.yaml -n shop",
        P,
        H,
    ),
    (
        "kubectl apply -f https://example.com/app.yaml --dry-run=server",
        A,
        L,
    ),
    // ---- critical commands hidden from the shell level
    ("sh <<EOF\nkubectl delete ns kube-system\nEOF", B, C),
    ("bash <<'EOF'\nrm -rf /\nEOF", B, C),
    ("sh -s <<EOF\nkubectl delete ns kube-system\nEOF", B, C),
    ("sh <<-EOF\n\trm -rf /\n\tEOF", B, C),
    ("sh <<< 'kubectl delete ns kube-system'", B, C),
    ("bash <<< \"rm -rf /\"", B, C),
    ("echo 'kubectl delete ns kube-system' | sh", B, C),
    ("echo kubectl delete ns kube-system | bash", B, C),
    ("printf '%s\\n' 'rm -rf /' | sh", B, C),
    ("printf 'kubectl delete ns kube-system' | sh -s", B, C),
    ("cat <<EOF | sh\nrm -rf /\nEOF", B, C),
    ("cat <<< 'rm -rf /' | bash", B, C),
    ("echo 'rm -rf /' | sudo sh", B, C),
    ("{ echo 'rm -rf /'; } | sh", B, C),
    ("echo 'kubectl delete ns kube-system' | (sh)", B, C),
    ("sh -c 'sh' <<< 'rm -rf /'", B, C),
    ("cat deploy.sh | sh", B, C),
    ("base64 -d <<< cm0gLXJmIC8= | sh", B, C),
    ("kubectl get cm x -o jsonpath='{.data.s}' | python3", B, C),
    ("trap 'rm -rf /' EXIT", B, C),
    ("trap -- 'kubectl delete ns kube-system' INT TERM", B, C),
    ("env -S'rm -rf /'", B, C),
    ("env -S 'kubectl delete ns kube-system'", B, C),
    ("env --split-string='rm -rf /'", B, C),
    ("env -iS'rm -rf /'", B, C),
    ("env -S'kubectl delete' ns kube-system", B, C),
    ("/usr/bin/kub?ctl delete ns kube-system", B, C),
    ("/usr/bin/kub*ctl get pods", B, C),
    ("kub[e]ctl get pods", B, C),
    ("{kubectl,x} get pods", B, C),
    ("$'\\x6b'ubectl delete ns kube-system", B, C),
    ("$'kubectl' get pods", B, C),
    ("kubectl delete ns kube-{system,public}", B, C),
    ("kubectl delete pod x -n kube-{system,x}", B, C),
    ("kubectl delete pod x -n $'kube-system'", B, C),
    ("bash -c -x 'rm -rf /'", B, C),
    ("bash -xc 'kubectl delete ns kube-system'", B, C),
    ("$K delete ns kube-system", B, C),
    ("$(echo kubectl) delete ns kube-system", B, C),
    ("flock /tmp/l kubectl delete ns kube-system", B, C),
    ("strace -f rm -rf /", B, C),
    ("flock /tmp/l -c 'rm -rf /'", B, C),
    ("ssh host 'kubectl delete ns kube-system'", B, C),
    ("ssh -p 22 host rm -rf /", B, C),
    ("runuser -u nobody -- rm -rf /", B, C),
    // Scripts written to a file, and aliases, earlier in the same line.
    (
        "cat > /tmp/x.sh <<'EOF'\nkubectl delete ns kube-system\nEOF\nsh /tmp/x.sh",
        B,
        C,
    ),
    ("echo 'rm -rf /' > x.sh; bash x.sh", B, C),
    ("printf 'rm -rf /' > x.sh && chmod +x x.sh && ./x.sh", B, C),
    (
        "echo 'kubectl delete ns kube-system' > x.sh; . ./x.sh",
        B,
        C,
    ),
    ("echo 'rm -rf /' | tee x.sh; source x.sh", B, C),
    (
        "echo 'kubectl delete ns kube-system' >> x.sh; sh -x x.sh",
        B,
        C,
    ),
    ("alias k=kubectl; k delete ns kube-system", B, C),
    ("alias k='kubectl delete'; k ns kube-system", B, C),
    ("alias a=b; alias b='rm -rf /'; a", B, C),
    ("echo 'kubectl get pods' > x.sh; sh x.sh", P, H),
    // Text the line computes, when the guard knows what it gives.
    ("eval \"$(echo kubectl delete ns kube-system)\"", B, C),
    ("sh -c \"$(printf 'rm -rf /')\"", B, C),
    ("bash -c 'eval \"$0\"' 'rm -rf /'", B, C),
    ("bash -c 'kubectl delete ns \"$1\"' sh kube-system", B, C),
    ("X='rm -rf /'; eval $X", B, C),
    (
        "export X='kubectl delete ns kube-system'; sh -c \"$X\"",
        B,
        C,
    ),
    ("NS=kube-system; kubectl delete pod x -n $NS", B, C),
    ("NS=kube-system; helm uninstall x -n \"$NS\"", B, C),
    ("trap \"$(echo rm -rf /)\" EXIT", B, C),
    ("env -S\"$(echo rm -rf /)\"", B, C),
    ("NS=shop; kubectl delete pod x -n $NS", P, H),
    ("X=$(cat f); eval $X", P, H),
    ("echo 'kubectl get pods' | sh", A, L),
    ("sh <<EOF\nkubectl get pods\nEOF", A, L),
    ("trap 'echo bye' EXIT", A, L),
    ("env -S'kubectl get pods'", A, L),
    ("echo $'\\e[2J'", A, L),
    ("sh <<EOF\nkubectl delete pod $X -n shop\nEOF", P, H),
    ("sh < script.sh", P, H),
    ("python3 <<< 'import os'", P, H),
];

#[test]
fn every_case_gets_the_expected_decision_and_risk() {
    common::check_table(CASES);
}

#[test]
fn the_parse_names_connection_flags_in_every_spelling() {
    for argv in [
        &["kubectl", "get", "pods", "-As", "https://x"][..],
        &["kubectl", "-shttps://x", "get", "pods"],
        &["kubectl", "get", "pods", "-s=https://x"],
        &["kubectl", "logs", "-f", "-s", "https://x", "web"],
        &["kubectl", "get", "pods", "--server", "https://x"],
    ] {
        let parsed = kopilot_safety::parse_argv(argv);
        assert!(
            parsed.connection_flags.iter().any(|f| f == "server"),
            "{argv:?}: {:?}",
            parsed.connection_flags
        );
    }
    let parsed = kopilot_safety::parse_argv(&["helm", "list", "--kube-context=prod"]);
    assert_eq!(parsed.connection_flags, ["kube-context"]);
    let parsed =
        kopilot_safety::parse_argv(&["kubectl", "get", "pods", "-n", "shop", "-o", "json"]);
    assert!(parsed.connection_flags.is_empty());
    assert_eq!(
        parsed.flag("output").and_then(|f| f.value.as_deref()),
        Some("json")
    );
    assert_eq!(parsed.namespaces, ["shop"]);
}

/// Commands that must never run, whatever wraps them.
const CRITICAL: &[(&str, &str)] = &[
    ("kubectl", "delete ns kube-system"),
    ("kubectl", "delete pod coredns-1 -n kube-system"),
    ("kubectl", "delete ns --all"),
    ("kubectl", "delete crd --all"),
    (
        "kubectl",
        "delete --raw /api/v1/namespaces/kube-system --dry-run=server",
    ),
    ("helm", "uninstall cilium -n kube-system"),
    ("rm", "-rf /"),
    ("mkfs.ext4", "/dev/sda1"),
    ("dd", "if=/dev/zero of=/dev/sda"),
];

/// Ways to hide a command line `{c}` (program `{p}`, arguments `{a}`).
const INDIRECTIONS: &[&str] = &[
    "{c}",
    "sh <<EOF\n{c}\nEOF",
    "bash <<'EOF'\n{c}\nEOF",
    "sh -s <<-EOF\n\t{c}\n\tEOF",
    "sh <<< '{c}'",
    "bash <<< \"{c}\"",
    "echo '{c}' | sh",
    "echo {c} | bash",
    "printf '%s\\n' '{c}' | bash",
    "cat <<EOF | sh\n{c}\nEOF",
    "trap '{c}' EXIT",
    "env -S'{c}'",
    "env --split-string='{c}'",
    "eval '{c}'",
    "sh -c '{c}'",
    "bash -xc '{c}'",
    "bash -c -e '{c}'",
    "sudo {c}",
    "env A=1 {c}",
    "nohup {c}",
    "timeout 5 {c}",
    "flock /tmp/lock {c}",
    "strace -f {c}",
    "ssh host '{c}'",
    "echo '{a}' | xargs {p}",
    "{p:glob} {a}",
    "{p:brace} {a}",
    "{p:ansi} {a}",
    "sh -c \"sh <<< '{c}'\"",
    "echo \"$(echo '{c}' | sh)\"",
    "echo '{c}' > /tmp/s.sh; sh /tmp/s.sh",
    "cat > s.sh <<EOF\n{c}\nEOF\n. ./s.sh",
    "alias z='{c}'; z",
    "X='{c}'; eval \"$X\"",
    "eval \"$(echo '{c}')\"",
    "sh -c 'eval \"$1\"' sh '{c}'",
    "kubectl get pods; {c}",
    "kubectl get pods && echo '{c}' | sh",
];

fn hide(template: &str, program: &str, args: &str) -> String {
    let mut chars = program.chars();
    let first = chars.next().unwrap_or('x');
    let rest: String = chars.collect();
    template
        .replace(
            "{p:glob}",
            &format!("{first}?{}", rest.get(1..).unwrap_or("")),
        )
        .replace("{p:brace}", &format!("{{{program},x}}"))
        .replace("{p:ansi}", &format!("$'\\x{:02x}'{rest}", u32::from(first)))
        .replace("{c}", &format!("{program} {args}"))
        .replace("{p}", program)
        .replace("{a}", args)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    /// A critical command hidden behind any indirection, or two of them, is still blocked.
    #[test]
    fn a_hidden_critical_command_is_never_allowed(
        command in prop::sample::select(CRITICAL),
        outer in prop::sample::select(INDIRECTIONS),
        inner in prop::sample::select(INDIRECTIONS),
        twice in any::<bool>(),
    ) {
        let (program, args) = command;
        let once = hide(inner, program, args);
        // Nest only where the inner text needs no quoting of its own.
        let line = if twice && !outer.contains("{p") && !outer.contains("{a}")
            && !once.contains(['\'', '"', '$', '\n'])
        {
            outer.replace("{c}", &once)
        } else {
            once
        };
        let a = Guard::new(Policy::default()).assess(&line);
        prop_assert_eq!(
            (a.decision, a.risk),
            (Decision::Block, Risk::Critical),
            "{:?} was not blocked: {:?}",
            line,
            a.reasons
        );
    }
}
