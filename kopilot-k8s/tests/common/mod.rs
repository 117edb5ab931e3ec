//! Shared helpers: the fake cluster's kubectl harness (from `kopilot-fake`'s `test-util`),
//! and the default guard's clearance of a tool's planned lines.

#![allow(dead_code, unreachable_pub, unused_imports)]

use kopilot_core::safety::{ClearedCommand, Guard, Policy, RequestContext, Verdict};
pub use kopilot_fake::kubectl::{Harness, Run, cols, line_with, require_kubectl};

/// Clears a tool's planned command lines through the default guard, as the runtime would;
/// panics on any line the guard does not allow outright.
pub fn cleared_by_default_guard(lines: &[String]) -> Vec<ClearedCommand> {
    let guard = Guard::new(Policy::default());
    lines
        .iter()
        .map(|line| {
            match guard.check(
                line,
                &RequestContext::new(kopilot_core::safety::Identity::new("test")),
            ) {
                Verdict::Allowed(command) => command,
                other => panic!("{line} was not allowed: {other:?}"),
            }
        })
        .collect()
}
