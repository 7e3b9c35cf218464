//! Meta's rate limits: a rolling one-hour window of calls per ad account and Business Use Case
//! (`ads_insights` for insights and report runs, `ads_management` for the entity edges) and per
//! app, and the usage headers that report them.
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

/// A Business Use Case: calls are counted per ad account and use case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum UseCase {
    /// Insights, synchronous and asynchronous (report runs): code 80000 when used up.
    AdsInsights,
    /// Reading campaigns, ad sets and ads: code 80004 when used up.
    AdsManagement,
}

impl UseCase {
    /// The `type` in `X-Business-Use-Case-Usage`.
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            UseCase::AdsInsights => "ads_insights",
            UseCase::AdsManagement => "ads_management",
        }
    }
}

#[derive(Debug, Default)]
struct Windows {
    app: VecDeque<DateTime<Utc>>,
    accounts: HashMap<(String, UseCase), VecDeque<DateTime<Utc>>>,
}

/// Counts calls per account and use case, and per app.
#[derive(Debug, Default)]
pub(crate) struct UsageTracker {
    windows: Mutex<Windows>,
}

/// Usage of one account's use case and of the app at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Usage {
    use_case: UseCase,
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
    Admitted,
    /// The account's budget is used up; the call was not counted.
    AccountThrottled,
    /// The app's budget is used up; the call was not counted.
    AppThrottled,
}

fn prune(window: &mut VecDeque<DateTime<Utc>>, now: DateTime<Utc>) {
    let horizon = now - Duration::seconds(WINDOW_SECONDS);
    while window.front().is_some_and(|oldest| *oldest <= horizon) {
        window.pop_front();
    }
    // Calls "from the future" after the clock moved back would otherwise block forever.
    if window.back().is_some_and(|newest| *newest > now) {
        window.retain(|at| *at <= now);
    }
}

fn app_capacity(config: &MetaAdsConfig) -> u64 {
    u64::from(config.calls_per_hour_per_app.max(1))
}

