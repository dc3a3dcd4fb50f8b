//! One connected session: frames in, acknowledgements out, until the socket
//! drops, the relay says goodbye, or the client has nothing left to say.

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use std::time::{Duration, Instant};

use hookline_protocol::{ClientMessage, Delivery, GoodbyeReason, RelayMessage};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use super::handshake::{Socket, Welcome};

/// A delivery handed to the pipeline.
#[derive(Debug)]
pub struct Incoming {
    pub delivery: Delivery,
    /// The sender is waiting for the local app's answer.
    pub respond: bool,
}

/// Requests to this channel that the relay refused, as it reported them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub reason: String,
    pub count: u64,
    pub message: String,
}

/// Deliveries the relay dropped before this client stored them, as it
/// reported them: `count` of them, numbered `first_seq..=last_seq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GapNotice {
    pub first_seq: u64,
    pub last_seq: u64,
    pub count: u64,
    pub reason: String,
}

/// Where a session hands what the relay sends.
#[derive(Debug, Clone)]
pub struct FromRelay {
    pub deliveries: mpsc::UnboundedSender<Incoming>,
    pub refusals: mpsc::UnboundedSender<Refusal>,
    /// Gaps, to record and then acknowledge (`gap_recorded`).
    pub gaps: mpsc::UnboundedSender<GapNotice>,
}

/// How a session ended.
#[derive(Debug)]
pub enum SessionEnd {
    /// Shutting down and every outbound message was sent.
    Drained,
    /// The connection broke; reconnecting may help.
    Lost(String),
    /// The machine slept this long: reconnect now, without a backoff.
    Resumed(Duration),
    /// The relay ended the session for a reason reconnecting cannot fix.
    Ended {
        reason: GoodbyeReason,
        message: String,
    },
}

/// Runs the session: a reader and a writer on the two halves of the socket,
/// polled together on this task, so a long write (a batch of answers) never
/// stops the reading that the relay needs to make room on its side.
///
/// After `shutdown`, new deliveries are left with the relay (it re-sends them
/// next time) while acknowledgements keep flowing until every sender of
/// `outbound` is gone.
pub async fn run(
    socket: Socket,
    welcome: &Welcome,
    incoming: &FromRelay,
    outbound: &mut mpsc::UnboundedReceiver<ClientMessage>,
    shutdown: &CancellationToken,
) -> SessionEnd {
    let (mut sink, mut stream) = socket.split();
    tokio::select! {
        end = read(&mut stream, welcome.dead_peer_after, incoming, shutdown) => end,
        end = write(&mut sink, outbound) => end,
    }
}

/// How often the session looks for a suspend/resume of the machine.
const SLEEP_CHECK_EVERY: Duration = Duration::from_secs(1);

/// Pings the relay may send per dead-peer period. It sends one every ping
/// interval; each costs a pong written back, so a flood ends the session.
const MAX_PINGS_PER_PERIOD: u32 = 64;

