//! Every metric the scheduler emits.
//!
//! - `adsync_scheduler_is_leader`: 1 while this replica is the leader.
//! - `adsync_scheduler_tick_duration_seconds`: time of one tick.
//! - `adsync_scheduler_jobs_enqueued_total`: jobs created by ticks.
//! - `adsync_scheduler_jobs_published_total`: jobs published by the relay.
//! - `adsync_scheduler_jobs_rescued_total{outcome}`: jobs whose lease expired, by what
//!   happened to them (`retried`, `failed`), and jobs queued too long (`republished`).
//! - `adsync_scheduler_relay_lag_seconds{connector}`: how long a job had been due when the
//!   relay published it.
//! - `adsync_scheduler_oldest_pending_job_age_seconds{connector}`: set by the leader every 10 s;
//!   the age of the oldest job that is due and not running (`pending` past its `run_after`, or
//!   `queued`), from when it became due; 0 when there is none.
//! - `adsync_scheduler_connections_needing_reauth{connector}`: set by the leader every 10 s;
//!   connections in `needs_reauth`.
//! - `adsync_scheduler_reconnects_total{backend}`: connections to `rabbitmq` or `postgres`
//!   re-established after one broke (the relay's publisher, the pool, the LISTEN connection).
//!
//! The two gauges are the leader's view of the database: a replica that is not the leader
//! stops updating them, so dashboards take their maximum over replicas.

use std::sync::LazyLock;
use std::time::Duration;

use prometheus::{
    GaugeVec, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, register_gauge_vec, register_histogram, register_histogram_vec,
    register_int_counter, register_int_counter_vec, register_int_gauge, register_int_gauge_vec,
};
use shared::db::jobs::RescueReport;
use shared::domain::ConnectorKind;

static IS_LEADER: LazyLock<IntGauge> = LazyLock::new(|| {
    register_int_gauge!(
        "adsync_scheduler_is_leader",
        "1 while this scheduler replica is the leader"
    )
    .expect("metric registers once")
});

static TICK_DURATION: LazyLock<Histogram> = LazyLock::new(|| {
    register_histogram!(HistogramOpts::new(
        "adsync_scheduler_tick_duration_seconds",
        "Time of one scheduler tick"
    ))
    .expect("metric registers once")
});

static ENQUEUED: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "adsync_scheduler_jobs_enqueued_total",
        "Jobs created by scheduler ticks"
    )
    .expect("metric registers once")
});

static PUBLISHED: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "adsync_scheduler_jobs_published_total",
        "Jobs published by the outbox relay"
    )
    .expect("metric registers once")
});

static RESCUED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        Opts::new(
            "adsync_scheduler_jobs_rescued_total",
            "Running jobs whose lease expired, by outcome"
        ),
        &["outcome"]
    )
    .expect("metric registers once")
});

static RELAY_LAG: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        HistogramOpts::new(
            "adsync_scheduler_relay_lag_seconds",
            "How long a job had been due when the relay published it"
        )
        .buckets(vec![
            0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0
        ]),
        &["connector"]
    )
    .expect("metric registers once")
});

static OLDEST_PENDING: LazyLock<GaugeVec> = LazyLock::new(|| {
    register_gauge_vec!(
        Opts::new(
            "adsync_scheduler_oldest_pending_job_age_seconds",
            "Age of the oldest job that is due and not running, from when it became due"
        ),
        &["connector"]
    )
    .expect("metric registers once")
});

static NEEDING_REAUTH: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    register_int_gauge_vec!(
        Opts::new(
            "adsync_scheduler_connections_needing_reauth",
            "Connections whose credentials the platform no longer accepts"
        ),
        &["connector"]
    )
    .expect("metric registers once")
});

/// Every metric name declared here (checked against the naming convention by a test).
pub const NAMES: [&str; 9] = [
    "adsync_scheduler_reconnects_total",
    "adsync_scheduler_is_leader",
    "adsync_scheduler_tick_duration_seconds",
    "adsync_scheduler_jobs_enqueued_total",
    "adsync_scheduler_jobs_published_total",
    "adsync_scheduler_jobs_rescued_total",
    "adsync_scheduler_relay_lag_seconds",
    "adsync_scheduler_oldest_pending_job_age_seconds",
    "adsync_scheduler_connections_needing_reauth",
];

/// Registers every metric declared here, with every labelled series at zero, so `/metrics`
/// lists them before anything happened.
pub fn register() {
    shared::telemetry::register_reconnects("scheduler");
    LazyLock::force(&IS_LEADER);
    LazyLock::force(&TICK_DURATION);
    LazyLock::force(&ENQUEUED);
    LazyLock::force(&PUBLISHED);
    for outcome in ["retried", "failed", "republished"] {
        RESCUED.with_label_values(&[outcome]);
    }
    for connector in ConnectorKind::ALL.map(ConnectorKind::as_str) {
        RELAY_LAG.with_label_values(&[connector]);
        OLDEST_PENDING.with_label_values(&[connector]);
        NEEDING_REAUTH.with_label_values(&[connector]);
    }
}

pub fn record_relay_lag(connector: ConnectorKind, lag: Duration) {
    RELAY_LAG
        .with_label_values(&[connector.as_str()])
        .observe(lag.as_secs_f64());
}

/// Sets the oldest-pending-job gauge of every connector: the given ages, 0 for the others.
pub fn record_oldest_pending(ages: &[(ConnectorKind, Duration)]) {
    for connector in ConnectorKind::ALL {
        let age = ages
            .iter()
            .find(|(kind, _)| *kind == connector)
            .map_or(0.0, |(_, age)| age.as_secs_f64());
        OLDEST_PENDING
            .with_label_values(&[connector.as_str()])
            .set(age);
    }
}

/// Sets the needing-re-authorisation gauge of every connector: the given counts, 0 for the
/// others.
pub fn record_needing_reauth(counts: &[(ConnectorKind, i64)]) {
    for connector in ConnectorKind::ALL {
        let count = counts
            .iter()
            .find(|(kind, _)| *kind == connector)
            .map_or(0, |(_, count)| *count);
        NEEDING_REAUTH
            .with_label_values(&[connector.as_str()])
            .set(count);
    }
}

pub fn record_leadership(is_leader: bool) {
    IS_LEADER.set(i64::from(is_leader));
}

pub fn record_tick(duration: Duration) {
    TICK_DURATION.observe(duration.as_secs_f64());
}

pub fn record_jobs_enqueued(count: usize) {
    ENQUEUED.inc_by(count as u64);
}

pub fn record_jobs_published(count: usize) {
    PUBLISHED.inc_by(count as u64);
}

pub fn record_republished(count: u64) {
    RESCUED.with_label_values(&["republished"]).inc_by(count);
}

pub fn record_rescued(report: RescueReport) {
    RESCUED
        .with_label_values(&["retried"])
        .inc_by(report.retried as u64);
    RESCUED
        .with_label_values(&["failed"])
        .inc_by(report.failed as u64);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names_follow_the_convention() {
        register();
        record_tick(Duration::from_millis(1));
        if let Err(problems) = shared::telemetry::check_metric_names(&NAMES) {
            panic!("{}", problems.join("\n"));
        }
    }
}
