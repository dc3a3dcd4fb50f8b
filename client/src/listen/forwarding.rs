//! Forwarding a stored delivery to the app with retries, the schedule kept
//! in the store so a listener that stops in a retry wait carries it on when
//! it starts again: at-least-once forwarding across restarts.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use hookline_protocol::{Delivery, DeliveryId};
use tokio::sync::oneshot;

use super::flusher::Durable;
use super::pipeline::{Pipeline, response_frame};
use super::report::Report;
use crate::forward::OutgoingRequest;
use crate::store::{Attempt, AttemptKind, RetrySchedule, Store, StoredDelivery};
use crate::verify::Verdict;

/// What an earlier run left to forward, read before any new delivery is
/// handled so none of those can be mistaken for it.
#[derive(Debug, Default)]
pub struct Backlog {
    /// Stored to be forwarded, never attempted: the first forward.
    pub first: Vec<StoredDelivery>,
    /// Attempted and failed, with a retry pending: the schedule goes on.
    pub retries: Vec<(StoredDelivery, RetrySchedule)>,
}

impl Backlog {
    /// Reads the backlog, oldest delivery first.
    pub fn load(store: &Store) -> anyhow::Result<Backlog> {
        let mut backlog = Backlog::default();
        for id in store.awaiting_forward()? {
            backlog.first.extend(store.get(id)?);
        }
        let first: HashSet<DeliveryId> = backlog.first.iter().map(|s| s.delivery.id).collect();
        for (id, schedule) in store.pending_retries()? {
            // Marked both only by a crash between a first attempt's schedule
            // and its summary: the first forward runs the schedule anyway.
            if first.contains(&id) {
                continue;
            }
            if let Some(stored) = store.get(id)? {
                backlog.retries.push((stored, schedule));
            }
        }
        Ok(backlog)
    }

    pub fn len(&self) -> usize {
        self.first.len() + self.retries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Pipeline {
    /// Forwards a delivery stored to be forwarded that never got an attempt:
    /// the process stopped after storing it (and telling the relay) but
    /// before forwarding.
    pub async fn resume(self: Arc<Self>, stored: StoredDelivery) {
        self.forward(stored.delivery, stored.verdict, None).await;
    }

    /// Carries on a retry schedule an earlier run left; an overdue retry
    /// goes at once.
    pub async fn resume_retry(self: Arc<Self>, stored: StoredDelivery, next: RetrySchedule) {
        let request = OutgoingRequest::from_delivery(&stored.delivery);
        self.retry(&stored.delivery, &stored.verdict, &request, next)
            .await;
    }

    /// The first forward, then its retries. `respond` is `Some` for a
    /// delivery fresh from the relay (`Some(true)` when the sender waits for
    /// the app's answer).
    pub(super) async fn forward(
        &self,
        delivery: Delivery,
        verdict: Verdict,
        respond: Option<bool>,
    ) {
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
            self.stored(id);
        }
        let attempt = slot
            .send(&self.target, &request, AttemptKind::Forward)
            .await;
        // The sender is waiting; recording the attempt can come after.
        if respond == Some(true) {
            let _ = self.outbound.send(response_frame(id, &attempt.outcome));
        }
        let next = self.schedule_after(&attempt, 1);
        let goes_on = self.record(id, &attempt, next).await;
        self.report(&delivery, &verdict, &attempt, 0);
        if let (Some(next), true) = (next, goes_on) {
            self.retry(&delivery, &verdict, &request, next).await;
        }
    }

    /// Sends retry `next` when it is due, and the ones after it, until one
    /// is answered, the answer is final, the retries are used up, a replay
    /// supersedes the schedule or the listener stops (the schedule stays on
    /// disk for the next start).
    async fn retry(
        &self,
        delivery: &Delivery,
        verdict: &Verdict,
        request: &OutgoingRequest,
        mut next: RetrySchedule,
    ) {
        let id = delivery.id;
        loop {
            let wait = next.due_at_ms.saturating_sub(crate::clock::now_ms());
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(wait)) => {}
                () = self.shutdown.cancelled() => return,
            }
            match self.store.retry_schedule(id) {
                Ok(Some(now)) if now == next => {}
                Ok(Some(now)) if !now.is_pending() => {
                    if self.reporter.wants_reports() {
                        self.reporter
                            .report(Report::superseded(delivery, verdict, next.retry));
                    }
                    return;
                }
                // The delivery was deleted (or another task runs it).
                Ok(_) => return,
                Err(err) => {
                    self.reporter
                        .error(format!("cannot read the retry schedule of {id}: {err}"));
                    return;
                }
            }
            let slot = tokio::select! {
                slot = self.forwarder.reserve() => slot,
                () = self.shutdown.cancelled() => return,
            };
            let attempt = slot.send(&self.target, request, AttemptKind::Forward).await;
            let following = self.schedule_after(&attempt, next.retry + 1);
            let goes_on = self.record(id, &attempt, following).await;
            self.report(delivery, verdict, &attempt, next.retry);
            match following {
                Some(following) if goes_on => next = following,
                _ => return,
            }
        }
    }

    /// Retry number `retry` after `attempt`, if the policy wants one.
    fn schedule_after(&self, attempt: &Attempt, retry: u32) -> Option<RetrySchedule> {
        let delay = self.retry.delay_after(&attempt.outcome, retry)?;
        let due = crate::clock::now_ms().saturating_add(delay.as_millis() as u64);
        Some(RetrySchedule::new(retry, due))
    }

    /// Records the attempt with what follows it; when a retry follows, waits
    /// until the schedule is on disk, so a listener killed in the wait
    /// resumes it. False when the schedule must stop.
    async fn record(&self, id: DeliveryId, attempt: &Attempt, next: Option<RetrySchedule>) -> bool {
        match self.store.record_forward(id, attempt, next) {
            Ok(true) => {
                let (tell, synced) = oneshot::channel();
                if self.durable.send(Durable::Synced(tell)).is_ok() {
                    let _ = synced.await;
                }
                true
            }
            Ok(false) => false,
            Err(err) => {
                self.reporter.error(format!(
                    "cannot record the attempt for {id}: {err}; no more retries for it (replay it later)"
                ));
                false
            }
        }
    }

    fn report(&self, delivery: &Delivery, verdict: &Verdict, attempt: &Attempt, retry: u32) {
        if self.reporter.wants_reports() {
            self.reporter
                .report(Report::forwarded(delivery, verdict, attempt, retry));
        }
    }
}
