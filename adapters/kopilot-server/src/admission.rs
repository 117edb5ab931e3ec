//! What every request passes before a handler sees it: the `Host` and `Origin` checks (a web
//! page in a local browser can send requests to 127.0.0.1, and DNS rebinding can make a name
//! point there), the content type of a body, the bearer token, and the caller's rate.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kopilot_core::ErrorCode;

use crate::error::ApiError;
use crate::tokens::{Caller, Role};
use crate::{AppState, ServerConfig};

/// Paths anyone may read without a token: liveness, readiness and metrics.
const PUBLIC: [&str; 4] = ["/health", "/healthz", "/readyz", "/metrics"];

/// Which `Host` and `Origin` values the server answers.
#[derive(Debug, Clone)]
pub(crate) struct Origins {
    port: u16,
    /// Any IP literal is fine as `Host` (the server is bound to all addresses).
    any_ip: bool,
    /// Host names and IPs allowed (lowercase, without port): the bound address, `localhost`,
    /// the loopback literals, and the configured ones.
    hosts: Vec<String>,
    /// Origins allowed beyond those of the allowed hosts (`https://console.example.com`).
    also_allowed: Vec<String>,
}

impl Origins {
    pub(crate) fn new(addr: SocketAddr, config: &ServerConfig) -> Self {
        let mut hosts: Vec<String> = vec![
            "localhost".into(),
            "127.0.0.1".into(),
            "[::1]".into(),
            host_of_ip(addr.ip()),
        ];
        hosts.extend(config.allowed_hosts.iter().map(|h| h.to_ascii_lowercase()));
        Self {
            port: addr.port(),
            any_ip: addr.ip().is_unspecified(),
            hosts,
            also_allowed: config
                .allowed_origins
                .iter()
                .map(|o| o.trim_end_matches('/').to_ascii_lowercase())
                .collect(),
        }
    }

    /// Whether `host` (a `Host` header: name or IP, with or without a port) is served.
    fn host_allowed(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        let (name, port) = split_port(&host);
        if port.is_some_and(|p| p != self.port) && !self.hosts.iter().any(|h| h == &host) {
            return false;
        }
        if self.hosts.iter().any(|h| h == name) {
            return true;
        }
        self.any_ip && name.trim_matches(['[', ']']).parse::<IpAddr>().is_ok()
    }

    /// Whether `origin` is one configured for cross-origin calls (CORS answers name it).
    fn cors_allowed(&self, origin: &str) -> bool {
        let origin = origin.trim_end_matches('/').to_ascii_lowercase();
        self.also_allowed.iter().any(|o| o == &origin)
    }

    /// Whether a request with `Origin: origin` may be served: one of the served hosts over
    /// http or https, or an origin allowed by configuration.
    fn origin_allowed(&self, origin: &str) -> bool {
        let origin = origin.trim_end_matches('/').to_ascii_lowercase();
        if self.also_allowed.iter().any(|o| o == &origin) {
            return true;
        }
        let authority = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"));
        authority.is_some_and(|a| !a.contains('/') && self.host_allowed(a))
    }
}

fn host_of_ip(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

/// `name:port` into its parts (`[::1]:8080` keeps its brackets).
fn split_port(host: &str) -> (&str, Option<u16>) {
    match host.rfind(':') {
        Some(i) if !host[i..].contains(']') => match host[i + 1..].parse() {
            Ok(port) => (&host[..i], Some(port)),
            Err(_) => (host, None),
        },
        _ => (host, None),
    }
}

/// Per-caller token buckets: `rate` requests a second, bursts up to `burst`.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    pub(crate) fn new(rate: f64, burst: u32) -> Self {
        Self {
            rate,
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from `who`'s bucket; `Err(seconds)` to wait when it is empty.
    fn take(&self, who: &str) -> Result<(), u64> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let (tokens, last) = buckets.entry(who.to_owned()).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * self.rate).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            let wait = Duration::from_secs_f64((1.0 - *tokens) / self.rate);
            Err(wait.as_secs().max(1))
        }
    }
}

fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::new(
            ErrorCode::AuthMissing,
            "this endpoint needs a bearer token: send `Authorization: Bearer <token>` (make one with `kopilot tokens add`)",
        ));
    };
    let value = value.to_str().unwrap_or("");
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    token.ok_or_else(|| {
        ApiError::new(
            ErrorCode::AuthMissing,
            "the Authorization header is not `Bearer <token>`",
        )
    })
}

/// Whether the request carries a body (a length above zero, or a chunked one).
fn has_body(headers: &HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|n| n > 0)
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

/// The checks, in order: host, origin, body type, token, rate. A caller that passes is put
/// in the request's extensions for the handlers. For an origin allowed by configuration (a
/// web console elsewhere), CORS: its preflight `OPTIONS` is answered, and every answer names
/// it in `Access-Control-Allow-Origin`; for any other origin nothing is sent, so browsers keep
/// other pages from reading the answers.
pub(crate) async fn check(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let cors = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .filter(|o| state.origins.cors_allowed(o))
        .map(str::to_owned);
    if req.method() == Method::OPTIONS
        && let Some(origin) = &cors
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    {
        if let Err(e) = check_host(&state, &req) {
            return e.into_response();
        }
        let mut response = axum::http::StatusCode::NO_CONTENT.into_response();
        let headers = response.headers_mut();
        allow_origin(headers, origin);
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, DELETE"),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("authorization, content-type, last-event-id"),
        );
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        return response;
    }
    let mut response = match admit(&state, &mut req) {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    };
    if let Some(origin) = &cors {
        allow_origin(response.headers_mut(), origin);
    }
    response
}

