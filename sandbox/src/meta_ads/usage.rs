//! Meta's rate limits: a rolling one-hour window of insights calls per ad account (the
//! `ads_insights` Business Use Case) and per app, and the usage headers that report it.
//!
//! Usage is the share of the hourly capacity used in the last hour, on the sandbox clock. A call
//! that would go past 100 % is refused (and not counted); `estimated_time_to_regain_access` says
//! in minutes when the oldest counted call leaves the window.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::MetaAdsConfig;

/// The rolling window.
const WINDOW_SECONDS: i64 = 3_600;

/// The access tier every sandbox app has.
const ACCESS_TIER: &str = "standard_access";

#[derive(Debug, Default)]
struct Windows {
    app: VecDeque<DateTime<Utc>>,
    accounts: HashMap<String, VecDeque<DateTime<Utc>>>,
}

/// Counts calls per account and per app.
#[derive(Debug, Default)]
pub(crate) struct UsageTracker {
    windows: Mutex<Windows>,
}

/// Usage of one account and of the app at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Usage {
    account_calls: u64,
    account_capacity: u64,
    app_calls: u64,
    app_capacity: u64,
    /// Seconds until the account's oldest counted call leaves the window.
    account_reset_seconds: i64,
    /// Report the account as blocked even if its count is below capacity (a throttle fault).
    forced_block: bool,
}

/// The outcome of asking to make one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// The call was counted and may proceed.
    Admitted(Usage),
    /// The account's budget is used up; the call was not counted.
    AccountThrottled(Usage),
    /// The app's budget is used up; the call was not counted.
    AppThrottled(Usage),
}

fn prune(window: &mut VecDeque<DateTime<Utc>>, now: DateTime<Utc>) {
    let horizon = now - Duration::seconds(WINDOW_SECONDS);
    while window.front().is_some_and(|oldest| *oldest <= horizon) {
        window.pop_front();
    }
}

impl UsageTracker {
    /// Counts one insights call for `account_id` unless a budget is used up.
    pub(crate) fn admit(
        &self,
        account_id: &str,
        now: DateTime<Utc>,
        config: &MetaAdsConfig,
    ) -> Admission {
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let account_capacity = u64::from(config.calls_per_hour_per_account.max(1));
        let app_capacity = u64::from(config.calls_per_hour_per_app.max(1));
        prune(&mut windows.app, now);
        let account_window = windows.accounts.entry(account_id.to_owned()).or_default();
        prune(account_window, now);
        let account_full = account_window.len() as u64 >= account_capacity;
        let app_full = windows.app.len() as u64 >= app_capacity;
        if !account_full && !app_full {
            windows
                .accounts
                .entry(account_id.to_owned())
                .or_default()
                .push_back(now);
            windows.app.push_back(now);
        }
        let usage = Self::usage_of(&windows, account_id, now, config);
        if account_full {
            Admission::AccountThrottled(usage)
        } else if app_full {
            Admission::AppThrottled(usage)
        } else {
            Admission::Admitted(usage)
        }
    }

    /// The current usage, without counting a call.
    pub(crate) fn snapshot(
        &self,
        account_id: &str,
        now: DateTime<Utc>,
        config: &MetaAdsConfig,
    ) -> Usage {
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        prune(&mut windows.app, now);
        if let Some(window) = windows.accounts.get_mut(account_id) {
            prune(window, now);
        }
        Self::usage_of(&windows, account_id, now, config)
    }

    fn usage_of(
        windows: &Windows,
        account_id: &str,
        now: DateTime<Utc>,
        config: &MetaAdsConfig,
    ) -> Usage {
        let account = windows.accounts.get(account_id);
        let account_reset_seconds = account
            .and_then(|window| window.front())
            .map(|oldest| (*oldest + Duration::seconds(WINDOW_SECONDS) - now).num_seconds())
            .unwrap_or(0)
            .max(0);
        Usage {
            account_calls: account.map_or(0, |window| window.len() as u64),
            account_capacity: u64::from(config.calls_per_hour_per_account.max(1)),
            app_calls: windows.app.len() as u64,
            app_capacity: u64::from(config.calls_per_hour_per_app.max(1)),
            account_reset_seconds,
            forced_block: false,
        }
    }
}

impl Usage {
    /// The same usage, reported as blocked (for an injected throttle).
    pub(crate) fn blocked(self) -> Self {
        Self {
            forced_block: true,
            ..self
        }
    }

    /// Whole percent of the account's hourly capacity used.
    fn account_percent(&self) -> u64 {
        let percent = self.account_calls * 100 / self.account_capacity;
        if self.forced_block {
            percent.max(100)
        } else {
            percent
        }
    }

    /// Percent of the account's capacity with two decimals, as in `acc_id_util_pct`.
    fn account_percent_precise(&self) -> serde_json::Value {
        if self.forced_block {
            return self.account_percent().into();
        }
        hundredths(self.account_calls, self.account_capacity)
    }

