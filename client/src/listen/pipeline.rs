//! What happens to each delivery: verify → store → forward (with retries) →
//! answer the sender, with the relay told once the store has it on disk.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hookline_protocol::{ClientMessage, Delivery, DeliveryId, Header};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::flusher::Durable;
use super::report::{Report, Reporter};
use super::routes::{DEFAULT_ROUTE, RespondMode, Route, RouteRespond};
use crate::connection::Incoming;
use crate::forward::Forwarder;
use crate::model::{Outcome, Verdict, VerdictKind, event_type};
use crate::retry::RetryPolicy;
use crate::store::Store;
use crate::verify::Verifier;

/// Storing a delivery is tried five times, 100 ms to 800 ms apart (a full
/// disk may clear up), before giving up on it: the relay keeps it.
const STORE_RETRY: RetryPolicy =
    RetryPolicy::forever(Duration::from_millis(100), Duration::from_secs(1)).at_most(4);

/// The per-delivery work, shared by every delivery's task.
#[derive(Debug)]
pub struct Pipeline {
    pub verifier: Verifier,
    pub store: Store,
    pub forwarder: Forwarder,
    /// Where deliveries go: the first matching route takes one (all are stored).
    pub routes: Vec<Route>,
    /// What the sender hears, for the whole session.
    pub respond: RespondMode,
    pub retry: RetryPolicy,
    /// Answer invalid or stale deliveries 401 and do not forward them.
    pub reject_invalid: bool,
    /// Acknowledgements and answers for the relay.
    pub outbound: mpsc::UnboundedSender<ClientMessage>,
    /// Ids to acknowledge as stored, and schedules to sync, at the next flush.
    pub durable: mpsc::UnboundedSender<Durable>,
    pub reporter: Reporter,
    pub shutdown: CancellationToken,
}

impl Pipeline {
    /// Handles one delivery to the end, retries included.
    pub async fn handle(self: Arc<Self>, incoming: Incoming) {
        let Incoming { delivery, respond } = incoming;
        let id = delivery.id;
        let verdict = self.verifier.verify(
            &delivery.headers,
            &delivery.body,
            &delivery.public_url,
            crate::clock::now_unix(),
        );
        let routed = self.route_of(&delivery);
        let skip = self.skip_reason(&verdict, routed.is_some());
        let Some(is_new) = self.store_new(&delivery, &verdict, skip.is_none()).await else {
            // Not acknowledged: the relay keeps the delivery and re-sends it.
            if respond {
                self.answer(
                    id,
                    503,
                    "the hookline client cannot store deliveries right now",
                );
            }
            return;
        };
        if !is_new {
            self.stored(id);
            if respond {
                self.answer_again(id);
            }
            return;
        }
        let Some((status, message)) = skip else {
            let Some((route, suffix)) = routed else {
                unreachable!("a delivery without a route is skipped")
            };
            let chosen = match (self.respond, self.routes[route].respond) {
                (RespondMode::Status(status), _) | (_, Some(RouteRespond::Status(status))) => {
                    Some(status)
                }
                _ => None,
            };
            let respond = match chosen {
                Some(status) if respond => {
                    self.answer_chosen(id, status);
                    false
                }
                _ => respond,
            };
            return self
                .forward(delivery, verdict, route, suffix, Some(respond))
                .await;
        };
        self.stored(id);
        if respond {
            self.answer(id, status, message);
        }
        if self.reporter.wants_reports() {
            let only_default = matches!(&self.routes[..], [r] if r.name == DEFAULT_ROUTE);
            let report = match status {
                401 => Report::rejected,
                _ if only_default => Report::filtered,
                _ => Report::unrouted,
            };
            self.reporter.report(report(&delivery, &verdict));
        }
    }

