//! Sending requests: timeouts, retries with backoff, and typed errors from provider answers.

use std::future::Future;
use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Response, StatusCode};
use serde_json::Value;
use url::Url;

use crate::config::{ProviderKind, Transport};
use crate::error::excerpt;
use crate::{Error, Result};

/// What a request is about, for error messages.
#[derive(Debug, Clone)]
pub(crate) struct RequestContext {
    pub(crate) provider: ProviderKind,
    pub(crate) model: String,
    pub(crate) url: String,
}

/// An HTTP client with this provider's timeouts and retry policy.
#[derive(Debug, Clone)]
pub(crate) struct HttpClient {
    client: reqwest::Client,
    transport: Transport,
}

impl HttpClient {
    pub(crate) fn new(transport: &Transport) -> Result<Self> {
        // No whole-request timeout on the client: it would cut long streams. Each call
        // sets its own (see `post_json`, `post_stream`).
        let client = reqwest::Client::builder()
            .connect_timeout(transport.connect_timeout)
            .build()
            .map_err(|err| Error::config("http client", format!("cannot build it: {err}")))?;
        Ok(HttpClient {
            client,
            transport: transport.clone(),
        })
    }

    pub(crate) fn transport(&self) -> &Transport {
        &self.transport
    }

    /// POSTs `body` and returns the whole answer body, retrying transient failures.
    pub(crate) async fn post_json(
        &self,
        url: &Url,
        headers: &HeaderMap,
        body: &Value,
        context: &RequestContext,
    ) -> Result<String> {
        self.with_retries(context, || async {
            let response = self.send(url, headers, body, context).await?;
            response
                .text()
                .await
                .map_err(|err| connection_error(context, err))
        })
        .await
    }

    /// POSTs `body` and returns the response once its headers say success, retrying
    /// transient failures before that point. The body is left to the caller to stream.
    pub(crate) async fn post_stream(
        &self,
        url: &Url,
        headers: &HeaderMap,
        body: &Value,
        context: &RequestContext,
    ) -> Result<Response> {
        self.with_retries(context, || self.send(url, headers, body, context))
            .await
    }

    /// Reads a whole answer body within the request timeout.
    pub(crate) async fn read_body(
        &self,
        response: Response,
        context: &RequestContext,
    ) -> Result<String> {
        let timeout = self.transport.request_timeout;
        tokio::time::timeout(timeout, response.text())
            .await
            .map_err(|_| Error::Timeout {
                url: context.url.clone(),
                after: timeout,
            })?
            .map_err(|err| connection_error(context, err))
    }

    /// One GET with no retries, for health checks.
    pub(crate) async fn get(
        &self,
        url: &Url,
        headers: &HeaderMap,
        context: &RequestContext,
    ) -> Result<()> {
        self.request_text(self.client.get(url.clone()), headers, context)
            .await
            .map(drop)
    }

    /// One POST of `body` with no retries, returning the answer's body (for metadata such as
    /// Ollama's `/api/show`).
    pub(crate) async fn post_once(
        &self,
        url: &Url,
        headers: &HeaderMap,
        body: &Value,
        context: &RequestContext,
    ) -> Result<String> {
        self.request_text(self.client.post(url.clone()).json(body), headers, context)
            .await
    }

    /// One GET with no retries, returning the answer's body.
    pub(crate) async fn get_text(
        &self,
        url: &Url,
        headers: &HeaderMap,
        context: &RequestContext,
    ) -> Result<String> {
        self.request_text(self.client.get(url.clone()), headers, context)
            .await
    }

    async fn request_text(
        &self,
        request: reqwest::RequestBuilder,
        headers: &HeaderMap,
        context: &RequestContext,
    ) -> Result<String> {
        let attempt = async {
            let response = request
                .headers(headers.clone())
                .send()
                .await
                .map_err(|err| connection_error(context, err))?;
            let response = check_status(response, context).await?;
            response
                .text()
                .await
                .map_err(|err| connection_error(context, err))
        };
        tokio::time::timeout(
            self.transport.connect_timeout + Duration::from_secs(5),
            attempt,
        )
        .await
        .map_err(|_| Error::Timeout {
            url: context.url.clone(),
            after: self.transport.connect_timeout + Duration::from_secs(5),
        })?
    }

