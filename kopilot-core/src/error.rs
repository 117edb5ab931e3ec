//! The crate's error type.

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