    /// Why a delivery is stored but not forwarded, as the status and message
    /// the sender gets. The sender learns nothing about the secrets: the
    /// verdict's details stay in the local report.
    fn skip_reason(&self, verdict: &Verdict, routed: bool) -> Option<(u16, &'static str)> {
        let unverified = matches!(
            verdict.kind(),
            VerdictKind::Invalid | VerdictKind::Stale | VerdictKind::Unsigned
        );
        if self.reject_invalid && unverified {
            return Some((401, "signature rejected"));
        }
        if routed {
            return None;
        }
        let only_default = matches!(&self.routes[..], [r] if r.name == DEFAULT_ROUTE);
        Some(if only_default {
            (
                202,
                "stored; not forwarded (event filtered out by --events)",
            )
        } else {
            (202, "stored; not forwarded (no route matched)")
        })
    }

    /// Stores a new delivery, trying again for a while when the store fails
    /// (a full disk may clear up); `None` when it kept failing.
    async fn store_new(
        &self,
        delivery: &Delivery,
        verdict: &Verdict,
        to_forward: bool,
    ) -> Option<bool> {
        for retry in 1.. {
            let stored = if to_forward {
                self.store.insert_to_forward(delivery, verdict)
            } else {
                self.store.insert(delivery, verdict)
            };
            match stored {
                Ok(is_new) => return Some(is_new),
                Err(err) => self
                    .reporter
                    .error(format!("cannot store delivery {}: {err}", delivery.id)),
            }
            let delay = STORE_RETRY.delay(retry)?;
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = self.shutdown.cancelled() => return None,
            }
        }
        None
    }

    /// The index of the route that takes `delivery`, with the path suffix
    /// for its targets.
    pub(super) fn route_of(&self, delivery: &Delivery) -> Option<(usize, String)> {
        let event = event_type(&delivery.headers, &delivery.body);
        self.routes.iter().enumerate().find_map(|(index, route)| {
            route
                .take(event.as_deref(), &delivery.path)
                .map(|rest| (index, rest.to_owned()))
        })
    }

    /// A re-sent delivery that is already stored: answer from its last attempt
    /// rather than forwarding it twice.
    fn answer_again(&self, id: DeliveryId) {
        let last = self
            .store
            .get(id)
            .ok()
            .flatten()
            .and_then(|s| s.attempts.last().cloned());
        match last {
            Some(attempt) => {
                let _ = self.outbound.send(response_frame(id, &attempt.outcome));
            }
            None => self.answer(id, 202, "already received; being delivered"),
        }
    }

    /// Acknowledges `id` to the relay once the next flush has it on disk.
    pub(super) fn stored(&self, id: DeliveryId) {
        let _ = self.durable.send(Durable::Stored(id));
    }

    pub(super) fn answer(&self, id: DeliveryId, status: u16, message: &str) {
        let _ = self.outbound.send(json_response(id, status, message));
    }

    /// The status `--respond` or the route chose, said so in the body, so
    /// whoever reads the sender's log knows the app did not answer it.
    fn answer_chosen(&self, id: DeliveryId, status: u16) {
        let body = serde_json::json!({
            "chosen_status": status,
            "message": "status chosen by hookline --respond; the delivery was stored and is forwarded",
            "id": id.to_string(),
        });
        let _ = self.outbound.send(ClientMessage::Response {
            id,
            status,
            headers: vec![Header::new("content-type", "application/json")],
            body: body.to_string().into(),
        });
    }
}

/// The frame that passes the app's answer (or our explanation) back to the sender.
pub(super) fn response_frame(id: DeliveryId, outcome: &Outcome) -> ClientMessage {
    match outcome {
        Outcome::Response {
            status,
            headers,
            body,
            ..
        } => ClientMessage::Response {
            id,
            status: *status,
            headers: headers.clone(),
            body: Bytes::copy_from_slice(body),
        },
        Outcome::Error { message } => {
            json_response(id, 502, &format!("local app unreachable: {message}"))
        }
    }
}

fn json_response(id: DeliveryId, status: u16, message: &str) -> ClientMessage {
    ClientMessage::Response {
        id,
        status,
        headers: vec![Header::new("content-type", "application/json")],
        body: serde_json::json!({ "error": message, "id": id.to_string() })
            .to_string()
            .into(),
    }
}
