//! Fuzzes the guard: any bytes must produce an assessment, never a panic or a hang, and a line
//! that contains a NUL byte or is not UTF-8 must never be allowed.
//!
//! Run with `cargo +nightly fuzz run assess` from this directory.
#![no_main]

use kopilot_safety::{Decision, Guard, Policy};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let guard = Guard::new(Policy::default());
    let assessment = guard.assess_bytes(data);
    if data.contains(&0) || std::str::from_utf8(data).is_err() {
        assert_ne!(assessment.decision, Decision::Allow);
    }
    assert!(!assessment.reasons.is_empty());
});
