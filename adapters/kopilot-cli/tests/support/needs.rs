//! What some tests need from outside this repository: the real `kubectl`, a llama.cpp server.
//! Each such test is `#[ignore = "needs ..."]`, so a plain `cargo nextest run` counts it as
//! skipped, and `.ci/run` runs them (`--run-ignored only`) once it has installed or started
//! what they need. A test that is run and cannot do its job fails here, saying what is missing.
//! Part of `support`; a test file that needs nothing else from it includes it alone (`#[path]`).

#![allow(dead_code, unreachable_pub)]

/// Where `.ci/run` puts the base URL of the llama.cpp server it started.
pub const LLAMACPP_URL_VARIABLE: &str = "KOPILOT_TEST_LLAMACPP_URL";

// kubectl: the fake API server's test kit has the one check.
pub use kopilot_fake::kubectl::require_kubectl;

/// The llama.cpp server's base URL from `KOPILOT_TEST_LLAMACPP_URL`; fails the test, saying how
/// to start one, when it is not set (for tests that are `#[ignore = "needs the llama.cpp
/// server: ..."]`).
#[track_caller]
pub fn llamacpp_url() -> String {
    match std::env::var(LLAMACPP_URL_VARIABLE) {
        Ok(url) if !url.trim().is_empty() => url.trim().trim_end_matches('/').to_owned(),
        _ => panic!(
            "{LLAMACPP_URL_VARIABLE} is not set: this test needs a llama.cpp server. Start one \
             with `scripts/llamacpp-server start --url-file F --n-ctx 8192 --pid-file P` and set \
             {LLAMACPP_URL_VARIABLE}=$(cat F) (see kopilot-llm/README.md), or leave out the \
             ignored tests (no --run-ignored / --ignored)"
        ),
    }
}
