//! Shared by the table-driven tests.

#![allow(dead_code)]

pub(crate) mod cases;

use kopilot_safety::{Decision, Guard, Policy, Risk};

/// Assesses every `(line, decision, risk)` case under the default policy and fails with every
/// case that differs (and any that has no reason), not just the first.
#[track_caller]
pub(crate) fn check_table(cases: &[(&str, Decision, Risk)]) {
    let guard = Guard::new(Policy::default());
    let mut failures = Vec::new();
    for (line, decision, risk) in cases {
        let a = guard.assess(line);
        if (a.decision, a.risk) != (*decision, *risk) {
            failures.push(format!(
                "{line:?}: expected {decision}/{risk}, got {}/{} because {:?}",
                a.decision, a.risk, a.reasons
            ));
        }
        if a.reasons.is_empty() {
            failures.push(format!("{line:?} has no reasons"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
