//! What happens to each delivery: verify → store → forward (with retries) →
//! answer the sender, with the relay told once the store has it on disk.

use std::sync::Arc;

use hookline_protocol::{ClientMessage, Delivery, DeliveryId, Header};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::report::{Report, Reporter};
use crate::connection::Incoming;
use crate::forward::{ForwardTarget, Forwarder, OutgoingRequest, RetryPolicy};
use crate::store::{
    Attempt, AttemptKind, DeliveryStatus, Filter, Glob, ListQuery, MAX_PAGE, Outcome, Store,
    StoredDelivery, event_type,
};
use crate::verify::{Verdict, VerdictKind, Verifier};

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
        let is_new = match self.store.insert(&delivery, &verdict) {
            Ok(is_new) => is_new,
            Err(err) => {
                // Not acknowledged: the relay keeps the delivery and re-sends it.
                self.reporter
                    .error(format!("cannot store delivery {id}: {err}"));
                if respond {
                    self.answer(
                        id,
                        503,
                        "the hookline client cannot store deliveries right now",
                    );
                }
                return;
            }
        };
        if !is_new {
            let _ = self.durable.send(id);
            if respond {
                self.answer_again(id);
            }
            return;
        }
        self.dispatch(delivery, verdict, Some(respond)).await;
    }

    /// Forwards a stored delivery that never got an attempt: the process
    /// stopped after storing it (and telling the relay) but before forwarding.
    pub async fn resume(self: Arc<Self>, stored: StoredDelivery) {
        self.dispatch(stored.delivery, stored.verdict, None).await;
    }

    /// Rejects, filters or forwards a stored delivery. `respond` is `None` for
    /// a resumed delivery: the relay already has its acknowledgement and no
    /// sender waits.
    async fn dispatch(&self, delivery: Delivery, verdict: Verdict, respond: Option<bool>) {
        let id = delivery.id;
        let bad_signature = matches!(verdict.kind(), VerdictKind::Invalid | VerdictKind::Stale);
        let skip = if self.reject_invalid && bad_signature {
            Some((401, format!("signature rejected: {}", verdict.describe())))
        } else if !self.wanted(&delivery) {
            Some((
                202,
                "stored; not forwarded (event filtered out by --events)".to_owned(),
            ))
        } else {
            None
        };
        let Some((status, message)) = skip else {
            return self.forward(delivery, verdict, respond).await;
        };
        if respond.is_some() {
            let _ = self.durable.send(id);
        }
        if respond == Some(true) {
            self.answer(id, status, &message);
        }
        let report = if status == 401 {
            Report::rejected
        } else {
            Report::filtered
        };
        self.reporter.report(report(&delivery, &verdict));
    }

    async fn forward(&self, delivery: Delivery, verdict: Verdict, respond: Option<bool>) {
        let id = delivery.id;
        let request = OutgoingRequest::from_delivery(&delivery);
        let slot = self.forwarder.reserve().await;
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
        events.matches(&event_type(&delivery.body).unwrap_or_default())
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

/// Stored deliveries without a single attempt, oldest first.
pub fn pending_deliveries(store: &Store) -> anyhow::Result<Vec<StoredDelivery>> {
    let mut query = ListQuery {
        filter: Filter {
            status: Some(DeliveryStatus::Pending),
            ..Filter::default()
        },
        before: None,
        limit: MAX_PAGE,
    };
    let mut pending = Vec::new();
    loop {
        let page = store.page(&query)?;
        for summary in &page.items {
            pending.extend(store.get(summary.id)?);
        }
        match page.next {
            Some(next) => query.before = Some(next),
            None => break,
        }
    }
    pending.reverse();
    Ok(pending)
}
