//! Stable machine codes for failures ([`ErrorCode`]) and a failure as a task result carries it
//! ([`Failure`]).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why something failed, as a stable dotted code a program can match on (`limit.tokens`).
///
/// The message next to a code is for people and may change; the code does not. Codes read
/// from JSON that this version does not know are kept as [`ErrorCode::Other`], so a client
/// never fails to read a newer peer's result.
///
/// ```
/// use kopilot_protocol::ErrorCode;
///
/// assert_eq!(ErrorCode::LimitToolCalls.as_str(), "limit.tool_calls");
/// assert_eq!("approval.expired".parse(), Ok(ErrorCode::ApprovalExpired));
/// assert_eq!(
///     "quota.exceeded".parse::<ErrorCode>(),
///     Ok(ErrorCode::Other("quota.exceeded".to_owned()))
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `limit.tokens`: the task used more tokens than its budget.
    LimitTokens,
    /// `limit.time`: the task ran longer than its time budget.
    LimitTime,
    /// `limit.tool_calls`: the task made more tool calls than its budget.
    LimitToolCalls,
    /// `limit.dollars`: the task's model calls cost more than its budget.
    LimitDollars,
    /// `limit.steps`: an agent used its model turns without answering.
    LimitSteps,
    /// `model.unavailable`: no model is configured, or the provider cannot be reached.
    ModelUnavailable,
    /// `model.failed`: the model call failed (an error answer, a broken stream).
    ModelFailed,
    /// `analyzers.unavailable`: offline mode has no `analyze` tool to answer from.
    AnalyzersUnavailable,
    /// `analyzers.failed`: the analyzers could not run.
    AnalyzersFailed,
    /// `rejected.empty_prompt`: the request has no prompt.
    RejectedEmptyPrompt,
    /// `rejected.unknown_skill`: the request names a skill that is not enabled.
    RejectedUnknownSkill,
    /// `rejected.unknown_tool`: a direct tool call names a tool that is not registered.
    RejectedUnknownTool,
    /// `rejected.prompt_too_large`: the prompt is longer than the runtime accepts.
    RejectedPromptTooLarge,
    /// `tool.failed`: a direct tool call failed (the tool's error, or a command blocked or
    /// not approved; the message says which).
    ToolFailed,
    /// `cancelled`: someone cancelled the task.
    Cancelled,
    /// `interrupted`: the process stopped while the task was running.
    Interrupted,
    /// `runtime.shutdown`: the runtime was shutting down.
    RuntimeShutdown,
    /// `config.invalid`: an unusable combination of settings.
    ConfigInvalid,
    /// `config.env`: an environment variable holds a value that cannot be used.
    ConfigEnv,
    /// `config.duplicate_tool`: two tools were registered under one name.
    ConfigDuplicateTool,
    /// `store.failed`: the task store failed.
    StoreFailed,
    /// `task.unknown`: no task has this id.
    TaskUnknown,
    /// `task.ended`: the task has already ended (it cannot be cancelled, say).
    TaskEnded,
    /// `safety.failed`: the safety layer failed (policy, audit).
    SafetyFailed,
    /// `skills.invalid`: skills could not be loaded.
    SkillsInvalid,
    /// `auth.missing`: the request carries no credentials (adapters).
    AuthMissing,
    /// `auth.invalid`: the request's credentials are not valid (an unknown or revoked token, a
    /// bad signature) (adapters).
    AuthInvalid,
    /// `auth.forbidden`: the identity may not do this (adapters).
    AuthForbidden,
    /// `request.invalid`: the request is malformed (not JSON, a field of the wrong type, a
    /// value out of range) (adapters).
    RequestInvalid,
    /// `request.too_large`: the request's body is over the adapter's limit (adapters).
    RequestTooLarge,
    /// `request.rate_limited`: the caller sent more requests than its rate allows; try again
    /// later (adapters).
    RequestRateLimited,
    /// `request.not_found`: nothing is served at that path (adapters).
    RequestNotFound,
    /// `request.unavailable`: the adapter is shutting down or not ready (adapters).
    RequestUnavailable,
    /// `approval.four_eyes`: the requester tried to approve their own command.
    ApprovalFourEyes,
    /// `approval.expired`: the approval came after the request expired.
    ApprovalExpired,
    /// `approval.denied`: the approver said no.
    ApprovalDenied,
    /// `approval.unknown`: no approval request is pending under this id (never made, already
    /// answered, or expired).
    ApprovalUnknown,
    /// `unspecified`: a failure recorded before failures carried codes.
    Unspecified,
    /// A code this version does not know (a newer peer's, or an adapter's own).
    Other(String),
}