    async fn send(
        &self,
        url: &Url,
        headers: &HeaderMap,
        body: &Value,
        context: &RequestContext,
    ) -> Result<Response> {
        tracing::debug!(provider = %context.provider, model = %context.model, url = %context.url, "sending model request");
        let response = self
            .client
            .post(url.clone())
            .headers(headers.clone())
            .json(body)
            .send()
            .await
            .map_err(|err| connection_error(context, err))?;
        check_status(response, context).await
    }

    async fn with_retries<T, F, Fut>(&self, context: &RequestContext, mut attempt: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let timeout = self.transport.request_timeout;
        let mut retries = 0;
        loop {
            let outcome = match tokio::time::timeout(timeout, attempt()).await {
                Ok(outcome) => outcome,
                Err(_) => Err(Error::Timeout {
                    url: context.url.clone(),
                    after: timeout,
                }),
            };
            let error = match outcome {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            let Some(delay) = retry_delay(&self.transport, &error, retries) else {
                return Err(error);
            };
            retries += 1;
            tracing::warn!(
                provider = %context.provider,
                attempt = retries,
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                error = %error,
                "model request failed; retrying"
            );
            tokio::time::sleep(delay).await;
        }
    }
}

/// How long to wait before retry number `retries + 1`, or `None` to give up.
pub(crate) fn retry_delay(transport: &Transport, error: &Error, retries: u32) -> Option<Duration> {
    if retries >= transport.max_retries {
        return None;
    }
    match error {
        Error::RateLimited {
            retry_after: Some(wait),
            ..
        } => (*wait <= transport.max_retry_after).then_some(*wait),
        Error::RateLimited {
            retry_after: None, ..
        }
        | Error::Connection { .. } => Some(backoff(transport, retries)),
        Error::Http { status, .. } if *status >= 500 || *status == 408 => {
            Some(backoff(transport, retries))
        }
        _ => None,
    }
}

/// Exponential backoff with "equal jitter": half the step fixed, half random.
fn backoff(transport: &Transport, retries: u32) -> Duration {
    let step = transport
        .initial_backoff
        .saturating_mul(2u32.saturating_pow(retries))
        .min(transport.max_backoff);
    let half = step / 2;
    let random = RandomState::new().hash_one(retries);
    let jitter_nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX).max(1);
    half + Duration::from_nanos(random % jitter_nanos)
}

fn connection_error(context: &RequestContext, err: reqwest::Error) -> Error {
    // reqwest's own message repeats the full URL; ours names it once, without user info.
    Error::Connection {
        url: context.url.clone(),
        source: Box::new(err.without_url()),
    }
}

async fn check_status(response: Response, context: &RequestContext) -> Result<Response> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let retry_after = retry_after(response.headers());
    let body = response.text().await.unwrap_or_default();
    Err(classify(context, Some(status), &body, retry_after))
}

/// The wait a 429 asks for: `retry-after-ms` (OpenAI) or `retry-after` in seconds.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let number = |name: &str| {
        headers
            .get(name)?
            .to_str()
            .ok()?
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
    };
    if let Some(ms) = number("retry-after-ms") {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    number("retry-after").map(Duration::from_secs_f64)
}

/// What an error body says, whichever provider wrote it.
struct ErrorBody {
    message: String,
    /// `code`, `type` and `status` strings, for recognising the cause.
    codes: Vec<String>,
}

