//! The crate's error type.

use crate::ErrorCode;

/// Everything that can go wrong in `kopilot-core` outside a task (a task's own failures end
/// up in its [`crate::TaskResult`]).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The builder was given an unusable combination of settings.
    #[error("invalid configuration: {0}")]
    Config(String),

    /// An environment variable holds a value that cannot be used.
    #[error("environment variable {var}: {reason}")]
    InvalidEnv {
        /// The variable.
        var: String,
        /// What is wrong.
        reason: String,
    },

    /// Two tools were registered under one name.
    #[error("a tool named `{0}` is already registered")]
    DuplicateTool(String),

    /// The task store failed.
    #[error("task store: {0}")]
    Store(String),

    /// A task id that the store does not know.
    #[error("no task with id `{0}`")]
    UnknownTask(String),

    /// A task that has already ended was asked to change (cancelled, say).
    #[error("the task `{id}` has already ended ({status})")]
    TaskEnded {
        /// The task.
        id: String,
        /// How it ended.
        status: crate::event::Status,
    },

    /// The model failed.
    #[error(transparent)]
    Model(#[from] crate::llm::Error),

    /// The safety layer failed (policy, audit).
    #[error(transparent)]
    Safety(#[from] crate::safety::Error),

    /// Skills could not be loaded.
    #[error(transparent)]
    Skills(#[from] crate::skills::Error),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The stable machine code of this error (`config.invalid`, `model.unavailable`, ...), the
    /// same vocabulary as a task's [`Failure`](crate::Failure). The source chain stays
    /// available through [`std::error::Error::source`].
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Config(_) => ErrorCode::ConfigInvalid,
            Self::InvalidEnv { .. } => ErrorCode::ConfigEnv,
            Self::DuplicateTool(_) => ErrorCode::ConfigDuplicateTool,
            Self::Store(_) => ErrorCode::StoreFailed,
            Self::UnknownTask(_) => ErrorCode::TaskUnknown,
            Self::TaskEnded { .. } => ErrorCode::TaskEnded,
            Self::Model(e) => model_code(e),
            Self::Safety(crate::safety::Error::FourEyes(_)) => ErrorCode::ApprovalFourEyes,
            Self::Safety(crate::safety::Error::UnknownApproval(_)) => ErrorCode::ApprovalUnknown,
            Self::Safety(crate::safety::Error::ApprovalExpired(_)) => ErrorCode::ApprovalExpired,
            Self::Safety(_) => ErrorCode::SafetyFailed,
            Self::Skills(_) => ErrorCode::SkillsInvalid,
        }
    }
}

/// A model error's code: `model.unavailable` when no model can be reached or used as
/// configured (settings, credentials, the model's name, the connection), else `model.failed`.
pub(crate) fn model_code(error: &crate::llm::Error) -> ErrorCode {
    use crate::llm::Error as E;
    match error {
        E::Config { .. }
        | E::Authentication { .. }
        | E::ModelNotFound { .. }
        | E::NotFound { .. }
        | E::Connection { .. } => ErrorCode::ModelUnavailable,
        _ => ErrorCode::ModelFailed,
    }
}

#[cfg(test)]
mod tests {
    use super::Error;
    use crate::ErrorCode;

    #[test]
    fn every_error_has_its_code_and_keeps_its_source() {
        assert_eq!(Error::Config("x".into()).code(), ErrorCode::ConfigInvalid);
        assert_eq!(
            Error::UnknownTask("t".into()).code().as_str(),
            "task.unknown"
        );
        let model = Error::from(crate::llm::Error::Connection {
            url: "http://127.0.0.1:9/v1".into(),
            source: "refused".into(),
        });
        assert_eq!(model.code(), ErrorCode::ModelUnavailable);
        // `transparent`: the model error's own source is this error's source.
        let source = std::error::Error::source(&model).map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("refused"));
    }
}