impl ErrorCode {
    /// Every code this version knows, [`ErrorCode::Other`] aside.
    pub const KNOWN: &'static [ErrorCode] = &[
        ErrorCode::LimitTokens,
        ErrorCode::LimitTime,
        ErrorCode::LimitToolCalls,
        ErrorCode::LimitDollars,
        ErrorCode::LimitSteps,
        ErrorCode::ModelUnavailable,
        ErrorCode::ModelFailed,
        ErrorCode::AnalyzersUnavailable,
        ErrorCode::AnalyzersFailed,
        ErrorCode::RejectedEmptyPrompt,
        ErrorCode::RejectedUnknownSkill,
        ErrorCode::RejectedUnknownTool,
        ErrorCode::RejectedPromptTooLarge,
        ErrorCode::ToolFailed,
        ErrorCode::Cancelled,
        ErrorCode::Interrupted,
        ErrorCode::RuntimeShutdown,
        ErrorCode::ConfigInvalid,
        ErrorCode::ConfigEnv,
        ErrorCode::ConfigDuplicateTool,
        ErrorCode::StoreFailed,
        ErrorCode::TaskUnknown,
        ErrorCode::TaskEnded,
        ErrorCode::SafetyFailed,
        ErrorCode::SkillsInvalid,
        ErrorCode::AuthMissing,
        ErrorCode::AuthInvalid,
        ErrorCode::AuthForbidden,
        ErrorCode::RequestInvalid,
        ErrorCode::RequestTooLarge,
        ErrorCode::RequestRateLimited,
        ErrorCode::RequestNotFound,
        ErrorCode::RequestUnavailable,
        ErrorCode::ApprovalFourEyes,
        ErrorCode::ApprovalExpired,
        ErrorCode::ApprovalDenied,
        ErrorCode::ApprovalUnknown,
        ErrorCode::Unspecified,
    ];

    /// The stable dotted code.
    pub fn as_str(&self) -> &str {
        match self {
            Self::LimitTokens => "limit.tokens",
            Self::LimitTime => "limit.time",
            Self::LimitToolCalls => "limit.tool_calls",
            Self::LimitDollars => "limit.dollars",
            Self::LimitSteps => "limit.steps",
            Self::ModelUnavailable => "model.unavailable",
            Self::ModelFailed => "model.failed",
            Self::AnalyzersUnavailable => "analyzers.unavailable",
            Self::AnalyzersFailed => "analyzers.failed",
            Self::RejectedEmptyPrompt => "rejected.empty_prompt",
            Self::RejectedUnknownSkill => "rejected.unknown_skill",
            Self::RejectedUnknownTool => "rejected.unknown_tool",
            Self::RejectedPromptTooLarge => "rejected.prompt_too_large",
            Self::ToolFailed => "tool.failed",
            Self::Cancelled => "cancelled",
            Self::Interrupted => "interrupted",
            Self::RuntimeShutdown => "runtime.shutdown",
            Self::ConfigInvalid => "config.invalid",
            Self::ConfigEnv => "config.env",
            Self::ConfigDuplicateTool => "config.duplicate_tool",
            Self::StoreFailed => "store.failed",
            Self::TaskUnknown => "task.unknown",
            Self::TaskEnded => "task.ended",
            Self::SafetyFailed => "safety.failed",
            Self::SkillsInvalid => "skills.invalid",
            Self::AuthMissing => "auth.missing",
            Self::AuthInvalid => "auth.invalid",
            Self::AuthForbidden => "auth.forbidden",
            Self::RequestInvalid => "request.invalid",
            Self::RequestTooLarge => "request.too_large",
            Self::RequestRateLimited => "request.rate_limited",
            Self::RequestNotFound => "request.not_found",
            Self::RequestUnavailable => "request.unavailable",
            Self::ApprovalFourEyes => "approval.four_eyes",
            Self::ApprovalExpired => "approval.expired",
            Self::ApprovalDenied => "approval.denied",
            Self::ApprovalUnknown => "approval.unknown",
            Self::Unspecified => "unspecified",
            Self::Other(code) => code,
        }
    }

    /// Whether this is one of the `limit.*` codes: a budget ran out.
    pub fn is_limit(&self) -> bool {
        matches!(
            self,
            Self::LimitTokens
                | Self::LimitTime
                | Self::LimitToolCalls
                | Self::LimitDollars
                | Self::LimitSteps
        )
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ErrorCode {
    type Err = std::convert::Infallible;

    /// A known code, or [`ErrorCode::Other`]: reading a code never fails.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self::KNOWN
            .iter()
            .find(|code| code.as_str() == s)
            .cloned()
            .unwrap_or_else(|| Self::Other(s.to_owned())))
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let Ok(code) = text.parse();
        Ok(code)
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for ErrorCode {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ErrorCode".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let known: Vec<&str> = Self::KNOWN.iter().map(ErrorCode::as_str).collect();
        schemars::json_schema!({
            "type": "string",
            "description": format!(
                "A stable dotted failure code; known codes: {}. Others may appear.",
                known.join(", ")
            ),
        })
    }
}

