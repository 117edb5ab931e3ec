//! The one error type of this crate.

use std::time::Duration;

/// Everything that can go wrong talking to a model, named by cause so a caller can act on it.
///
/// No variant ever carries an API key: keys travel only in request headers marked sensitive.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration is incomplete or wrong; `setting` names the environment variable
    /// (or builder setting) to fix.
    #[error("{setting}: {reason}")]
    Config {
        /// The environment variable or builder setting at fault, e.g. `OPENAI_API_KEY`.
        setting: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The provider rejected the credentials (HTTP 401/403, or Gemini's invalid-key 400).
    #[error("authentication with {provider} failed: {message}")]
    Authentication {
        /// Provider name, e.g. `anthropic`.
        provider: String,
        /// The provider's own explanation.
        message: String,
    },

    /// The provider is rate limiting us and the retries are used up (or the wait it asks
    /// for is longer than we are willing to sleep).
    #[error("rate limited by the provider{}: {message}", retry_hint(*retry_after))]
    RateLimited {
        /// How long the provider asked us to wait (`Retry-After`), when it said.
        retry_after: Option<Duration>,
        /// The provider's own explanation.
        message: String,
    },

    /// The conversation no longer fits the model's context window.
    #[error("the prompt is too long for the model's context window: {message}")]
    ContextTooLong {
        /// The provider's own explanation (often with the token counts).
        message: String,
    },

    /// The model (or the endpoint serving it) does not exist.
    #[error("model `{model}` not found at {url}: {message}")]
    ModelNotFound {
        /// The model, deployment or id we asked for.
        model: String,
        /// The URL that answered 404 (a wrong base URL looks the same as a wrong model).
        url: String,
        /// The provider's own explanation.
        message: String,
    },

    /// Nothing answers at the URL (404 without a word about a model): the base URL is
    /// probably wrong.
    #[error("nothing found at {url} (404{}): check the provider's base URL (OPENAI_BASE_URL, OLLAMA_BASE_URL, ...)", if .message.is_empty() { String::new() } else { format!(": {}", .message) })]
    NotFound {
        /// The URL that answered 404.
        url: String,
        /// The server's own explanation, if any.
        message: String,
    },

    /// The provider answered with something we could not understand.
    #[error("the provider returned an unparseable response ({reason}): {excerpt}")]
    InvalidResponse {
        /// What was wrong with it.
        reason: String,
        /// The first few hundred characters of what came back.
        excerpt: String,
    },

    /// Any other HTTP error status, with the provider's message.
    #[error("the provider answered HTTP {status}: {message}")]
    Http {
        /// The HTTP status code.
        status: u16,
        /// The provider's own explanation (or an excerpt of the body).
        message: String,
    },

    /// An error the provider reported inside an otherwise successful stream.
    #[error("the provider reported an error mid-stream: {message}")]
    Provider {
        /// The provider's own explanation.
        message: String,
    },

    /// We could not reach the provider (refused, reset, DNS, TLS).
    #[error("could not connect to {url}: {source}")]
    Connection {
        /// The URL we tried (user info stripped).
        url: String,
        /// The underlying transport error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// No answer arrived within the request timeout.
    #[error("no answer from {url} within {after:?}")]
    Timeout {
        /// The URL we waited on.
        url: String,
        /// The timeout that expired.
        after: Duration,
    },

    /// A stream went quiet for longer than the idle timeout.
    #[error("the stream from {url} sent nothing for {after:?}")]
    StreamStalled {
        /// The URL of the stream.
        url: String,
        /// The idle timeout that expired.
        after: Duration,
    },

    /// A stream ended before the provider said the answer was complete, so the answer
    /// may be cut short.
    #[error("the stream ended before the answer was complete: {reason}")]
    StreamInterrupted {
        /// What happened (connection closed, no terminal event, ...).
        reason: String,
    },

    /// A `ScriptedModel` (feature `test-util`) was asked for more replies than it was given.
    #[error(
        "the scripted model has no reply left: {served} replies were scripted and all are used"
    )]
    ScriptExhausted {
        /// How many replies the script held.
        served: usize,
    },
}

fn retry_hint(retry_after: Option<Duration>) -> String {
    retry_after.map_or_else(String::new, |d| format!(" (retry after {d:?})"))
}

impl Error {
    /// Whether trying the same request again later may succeed (rate limits, server errors,
    /// connection problems, timeouts, interrupted streams).
    pub fn is_transient(&self) -> bool {
        match self {
            Error::RateLimited { .. }
            | Error::Connection { .. }
            | Error::Timeout { .. }
            | Error::StreamStalled { .. }
            | Error::StreamInterrupted { .. }
            | Error::Provider { .. } => true,
            Error::Http { status, .. } => *status >= 500 || *status == 408,
            Error::Config { .. }
            | Error::Authentication { .. }
            | Error::ContextTooLong { .. }
            | Error::ModelNotFound { .. }
            | Error::NotFound { .. }
            | Error::InvalidResponse { .. }
            | Error::ScriptExhausted { .. } => false,
        }
    }

    /// A configuration error for `setting`.
    pub(crate) fn config(setting: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Config {
            setting: setting.into(),
            reason: reason.into(),
        }
    }

    /// An unparseable-response error with a short excerpt of `body`.
    #[cfg_attr(not(feature = "providers"), allow(dead_code))]
    pub(crate) fn invalid_response(reason: impl Into<String>, body: &str) -> Self {
        Error::InvalidResponse {
            reason: reason.into(),
            excerpt: excerpt(body),
        }
    }
}

/// The first 300 characters of `text` (on a character boundary), marked when cut.
pub(crate) fn excerpt(text: &str) -> String {
    const LIMIT: usize = 300;
    let trimmed = text.trim();
    match trimmed.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!("{}…", trimmed.get(..cut).unwrap_or(trimmed)),
        None => trimmed.to_owned(),
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_cuts_long_text_on_a_char_boundary() {
        let long = "é".repeat(400);
        let cut = excerpt(&long);
        assert_eq!(cut.chars().count(), 301);
        assert!(cut.ends_with('…'));
        assert_eq!(excerpt("  short \n"), "short");
    }

    #[test]
    fn rate_limit_message_mentions_the_wait() {
        let err = Error::RateLimited {
            retry_after: Some(Duration::from_secs(3)),
            message: "slow down".into(),
        };
        assert_eq!(
            err.to_string(),
            "rate limited by the provider (retry after 3s): slow down"
        );
        assert!(err.is_transient());
    }
}
