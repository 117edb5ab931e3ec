//! Every error the server answers with: `{"error":{"code","message"}}`, the code one of the
//! protocol's stable [`ErrorCode`]s, the HTTP status chosen from it.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kopilot_core::ErrorCode;
use serde::Serialize;

/// An error as the server sends it.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The stable code.
    pub code: ErrorCode,
    /// What went wrong, for people.
    pub message: String,
    /// Seconds to wait before trying again (`Retry-After`), for rate limits.
    pub retry_after: Option<u64>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: &'a str,
}

impl ApiError {
    /// An error with `code`, `message`, and the status the code calls for.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status: status_for(&code),
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// `request.invalid` (400).
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::RequestInvalid, message)
    }

    /// `auth.forbidden` (403).
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::AuthForbidden, message)
    }
}

/// The HTTP status for a code.
fn status_for(code: &ErrorCode) -> StatusCode {
    match code {
        ErrorCode::AuthMissing | ErrorCode::AuthInvalid => StatusCode::UNAUTHORIZED,
        ErrorCode::AuthForbidden | ErrorCode::ApprovalFourEyes => StatusCode::FORBIDDEN,
        ErrorCode::RequestInvalid => StatusCode::BAD_REQUEST,
        ErrorCode::RequestTooLarge | ErrorCode::RejectedPromptTooLarge => {
            StatusCode::PAYLOAD_TOO_LARGE
        }
        ErrorCode::RequestRateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::RequestNotFound | ErrorCode::TaskUnknown | ErrorCode::ApprovalUnknown => {
            StatusCode::NOT_FOUND
        }
        ErrorCode::TaskEnded | ErrorCode::ApprovalExpired => StatusCode::CONFLICT,
        ErrorCode::RejectedEmptyPrompt
        | ErrorCode::RejectedUnknownSkill
        | ErrorCode::RejectedUnknownTool => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::RequestUnavailable | ErrorCode::RuntimeShutdown => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<kopilot_core::Error> for ApiError {
    fn from(error: kopilot_core::Error) -> Self {
        let code = error.code();
        let status = status_for(&code);
        if status.is_server_error() {
            tracing::error!(error = %error, code = %code, "request failed");
        }
        Self::new(code, error.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            error: Inner {
                code: self.code.as_str(),
                message: &self.message,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// `Result` with [`ApiError`].
pub type ApiResult<T> = Result<T, ApiError>;