impl UsageTracker {
    fn lock(&self) -> std::sync::MutexGuard<'_, Windows> {
        self.windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Counts one call of `use_case` for `account_id` (whose hourly budget is
    /// `account_capacity`) unless a budget is used up.
    pub(crate) fn admit(
        &self,
        account_id: &str,
        use_case: UseCase,
        account_capacity: u64,
        now: DateTime<Utc>,
        config: &MetaAdsConfig,
    ) -> Admission {
        let mut windows = self.lock();
        prune(&mut windows.app, now);
        let app_full = windows.app.len() as u64 >= app_capacity(config);
        let account_window = windows
            .accounts
            .entry((account_id.to_owned(), use_case))
            .or_default();
        prune(account_window, now);
        if account_window.len() as u64 >= account_capacity {
            return Admission::AccountThrottled;
        }
        if app_full {
            return Admission::AppThrottled;
        }
        account_window.push_back(now);
        windows.app.push_back(now);
        Admission::Admitted
    }

    /// Counts one call that no ad account is charged for (e.g. `/me/adaccounts`).
    pub(crate) fn admit_app(&self, now: DateTime<Utc>, config: &MetaAdsConfig) -> Admission {
        let mut windows = self.lock();
        prune(&mut windows.app, now);
        if windows.app.len() as u64 >= app_capacity(config) {
            return Admission::AppThrottled;
        }
        windows.app.push_back(now);
        Admission::Admitted
    }

    /// The current usage of an account's use case, without counting a call.
    pub(crate) fn snapshot(
        &self,
        account_id: &str,
        use_case: UseCase,
        account_capacity: u64,
        now: DateTime<Utc>,
        config: &MetaAdsConfig,
    ) -> Usage {
        let mut windows = self.lock();
        prune(&mut windows.app, now);
        let app_calls = windows.app.len() as u64;
        let (account_calls, oldest) =
            match windows.accounts.get_mut(&(account_id.to_owned(), use_case)) {
                Some(window) => {
                    prune(window, now);
                    (window.len() as u64, window.front().copied())
                }
                None => (0, None),
            };
        let account_reset_seconds = oldest
            .map(|oldest| (oldest + Duration::seconds(WINDOW_SECONDS) - now).num_seconds())
            .unwrap_or(0)
            .max(0);
        Usage {
            use_case,
            account_calls,
            account_capacity: account_capacity.max(1),
            app_calls,
            app_capacity: app_capacity(config),
            account_reset_seconds,
            forced_block: false,
        }
    }

    /// The app's usage, without counting a call.
    pub(crate) fn app_snapshot(&self, now: DateTime<Utc>, config: &MetaAdsConfig) -> Usage {
        let mut windows = self.lock();
        prune(&mut windows.app, now);
        Usage {
            use_case: UseCase::AdsManagement,
            account_calls: 0,
            account_capacity: 1,
            app_calls: windows.app.len() as u64,
            app_capacity: app_capacity(config),
            account_reset_seconds: 0,
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

    /// Writes `X-App-Usage` only (calls no ad account is charged for).
    pub(crate) fn write_app_header(&self, headers: &mut HeaderMap) {
        let app_percent = self.app_percent();
        let app_usage = json!({
            "call_count": app_percent,
            "total_cputime": app_percent,
            "total_time": app_percent,
        });
        if let Ok(value) = HeaderValue::from_str(&app_usage.to_string()) {
            headers.insert(HeaderName::from_static("x-app-usage"), value);
        }
    }

    /// Writes Meta's usage headers for `account_id` (digits, no `act_`): the app's, the ad
    /// account's, the Business Use Case's, and for insights `x-fb-ads-insights-throttle`.
    pub(crate) fn write_headers(&self, account_id: &str, headers: &mut HeaderMap) {
        self.write_app_header(headers);
        let account_percent = self.account_percent();
        let account_usage = json!({
            "acc_id_util_pct": self.account_percent_precise(),
            "reset_time_duration": self.reset_seconds(),
            "ads_api_access_tier": ACCESS_TIER,
        });
        let business_usage = json!({
            account_id: [{
                "type": self.use_case.as_str(),
                "call_count": account_percent,
                "total_cputime": account_percent,
                "total_time": account_percent,
                "estimated_time_to_regain_access": self.regain_minutes(),
                "ads_api_access_tier": ACCESS_TIER,
            }]
        });
        let mut values = vec![
            ("x-ad-account-usage", account_usage),
            ("x-business-use-case-usage", business_usage),
        ];
        if self.use_case == UseCase::AdsInsights {
            values.push((
                "x-fb-ads-insights-throttle",
                json!({
                    "app_id_util_pct": hundredths(self.app_calls, self.app_capacity),
                    "acc_id_util_pct": self.account_percent_precise(),
                    "ads_api_access_tier": ACCESS_TIER,
                }),
            ));
        }
        for (name, value) in values {
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

    fn config() -> MetaAdsConfig {
        MetaAdsConfig {
            calls_per_hour_per_app: 1_000,
            ..MetaAdsConfig::default()
        }
    }

    #[test]
    fn calls_beyond_the_capacity_are_refused_until_the_window_moves_on() {
        let tracker = UsageTracker::default();
        let start: DateTime<Utc> = "2025-06-01T12:00:00Z".parse().unwrap();
        let config = config();
        let insights = UseCase::AdsInsights;
        let admit = |account, minutes| {
            tracker.admit(
                account,
                insights,
                2,
                start + Duration::minutes(minutes),
                &config,
            )
        };
        assert_eq!(admit("1", 0), Admission::Admitted);
        assert_eq!(admit("1", 10), Admission::Admitted);
        assert_eq!(admit("1", 20), Admission::AccountThrottled);
        let usage = tracker.snapshot("1", insights, 2, start + Duration::minutes(20), &config);
        assert_eq!(usage.regain_minutes(), 40);
        assert_eq!(admit("2", 0), Admission::Admitted);
        assert_eq!(
            tracker.admit("1", UseCase::AdsManagement, 2, start, &config),
            Admission::Admitted,
            "use cases have budgets of their own"
        );
        assert_eq!(admit("1", 60), Admission::Admitted);
    }

    #[test]
    fn headers_report_percentages_as_json() {
        let tracker = UsageTracker::default();
        let now: DateTime<Utc> = "2025-06-01T12:00:00Z".parse().unwrap();
        let config = config();
        assert_eq!(
            tracker.admit("9", UseCase::AdsInsights, 3, now, &config),
            Admission::Admitted
        );
        let usage = tracker.snapshot("9", UseCase::AdsInsights, 3, now, &config);
        let mut headers = HeaderMap::new();
        usage.write_headers("9", &mut headers);
        let buc: serde_json::Value =
            serde_json::from_str(headers["x-business-use-case-usage"].to_str().unwrap()).unwrap();
        assert_eq!(buc["9"][0]["call_count"], 33);
        assert_eq!(buc["9"][0]["type"], "ads_insights");
        assert_eq!(buc["9"][0]["estimated_time_to_regain_access"], 0);
        let account: serde_json::Value =
            serde_json::from_str(headers["x-ad-account-usage"].to_str().unwrap()).unwrap();
        assert_eq!(account["acc_id_util_pct"], 33.33);
        assert_eq!(account["reset_time_duration"], 3600);
        assert!(headers.contains_key("x-fb-ads-insights-throttle"));
    }
}
