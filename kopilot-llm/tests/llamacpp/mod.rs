//! What both real-server test files share: where the llama.cpp server is, and the two wire
//! formats it speaks.

const URL_VARIABLE: &str = "KOPILOT_TEST_LLAMACPP_URL";

/// The shared server's base URL; fails the test, saying how to start a server, when
/// `KOPILOT_TEST_LLAMACPP_URL` is not set. The tests that call it are `#[ignore = "needs the
/// llama.cpp server: ..."]`: a plain `cargo nextest run` counts them as skipped, and `.ci/run`
/// starts the server and runs them.
#[track_caller]
pub(crate) fn llamacpp_url() -> String {
    match std::env::var(URL_VARIABLE) {
        Ok(url) if !url.trim().is_empty() => url.trim().trim_end_matches('/').to_owned(),
        _ => panic!(
            "{URL_VARIABLE} is not set: this test needs a llama.cpp server. Start one with \
             `scripts/llamacpp-server start --url-file F --pid-file P` and set \
             {URL_VARIABLE}=$(cat F) (see kopilot-llm/README.md), or leave out the ignored \
             tests (no --run-ignored / --ignored)"
        ),
    }
}

/// The two providers llama.cpp's server speaks, configured the way a user would: through
/// the environment variables, base URLs included.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Flavor {
    OpenAiCompatible,
    Anthropic,
}

pub(crate) const FLAVORS: [Flavor; 2] = [Flavor::OpenAiCompatible, Flavor::Anthropic];
