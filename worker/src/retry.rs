//! What happens to a job after a failed attempt, decided from the error's class alone.

use std::time::Duration;

use chrono::{DateTime, Utc};
use shared::config::JobsConfig;
use shared::error::{ErrorClass, backoff_delay};

/// The next state of a job whose attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Back to `pending` until `run_after`; a throttle snooze does not spend the attempt.
    Retry {
        run_after: DateTime<Utc>,
        spend_attempt: bool,
    },
    /// `failed` for good.
    Fail,
    /// `failed`, and the connection needs re-authorisation (its syncs pause).
    FailNeedsReauth,
    /// `cancelled`.
    Cancel,
}

/// Backoff settings for transient errors.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub base: Duration,
    pub max: Duration,
}

impl RetryPolicy {
    pub fn from_config(config: &JobsConfig) -> Self {
        Self {
            base: Duration::from_millis(config.retry_base_ms),
            max: Duration::from_millis(config.retry_max_ms),
        }
    }
}

/// Decides a failed attempt's outcome. `attempt` is the attempt that failed (from 1);
/// `jitter` is a random number in `[0, 1)`.
pub fn decide(
    class: &ErrorClass,
    attempt: i32,
    max_attempts: i32,
    now: DateTime<Utc>,
    policy: RetryPolicy,
    jitter: f64,
) -> Decision {
    match class {
        ErrorClass::Transient { retry_after } => {
            if attempt >= max_attempts {
                return Decision::Fail;
            }
            let attempt = u32::try_from(attempt.max(1)).unwrap_or(1);
            let delay = retry_after
                .unwrap_or_else(|| backoff_delay(attempt, policy.base, policy.max, jitter));
            Decision::Retry {
                run_after: now + delay,
                spend_attempt: true,
            }
        }
        ErrorClass::Throttled { until, .. } => Decision::Retry {
            run_after: (*until).max(now),
            spend_attempt: false,
        },
        ErrorClass::Auth => Decision::FailNeedsReauth,
        ErrorClass::Permanent => Decision::Fail,
        ErrorClass::Cancelled => Decision::Cancel,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: RetryPolicy = RetryPolicy {
        base: Duration::from_secs(2),
        max: Duration::from_secs(600),
    };

    fn now() -> DateTime<Utc> {
        "2026-03-14T10:00:00Z".parse().unwrap()
    }

    #[test]
    fn transient_errors_back_off_exponentially_until_attempts_run_out() {
        let transient = ErrorClass::Transient { retry_after: None };
        assert_eq!(
            decide(&transient, 3, 5, now(), POLICY, 0.5),
            Decision::Retry {
                run_after: now() + Duration::from_secs(4),
                spend_attempt: true
            }
        );
        assert_eq!(decide(&transient, 5, 5, now(), POLICY, 0.5), Decision::Fail);
    }

    #[test]
    fn a_server_given_delay_wins_over_backoff() {
        let transient = ErrorClass::Transient {
            retry_after: Some(Duration::from_secs(42)),
        };
        assert_eq!(
            decide(&transient, 1, 5, now(), POLICY, 0.0),
            Decision::Retry {
                run_after: now() + Duration::from_secs(42),
                spend_attempt: true
            }
        );
    }

    #[test]
    fn throttling_snoozes_until_the_reset_without_spending_an_attempt_even_at_the_limit() {
        let until = now() + Duration::from_secs(900);
        let throttled = ErrorClass::Throttled {
            until,
            scope: "meta_ads:account:1".into(),
        };
        assert_eq!(
            decide(&throttled, 5, 5, now(), POLICY, 0.5),
            Decision::Retry {
                run_after: until,
                spend_attempt: false
            }
        );
    }

    #[test]
    fn auth_permanent_and_cancelled_end_the_job() {
        assert_eq!(
            decide(&ErrorClass::Auth, 1, 5, now(), POLICY, 0.5),
            Decision::FailNeedsReauth
        );
        assert_eq!(
            decide(&ErrorClass::Permanent, 1, 5, now(), POLICY, 0.5),
            Decision::Fail
        );
        assert_eq!(
            decide(&ErrorClass::Cancelled, 1, 5, now(), POLICY, 0.5),
            Decision::Cancel
        );
    }
}
