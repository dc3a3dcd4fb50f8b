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
use crate::forward::{ForwardTarget, OutgoingRequest, Slot};
use crate::model::{Attempt, AttemptKind, StoredDelivery, Verdict};
use crate::store::{RetrySchedule, Store};

/// What an earlier run left to forward, read before any new delivery is
/// handled so none of those can be mistaken for it.
#[derive(Debug, Default)]
pub struct Backlog {
    /// Stored to be forwarded, never attempted: the first forward.
    pub first: Vec<StoredDelivery>,
    /// Attempted and failed, with a retry pending: the schedule goes on, to
    /// the target (the attempt's full URL; `None` from a store written
    /// before fan-out, meaning the route's first target).
    pub retries: Vec<(StoredDelivery, RetrySchedule, Option<String>)>,
}

impl Backlog {
    /// Reads the backlog, oldest delivery first.
    pub fn load(store: &Store) -> anyhow::Result<Backlog> {
        let mut backlog = Backlog::default();
        for id in store.awaiting_forward()? {
            backlog.first.extend(store.get(id)?);
        }
        let first: HashSet<DeliveryId> = backlog.first.iter().map(|s| s.delivery.id).collect();
        for (id, target, schedule) in store.pending_retries_to()? {
            // Marked both only by a crash between a first attempt's schedule
            // and its summary: the first forward runs the schedule anyway.
            if first.contains(&id) {
                continue;
            }
            if let Some(stored) = store.get(id)? {
                backlog.retries.push((stored, schedule, target));
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
    /// before forwarding. It takes the route the current configuration gives it.
    pub async fn resume(self: Arc<Self>, stored: StoredDelivery) {
        let Some((route, suffix)) = self.route_of(&stored.delivery) else {
            self.reporter.warn(format!(
                "delivery {} waited to be forwarded but no route matches it now; replay it with --to or --route",
                stored.delivery.id
            ));
            return;
        };
        self.forward(stored.delivery, stored.verdict, route, suffix, None)
            .await;
    }

    /// Carries on a retry schedule an earlier run left; an overdue retry
    /// goes at once. The target is looked up in the current configuration.
    pub async fn resume_retry(
        self: Arc<Self>,
        stored: StoredDelivery,
        next: RetrySchedule,
        target_url: Option<String>,
    ) {
        let id = stored.delivery.id;
        let found = self.route_of(&stored.delivery).and_then(|(route, suffix)| {
            let mut request = OutgoingRequest::from_delivery(&stored.delivery);
            request.path = suffix;
            let targets = &self.routes[route].targets;
            let target = match &target_url {
                None => targets.first(),
                Some(url) => targets.iter().find(|t| request.url_on(t) == *url),
            };
            target.cloned().map(|target| (target, request))
        });
        let Some((target, request)) = found else {
            self.reporter.warn(format!(
                "the retry of {id} to {} is not resumed: that target is no longer configured; replay it with --to",
                target_url.as_deref().unwrap_or("its target")
            ));
            return;
        };
        self.retry(&stored.delivery, &stored.verdict, &target, &request, next)
            .await;
    }

    /// The first forward to each of the route's targets, then their retries,
    /// each target on its own schedule. `respond` is `Some` for a delivery
    /// fresh from the relay (`Some(true)` when the sender waits for the
    /// app's answer: the first target's answer is passed back).
    pub(super) async fn forward(
        &self,
        delivery: Delivery,
        verdict: Verdict,
        route: usize,
        suffix: String,
        respond: Option<bool>,
    ) {
        let id = delivery.id;
        let mut request = OutgoingRequest::from_delivery(&delivery);
        request.path = suffix;
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
        let targets = &self.routes[route].targets;
        let mut slot = Some(slot);
        let each = targets.iter().enumerate().map(|(index, target)| {
            let answer = index == 0 && respond == Some(true);
            self.forward_to(&delivery, &verdict, target, &request, slot.take(), answer)
        });
        futures_util::future::join_all(each).await;
    }

    /// One target's first forward and retries.
    async fn forward_to(
        &self,
        delivery: &Delivery,
        verdict: &Verdict,
        target: &ForwardTarget,
        request: &OutgoingRequest,
        slot: Option<Slot<'_>>,
        answer: bool,
    ) {
        let id = delivery.id;
        let slot = match slot {
            Some(slot) => slot,
            None => tokio::select! {
                slot = self.forwarder.reserve() => slot,
                () = self.shutdown.cancelled() => return,
            },
        };
        let attempt = slot.send(target, request, AttemptKind::Forward).await;
        // The sender is waiting; recording the attempt can come after.
        if answer {
            let _ = self.outbound.send(response_frame(id, &attempt.outcome));
        }
        let next = self.schedule_after(&attempt, 1);
        let goes_on = self.record(id, &attempt, next).await;
        self.report(delivery, verdict, &attempt, 0);
        if let (Some(next), true) = (next, goes_on) {
            self.retry(delivery, verdict, target, request, next).await;
        }
    }

    /// Sends retry `next` to `target` when it is due, and the ones after it,
    /// until one is answered, the answer is final, the retries are used up,
    /// a replay supersedes the schedule or the listener stops (the schedule
    /// stays on disk for the next start).
    async fn retry(
        &self,
        delivery: &Delivery,
        verdict: &Verdict,
        target: &ForwardTarget,
        request: &OutgoingRequest,
        mut next: RetrySchedule,
    ) {
        let id = delivery.id;
        let url = request.url_on(target);
        loop {
            let wait = next.due_at_ms.saturating_sub(crate::clock::now_ms());
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(wait)) => {}
                () = self.shutdown.cancelled() => return,
            }
            match self.store.retry_schedule_to(id, &url) {
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
            let attempt = slot.send(target, request, AttemptKind::Forward).await;
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
        let delay = crate::forward::delay_after(&self.retry, &attempt.outcome, retry)?;
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
