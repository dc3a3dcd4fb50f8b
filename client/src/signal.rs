//! The shutdown signals (Ctrl-C, SIGTERM), below the command line and the
//! TUI, which both stop on them.

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    ShutdownSignals::install().recv().await;
}

/// Ctrl-C and SIGTERM, caught from the moment this is made on (until then a
/// signal has its default action and ends the process at once).
#[derive(Debug)]
pub struct ShutdownSignals {
    #[cfg(unix)]
    streams: Vec<tokio::signal::unix::Signal>,
}

impl ShutdownSignals {
    pub fn install() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let streams = [SignalKind::interrupt(), SignalKind::terminate()]
                .into_iter()
                .filter_map(|kind| signal(kind).ok())
                .collect();
            Self { streams }
        }
        #[cfg(not(unix))]
        Self {}
    }

    /// Resolves at the next Ctrl-C or SIGTERM.
    pub async fn recv(&mut self) {
        #[cfg(unix)]
        {
            if self.streams.is_empty() {
                std::future::pending::<()>().await;
            }
            let waits = self.streams.iter_mut().map(|s| Box::pin(s.recv()));
            futures_util::future::select_all(waits).await;
        }
        #[cfg(not(unix))]
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
