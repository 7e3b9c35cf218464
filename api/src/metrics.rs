//! Every metric the API emits, recorded by one middleware.
//!
//! - `adsync_api_requests_total{route, method, status_class}`: requests answered.
//! - `adsync_api_request_duration_seconds{route}`: time to answer.
//!
//! `route` is the matched route template (`/v1/jobs/{id}`), never the raw path.

use std::sync::LazyLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use prometheus::{
    HistogramOpts, HistogramVec, IntCounterVec, Opts, register_histogram_vec,
    register_int_counter_vec,
};

static REQUESTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        Opts::new("adsync_api_requests_total", "API requests answered"),
        &["route", "method", "status_class"]
    )
    .expect("metric registers once")
});

static DURATION: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        HistogramOpts::new(
            "adsync_api_request_duration_seconds",
            "Time to answer a request"
        )
        .buckets(vec![
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5
        ]),
        &["route"]
    )
    .expect("metric registers once")
});

/// Every metric name declared here (checked against the naming convention by a test).
pub const NAMES: [&str; 2] = [
    "adsync_api_requests_total",
    "adsync_api_request_duration_seconds",
];

/// Records each request's route, method, status class and duration.
pub async fn record(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let method = request.method().as_str().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let status_class = match response.status().as_u16() {
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    };
    REQUESTS
        .with_label_values(&[route.as_str(), method.as_str(), status_class])
        .inc();
    DURATION
        .with_label_values(&[route.as_str()])
        .observe(started.elapsed().as_secs_f64());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names_follow_the_convention() {
        REQUESTS
            .with_label_values(&["/healthz", "GET", "2xx"])
            .inc();
        DURATION.with_label_values(&["/healthz"]).observe(0.001);
        if let Err(problems) = shared::telemetry::check_metric_names(&NAMES) {
            panic!("{}", problems.join("\n"));
        }
    }
}
