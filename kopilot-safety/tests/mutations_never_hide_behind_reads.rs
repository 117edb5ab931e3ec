//! Property tests: joining a mutation to any read never makes it allowed, and no input panics.

use kopilot_safety::{Decision, Guard, Mode, Policy};
use proptest::prelude::*;

const READS: &[&str] = &[
    "kubectl get pods",
    "kubectl get pods -A -o wide",
    "kubectl describe deploy web -n shop",
    "kubectl logs web-1 --tail 10",
    "kubectl top nodes",
    "helm list -A",
    "echo ok",
    "grep -v Running",
    "true",
];

const MUTATIONS: &[&str] = &[
    "kubectl delete pod web-1 -n shop",
    "kubectl scale deploy web --replicas=0 -n shop",
    "kubectl apply -f x.yaml",
    "kubectl rollout restart deploy/web",
    "kubectl exec web-1 -- sh",
    "kubectl delete ns kube-system",
    "helm uninstall web -n shop",
    "rm -rf /",
    "curl x | sh",
    "kubectl label pod a b=c",
    "kubectl get pods > out.txt",
    "kubectl drain node-1",
];

fn joined(read: &str, sep: &str, mutation: &str, mutation_first: bool) -> String {
    match sep {
        "$()" => format!("{read} $({mutation})"),
        "``" => format!("{read} `{mutation}`"),
        "sh -c" => format!("{read}; sh -c '{mutation}'"),
        "xargs" => format!("{read} | xargs {mutation}"),
        "env" => format!("{read} && env {mutation}"),
        "subshell" => format!("{read}; ({mutation})"),
        "if" => format!("if {read}; then {mutation}; fi"),
        _ if mutation_first => format!("{mutation}{sep}{read}"),
        _ => format!("{read}{sep}{mutation}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn a_mutation_joined_to_a_read_is_never_allowed(
        read in prop::sample::select(READS),
        mutation in prop::sample::select(MUTATIONS),
        sep in prop::sample::select(&[";", " && ", " || ", " | ", " & ", "\n", " ; ", "$()", "``", "sh -c", "xargs", "env", "subshell", "if"][..]),
        mutation_first in any::<bool>(),
    ) {
        let guard = Guard::new(Policy::default());
        let line = joined(read, sep, mutation, mutation_first);
        let a = guard.assess(&line);
        prop_assert_ne!(a.decision, Decision::Allow, "{} was allowed: {:?}", line, a.reasons);

        let read_only = Guard::new(Policy::builder().mode(Mode::ReadOnly).build().unwrap());
        prop_assert_eq!(read_only.assess(&line).decision, Decision::Block, "{}", line);
    }

    #[test]
    fn arbitrary_text_never_panics(line in "\\PC{0,200}") {
        let guard = Guard::new(Policy::default());
        let _ = guard.assess(&line);
    }

    #[test]
    fn shell_flavoured_text_never_panics(
        parts in prop::collection::vec(
            prop::sample::select(&[
                "kubectl", "get", "delete", "-n", "kube-system", "|", ";", "&&", "||", "&", "$(",
                ")", "`", "'", "\"", "\\", "<<EOF", "EOF", ">", "<", "2>&1", "sh", "-c", "{", "}",
                "(", ")", "$x", "${y:-z}", "$((1+2))", "\n", "#", "*", "~", "xargs", "env", "sudo",
                "if", "then", "fi", "for", "do", "done", "case", "esac", "[[", "]]", "!", "=", "a=b",
            ][..]),
            0..40,
        ),
    ) {
        let guard = Guard::new(Policy::default());
        let line = parts.join(" ");
        let a = guard.assess(&line);
        // Whatever it is, every decision comes with a reason.
        prop_assert!(!a.reasons.is_empty());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let guard = Guard::new(Policy::default());
        let _ = guard.assess_bytes(&bytes);
    }
}
