//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong in `kopilot-safety`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A mode name that is not `read-only`, `approve` or `full-access`.
    #[error("unknown safety mode `{0}`: expected read-only, approve or full-access")]
    InvalidMode(String),

    /// An environment variable holds a value that cannot be used.
    #[error("environment variable {var}: {reason}")]
    InvalidEnv {
        /// The variable's name.
        var: String,
        /// What is wrong with its value.
        reason: String,
    },

    /// A policy file could not be read.
    #[error("cannot read policy file {}: {source}", path.display())]
    PolicyFileIo {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// A policy file is not valid YAML for a policy (the message carries line and column).
    #[error("invalid policy file {}: {message}", path.display())]
    PolicyFileFormat {
        /// The file.
        path: PathBuf,
        /// What is wrong, with its position.
        message: String,
    },

    /// A policy setting is invalid (empty namespace name, empty block pattern, ...).
    #[error("invalid policy: {0}")]
    InvalidPolicy(String),

    /// The audit log could not be opened, read or written.
    #[error("audit log {}: {source}", path.display())]
    AuditIo {
        /// The audit file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// An audit record could not be serialised.
    #[error("cannot serialise audit record: {0}")]
    AuditEncode(#[source] serde_json::Error),

    /// A decision named an approval request that is not pending (unknown, decided or expired).
    #[error("no pending approval request with id `{0}`")]
    UnknownApproval(String),

    /// Four-eyes is on and the approver is the requester.
    #[error("four-eyes policy: `{0}` asked for this command and cannot also approve it")]
    FourEyes(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
