//! What both real-server test files share: where the llama.cpp server is, and the two wire
//! formats it speaks.

const URL_VARIABLE: &str = "KOPILOT_TEST_LLAMACPP_URL";

/// The shared server's base URL, or `None` after saying why the test is skipped.
pub(crate) fn llamacpp_url(test: &str) -> Option<String> {
    match std::env::var(URL_VARIABLE) {
        Ok(url) if !url.trim().is_empty() => Some(url.trim().trim_end_matches('/').to_owned()),
        _ => {
            eprintln!(
                "skipped {test}: {URL_VARIABLE} is not set; start a server with \
                 `scripts/llamacpp-server start --url-file F --pid-file P` and export the URL \
                 it prints (see kopilot-llm/README.md)"
            );
            None
        }
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
