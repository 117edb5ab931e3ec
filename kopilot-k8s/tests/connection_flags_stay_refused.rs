//! The executor's refusal of connection and identity flags reads the guard's parse; before it
//! did, it kept a flag table of its own (removed in 075a3f4). Every argv that table refused must
//! still be refused: over the table's own cases, the spellings an attacker would try, a fixed
//! generated corpus and generated argv, the old decision refused ⇒ the new one refuses.
//!
//! The old table's decision is kept below, frozen, as the oracle (`old`), and its decisions over
//! the fixed corpus are pinned by a digest, so an edit to the oracle fails the test too.

use kopilot_core::safety::audit::sha256_hex;
use kopilot_k8s::Error;
use kopilot_k8s::exec::check_connection_flags;
use proptest::prelude::*;

/// The executor's check as it was before it read the guard's parse, verbatim but for names.
/// Frozen: never edit (the digest below pins its decisions).
mod old {
    const KUBECTL_FORBIDDEN: &[&str] = &[
        "--kubeconfig",
        "--server",
        "--token",
        "--context",
        "--cluster",
        "--user",
        "--username",
        "--password",
        "--as",
        "--as-group",
        "--as-uid",
        "--certificate-authority",
        "--client-certificate",
        "--client-key",
        "--insecure-skip-tls-verify",
        "--tls-server-name",
    ];

    const HELM_FORBIDDEN: &[&str] = &[
        "--kubeconfig",
        "--kube-context",
        "--kube-apiserver",
        "--kube-token",
        "--kube-as-user",
        "--kube-as-group",
        "--kube-ca-file",
        "--kube-insecure-skip-tls-verify",
        "--kube-tls-server-name",
    ];

    /// Whether the old table refused `program args`.
    pub(crate) fn refused(program: &str, args: &[&str]) -> bool {
        let (forbidden, owner) = match program.rsplit('/').next().unwrap_or(program) {
            "kubectl" => (KUBECTL_FORBIDDEN, "kubectl"),
            "helm" => (HELM_FORBIDDEN, "helm"),
            _ => return false,
        };
        for arg in args {
            if *arg == "--" {
                break;
            }
            let name = arg.split_once('=').map_or(*arg, |(name, _)| name);
            let short_server =
                owner == "kubectl" && arg.starts_with("-s") && !arg.starts_with("--");
            if short_server || forbidden.contains(&name) {
                return true;
            }
        }
        false
    }
}

fn refused(program: &str, args: &[&str]) -> bool {
    match check_connection_flags(program, args) {
        Ok(()) => false,
        Err(Error::ForbiddenFlag { .. }) => true,
        Err(other) => panic!("{program} {args:?}: unexpected error {other}"),
    }
}

/// Splits a command line at spaces (the cases hold no quoted words).
fn argv(line: &str) -> Vec<&str> {
    line.split(' ').collect()
}

/// Hand-written cases: the old table's own tests, every spelling of every flag it listed, and
/// spellings it missed. (command line, refused by the old table, refused now)
const CASES: &[(&str, bool, bool)] = &[
    // The old table's tests.
    ("kubectl get pods --kubeconfig /tmp/x", true, true),
    ("kubectl get pods --kubeconfig=/tmp/x", true, true),
    ("kubectl --server=https://evil:6443 get pods", true, true),
    ("kubectl -s https://evil:6443 get pods", true, true),
    ("kubectl -shttps://evil get pods", true, true),
    ("kubectl get pods --token abc", true, true),
    ("kubectl get pods --context=prod", true, true),
    ("kubectl get pods --as=system:admin", true, true),
    ("kubectl get pods --as-group system:masters", true, true),
    ("kubectl get pods --certificate-authority=/ca", true, true),
    ("kubectl get pods --insecure-skip-tls-verify", true, true),
    ("kubectl get pods -n shop -o yaml", false, false),
    ("kubectl logs web --since=1h --tail 50", false, false),
    ("kubectl exec web -- env --token", false, false),
    ("grep --token", false, false),
    ("/usr/bin/helm list --kube-context prod", true, true),
    ("helm list -A", false, false),
    // Every flag it listed, both spellings, before and after the verb.
    ("kubectl --cluster other get pods", true, true),
    ("kubectl get pods --user=admin", true, true),
    ("kubectl get pods --username admin --password x", true, true),
    ("kubectl get pods --as-uid=0", true, true),
    (
        "kubectl get pods --client-certificate /c --client-key /k",
        true,
        true,
    ),
    ("kubectl get pods --tls-server-name=evil", true, true),
    ("helm list --kubeconfig=/tmp/x", true, true),
    ("helm list --kube-apiserver https://evil", true, true),
    ("helm list --kube-token=t", true, true),
    ("helm list --kube-as-user admin", true, true),
    ("helm list --kube-as-group=system:masters", true, true),
    ("helm list --kube-ca-file /ca", true, true),
    ("helm list --kube-insecure-skip-tls-verify", true, true),
    ("helm list --kube-tls-server-name=evil", true, true),
    // Where the old table looked at a word the grammar reads as a value: still refused.
    ("kubectl get pods -l -s https://evil", true, true),
    ("kubectl get pods -n --server=https://evil", true, true),
    // A flag the grammar wrongly takes to need a value (`--server-print` and `top pod
    // --containers` are booleans): kubectl reads the next word as a flag.
    (
        "kubectl get pods --server-print -s https://evil",
        true,
        true,
    ),
    ("kubectl top pod --containers -s https://evil", true, true),
    ("kubectl top pod --containers --token=t", true, true),
    // Without a verb, helm's flags are still read.
    ("helm --kube-context prod", true, true),
    // Plugins get every word.
    ("kubectl my-plugin --server https://evil", true, true),
    ("kubectl my-plugin -s https://evil", true, true),
    // Spellings the old table missed.
    ("kubectl get pods -As https://evil:6443", false, true),
    ("kubectl get pods -As=https://evil:6443", false, true),
    ("kubectl logs -f -s https://evil:6443 web", true, true),
    ("kubectl logs -fs https://evil:6443 web", false, true),
    ("kubectl -v6 -s https://evil:6443 get pods", true, true),
    ("timeout 5 kubectl -shttps://evil get po", false, true),
    ("sudo kubectl get pods --token=t", false, true),
    ("/usr/local/bin/kubectl get pods -As x", false, true),
    // kubectl normalizes `_` to `-` in flag names.
    ("kubectl get pods --insecure_skip_tls_verify", false, true),
    ("kubectl get pods --as_group=system:masters", false, true),
    (
        "kubectl get pods --client_certificate=/c --client_key=/k",
        false,
        true,
    ),
    ("kubectl get pods --tls_server_name evil", false, true),
    // A `--` that is a flag's value does not end the flags.
    ("kubectl exec web -c -- env --token=t", false, true),
    ("kubectl get pods -l -- --server=https://evil", false, true),
    ("kubectl exec web -it -- env --token=t", false, false),
    ("kubectl exec web -c app -- env --server=x", false, false),
    ("kubectl run x --image=busybox -- sh --as=x", false, false),
    ("kubectl -- get pods --server=https://evil", false, false),
    // Values that only contain a flag's name are not flags.
    ("kubectl get pods -lapp=server", false, false),
    ("kubectl apply -fservice.yaml", false, false),
    ("kubectl get pods -nshop -o wide", false, false),
    ("kubectl get pods --request-timeout=5s", false, false),
    ("kubectl get secret token -o name", false, false),
];

