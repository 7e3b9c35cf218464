//! Every metric the worker emits, with recording functions so labels stay consistent. The
//! connectors' request metrics are declared in `connectors::metrics` and served here too.
//!
//! - `adsync_worker_jobs_total{connector, outcome}`: attempts finished, by outcome
//!   (`succeeded`, `retried`, `snoozed`, `failed`, `cancelled`, `lease_lost`).
//! - `adsync_worker_job_duration_seconds{connector}`: wall time of an attempt.
//! - `adsync_destination_rows_written_total{destination}`: rows written.
//! - `adsync_worker_job_failures_total{connector, class}`: errors that ended an attempt, by
//!   class (`transient`, `throttled`, `auth`, `permanent`).
//! - `adsync_worker_queue_wait_seconds{connector}`: how long a job waited between being
//!   published (or becoming due) and being claimed.
//! - `adsync_connector_rows_read_total{connector}`: rows read from platforms.
//! - `adsync_worker_reconnects_total{backend}`: connections to `rabbitmq` or `postgres`
//!   re-established after one broke (see `shared::telemetry::register_reconnects`).

use std::sync::LazyLock;
use std::time::Duration;

use prometheus::{
    HistogramOpts, HistogramVec, IntCounterVec, Opts, register_histogram_vec,
    register_int_counter_vec,
};

static JOBS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        Opts::new(
            "adsync_worker_jobs_total",
            "Job attempts finished, by outcome"
        ),
        &["connector", "outcome"]
    )
    .expect("metric registers once")
});

static JOB_DURATION: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        HistogramOpts::new(
            "adsync_worker_job_duration_seconds",
            "Wall time of a job attempt"
        )
        .buckets(vec![
            0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0
        ]),
        &["connector"]
    )
    .expect("metric registers once")
});

static ROWS_WRITTEN: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        Opts::new(
            "adsync_destination_rows_written_total",
            "Rows written to destinations"
        ),
        &["destination"]
    )
    .expect("metric registers once")
});

static JOB_FAILURES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        Opts::new(
            "adsync_worker_job_failures_total",
            "Errors that ended a job attempt, by class"
        ),
        &["connector", "class"]
    )
    .expect("metric registers once")
});

static QUEUE_WAIT: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        HistogramOpts::new(
            "adsync_worker_queue_wait_seconds",
            "Time from a job's publication (or due time) to its claim by a worker"
        )
        .buckets(vec![
            0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0
        ]),
        &["connector"]
    )
    .expect("metric registers once")
});

static ROWS_READ: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        Opts::new(
            "adsync_connector_rows_read_total",
            "Rows read from platforms"
        ),
        &["connector"]
    )
    .expect("metric registers once")
});

/// Every metric name declared here (checked against the naming convention by a test).
/// The connectors' own metrics (platform requests, budget waits, token refreshes, throttles)
/// are declared in `connectors::metrics`; the worker serves both.
pub const NAMES: [&str; 7] = [
    "adsync_worker_reconnects_total",
    "adsync_worker_job_failures_total",
    "adsync_worker_queue_wait_seconds",
    "adsync_connector_rows_read_total",
    "adsync_worker_jobs_total",
    "adsync_worker_job_duration_seconds",
    "adsync_destination_rows_written_total",
];

pub fn record_job(connector: &str, outcome: &str, duration: Duration) {
    JOBS.with_label_values(&[connector, outcome]).inc();
    JOB_DURATION
        .with_label_values(&[connector])
        .observe(duration.as_secs_f64());
}

/// An error of class `class` (see `ErrorClass::name`) ended an attempt. Cancellation is not
/// an error and is not counted.
pub fn record_job_failure(connector: &str, class: &str) {
    if class != "cancelled" {
        JOB_FAILURES.with_label_values(&[connector, class]).inc();
    }
}

pub fn record_queue_wait(connector: &str, wait: Duration) {
    QUEUE_WAIT
        .with_label_values(&[connector])
        .observe(wait.as_secs_f64());
}

pub fn record_rows_read(connector: &str, rows: u64) {
    ROWS_READ.with_label_values(&[connector]).inc_by(rows);
}

pub fn record_rows_written(destination: &str, rows: u64) {
    ROWS_WRITTEN.with_label_values(&[destination]).inc_by(rows);
}

/// Registers every metric declared here and starts the per-connector and per-destination
/// series at zero, so `/metrics` lists them (and rates over them exist) before the first job.
pub fn register() {
    use shared::domain::{ConnectorKind, DestinationKind};
    shared::telemetry::register_reconnects("worker");
    for connector in ConnectorKind::ALL.map(ConnectorKind::as_str) {
        for class in ["transient", "throttled", "auth", "permanent"] {
            JOB_FAILURES.with_label_values(&[connector, class]);
        }
        for outcome in ["succeeded", "retried", "snoozed", "failed"] {
            JOBS.with_label_values(&[connector, outcome]);
        }
        JOB_DURATION.with_label_values(&[connector]);
        QUEUE_WAIT.with_label_values(&[connector]);
        ROWS_READ.with_label_values(&[connector]);
    }
    connectors::metrics::register();
    for destination in DestinationKind::ALL.map(DestinationKind::as_str) {
        ROWS_WRITTEN.with_label_values(&[destination]);
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
