//! The classes of fail-open paths an attacker tried on the guard, each with many siblings:
//! raw API requests, helm and kubectl flags that run or read local things, output formats,
//! kustomizations, protected namespaces reached indirectly, Secrets printed in shapes that
//! redaction cannot check, and critical commands hidden behind here-documents, pipes into
//! shells, `trap`, `env -S`, globs, braces, ANSI-C quoting and wrappers.

mod common;

use kopilot_safety::{Decision, Guard, Policy, Risk};
use proptest::prelude::*;

#[test]
fn every_case_gets_the_expected_decision_and_risk() {
    common::check_table(common::cases::INDIRECT);
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

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    /// A critical command hidden behind any indirection, or two of them, is still blocked.
    #[test]
    fn a_hidden_critical_command_is_never_allowed(
        command in prop::sample::select(common::cases::CRITICAL),
        outer in prop::sample::select(common::cases::INDIRECTIONS),
        inner in prop::sample::select(common::cases::INDIRECTIONS),
        twice in any::<bool>(),
    ) {
        let (program, args) = command;
        let once = common::cases::hide(inner, program, args);
        // Nest only where the inner text needs no quoting of its own (and keeps its meaning: an
        // outer shell would expand a brace group in it into other words).
        let line = if twice && !outer.contains("{p") && !outer.contains("{a}")
            && !once.contains(['\'', '"', '$', '\n', '{'])
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