fn read_error_body(body: &str) -> ErrorBody {
    let Ok(json) = serde_json::from_str::<Value>(body) else {
        return ErrorBody {
            message: excerpt(body),
            codes: Vec::new(),
        };
    };
    let error = json.get("error").unwrap_or(&json);
    let message = match error {
        Value::String(text) => text.clone(),
        _ => error
            .get("message")
            .or_else(|| json.get("message"))
            .or_else(|| json.get("detail"))
            .and_then(Value::as_str)
            .map_or_else(|| excerpt(body), str::to_owned),
    };
    let mut codes: Vec<String> = ["code", "type", "status"]
        .iter()
        .filter_map(|key| error.get(*key))
        .filter_map(|value| match value {
            Value::String(text) => Some(text.clone()),
            Value::Number(number) => Some(number.to_string()),
            _ => None,
        })
        .collect();
    // Gemini puts the precise reason in details[].reason (e.g. API_KEY_INVALID).
    if let Some(details) = error.get("details").and_then(Value::as_array) {
        codes.extend(
            details
                .iter()
                .filter_map(|d| d.get("reason")?.as_str().map(str::to_owned)),
        );
    }
    ErrorBody { message, codes }
}

const CONTEXT_TOO_LONG_MARKERS: &[&str] = &[
    "context_length_exceeded",            // OpenAI, Azure, vLLM
    "maximum context length",             // OpenAI, vLLM
    "exceed_context_size_error",          // llama.cpp server
    "exceeds the available context size", // llama.cpp server
    "prompt is too long",                 // Anthropic
    "input token count", // Gemini: "The input token count (N) exceeds the maximum ..."
    "exceeds the maximum number of tokens",
    "context window",
    "too many tokens",
];

/// Turns a failed answer (an HTTP status and body, or an error event inside a stream when
/// `status` is `None`) into a typed error.
pub(crate) fn classify(
    context: &RequestContext,
    status: Option<StatusCode>,
    body: &str,
    retry_after: Option<Duration>,
) -> Error {
    let ErrorBody { message, codes } = read_error_body(body);
    let haystack = format!("{message} {}", codes.join(" ")).to_ascii_lowercase();
    let has_code = |code: &str| codes.iter().any(|c| c.eq_ignore_ascii_case(code));
    // A rate limit may speak of tokens too ("tokens per minute"): it is not about context.
    let may_be_context =
        status.is_none_or(|s| s.is_client_error() && s != StatusCode::TOO_MANY_REQUESTS);
    if may_be_context
        && CONTEXT_TOO_LONG_MARKERS
            .iter()
            .any(|marker| haystack.contains(marker))
    {
        return Error::ContextTooLong { message };
    }
    let authentication = || Error::Authentication {
        provider: context.provider.to_string(),
        message: message.clone(),
    };
    let Some(status) = status else {
        // An error event inside a 200 stream: no status, only a type.
        return if has_code("rate_limit_error") || has_code("rate_limit_exceeded") {
            Error::RateLimited {
                retry_after: None,
                message,
            }
        } else if has_code("authentication_error") || has_code("permission_error") {
            authentication()
        } else {
            Error::Provider { message }
        };
    };
    match status.as_u16() {
        401 | 403 => authentication(),
        400 if has_code("API_KEY_INVALID") || haystack.contains("api key not valid") => {
            authentication()
        }
        // A 404 that names no model or deployment is a URL with nothing behind it (a base
        // URL without `/v1`, a typo), not a missing model.
        404 if !(haystack.contains("model") || haystack.contains("deployment")) => {
            Error::NotFound {
                url: context.url.clone(),
                message,
            }
        }
        404 => Error::ModelNotFound {
            model: context.model.clone(),
            url: context.url.clone(),
            message,
        },
        // A used-up quota will not come back by waiting.
        429 if has_code("insufficient_quota") => Error::Http {
            status: 429,
            message,
        },
        429 => Error::RateLimited {
            retry_after,
            message,
        },
        code => Error::Http {
            status: code,
            message,
        },
    }
}