/// Hands deliveries to the pipeline until the relay goes quiet, closes or says goodbye.
async fn read(
    stream: &mut SplitStream<Socket>,
    dead_peer_after: Duration,
    incoming: &FromRelay,
    shutdown: &CancellationToken,
) -> SessionEnd {
    let mut pings = 0u32;
    let mut period_started = Instant::now();
    let mut sleep = super::SleepDetector::new(super::SystemClocks::default());
    // Also the granularity of the dead-peer check, so never coarser than a quarter of it.
    let every = SLEEP_CHECK_EVERY
        .min(dead_peer_after / 4)
        .max(Duration::from_millis(10));
    let mut wake_check = tokio::time::interval(every);
    let mut silent_since = tokio::time::Instant::now();
    loop {
        let next = tokio::select! {
            frame = stream.next() => Some(frame),
            _ = wake_check.tick() => None,
        };
        let Some(frame) = next else {
            if let Some(slept) = sleep.check() {
                return SessionEnd::Resumed(slept);
            }
            if silent_since.elapsed() > dead_peer_after {
                return SessionEnd::Lost(format!(
                    "no sign of life from the relay for {dead_peer_after:?}"
                ));
            }
            continue;
        };
        silent_since = tokio::time::Instant::now();
        let decoded = match frame {
            None | Some(Ok(Message::Close(_))) => {
                return SessionEnd::Lost("the relay closed the connection".into());
            }
            Some(Err(err)) => return SessionEnd::Lost(format!("connection error: {err}")),
            Some(Ok(Message::Text(text))) => RelayMessage::decode_text(text.as_bytes()),
            Some(Ok(Message::Binary(bytes))) => RelayMessage::decode_binary(bytes),
            Some(Ok(Message::Ping(_))) => {
                if period_started.elapsed() > dead_peer_after {
                    (pings, period_started) = (0, Instant::now());
                }
                pings += 1;
                if pings > MAX_PINGS_PER_PERIOD {
                    return SessionEnd::Lost(format!(
                        "the relay sent more than {MAX_PINGS_PER_PERIOD} pings in {dead_peer_after:?}"
                    ));
                }
                continue;
            }
            Some(Ok(_)) => continue,
        };
        match decoded {
            Ok(RelayMessage::Delivery { delivery, respond }) => {
                if !shutdown.is_cancelled() {
                    let _ = incoming.deliveries.send(Incoming {
                        delivery: *delivery,
                        respond,
                    });
                }
            }
            Ok(RelayMessage::Goodbye { reason, message }) => {
                return match reason {
                    GoodbyeReason::ShuttingDown => {
                        SessionEnd::Lost(format!("relay is restarting: {message}"))
                    }
                    reason => SessionEnd::Ended { reason, message },
                };
            }
            Ok(RelayMessage::Refused {
                status,
                reason,
                count,
                message,
            }) => {
                let _ = incoming.refusals.send(Refusal {
                    status,
                    reason,
                    count,
                    message,
                });
            }
            Ok(RelayMessage::Gap {
                first_seq,
                last_seq,
                count,
                reason,
            }) => {
                let _ = incoming.gaps.send(GapNotice {
                    first_seq,
                    last_seq,
                    count,
                    reason,
                });
            }
            Ok(RelayMessage::Welcome { .. }) => {
                tracing::warn!("relay sent a second welcome; ignored");
            }
            Err(err) => {
                tracing::warn!(%err, "relay sent a frame this client cannot read; ignored");
            }
        }
    }
}

/// Sends acknowledgements and answers until every sender of `outbound` is
/// gone, then says goodbye.
async fn write(
    sink: &mut SplitSink<Socket, Message>,
    outbound: &mut mpsc::UnboundedReceiver<ClientMessage>,
) -> SessionEnd {
    while let Some(first) = outbound.recv().await {
        if let Err(err) = send_batch(sink, first, outbound).await {
            return SessionEnd::Lost(format!("sending to the relay failed: {err}"));
        }
    }
    let bye = ClientMessage::Goodbye {
        reason: GoodbyeReason::ShuttingDown,
        message: "hookline listen is stopping".into(),
    };
    // A relay that stopped reading cannot hold the stop up.
    let _ = tokio::time::timeout(GOODBYE_TIMEOUT, async {
        sink.send(super::message(bye.encode())).await?;
        sink.close().await
    })
    .await;
    SessionEnd::Drained
}

/// How long the goodbye may take to write before the socket is dropped anyway.
const GOODBYE_TIMEOUT: Duration = Duration::from_secs(2);

/// Most queued messages written before one flush.
const MAX_BATCH: usize = 256;

/// Writes `first` and whatever else is already queued, then flushes once: under
/// load, acknowledgements and answers share a syscall instead of one each.
async fn send_batch(
    sink: &mut SplitSink<Socket, Message>,
    first: ClientMessage,
    outbound: &mut mpsc::UnboundedReceiver<ClientMessage>,
) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    sink.feed(super::message(first.encode())).await?;
    for _ in 1..MAX_BATCH {
        match outbound.try_recv() {
            Ok(message) => sink.feed(super::message(message.encode())).await?,
            Err(_) => break,
        }
    }
    sink.flush().await
}
