//! Counters for `/metrics`, in the Prometheus text format.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use hookline_protocol::GoodbyeReason;

use crate::queue::QueueStats;
use crate::refusals::reason_label;

/// The reasons a hello can be refused, one counter each.
const HELLO_REFUSALS: [GoodbyeReason; 5] = [
    GoodbyeReason::MissingToken,
    GoodbyeReason::BadToken,
    GoodbyeReason::VersionMismatch,
    GoodbyeReason::ChannelForbidden,
    GoodbyeReason::ProtocolError,
];

/// Why a delivery was not kept.
#[derive(Debug, Clone, Copy)]
pub(crate) enum DropReason {
    /// Older than the queue's max age.
    Age,
    /// The channel queue was full; the sender got an error status.
    QueueFull,
    /// No client and offline mode `reject`; the sender got 503.
    OfflineReject,
    /// Queued for a channel whose token was revoked.
    Revoked,
    /// Past the channel's requests per second; the sender got 429.
    RateLimited,
}

#[derive(Debug, Default)]
pub(crate) struct Metrics {
    pub received: AtomicU64,
    pub bytes_in: AtomicU64,
    pub delivered: AtomicU64,
    pub acknowledged: AtomicU64,
    pub responses: AtomicU64,
    pub response_timeouts: AtomicU64,
    pub connected: AtomicU64,
    /// Senders answered 408: the request was not read within its deadline.
    pub request_timeouts: AtomicU64,
    /// Connections closed at once: their source address was at its cap.
    pub connections_refused_per_source: AtomicU64,
    /// `/connect` attempts answered 429 after too many failed handshakes.
    pub handshakes_throttled: AtomicU64,
    /// Refused hellos, in `HELLO_REFUSALS` order.
    handshakes_refused: [AtomicU64; HELLO_REFUSALS.len()],
    dropped_age: AtomicU64,
    dropped_full: AtomicU64,
    dropped_offline: AtomicU64,
    dropped_revoked: AtomicU64,
    dropped_rate: AtomicU64,
}

