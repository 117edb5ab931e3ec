//! The guard's parse is what executors and previews read instead of flag tables of their own:
//! a command's words as the grammar reads them ([`CommandAssessment::reading`]), and every
//! connection or identity flag kubectl or helm could read in them
//! ([`CommandAssessment::possible_connection_flags`]).

use kopilot_safety::parse_argv;
use proptest::prelude::*;

fn words(line: &str) -> Vec<&str> {
    line.split(' ').collect()
}

#[test]
fn a_reading_places_every_word() {
    let parsed = parse_argv(&words(
        "kubectl -n shop rollout restart deploy/web --field-manager x -it -oyaml -- a --b",
    ));
    let r = parsed.reading().unwrap();
    assert_eq!(r.command_path(), [3, 4]);
    assert_eq!(r.positionals(), [5, 11, 12]);
    assert_eq!(r.end_of_flags(), Some(10));
    let flags: Vec<(&str, Option<&str>, usize, Option<usize>)> = r
        .flags()
        .iter()
        .map(|f| (f.name.as_str(), f.value, f.word, f.value_word))
        .collect();
    assert_eq!(
        flags,
        [
            ("namespace", Some("shop"), 1, Some(2)),
            ("field-manager", Some("x"), 6, Some(7)),
            ("stdin", None, 8, None),
            ("tty", None, 8, None),
            ("output", Some("yaml"), 9, None),
        ]
    );
    assert_eq!(r.flags_in(8).count(), 2);
    // A `--` that is a flag's value does not end the flags.
    let parsed = parse_argv(&words("kubectl get pods -l -- -A"));
    let r = parsed.reading().unwrap();
    assert_eq!(r.end_of_flags(), None);
    assert_eq!(r.flag("all-namespaces").map(|f| f.word), Some(5));
}

#[test]
fn there_is_no_reading_when_the_command_path_is_ambiguous_or_not_kubectl() {
    // cobra takes `--foo` to need a value (and `get` to be it); pflag may not.
    assert!(
        parse_argv(&words("kubectl --foo get pods"))
            .reading()
            .is_none()
    );
    assert!(parse_argv(&words("helm list -A")).reading().is_none());
    assert!(parse_argv(&words("grep -v x")).reading().is_none());
    // Without a verb there is a reading with no command path.
    let parsed = parse_argv(&words("kubectl -n x"));
    assert_eq!(parsed.reading().map(|r| r.command_path().len()), Some(0));
}

#[test]
fn connection_flags_are_found_wherever_a_word_spells_one() {
    for (line, found) in [
        ("kubectl get pods --server=https://x", &["server"][..]),
        ("kubectl get pods -As https://x", &["server"]),
        ("kubectl get pods --server-print -s https://x", &["server"]),
        ("kubectl top pod --containers --token=t", &["token"]),
        ("kubectl get pods -l --context=prod", &["context"]),
        (
            "kubectl get pods --as_group=x --client_key=/k",
            &["as-group", "client-key"],
        ),
        ("kubectl logs -fs https://x web", &["server"]),
        ("kubectl exec web -c -- env --as=x", &["as"]),
        ("helm --kube-context prod", &["kube-context"]),
        ("helm list --kube_token=t", &["kube-token"]),
        (
            "timeout 5 kubectl get pods --kubeconfig=/x",
            &["kubeconfig"],
        ),
        ("kubectl exec web -it -- env --token=t", &[]),
        ("kubectl exec web -c app -- env --token=t", &[]),
        ("kubectl -- get pods --server=x", &[]),
        ("kubectl get pods -lapp=server -nshop", &[]),
        ("kubectl apply -fservice.yaml", &[]),
        ("grep --token x", &[]),
    ] {
        assert_eq!(
            parse_argv(&words(line)).possible_connection_flags(),
            found,
            "{line}"
        );
    }
}

#[test]
fn words_only_known_at_run_time_are_marked() {
    let guard = kopilot_safety::Guard::new(kopilot_safety::Policy::default());
    for (line, unknown) in [
        ("kubectl get pods -o name | xargs kubectl get", true),
        ("cat x | xargs -I{} kubectl get pods {}", true),
        ("kubectl get pods -n \"$NS\"", true),
        ("echo pods | xargs kubectl get", false),
        ("kubectl get pods -n shop", false),
    ] {
        let a = guard.assess(line);
        let kubectl = a.commands.iter().filter(|c| c.program == "kubectl");
        assert_eq!(
            kubectl
                .clone()
                .any(kopilot_safety::CommandAssessment::has_run_time_words),
            unknown,
            "{line}: {:?}",
            a.commands
        );
    }
}

const WORDS: &[&str] = &[
    "get",
    "pods",
    "logs",
    "rollout",
    "restart",
    "create",
    "deployment",
    "web",
    "x",
    "--",
    "-n",
    "-nshop",
    "-l",
    "-c",
    "-f",
    "-o",
    "-oyaml",
    "-A",
    "-it",
    "-s",
    "-As",
    "--server=x",
    "--server-print",
    "--token",
    "--replicas",
    "--replicas=2",
    "--dry-run=server",
    "-p",
    "--field-manager",
    "--raw",
    "--foo",
    "-v6",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, failure_persistence: None, ..ProptestConfig::default() })]

    /// The reading is the guard's own parse: the same flags and values, in the same order, and
    /// the connection flags it finds include the guard's.
    #[test]
    fn the_reading_is_the_guards_parse(
        args in prop::collection::vec(prop::sample::select(WORDS), 0..10),
    ) {
        let mut argv = vec!["kubectl"];
        argv.extend(args);
        let parsed = parse_argv(&argv);
        let possible = parsed.possible_connection_flags();
        for flag in &parsed.connection_flags {
            prop_assert!(possible.contains(flag), "{:?}", argv);
        }
        if let Some(reading) = parsed.reading() {
            let read: Vec<(&str, Option<&str>)> =
                reading.flags().iter().map(|f| (f.name.as_str(), f.value)).collect();
            let guard: Vec<(&str, Option<&str>)> =
                parsed.flags.iter().map(|f| (f.name.as_str(), f.value.as_deref())).collect();
            prop_assert_eq!(read, guard, "{:?}", argv);
            let path: Vec<&str> =
                reading.command_path().iter().map(|i| argv[*i]).collect();
            prop_assert_eq!(parsed.verb.clone().unwrap_or_default(), path.join(" "));
            // Every word is the program, the path, a flag, a flag's value, a positional or
            // the `--` that ends the flags, and only one of them.
            let mut seen = vec![0u8; argv.len()];
            seen[0] += 1;
            for i in reading.command_path().iter().chain(reading.positionals()).chain(reading.end_of_flags().iter()) {
                seen[*i] += 1;
            }
            for w in reading.flags().iter().filter_map(|f| f.value_word) {
                seen[w] += 1;
            }
            let mut flag_words: Vec<usize> = reading.flags().iter().map(|f| f.word).collect();
            flag_words.dedup();
            for w in flag_words {
                seen[w] += 1;
            }
            prop_assert!(seen.iter().all(|n| *n == 1), "{:?} {:?}", argv, seen);
        }
    }
}