#[test]
fn the_hand_written_cases_are_decided_as_pinned() {
    for (line, old_refused, new_refused) in CASES {
        let words = argv(line);
        let (program, args) = words.split_first().unwrap();
        assert_eq!(
            old::refused(program, args),
            *old_refused,
            "the frozen oracle changed on `{line}`"
        );
        assert_eq!(refused(program, args), *new_refused, "`{line}`");
    }
}

/// Words the generated argv are made of: every spelling of connection flags, flags that take
/// values (which may swallow the next word), booleans, `--`, verbs and plain words.
const WORDS: &[&str] = &[
    "get",
    "pods",
    "logs",
    "top",
    "pod",
    "exec",
    "apply",
    "delete",
    "rollout",
    "restart",
    "my-plugin",
    "list",
    "web",
    "https://evil",
    "--",
    "-n",
    "shop",
    "-nshop",
    "-l",
    "-c",
    "-f",
    "-o",
    "-A",
    "-it",
    "-v6",
    "-s",
    "-As",
    "-fs",
    "-shttps://evil",
    "--server",
    "--server=https://evil",
    "--server-print",
    "--containers",
    "--field-manager",
    "--token=t",
    "--kubeconfig",
    "--context=prod",
    "--as",
    "--as_group",
    "--insecure-skip-tls-verify",
    "--kube-context",
    "--kube-token=t",
    "--dry-run=server",
    "--wait=false",
];

/// A small deterministic generator (the corpus must be the same on every run and machine).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        usize::try_from(self.0 >> 33).unwrap_or(0) % below
    }
}

fn corpus() -> Vec<Vec<&'static str>> {
    let mut rng = Lcg(0x636f_6e6e_6563_7421);
    (0..6000)
        .map(|i| {
            let program = if i % 4 == 3 { "helm" } else { "kubectl" };
            let len = 1 + rng.next(8);
            let mut words = vec![program];
            words.extend((0..len).map(|_| WORDS[rng.next(WORDS.len())]));
            words
        })
        .collect()
}

/// The SHA-256 of the old table's decisions over the corpus (one character per argv: `r`
/// refused, `.` not), as the oracle gave them when this test was written.
const OLD_DECISIONS_SHA256: &str =
    "8b01111ff07855f7b79879d353b6d1d13dfe4711ee0dab5f3028737f627c0ab4";

#[test]
fn what_the_old_table_refused_over_a_fixed_corpus_is_still_refused() {
    let mut decisions = String::new();
    let mut missed = Vec::new();
    let mut stricter = 0;
    for words in corpus() {
        let (program, args) = words.split_first().unwrap();
        let old = old::refused(program, args);
        let new = refused(program, args);
        decisions.push(if old { 'r' } else { '.' });
        if old && !new {
            missed.push(words.join(" "));
        }
        stricter += usize::from(new && !old);
    }
    assert_eq!(missed, Vec::<String>::new(), "refused before, allowed now");
    assert_eq!(
        sha256_hex(decisions.as_bytes()),
        OLD_DECISIONS_SHA256,
        "the frozen oracle's decisions changed"
    );
    // The guard's reading sees spellings the old table did not.
    assert!(stricter > 0);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn what_the_old_table_refused_is_still_refused(
        helm in any::<bool>(),
        words in prop::collection::vec(
            prop_oneof![
                prop::sample::select(WORDS).prop_map(str::to_owned),
                // Flags of any name and spelling, and plain words.
                "(-{1,2})[a-z_-]{1,12}(=[a-z:/]{0,6})?",
                "-[a-zA-Z]{1,4}",
                "[a-z]{1,6}",
            ],
            0..10,
        ),
    ) {
        let program = if helm { "helm" } else { "kubectl" };
        let args: Vec<&str> = words.iter().map(String::as_str).collect();
        if old::refused(program, &args) {
            prop_assert!(refused(program, &args), "{} {:?}", program, args);
        }
    }
}
