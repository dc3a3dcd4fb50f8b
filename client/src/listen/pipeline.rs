//! What happens to each delivery: verify → store → forward (with retries) →
//! answer the sender, with the relay told once the store has it on disk.

use std::sync::Arc;
use std::time::Duration;

use hookline_protocol::{ClientMessage, Delivery, DeliveryId, Header};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::report::{Report, Reporter};
use crate::connection::Incoming;
use crate::forward::{ForwardTarget, Forwarder, OutgoingRequest, RetryPolicy};
use crate::store::{Attempt, AttemptKind, Glob, Outcome, Store, StoredDelivery};
use crate::verify::{Verdict, VerdictKind, Verifier, event_type};

/// Tries at storing a delivery before giving up on it (the relay keeps it).
const STORE_TRIES: usize = 5;

/// The per-delivery work, shared by every delivery's task.
#[derive(Debug)]
pub struct Pipeline {
    pub verifier: Verifier,
    pub store: Store,
    pub forwarder: Forwarder,
    pub target: ForwardTarget,
    pub retry: RetryPolicy,
    /// Answer invalid or stale deliveries 401 and do not forward them.
    pub reject_invalid: bool,
    /// Only deliveries whose event type matches are forwarded (all are stored).
    pub events: Option<Glob>,
    /// Acknowledgements and answers for the relay.
    pub outbound: mpsc::UnboundedSender<ClientMessage>,
    /// Ids to acknowledge as stored after the next flush.
    pub durable: mpsc::UnboundedSender<DeliveryId>,
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
        let skip = self.skip_reason(&delivery, &verdict);
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
            let _ = self.durable.send(id);
            if respond {
                self.answer_again(id);
            }
            return;
        }
        let Some((status, message)) = skip else {
            return self.forward(delivery, verdict, Some(respond)).await;
        };
        let _ = self.durable.send(id);
        if respond {
            self.answer(id, status, message);
        }
        if self.reporter.wants_reports() {
            let report = if status == 401 {
                Report::rejected
            } else {
                Report::filtered
            };
            self.reporter.report(report(&delivery, &verdict));
        }
    }

    /// Forwards a delivery stored to be forwarded that never got an attempt:
    /// the process stopped after storing it (and telling the relay) but
    /// before forwarding.
    pub async fn resume(self: Arc<Self>, stored: StoredDelivery) {
        self.forward(stored.delivery, stored.verdict, None).await;
    }

    /// Why a delivery is stored but not forwarded, as the status and message
    /// the sender gets. The sender learns nothing about the secrets: the
    /// verdict's details stay in the local report.
    fn skip_reason(&self, delivery: &Delivery, verdict: &Verdict) -> Option<(u16, &'static str)> {
        let unverified = matches!(
            verdict.kind(),
            VerdictKind::Invalid | VerdictKind::Stale | VerdictKind::Unsigned
        );
        if self.reject_invalid && unverified {
            return Some((401, "signature rejected"));
        }
        if !self.wanted(delivery) {
            return Some((
                202,
                "stored; not forwarded (event filtered out by --events)",
            ));
        }
        None
    }

    /// Stores a new delivery, trying again for a while when the store fails
    /// (a full disk may clear up); `None` when it kept failing.
    async fn store_new(
        &self,
        delivery: &Delivery,
        verdict: &Verdict,
        to_forward: bool,
    ) -> Option<bool> {
        let mut delay = Duration::from_millis(100);
        for _ in 0..STORE_TRIES {
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
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = self.shutdown.cancelled() => return None,
            }
            delay *= 2;
        }
        None
    }

    async fn forward(&self, delivery: Delivery, verdict: Verdict, respond: Option<bool>) {
        let id = delivery.id;
        let request = OutgoingRequest::from_delivery(&delivery);
        // After a stop is asked for, nothing new goes out: unacknowledged
        // deliveries come back from the relay, acknowledged ones are resumed.
        let slot = tokio::select! {
            slot = self.forwarder.reserve() => slot,
            () = self.shutdown.cancelled() => return,
        };
        // Acknowledged once a forward slot is had: the relay's cap on
        // unacknowledged deliveries then also bounds the forwards waiting here.
        if respond.is_some() {
            let _ = self.durable.send(id);
        }
        let mut attempt = slot
            .send(&self.target, &request, AttemptKind::Forward)
            .await;
        // The sender is waiting; recording the attempt can come after.
        if respond == Some(true) {
            let _ = self.outbound.send(response_frame(id, &attempt.outcome));
        }
        self.record(id, &attempt);
        if self.reporter.wants_reports() {
            self.reporter
                .report(Report::forwarded(&delivery, &verdict, &attempt, 0));
        }
        let mut retry = 1;
        while let Some(delay) = self.retry.delay_after(&attempt.outcome, retry) {
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = self.shutdown.cancelled() => return,
            }
            attempt = self
                .forwarder
                .reserve()
                .await
                .send(&self.target, &request, AttemptKind::Forward)
                .await;
            self.record(id, &attempt);
            if self.reporter.wants_reports() {
                self.reporter
                    .report(Report::forwarded(&delivery, &verdict, &attempt, retry));
            }
            retry += 1;
        }
    }

    fn wanted(&self, delivery: &Delivery) -> bool {
        let Some(events) = &self.events else {
            return true;
        };
        events.matches(&event_type(&delivery.headers, &delivery.body).unwrap_or_default())
    }

    fn record(&self, id: DeliveryId, attempt: &Attempt) {
        if let Err(err) = self.store.record_attempt(id, attempt) {
            self.reporter
                .error(format!("cannot record the attempt for {id}: {err}"));
        }
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

    fn answer(&self, id: DeliveryId, status: u16, message: &str) {
        let _ = self.outbound.send(json_response(id, status, message));
    }
}

/// The frame that passes the app's answer (or our explanation) back to the sender.
fn response_frame(id: DeliveryId, outcome: &Outcome) -> ClientMessage {
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
            body: body.clone(),
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
            .into_bytes(),
    }
}

/// Deliveries stored to be forwarded that never got an attempt, oldest first.
pub fn pending_deliveries(store: &Store) -> anyhow::Result<Vec<StoredDelivery>> {
    let mut pending = Vec::new();
    for id in store.awaiting_forward()? {
        pending.extend(store.get(id)?);
    }
    Ok(pending)
}
