//! Keeps a session up: reconnects with backoff, publishes the state, and
//! stops for good on refusals that retrying cannot fix.

use std::time::Duration;

use hookline_protocol::{ClientMessage, GoodbyeReason};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::backoff::Backoff;
use super::handshake::{ConnectError, RelayEndpoint, open};
use super::rotation::Rotation;
use super::session::{self, FromRelay, SessionEnd};

/// The connection as the user sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionState {
    Connecting,
    /// `relay`: the URL of the relay this session is on (one of several with failover).
    Connected {
        public_url: String,
        relay: String,
    },
    Reconnecting {
        after: Duration,
        error: String,
    },
    /// Stopped for good: the relay refused the session (a revoked token, a
    /// version to update…) or ended it with a reason retrying cannot fix.
    Refused {
        reason: String,
    },
    Stopped,
}

/// Why the connection stopped for good.
#[derive(Debug, thiserror::Error)]
pub enum Stopped {
    #[error(transparent)]
    Refused(#[from] ConnectError),
    #[error("the relay ended the session ({reason:?}): {message}")]
    Ended {
        reason: GoodbyeReason,
        message: String,
    },
}

/// Runs until `shutdown` (after draining `outbound`) or a fatal refusal.
/// Deliveries and notices go to `incoming`; acknowledgements come from
/// `outbound`, which outlives sessions so that nothing queued during a
/// reconnect is lost.
pub async fn run(
    endpoint: RelayEndpoint,
    incoming: FromRelay,
    mut outbound: mpsc::UnboundedReceiver<ClientMessage>,
    state: watch::Sender<ConnectionState>,
    shutdown: CancellationToken,
) -> Result<(), Stopped> {
    let mut backoff = Backoff::default();
    let mut relays = Rotation::new(endpoint.urls.len());
    // Whether any session got past the handshake: until one has, settings
    // that look wrong end the run instead of being retried forever.
    let mut worked_once = false;
    let result = loop {
        if shutdown.is_cancelled() {
            break Ok(());
        }
        state.send_replace(ConnectionState::Connecting);
        let relay = endpoint.urls[relays.current()].clone();
        let opened = tokio::select! {
            opened = open(&endpoint, &relay) => opened,
            () = shutdown.cancelled() => break Ok(()),
        };
        let (delay, error) = match opened {
            Ok((socket, welcome)) => {
                worked_once = true;
                relays.connected();
                tracing::info!(channel = %welcome.channel, relay = %welcome.relay, url = %relay, "connected");
                state.send_replace(ConnectionState::Connected {
                    public_url: welcome.public_url.clone(),
                    relay: relay.clone(),
                });
                match session::run(socket, &welcome, &incoming, &mut outbound, &shutdown).await {
                    SessionEnd::Drained => break Ok(()),
                    SessionEnd::Ended { reason, message } => {
                        break Err(Stopped::Ended { reason, message });
                    }
                    SessionEnd::Lost(why) => {
                        let delay = backoff.next_delay(true);
                        (relays.lost(delay), why)
                    }
                    SessionEnd::Resumed(slept) => {
                        tracing::info!(?slept, "the machine slept; reconnecting at once");
                        (
                            Duration::ZERO,
                            format!("the machine slept for {}s", slept.as_secs()),
                        )
                    }
                }
            }
            Err(err) if err.is_fatal() || (!worked_once && err.is_misconfiguration()) => {
                break Err(err.into());
            }
            Err(err) => {
                let failed = relays.failed();
                let delay = if failed.round_over {
                    backoff.next_delay(false)
                } else {
                    Duration::ZERO
                };
                (delay, err.to_string())
            }
        };
        tracing::debug!(%error, ?delay, "reconnecting");
        state.send_replace(ConnectionState::Reconnecting {
            after: delay,
            error,
        });
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = shutdown.cancelled() => break Ok(()),
        }
    };
    state.send_replace(match &result {
        Err(stopped) => ConnectionState::Refused {
            reason: stopped.to_string(),
        },
        Ok(()) => ConnectionState::Stopped,
    });
    result
}
