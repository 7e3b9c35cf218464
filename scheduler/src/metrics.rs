//! Every metric the scheduler emits.
//!
//! - `adsync_scheduler_is_leader`: 1 while this replica is the leader.
//! - `adsync_scheduler_tick_duration_seconds`: time of one tick.
//! - `adsync_scheduler_jobs_enqueued_total`: jobs created by ticks.
//! - `adsync_scheduler_jobs_published_total`: jobs published by the relay.
//! - `adsync_scheduler_jobs_rescued_total{outcome}`: jobs whose lease expired, by what
//!   happened to them (`retried`, `failed`), and jobs queued too long (`republished`).

use std::sync::LazyLock;
use std::time::Duration;

use prometheus::{
    Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, register_histogram,
    register_int_counter, register_int_counter_vec, register_int_gauge,
};
use shared::db::jobs::RescueReport;

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