/// The URL for messages: without user info, which may hold credentials.
pub(crate) fn display_url(url: &Url) -> String {
    let mut shown = url.clone();
    // Both setters only fail for URLs that cannot have user info, which then has none.
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> RequestContext {
        RequestContext {
            provider: ProviderKind::OpenAi,
            model: "m".into(),
            url: "http://127.0.0.1/v1/chat/completions".into(),
        }
    }

    #[test]
    fn context_errors_of_every_provider_are_recognised() {
        let bodies = [
            r#"{"error":{"message":"This model's maximum context length is 8192 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#,
            r#"{"error":{"code":400,"message":"request (4476 tokens) exceeds the available context size (4096 tokens)","type":"exceed_context_size_error","n_prompt_tokens":4476,"n_ctx":4096}}"#,
            r#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}}"#,
            r#"{"error":{"code":400,"message":"The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).","status":"INVALID_ARGUMENT"}}"#,
        ];
        for body in bodies {
            let err = classify(&context(), Some(StatusCode::BAD_REQUEST), body, None);
            assert!(
                matches!(err, Error::ContextTooLong { .. }),
                "{body} gave {err:?}"
            );
        }
    }

    #[test]
    fn token_rate_limits_are_not_context_errors() {
        let body = r#"{"error":{"message":"Too many tokens per minute, please slow down","type":"tokens","code":"rate_limit_exceeded"}}"#;
        let err = classify(&context(), Some(StatusCode::TOO_MANY_REQUESTS), body, None);
        assert!(matches!(err, Error::RateLimited { .. }), "{err:?}");
    }

    #[test]
    fn gemini_invalid_key_is_an_authentication_error() {
        let body = r#"{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]}}"#;
        let err = classify(&context(), Some(StatusCode::BAD_REQUEST), body, None);
        assert!(matches!(err, Error::Authentication { .. }), "{err:?}");
    }

    #[test]
    fn ollama_string_errors_keep_their_message() {
        let body = r#"{"error":"model \"llama9\" not found, try pulling it first"}"#;
        let err = classify(&context(), Some(StatusCode::NOT_FOUND), body, None);
        let Error::ModelNotFound { message, .. } = err else {
            panic!("{err:?}")
        };
        assert_eq!(message, "model \"llama9\" not found, try pulling it first");
    }

    #[test]
    fn unparseable_error_bodies_become_short_excerpts() {
        let body = "<html>".to_owned() + &"x".repeat(5000);
        let Error::Http { status, message } =
            classify(&context(), Some(StatusCode::BAD_GATEWAY), &body, None)
        else {
            panic!("expected an HTTP error")
        };
        assert_eq!(status, 502);
        assert!(message.chars().count() <= 301);
    }

    #[test]
    fn retries_are_bounded_and_skip_client_errors() {
        let transport = Transport {
            max_retries: 2,
            ..Transport::default()
        };
        let server = Error::Http {
            status: 503,
            message: String::new(),
        };
        assert!(retry_delay(&transport, &server, 0).is_some());
        assert!(retry_delay(&transport, &server, 1).is_some());
        assert!(retry_delay(&transport, &server, 2).is_none());
        for status in [400, 401, 403, 404] {
            let client = classify(&context(), StatusCode::from_u16(status).ok(), "{}", None);
            assert!(
                retry_delay(&transport, &client, 0).is_none(),
                "{status} must not retry"
            );
        }
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_limit() {
        let transport = Transport::default();
        let asked = |secs| Error::RateLimited {
            retry_after: Some(Duration::from_secs(secs)),
            message: String::new(),
        };
        assert_eq!(
            retry_delay(&transport, &asked(7), 0),
            Some(Duration::from_secs(7))
        );
        assert_eq!(retry_delay(&transport, &asked(3600), 0), None);
    }

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        let transport = Transport {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
            ..Transport::default()
        };
        for retries in 0..8 {
            let step = (100u64 << retries).min(1000);
            let delay = backoff(&transport, retries);
            assert!(
                delay >= Duration::from_millis(step / 2),
                "{retries}: {delay:?}"
            );
            assert!(delay <= Duration::from_millis(step), "{retries}: {delay:?}");
        }
    }

    #[test]
    fn retry_after_headers_are_read() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", "2".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(2)));
        headers.insert("retry-after-ms", "1500".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_millis(1500)));
    }

    #[test]
    fn urls_are_shown_without_credentials() {
        let url = Url::parse("http://me:pw@127.0.0.1:8080/v1").unwrap();
        assert_eq!(display_url(&url), "http://127.0.0.1:8080/v1");
    }
}
