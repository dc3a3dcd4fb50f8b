//! Building and updating the list summary of a delivery, and the running
//! counts kept next to the summaries so nobody has to scan for them.

use hookline_protocol::Delivery;
use serde::{Deserialize, Serialize};

use super::rows::{DeliveryStatus, Summary, TargetSummary};
use crate::model::{Attempt, AttemptKind, StoredDelivery, Verdict, VerdictKind, event_type};

/// Most targets a summary keeps a share for.
const MAX_TARGETS: usize = 16;

/// Totals shown in headers and status bars, maintained on every write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Deliveries stored.
    pub total: u64,
    /// Deliveries whose last attempt failed (error or non-2xx).
    pub failed: u64,
    /// Deliveries whose signature was invalid or stale.
    pub invalid: u64,
}

impl Counts {
    /// Adds (or, with `add` false, removes) one summary's share.
    pub(crate) fn apply(&mut self, summary: &Summary, add: bool) {
        let step = |n: &mut u64, yes: bool| {
            if yes {
                *n = if add {
                    n.saturating_add(1)
                } else {
                    n.saturating_sub(1)
                };
            }
        };
        step(&mut self.total, true);
        step(&mut self.failed, summary.has_status(DeliveryStatus::Failed));
        step(
            &mut self.invalid,
            summary.has_status(DeliveryStatus::Invalid),
        );
    }
}

impl Summary {
    /// The summary of a delivery that has no attempts yet.
    pub fn new(delivery: &Delivery, verdict: &Verdict) -> Self {
        Self {
            id: delivery.id,
            received_at_ms: delivery.received_at_ms,
            event: event_type(&delivery.headers, &delivery.body),
            method: delivery.method.clone(),
            path: delivery.path.clone(),
            body_len: delivery.body.len() as u64,
            verdict: verdict.kind(),
            last_status: None,
            last_error: false,
            last_duration_us: None,
            awaiting_forward: false,
            next_retry_at_ms: None,
            attempts: 0,
            replays: 0,
            targets: Vec::new(),
        }
    }

    /// The summary of a full record, attempts included.
    pub fn of(stored: &StoredDelivery) -> Self {
        let mut summary = Self::new(&stored.delivery, &stored.verdict);
        for attempt in &stored.attempts {
            summary.apply_attempt(attempt);
        }
        summary
    }

    /// Folds one more attempt in: it becomes the last one.
    pub fn apply_attempt(&mut self, attempt: &Attempt) {
        self.last_status = attempt.outcome.status();
        self.last_error = self.last_status.is_none();
        self.last_duration_us = Some(attempt.duration_us);
        self.attempts = self.attempts.saturating_add(1);
        self.awaiting_forward = false;
        if matches!(attempt.kind, AttemptKind::Replay { .. }) {
            self.replays = self.replays.saturating_add(1);
        }
        let status = attempt.outcome.status();
        let full = self.targets.len() >= MAX_TARGETS;
        match self.targets.iter_mut().find(|t| t.target == attempt.target) {
            Some(known) => {
                known.attempts = known.attempts.saturating_add(1);
                known.last_status = status;
            }
            // Bounded: replays --to many URLs keep the first ones' share only.
            None if !full => self.targets.push(TargetSummary {
                target: attempt.target.clone(),
                attempts: 1,
                last_status: status,
            }),
            None => {}
        }
    }

    /// Whether the delivery failed: any target's last attempt failed (the
    /// last attempt's result for summaries written before fan-out).
    fn failed(&self) -> bool {
        if self.targets.is_empty() {
            return !matches!(self.last_status, Some(200..=299));
        }
        self.targets.iter().any(|t| !t.ok())
    }

    /// `2 targets, 1 failed` for a fanned-out delivery; `None` for one target.
    pub fn targets_line(&self) -> Option<String> {
        if self.targets.len() < 2 {
            return None;
        }
        let failed = self.failed_targets().count();
        Some(match failed {
            0 => format!("{} targets, all ok", self.targets.len()),
            n => format!("{} targets, {n} failed", self.targets.len()),
        })
    }

    /// The targets whose last attempt failed.
    pub fn failed_targets(&self) -> impl Iterator<Item = &TargetSummary> {
        self.targets.iter().filter(|t| !t.ok())
    }

    /// Whether `--status status` selects this delivery. The states overlap on
    /// purpose: an invalid delivery the app also rejected is both `invalid` and
    /// `failed`, so `replay --failed` still finds it.
    pub fn has_status(&self, status: DeliveryStatus) -> bool {
        match status {
            DeliveryStatus::Invalid => {
                matches!(self.verdict, VerdictKind::Invalid | VerdictKind::Stale)
            }
            DeliveryStatus::Pending => self.attempts == 0,
            DeliveryStatus::Ok => self.attempts > 0 && !self.failed(),
            DeliveryStatus::Failed => self.attempts > 0 && self.failed(),
        }
    }

    /// The one state to display: the attempt's result, or `invalid` when a bad
    /// signature is all there is to say (nothing forwarded yet).
    pub fn status(&self) -> DeliveryStatus {
        [
            DeliveryStatus::Ok,
            DeliveryStatus::Failed,
            DeliveryStatus::Invalid,
        ]
        .into_iter()
        .find(|s| self.has_status(*s))
        .unwrap_or(DeliveryStatus::Pending)
    }
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Failed => "failed",
            Self::Invalid => "invalid",
            Self::Pending => "pending",
        }
    }
}
