//! AppsFlyer's Pull API quotas, on the sandbox clock.
//!
//! Aggregate reports over three days or more count against a daily quota per app and report and
//! one per account (token), both reset at 00:00 UTC; reports over one or two days may be pulled
//! once a minute per app and report instead. Every call also counts against a per-second burst
//! limit per account. The management API's app list has its own per-minute and per-day limits.
//! A refused call counts against nothing.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::AppsflyerConfig;
use super::errors::AppsflyerError;
use crate::limits::{CallCounter, Limit};
use crate::rng::fnv1a64;

const SECOND: Duration = Duration::from_secs(1);
const MINUTE: Duration = Duration::from_secs(60);
/// Daily quotas use keys per UTC date, so a counter's window only needs to cover one date.
const DAY: Duration = Duration::from_secs(24 * 3600);

/// Ranges up to this many days are "short": limited per minute instead of per day.
pub(crate) const SHORT_RANGE_DAYS: i64 = 2;

/// The quotas' call counts.
#[derive(Debug, Default)]
pub(crate) struct Quotas {
    calls: CallCounter,
}

/// A stable, non-secret key for the account a token belongs to.
fn account_key(token: &str) -> String {
    format!("{:016x}", fnv1a64(token.as_bytes()))
}

impl Quotas {
    /// Counts one aggregate report call over `days` days, or says which limit refused it.
    pub(crate) fn admit_export(
        &self,
        now: DateTime<Utc>,
        config: &AppsflyerConfig,
        token: &str,
        app_id: &str,
        report: &'static str,
        days: i64,
    ) -> Result<(), AppsflyerError> {
        let account = account_key(token);
        let burst = format!("burst:{account}");
        let limits: Vec<(String, u32, Duration)> = if days <= SHORT_RANGE_DAYS {
            vec![
                (burst, config.calls_per_second_per_account, SECOND),
                (
                    format!("minute:{app_id}:{report}"),
                    config.short_range_calls_per_minute,
                    MINUTE,
                ),
            ]
        } else {
            let today = now.date_naive();
            vec![
                (burst, config.calls_per_second_per_account, SECOND),
                (
                    format!("day:{today}:{app_id}:{report}"),
                    config.daily_calls_per_app_report,
                    DAY,
                ),
                (
                    format!("day:{today}:account:{account}"),
                    config.daily_calls_per_account,
                    DAY,
                ),
            ]
        };
        let limits: Vec<Limit<'_>> = limits
            .iter()
            .map(|(key, max_calls, window)| Limit {
                key,
                max_calls: *max_calls,
                window: *window,
            })
            .collect();
        match self.calls.admit(now, &limits) {
            Ok(()) => Ok(()),
            Err(refused) if refused.index == 0 => Err(AppsflyerError::TooManyRequests),
            Err(_) => Err(AppsflyerError::LimitReached(report)),
        }
    }

    /// Counts one app list call, or refuses it with HTTP 429.
    pub(crate) fn admit_app_list(
        &self,
        now: DateTime<Utc>,
        config: &AppsflyerConfig,
        token: &str,
    ) -> Result<(), AppsflyerError> {
        let account = account_key(token);
        let minute = format!("apps-minute:{account}");
        let day = format!("apps-day:{}:{account}", now.date_naive());
        let limits = [
            Limit {
                key: &minute,
                max_calls: config.app_list_calls_per_minute,
                window: MINUTE,
            },
            Limit {
                key: &day,
                max_calls: config.app_list_calls_per_day,
                window: DAY,
            },
        ];
        self.calls
            .admit(now, &limits)
            .map_err(|_| AppsflyerError::TooManyRequests)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn config() -> AppsflyerConfig {
        AppsflyerConfig {
            daily_calls_per_app_report: 2,
            daily_calls_per_account: 3,
            ..AppsflyerConfig::default()
        }
    }

    #[test]
    fn daily_quotas_are_per_app_and_report_and_per_account_and_reset_at_utc_midnight() {
        let quotas = Quotas::default();
        let config = config();
        let call = |now, app, report| quotas.admit_export(at(now), &config, "t", app, report, 7);
        assert!(call("2025-06-30T10:00:00Z", "id1", "partners_by_date_report").is_ok());
        assert!(call("2025-06-30T10:00:01Z", "id1", "partners_by_date_report").is_ok());
        assert_eq!(
            call("2025-06-30T10:00:02Z", "id1", "partners_by_date_report"),
            Err(AppsflyerError::LimitReached("partners_by_date_report"))
        );
        assert!(call("2025-06-30T10:00:03Z", "id1", "geo_by_date_report").is_ok());
        // The account's three calls are used up, for every app.
        assert_eq!(
            call("2025-06-30T10:00:04Z", "id2", "geo_by_date_report"),
            Err(AppsflyerError::LimitReached("geo_by_date_report"))
        );
        assert!(call("2025-07-01T00:00:00Z", "id1", "partners_by_date_report").is_ok());
    }

    #[test]
    fn short_ranges_are_limited_per_minute_and_bursts_per_second() {
        let quotas = Quotas::default();
        let config = AppsflyerConfig {
            calls_per_second_per_account: 2,
            ..AppsflyerConfig::default()
        };
        let call = |now, app| {
            quotas.admit_export(at(now), &config, "t", app, "partners_by_date_report", 2)
        };
        assert!(call("2025-06-30T10:00:00Z", "id1").is_ok());
        assert_eq!(
            call("2025-06-30T10:00:30Z", "id1"),
            Err(AppsflyerError::LimitReached("partners_by_date_report"))
        );
        assert!(call("2025-06-30T10:01:00Z", "id1").is_ok());
        assert!(call("2025-06-30T10:01:00Z", "id2").is_ok());
        assert_eq!(
            call("2025-06-30T10:01:00Z", "id3"),
            Err(AppsflyerError::TooManyRequests)
        );
    }
}
