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

    /// Another process held the audit log's lock for too long (a stuck writer).
    #[error(
        "audit log {}: another process has held its lock for {:.1} s; is a kopilot process stuck?",
        path.display(),
        waited.as_secs_f64()
    )]
    AuditLocked {
        /// The audit file.
        path: PathBuf,
        /// How long this process waited.
        waited: std::time::Duration,
    },

    /// The audit log failed its check before an append, so nothing was appended.
    #[error(
        "audit log {}: {message} ({kind}); nothing more is written to it until this is resolved \
         (`kopilot audit verify` shows the first bad record)",
        path.display()
    )]
    AuditLogBroken {
        /// The audit file.
        path: PathBuf,
        /// What kind of break was found.
        kind: crate::audit::FindingKind,
        /// What was found, in words.
        message: String,
    },

    /// The audit key file could not be read or created.
    #[error("audit key file {}: {source}", path.display())]
    AuditKeyIo {
        /// The key file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// The audit key file may be read or written by group or others.
    #[error(
        "audit key file {} may be read or written by group or others (mode {mode:03o}); only its \
         owner may have access: run `chmod 600 {}`",
        path.display(),
        path.display()
    )]
    AuditKeyExposed {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },

    /// The audit key file does not hold a key (empty, not 64 hex digits).
    #[error(
        "audit key file {} does not hold a key: {reason} (expected 64 hexadecimal digits, as \
         kopilot writes on first use)",
        path.display()
    )]
    AuditKeyInvalid {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it (never its contents).
        reason: String,
    },

    /// The audit log (or its anchor) was written with a key, and the key file is missing.
    #[error(
        "audit log {} is keyed, but its key file {} does not exist: restore the key file (or \
         name it); a new key would not verify the records written so far",
        log.display(),
        path.display()
    )]
    AuditKeyMissing {
        /// The key file that was expected.
        path: PathBuf,
        /// The audit log.
        log: PathBuf,
    },

    /// The audit anchor file could not be read or written.
    #[error("audit anchor file {}: {source}", path.display())]
    AuditAnchorIo {
        /// The anchor file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// The stored audit anchor cannot be parsed.
    #[error("audit anchor {location} is not an anchor: {reason}")]
    AuditAnchorInvalid {
        /// Where the anchor is (a path, a table and key).
        location: String,
        /// What is wrong with it.
        reason: String,
    },

    /// An [`AnchorStore`](crate::audit::AnchorStore) implemented outside this crate failed.
    #[error("audit anchor {location}: {source}")]
    AuditAnchorStore {
        /// Where the anchor is (a table and key, a URL).
        location: String,
        /// The store's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// An audit record could not be serialised.
    #[error("cannot serialise audit record: {0}")]
    AuditEncode(#[source] serde_json::Error),

    /// A decision named an approval request that is not pending (unknown, decided or expired).
    #[error("no pending approval request with id `{0}`")]
    UnknownApproval(String),

    /// A decision named an approval request that expired unanswered (it counted as denied).
    #[error("approval request `{0}` expired before it was answered; it counted as denied")]
    ApprovalExpired(String),

    /// Four-eyes is on and the approver is the requester.
    #[error("four-eyes policy: `{0}` asked for this command and cannot also approve it")]
    FourEyes(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
