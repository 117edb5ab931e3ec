//! The crate's error type.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Errors of `kopilot-fake`: seeding and starting the fake API server, and writing its
/// kubeconfig.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A seed YAML source could not be parsed.
    #[error("seed {source_name}: invalid YAML")]
    SeedYaml {
        /// The name given to the source (e.g. a file name).
        source_name: String,
        /// The parser's error, with line and column.
        #[source]
        source: Box<serde_saphyr::Error>,
    },
    /// A seed document is not an object the fake API server can serve.
    #[error("seed {place}: {message}")]
    SeedObject {
        /// Source name and document number.
        place: String,
        /// What is wrong with it.
        message: String,
    },
    /// The HTTPS certificates or configuration could not be made.
    #[error("could not set up HTTPS: {0}")]
    Tls(String),
    /// A seed clock anchor is not an RFC 3339 timestamp.
    #[error("seed clock anchor {0:?} is not an RFC 3339 timestamp like 2026-01-01T12:00:00Z")]
    BadClockAnchor(String),
    /// The listening socket could not be bound.
    #[error("could not listen on {addr}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A kubeconfig could not be written.
    #[error("could not write the kubeconfig to {}", path.display())]
    WriteKubeconfig {
        /// Where it was to be written.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A file or directory of the kubectl harness's scratch space could not be made.
    #[error("could not write {}", path.display())]
    Scratch {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// kubectl could not be started or talked to by the kubectl harness.
    #[error("could not run kubectl {args}")]
    Kubectl {
        /// Its arguments.
        args: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A kubectl run of the kubectl harness did not finish in time (it was killed).
    #[error("kubectl {args} did not finish within {} s", limit.as_secs())]
    KubectlTimeout {
        /// Its arguments.
        args: String,
        /// The time it had.
        limit: std::time::Duration,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
