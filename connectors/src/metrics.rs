//! The metrics of every request a connector makes, with recording functions so labels stay
//! consistent. Whichever process runs a connector (the worker for jobs, the api for account
//! discovery) serves them on its `/metrics`.
//!
//! - `adsync_connector_requests_total{connector, status_class}`: platform HTTP requests by
//!   status class (`2xx`, `4xx`, `429`, `5xx`).
//! - `adsync_connector_budget_waits_total{connector, outcome}`: requests that had to wait for a
//!   shared rate budget, by whether the wait was `slept` in place or the job `snoozed`.
//! - `adsync_connector_budget_wait_seconds{connector}`: how long those waits were.
//! - `adsync_connector_token_refreshes_total{connector, outcome}`: token refreshes (`ok`,
//!   `failed`).
//! - `adsync_connector_throttles_total{connector}`: throttle answers from a platform.

use std::sync::LazyLock;
use std::time::Duration;

use prometheus::{
    HistogramOpts, HistogramVec, IntCounterVec, Opts, register_histogram_vec,
    register_int_counter_vec,
};

static PLATFORM_REQUESTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        Opts::new(
            "adsync_connector_requests_total",
            "Platform HTTP requests, by status class"
        ),
        &["connector", "status_class"]
    )
    .expect("metric registers once")
});

static BUDGET_WAITS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        Opts::new(
            "adsync_connector_budget_waits_total",
            "Requests that waited for a shared rate budget, by outcome"
        ),
        &["connector", "outcome"]
    )
    .expect("metric registers once")
});

static BUDGET_WAIT: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        HistogramOpts::new(
            "adsync_connector_budget_wait_seconds",
            "How long requests waited for a shared rate budget"
        )
        .buckets(vec![
            0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0, 60.0, 300.0, 3600.0
        ]),
        &["connector"]
    )
    .expect("metric registers once")
});

static TOKEN_REFRESHES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        Opts::new(
            "adsync_connector_token_refreshes_total",
            "Token refreshes, by outcome"
        ),
        &["connector", "outcome"]
    )
    .expect("metric registers once")
});

static THROTTLES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        Opts::new(
            "adsync_connector_throttles_total",
            "Throttle answers from a platform, each blocking a rate budget until its reset"
        ),
        &["connector"]
    )
    .expect("metric registers once")
});

/// Every metric name declared here (checked against the naming convention by a test).
pub const NAMES: [&str; 5] = [
    "adsync_connector_requests_total",
    "adsync_connector_budget_waits_total",
    "adsync_connector_budget_wait_seconds",
    "adsync_connector_token_refreshes_total",
    "adsync_connector_throttles_total",
];

/// The status class label of a platform answer.
pub fn status_class(status: u16) -> &'static str {
    match status {
        429 => "429",
        200..=299 => "2xx",
        400..=499 => "4xx",
        500..=599 => "5xx",
        _ => "other",
    }
}

pub fn record_platform_request(connector: &str, status: u16) {
    let class = status_class(status);
    PLATFORM_REQUESTS
        .with_label_values(&[connector, class])
        .inc();
}

pub fn record_budget_wait(connector: &str, outcome: &str, wait: Duration) {
    BUDGET_WAITS.with_label_values(&[connector, outcome]).inc();
    BUDGET_WAIT
        .with_label_values(&[connector])
        .observe(wait.as_secs_f64());
}

pub fn record_throttle(connector: &str) {
    THROTTLES.with_label_values(&[connector]).inc();
}

/// Throttle answers received from `connector` by this process so far.
pub fn throttles(connector: &str) -> u64 {
    THROTTLES.with_label_values(&[connector]).get()
}

pub fn record_token_refresh(connector: &str, ok: bool) {
    let outcome = if ok { "ok" } else { "failed" };
    TOKEN_REFRESHES
        .with_label_values(&[connector, outcome])
        .inc();
}

/// Registers every metric declared here and starts the per-connector series at zero, so
/// `/metrics` lists them (and rates over them exist) before the first request.
pub fn register() {
    use shared::domain::ConnectorKind;
    for connector in ConnectorKind::ALL.map(ConnectorKind::as_str) {
        THROTTLES.with_label_values(&[connector]);
        PLATFORM_REQUESTS.with_label_values(&[connector, "2xx"]);
        BUDGET_WAIT.with_label_values(&[connector]);
        for outcome in ["slept", "snoozed"] {
            BUDGET_WAITS.with_label_values(&[connector, outcome]);
        }
        for outcome in ["ok", "failed"] {
            TOKEN_REFRESHES.with_label_values(&[connector, outcome]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names_follow_the_convention() {
        register();
        if let Err(problems) = shared::telemetry::check_metric_names(&NAMES) {
            panic!("{}", problems.join("\n"));
        }
    }
}
