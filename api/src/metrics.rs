//! Every metric the API emits, recorded by one middleware into the application's own registry.
//!
//! - `adsync_api_requests_total{route, method, status_class}`: requests answered.
//! - `adsync_api_request_duration_seconds{route}`: time to answer.
//!
//! `route` is the matched route template (`/v1/jobs/{id}`), never the raw path. Each
//! [`crate::Application`] has a registry of its own (served on its `/metrics` beside the
//! process-wide default registry), so two APIs in one process, as in tests, count apart.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};

/// Every metric name declared here (checked against the naming convention by a test).
pub const NAMES: [&str; 2] = [
    "adsync_api_requests_total",
    "adsync_api_request_duration_seconds",
];

/// One application's request metrics and the registry they are registered in.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    duration: HistogramVec,
}

impl Metrics {
    /// The API's metrics, registered in a new registry.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("adsync_api_requests_total", "API requests answered"),
            &["route", "method", "status_class"],
        )?;
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "adsync_api_request_duration_seconds",
                "Time to answer a request",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ]),
            &["route"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(duration.clone()))?;
        Ok(Self {
            registry,
            requests,
            duration,
        })
    }

    /// The registry holding these metrics, for `/metrics`.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }
}

/// Records each request's route, method, status class and duration.
pub async fn record(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
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
    metrics
        .requests
        .with_label_values(&[route.as_str(), method.as_str(), status_class])
        .inc();
    metrics
        .duration
        .with_label_values(&[route.as_str()])
        .observe(started.elapsed().as_secs_f64());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names_follow_the_convention() {
        let metrics = Metrics::new().unwrap();
        metrics
            .requests
            .with_label_values(&["/healthz", "GET", "2xx"])
            .inc();
        metrics
            .duration
            .with_label_values(&["/healthz"])
            .observe(0.001);
        let families = metrics.registry().gather();
        if let Err(problems) = shared::telemetry::check_metric_families(&NAMES, &families) {
            panic!("{}", problems.join("\n"));
        }
    }

    #[test]
    fn two_applications_count_apart() {
        let (one, two) = (Metrics::new().unwrap(), Metrics::new().unwrap());
        one.requests
            .with_label_values(&["/v1/syncs", "POST", "2xx"])
            .inc();
        let count = |metrics: &Metrics| {
            metrics
                .requests
                .with_label_values(&["/v1/syncs", "POST", "2xx"])
                .get()
        };
        assert_eq!((count(&one), count(&two)), (1, 0));
    }
}
