//! Ctrl-C and (on Unix) SIGTERM, listened for from the moment they are registered.

use anyhow::Context as _;

/// Interrupt signals, received as many times as they come.
pub(crate) struct Interrupts {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl Interrupts {
    /// Starts listening: from now on these signals no longer end the process by themselves.
    #[cfg(unix)]
    pub(crate) fn listen() -> anyhow::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            int: signal(SignalKind::interrupt()).context("could not listen for Ctrl-C")?,
            term: signal(SignalKind::terminate()).context("could not listen for SIGTERM")?,
        })
    }

    /// Starts listening (Ctrl-C only on this platform).
    #[cfg(not(unix))]
    pub(crate) fn listen() -> anyhow::Result<Self> {
        Ok(Self {})
    }

    /// The next Ctrl-C or SIGTERM.
    #[cfg(unix)]
    pub(crate) async fn next(&mut self) {
        tokio::select! {
            _ = self.int.recv() => {}
            _ = self.term.recv() => {}
        }
    }

    /// The next Ctrl-C.
    #[cfg(not(unix))]
    pub(crate) async fn next(&mut self) {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