    fn app_percent(&self) -> u64 {
        self.app_calls * 100 / self.app_capacity
    }

    /// Minutes until the account can call again: 0 below 100 %, otherwise at least 1.
    fn regain_minutes(&self) -> i64 {
        if self.account_percent() < 100 {
            return 0;
        }
        ((self.account_reset_seconds + 59) / 60).max(1)
    }

    /// Seconds until the account's usage starts to fall (`reset_time_duration`).
    fn reset_seconds(&self) -> i64 {
        if self.forced_block {
            self.account_reset_seconds.max(60)
        } else {
            self.account_reset_seconds
        }
    }

    /// Writes Meta's four usage headers for `account_id` (digits, no `act_`).
    pub(crate) fn write_headers(&self, account_id: &str, headers: &mut HeaderMap) {
        let account_percent = self.account_percent();
        let app_percent = self.app_percent();
        let app_usage = json!({
            "call_count": app_percent,
            "total_cputime": app_percent,
            "total_time": app_percent,
        });
        let account_usage = json!({
            "acc_id_util_pct": self.account_percent_precise(),
            "reset_time_duration": self.reset_seconds(),
            "ads_api_access_tier": ACCESS_TIER,
        });
        let business_usage = json!({
            account_id: [{
                "type": "ads_insights",
                "call_count": account_percent,
                "total_cputime": account_percent,
                "total_time": account_percent,
                "estimated_time_to_regain_access": self.regain_minutes(),
                "ads_api_access_tier": ACCESS_TIER,
            }]
        });
        let insights_throttle = json!({
            "app_id_util_pct": hundredths(self.app_calls, self.app_capacity),
            "acc_id_util_pct": self.account_percent_precise(),
            "ads_api_access_tier": ACCESS_TIER,
        });
        for (name, value) in [
            ("x-app-usage", app_usage),
            ("x-ad-account-usage", account_usage),
            ("x-business-use-case-usage", business_usage),
            ("x-fb-ads-insights-throttle", insights_throttle),
        ] {
            if let Ok(value) = HeaderValue::from_str(&value.to_string()) {
                headers.insert(HeaderName::from_static(name), value);
            }
        }
    }
}

/// `part / whole` in percent, rounded to two decimals; whole numbers are written without a
/// fraction (`9.67`, `50`).
fn hundredths(part: u64, whole: u64) -> serde_json::Value {
    let basis_points = (part * 10_000 + whole / 2) / whole.max(1);
    if basis_points.is_multiple_of(100) {
        (basis_points / 100).into()
    } else {
        (basis_points as f64 / 100.0).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(per_account: u32) -> MetaAdsConfig {
        MetaAdsConfig {
            calls_per_hour_per_account: per_account,
            calls_per_hour_per_app: 1_000,
        }
    }

    #[test]
    fn calls_beyond_the_capacity_are_refused_until_the_window_moves_on() {
        let tracker = UsageTracker::default();
        let start: DateTime<Utc> = "2025-06-01T12:00:00Z".parse().unwrap();
        let config = config(2);
        assert!(matches!(
            tracker.admit("1", start, &config),
            Admission::Admitted(_)
        ));
        assert!(matches!(
            tracker.admit("1", start + Duration::minutes(10), &config),
            Admission::Admitted(_)
        ));
        let Admission::AccountThrottled(usage) =
            tracker.admit("1", start + Duration::minutes(20), &config)
        else {
            panic!("the third call must be throttled");
        };
        assert_eq!(usage.regain_minutes(), 40);
        assert!(matches!(
            tracker.admit("2", start, &config),
            Admission::Admitted(_)
        ));
        assert!(matches!(
            tracker.admit("1", start + Duration::minutes(60), &config),
            Admission::Admitted(_)
        ));
    }

    #[test]
    fn headers_report_percentages_as_json() {
        let tracker = UsageTracker::default();
        let now: DateTime<Utc> = "2025-06-01T12:00:00Z".parse().unwrap();
        let Admission::Admitted(usage) = tracker.admit("9", now, &config(3)) else {
            panic!("admitted");
        };
        let mut headers = HeaderMap::new();
        usage.write_headers("9", &mut headers);
        let buc: serde_json::Value =
            serde_json::from_str(headers["x-business-use-case-usage"].to_str().unwrap()).unwrap();
        assert_eq!(buc["9"][0]["call_count"], 33);
        assert_eq!(buc["9"][0]["estimated_time_to_regain_access"], 0);
        let account: serde_json::Value =
            serde_json::from_str(headers["x-ad-account-usage"].to_str().unwrap()).unwrap();
        assert_eq!(account["acc_id_util_pct"], 33.33);
        assert_eq!(account["reset_time_duration"], 3600);
    }
}