/// Adds one to a counter; relaxed, since metrics need no ordering.
pub(crate) fn inc(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Metrics {
    pub(crate) fn dropped(&self, reason: DropReason) {
        inc(match reason {
            DropReason::Age => &self.dropped_age,
            DropReason::QueueFull => &self.dropped_full,
            DropReason::OfflineReject => &self.dropped_offline,
            DropReason::Revoked => &self.dropped_revoked,
            DropReason::RateLimited => &self.dropped_rate,
        });
    }

    pub(crate) fn handshake_refused(&self, reason: GoodbyeReason) {
        // A reason a hello cannot get is counted as a protocol error.
        let i = HELLO_REFUSALS
            .iter()
            .position(|r| *r == reason)
            .unwrap_or(HELLO_REFUSALS.len() - 1);
        inc(&self.handshakes_refused[i]);
    }

    /// `channels`: each channel's name, id and queue, as per-channel gauges
    /// labelled with the name and the id's first 8 characters (an operator
    /// can tell channels apart; a scrape does not reveal the webhook URL).
    pub(crate) fn render(
        &self,
        queue: QueueStats,
        channels: &[(&str, String, QueueStats)],
    ) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut out = String::with_capacity(2048);
        let mut metric = |name: &str, kind: &str, help: &str, samples: &[(&str, u64)]| {
            let _ = writeln!(
                out,
                "# HELP hookline_relay_{name} {help}\n# TYPE hookline_relay_{name} {kind}"
            );
            for (labels, value) in samples {
                let _ = writeln!(out, "hookline_relay_{name}{labels} {value}");
            }
        };
        metric(
            "received_total",
            "counter",
            "Webhook requests accepted for a channel.",
            &[("", get(&self.received))],
        );
        metric(
            "bytes_in_total",
            "counter",
            "Body bytes of accepted webhook requests.",
            &[("", get(&self.bytes_in))],
        );
        metric(
            "delivered_total",
            "counter",
            "Delivery frames sent to clients, re-sends included.",
            &[("", get(&self.delivered))],
        );
        metric(
            "acknowledged_total",
            "counter",
            "Deliveries a client acknowledged as stored.",
            &[("", get(&self.acknowledged))],
        );
        metric(
            "responses_total",
            "counter",
            "Local-app responses passed back to senders.",
            &[("", get(&self.responses))],
        );
        metric(
            "response_timeouts_total",
            "counter",
            "Senders answered 504 because the client did not respond in time.",
            &[("", get(&self.response_timeouts))],
        );
        metric(
            "queued",
            "gauge",
            "Deliveries in the durable queue, not yet acknowledged.",
            &[("", queue.count)],
        );
        metric(
            "queued_bytes",
            "gauge",
            "Bytes in the durable queue.",
            &[("", queue.bytes)],
        );
        let labels: Vec<String> = channels
            .iter()
            .map(|(name, id, _)| {
                let short: String = id.chars().take(8).collect();
                format!("{{channel=\"{name}\",id=\"{short}\"}}")
            })
            .collect();
        let pending: Vec<(&str, u64)> = labels
            .iter()
            .zip(channels)
            .map(|(l, (_, _, q))| (l.as_str(), q.count))
            .collect();
        metric(
            "channel_queued",
            "gauge",
            "Deliveries queued for one channel, not yet stored by its client (in a cluster: in the shared stream).",
            &pending,
        );
        let bytes: Vec<(&str, u64)> = labels
            .iter()
            .zip(channels)
            .map(|(l, (_, _, q))| (l.as_str(), q.bytes))
            .collect();
        metric(
            "channel_queued_bytes",
            "gauge",
            "Bytes queued for one channel.",
            &bytes,
        );
        metric(
            "dropped_total",
            "counter",
            "Deliveries not kept, by reason.",
            &[
                ("{reason=\"age\"}", get(&self.dropped_age)),
                ("{reason=\"queue_full\"}", get(&self.dropped_full)),
                ("{reason=\"offline_reject\"}", get(&self.dropped_offline)),
                ("{reason=\"revoked\"}", get(&self.dropped_revoked)),
                ("{reason=\"rate_limited\"}", get(&self.dropped_rate)),
            ],
        );
        metric(
            "request_timeouts_total",
            "counter",
            "Senders answered 408 because the request was not read within its deadline.",
            &[("", get(&self.request_timeouts))],
        );
        metric(
            "connections_refused_total",
            "counter",
            "Connections closed at once because their source address had the most allowed open.",
            &[(
                "{reason=\"per_ip\"}",
                get(&self.connections_refused_per_source),
            )],
        );
        let labels: Vec<String> = HELLO_REFUSALS
            .iter()
            .map(|r| format!("{{reason=\"{}\"}}", reason_label(*r)))
            .collect();
        let refused: Vec<(&str, u64)> = labels
            .iter()
            .zip(&self.handshakes_refused)
            .map(|(l, c)| (l.as_str(), get(c)))
            .collect();
        metric(
            "handshakes_refused_total",
            "counter",
            "Client hellos refused, by reason.",
            &refused,
        );
        metric(
            "handshakes_throttled_total",
            "counter",
            "Client connects answered 429 after too many failed handshakes from their address.",
            &[("", get(&self.handshakes_throttled))],
        );
        metric(
            "connected_clients",
            "gauge",
            "Client sessions currently connected.",
            &[("", get(&self.connected))],
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::default();
        inc(&m.received);
        m.dropped(DropReason::Age);
        let text = m.render(
            QueueStats {
                count: 3,
                bytes: 10,
            },
            &[(
                "stripe",
                "abcdefghijklmnop".to_owned(),
                QueueStats { count: 2, bytes: 7 },
            )],
        );
        assert!(
            text.contains("hookline_relay_channel_queued{channel=\"stripe\",id=\"abcdefgh\"} 2\n")
        );
        assert!(text.contains(
            "hookline_relay_channel_queued_bytes{channel=\"stripe\",id=\"abcdefgh\"} 7\n"
        ));
        assert!(text.contains("hookline_relay_received_total 1\n"));
        assert!(text.contains("hookline_relay_dropped_total{reason=\"age\"} 1\n"));
        assert!(text.contains("hookline_relay_queued 3\n"));
        assert!(text.contains("# TYPE hookline_relay_connected_clients gauge\n"));
        m.handshake_refused(GoodbyeReason::BadToken);
        m.handshake_refused(GoodbyeReason::TakenOver);
        let text = m.render(QueueStats::default(), &[]);
        assert!(text.contains("hookline_relay_handshakes_refused_total{reason=\"bad_token\"} 1\n"));
        assert!(
            text.contains("hookline_relay_handshakes_refused_total{reason=\"protocol_error\"} 1\n")
        );
        assert!(text.contains("hookline_relay_connections_refused_total{reason=\"per_ip\"} 0\n"));
    }
}
