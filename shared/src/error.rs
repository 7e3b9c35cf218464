//! Error classes: what the job engine does with an error that ends an attempt.
//!
//! Every error enum that can end a job implements [`Classify`] with an exhaustive `match` (no
//! wildcard arm), so adding a variant forces a decision about retrying it.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};

/// What kind of failure ended an attempt, and so what happens to the job next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorClass {
    /// Try again after a backoff (an attempt is spent). A server-given delay wins over backoff.
    Transient { retry_after: Option<Duration> },
    /// The platform's quota is used up: wait until `until` without spending an attempt.
    /// `scope` names what is throttled (for example `meta_ads:account:123`).
    Throttled { until: DateTime<Utc>, scope: String },
    /// The credentials are no longer accepted: the connection needs re-authorisation.
    Auth,
    /// Retrying cannot help (bad configuration, bad request, malformed data).
    Permanent,
    /// The job was cancelled while it ran.
    Cancelled,
}

impl ErrorClass {
    /// The stable name stored in `jobs.error_class` and used as a metric label.
    pub fn name(&self) -> &'static str {
        match self {
            ErrorClass::Transient { .. } => "transient",
            ErrorClass::Throttled { .. } => "throttled",
            ErrorClass::Auth => "auth",
            ErrorClass::Permanent => "permanent",
            ErrorClass::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Implemented by every error that can end a job attempt.
pub trait Classify {
    fn class(&self) -> ErrorClass;
}

/// The classic HTTP rule for a status without a platform-specific meaning: 408, 429 and 5xx
/// except 501 are transient, 401 and 403 need re-authorisation, other 4xx are permanent.
pub fn class_of_http_status(status: u16, retry_after: Option<Duration>) -> ErrorClass {
    match status {
        408 | 429 => ErrorClass::Transient { retry_after },
        401 | 403 => ErrorClass::Auth,
        501 => ErrorClass::Permanent,
        500..=599 => ErrorClass::Transient { retry_after },
        _ => ErrorClass::Permanent,
    }
}

/// Exponential backoff with full jitter: a random delay in `[0, min(max, base * 2^(attempt-1))]`.
/// `attempt` counts from 1. `unit` is a random number in `[0, 1)` (passed in so tests are exact).
pub fn backoff_delay(attempt: u32, base: Duration, max: Duration, unit: f64) -> Duration {
    let exponent = attempt.saturating_sub(1).min(30);
    let ceiling = base.saturating_mul(1u32 << exponent).min(max);
    ceiling.mul_f64(unit.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_statuses_follow_the_documented_rule() {
        let transient = ErrorClass::Transient { retry_after: None };
        for status in [408, 429, 500, 502, 503, 504] {
            assert_eq!(class_of_http_status(status, None), transient, "{status}");
        }
        for status in [400, 404, 422, 501] {
            assert_eq!(
                class_of_http_status(status, None),
                ErrorClass::Permanent,
                "{status}"
            );
        }
        for status in [401, 403] {
            assert_eq!(
                class_of_http_status(status, None),
                ErrorClass::Auth,
                "{status}"
            );
        }
    }

    #[test]
    fn backoff_grows_exponentially_up_to_the_cap_and_jitters_below_it() {
        let base = Duration::from_secs(2);
        let max = Duration::from_secs(60);
        assert_eq!(backoff_delay(1, base, max, 0.999_999).as_secs(), 1);
        assert_eq!(backoff_delay(3, base, max, 0.5), Duration::from_secs(4));
        assert_eq!(backoff_delay(20, base, max, 0.5), Duration::from_secs(30));
        assert_eq!(backoff_delay(3, base, max, 0.0), Duration::ZERO);
    }
}
