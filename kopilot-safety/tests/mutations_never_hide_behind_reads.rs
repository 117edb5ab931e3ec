//! Property tests: joining a mutation to any read never makes it allowed, and no input panics.

mod common;

use kopilot_safety::{Decision, Guard, Mode, Policy};
use proptest::prelude::*;

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
        read in prop::sample::select(common::cases::READS),
        mutation in prop::sample::select(common::cases::MUTATIONS),
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