/// Why a task did not succeed: a stable [`ErrorCode`] and a message for people.
///
/// ```
/// use kopilot_protocol::{ErrorCode, Failure};
///
/// let failure = Failure::new(ErrorCode::LimitTime, "the task reached its time limit of 5 min");
/// assert_eq!(
///     serde_json::to_string(&failure)?,
///     r#"{"code":"limit.time","message":"the task reached its time limit of 5 min"}"#
/// );
/// // Results stored before failures had codes held a bare message.
/// let old: Failure = serde_json::from_str(r#""the model failed""#)?;
/// assert_eq!(old.code, ErrorCode::Unspecified);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Failure {
    /// What kind of failure, for programs.
    pub code: ErrorCode,
    /// What happened, for people.
    pub message: String,
}

impl Failure {
    /// A failure with `code` and `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl<'de> Deserialize<'de> for Failure {
    /// `{"code": ..., "message": ...}`, or a bare message (as results were stored before
    /// failures carried codes), read as [`ErrorCode::Unspecified`].
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Stored {
            Coded { code: ErrorCode, message: String },
            Message(String),
        }
        Ok(match Stored::deserialize(deserializer)? {
            Stored::Coded { code, message } => Self { code, message },
            Stored::Message(message) => Self {
                code: ErrorCode::Unspecified,
                message,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{ErrorCode, Failure};

    #[test]
    fn every_known_code_is_stable_and_round_trips() {
        let codes: Vec<&str> = ErrorCode::KNOWN.iter().map(ErrorCode::as_str).collect();
        for required in [
            "limit.tokens",
            "limit.time",
            "limit.tool_calls",
            "model.unavailable",
            "model.failed",
            "rejected.empty_prompt",
            "rejected.unknown_skill",
            "cancelled",
            "interrupted",
            "auth.missing",
            "auth.forbidden",
            "approval.four_eyes",
            "approval.expired",
        ] {
            assert!(codes.contains(&required), "{required} is missing");
        }
        let mut unique = codes.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), codes.len(), "two variants share a code");
        for code in ErrorCode::KNOWN {
            let json = serde_json::to_string(code).unwrap();
            assert_eq!(json, format!("\"{code}\""));
            assert_eq!(&serde_json::from_str::<ErrorCode>(&json).unwrap(), code);
        }
    }

    #[test]
    fn unknown_codes_are_kept_as_they_are() {
        let code: ErrorCode = serde_json::from_str("\"server.overloaded\"").unwrap();
        assert_eq!(code, ErrorCode::Other("server.overloaded".to_owned()));
        assert_eq!(
            serde_json::to_string(&code).unwrap(),
            "\"server.overloaded\""
        );
        assert!(!code.is_limit());
        assert!(ErrorCode::LimitSteps.is_limit());
    }

    #[test]
    fn failures_read_both_shapes() {
        let coded: Failure =
            serde_json::from_str(r#"{"code":"cancelled","message":"the task was cancelled"}"#)
                .unwrap();
        assert_eq!(
            coded,
            Failure::new(ErrorCode::Cancelled, "the task was cancelled")
        );
        let bare: Failure = serde_json::from_str(r#""limit reached: too many""#).unwrap();
        assert_eq!(
            bare,
            Failure::new(ErrorCode::Unspecified, "limit reached: too many")
        );
        assert!(serde_json::from_str::<Failure>("3").is_err());
    }
}
