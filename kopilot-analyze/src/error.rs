//! The crate's error type.

use std::path::PathBuf;

/// Errors of `kopilot-analyze`: reading a snapshot (files, a live cluster, Prometheus) and
/// choosing checks.
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
    /// A prices file (`KOPILOT_PRICES`) cannot be read or is not valid.
    #[error("prices file {file}: {message}")]
    Prices {
        /// The file.
        file: String,
        /// What is wrong, with line and column where the parser gives them.
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
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
