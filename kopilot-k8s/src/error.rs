//! The crate's error type.

use std::path::PathBuf;

/// Errors of `kopilot-k8s`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A snapshot file could not be read.
    #[error("could not read snapshot file {}", path.display())]
    SnapshotRead {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A snapshot file is not valid YAML.
    #[error("{file}: invalid YAML")]
    SnapshotYaml {
        /// The file (or `<stdin>`).
        file: String,
        /// The parser's error, with line and column.
        #[source]
        source: Box<serde_saphyr::Error>,
    },
    /// A snapshot file is not valid JSON.
    #[error("{file}: invalid JSON")]
    SnapshotJson {
        /// The file (or `<stdin>`).
        file: String,
        /// The parser's error, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// A document in a snapshot file is not an object the snapshot can hold.
    #[error("{place}: {message}")]
    SnapshotObject {
        /// File, document and list item.
        place: String,
        /// What is wrong with it.
        message: String,
    },
    /// No usable kubeconfig or in-cluster configuration was found.
    #[error("no Kubernetes configuration: {message}")]
    KubeConfig {
        /// What was tried and what failed.
        message: String,
        /// The underlying error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The API server could not be reached (or refused every request).
    #[error("cannot reach the Kubernetes API server at {server}")]
    ClusterUnreachable {
        /// The server URL from the configuration.
        server: String,
        /// The client's error.
        #[source]
        source: Box<kube::Error>,
    },
    /// A Prometheus query failed (connection, HTTP status or an error answer).
    #[error("Prometheus at {url}: {message}")]
    Prometheus {
        /// The Prometheus base URL.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// A `--checks` entry names no analyzer.
    #[error("unknown check {given:?}; valid checks: {}", valid.join(", "))]
    UnknownCheck {
        /// The id or prefix as given.
        given: String,
        /// Every valid id.
        valid: Vec<String>,
    },
    /// A program a command needs is neither configured nor on `PATH`.
    #[error("program {program:?} not found (looked in: {searched})")]
    ProgramNotFound {
        /// The program name as written in the command.
        program: String,
        /// Where it was looked for.
        searched: String,
    },
    /// A program was found but could not be started.
    #[error("could not start {program:?}")]
    Spawn {
        /// The program.
        program: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A cleared command is not a plain pipeline of literal words and shell execution is off.
    #[error(
        "refusing to run {line:?}: it is not a plain pipeline of literal words and shell execution is disabled"
    )]
    NotAPipeline {
        /// The command line.
        line: String,
    },
    /// A command sets a connection or identity flag that only Kopilot's configuration may set.
    #[error("refusing {flag:?}: {reason}")]
    ForbiddenFlag {
        /// The flag as given.
        flag: String,
        /// Why it is refused.
        reason: String,
    },
    /// A command has no program to run.
    #[error("empty command {line:?}")]
    EmptyCommand {
        /// The command line.
        line: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