fn allow_origin(headers: &mut HeaderMap, origin: &str) {
    if let Ok(value) = HeaderValue::from_str(origin) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
}

fn check_host(state: &AppState, req: &Request) -> Result<(), ApiError> {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| {
            req.uri()
                .authority()
                .map(axum::http::uri::Authority::as_str)
        });
    match host {
        Some(host) if state.origins.host_allowed(host) => Ok(()),
        Some(host) => Err(ApiError::forbidden(format!(
            "Host `{host}` is not served here (DNS-rebinding protection); allow it with --allow-host"
        ))),
        None => Err(ApiError::invalid("the request has no Host header")),
    }
}

fn admit(state: &AppState, req: &mut Request) -> Result<(), ApiError> {
    check_host(state, req)?;
    let headers = req.headers();
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        if !state.origins.origin_allowed(origin) {
            return Err(ApiError::forbidden(format!(
                "Origin `{origin}` may not call this server; allow it with --allow-origin"
            )));
        }
    }
    let path = req.uri().path();
    if PUBLIC.contains(&path) {
        return Ok(());
    }
    if req.method() != Method::GET && has_body(headers) && !is_json(headers) {
        return Err(ApiError::new(
            ErrorCode::RequestInvalid,
            "the body must be JSON: send `Content-Type: application/json`",
        )
        .with_status(axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE));
    }
    let caller = caller_of(state, headers, path)?;
    if let Some(limiter) = &state.limiter
        && let Err(seconds) = limiter.take(&caller.name)
    {
        let mut error = ApiError::new(
            ErrorCode::RequestRateLimited,
            format!(
                "too many requests from `{}`; try again in {seconds} s",
                caller.name
            ),
        );
        error.retry_after = Some(seconds);
        return Err(error);
    }
    req.extensions_mut().insert(caller);
    Ok(())
}

fn caller_of(state: &AppState, headers: &HeaderMap, path: &str) -> Result<Caller, ApiError> {
    // The webhook authenticates by its signature instead (checked by its handler).
    if path == "/webhook" {
        return Ok(Caller {
            // A name no token can have (token names hold no `:`).
            name: "webhook:".into(),
            role: Role::Operator,
        });
    }
    let token = bearer(headers)?;
    state.tokens.verify(token).ok_or_else(|| {
        ApiError::new(
            ErrorCode::AuthInvalid,
            "the bearer token is not valid (unknown or revoked)",
        )
    })
}

impl ApiError {
    /// The same error with another HTTP status.
    #[must_use]
    pub(crate) fn with_status(mut self, status: axum::http::StatusCode) -> Self {
        self.status = status;
        self
    }
}

/// Requires `role` or more of `caller` (the agent role is apart: see [`Role::allows`]).
pub(crate) fn require(caller: &Caller, role: Role, doing: &str) -> Result<(), ApiError> {
    if caller.role.allows(role) {
        Ok(())
    } else if role == Role::Agent || caller.role == Role::Agent {
        Err(ApiError::forbidden(format!(
            "`{}` is a {} token; {doing} needs the {role} role (or admin)",
            caller.name, caller.role
        )))
    } else {
        Err(ApiError::forbidden(format!(
            "`{}` is a {} token; {doing} needs the {role} role or more",
            caller.name, caller.role
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origins(addr: &str, hosts: &[&str], extra: &[&str]) -> Origins {
        let config = ServerConfig {
            allowed_hosts: hosts.iter().map(|s| (*s).to_owned()).collect(),
            allowed_origins: extra.iter().map(|s| (*s).to_owned()).collect(),
            ..ServerConfig::default()
        };
        Origins::new(addr.parse().unwrap(), &config)
    }

    #[test]
    fn loopback_serves_loopback_names_on_its_port_only() {
        let o = origins("127.0.0.1:8080", &[], &[]);
        for ok in [
            "127.0.0.1:8080",
            "localhost:8080",
            "LOCALHOST",
            "[::1]:8080",
        ] {
            assert!(o.host_allowed(ok), "{ok}");
        }
        for bad in ["evil.example:8080", "127.0.0.1:9999", "10.0.0.1:8080", ""] {
            assert!(!o.host_allowed(bad), "{bad}");
        }
        assert!(o.origin_allowed("http://localhost:8080"));
        assert!(!o.origin_allowed("http://evil.example"));
        assert!(!o.origin_allowed("null"));
        assert!(!o.origin_allowed("http://localhost:8080/path"));
    }

    #[test]
    fn names_must_be_allowed_and_any_ip_when_bound_to_all() {
        let o = origins(
            "0.0.0.0:8080",
            &["kopilot.internal"],
            &["https://console.example.com/"],
        );
        assert!(o.host_allowed("10.1.2.3:8080"));
        assert!(o.host_allowed("kopilot.internal:8080"));
        assert!(!o.host_allowed("rebound.attacker.example:8080"));
        assert!(o.origin_allowed("https://console.example.com"));
        assert!(!o.origin_allowed("https://console.example.com.evil"));
    }

    #[test]
    fn buckets_refill_at_their_rate() {
        let limiter = RateLimiter::new(1.0, 2);
        assert!(limiter.take("a").is_ok());
        assert!(limiter.take("a").is_ok());
        assert_eq!(limiter.take("a"), Err(1));
        assert!(limiter.take("b").is_ok(), "per caller");
    }
}
