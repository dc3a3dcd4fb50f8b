//! When a forward is tried again: the app was down or answered 5xx.

use std::time::Duration;

use crate::model::Outcome;
use crate::retry::RetryPolicy;

/// The forward schedule unless `--retries`/`--retry-delay` say otherwise:
/// bounded, so a developer restarting their app does not lose the events
/// that arrived meanwhile, and does not get them an hour later either.
pub const DEFAULT_RETRY: RetryPolicy =
    RetryPolicy::forever(Duration::from_millis(500), Duration::from_secs(30)).at_most(5);

/// The wait before forward retry number `retry` after `outcome`, or `None`
/// when the outcome is final (an answer below 500) or the retries are used up.
pub fn delay_after(policy: &RetryPolicy, outcome: &Outcome, retry: u32) -> Option<Duration> {
    let worth_retrying = match outcome {
        Outcome::Error { .. } => true,
        Outcome::Response { status, .. } => *status >= 500,
    };
    worth_retrying.then(|| policy.delay(retry)).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16) -> Outcome {
        Outcome::Response {
            status,
            headers: vec![],
            body: vec![],
            body_truncated: false,
        }
    }

    #[test]
    fn errors_and_5xx_are_retried_until_the_policy_runs_out() {
        let down = Outcome::Error {
            message: "refused".into(),
        };
        for outcome in [&down, &response(500), &response(503)] {
            assert_eq!(
                delay_after(&DEFAULT_RETRY, outcome, 1),
                Some(Duration::from_millis(500))
            );
            assert_eq!(delay_after(&DEFAULT_RETRY, outcome, 6), None, "5 retries");
        }
    }

    #[test]
    fn answers_below_500_are_final() {
        let policy = DEFAULT_RETRY;
        for status in [200, 204, 301, 400, 401, 404, 499] {
            assert_eq!(delay_after(&policy, &response(status), 1), None, "{status}");
        }
    }
}
