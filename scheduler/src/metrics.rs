//! Every metric the scheduler emits.
//!
//! - `adsync_scheduler_is_leader`: 1 while this replica is the leader.
//! - `adsync_scheduler_tick_duration_seconds`: time of one tick plus relay pass.
//! - `adsync_scheduler_jobs_enqueued_total{connector}`: jobs created by ticks.
//! - `adsync_scheduler_jobs_published_total`: jobs published by the relay.

use std::sync::LazyLock;
use std::time::Duration;

use prometheus::{
    Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, register_histogram,
    register_int_counter, register_int_counter_vec, register_int_gauge,
};

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
        "Time of one scheduler tick and relay pass"
    ))
    .expect("metric registers once")
});

static ENQUEUED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        Opts::new(
            "adsync_scheduler_jobs_enqueued_total",
            "Jobs created by scheduler ticks"
        ),
        &["connector"]
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

pub fn record_leadership(is_leader: bool) {
    IS_LEADER.set(i64::from(is_leader));
}

pub fn record_tick(duration: Duration) {
    TICK_DURATION.observe(duration.as_secs_f64());
}

pub fn record_job_enqueued(connector: &str) {
    ENQUEUED.with_label_values(&[connector]).inc();
}

pub fn record_jobs_published(count: usize) {
    PUBLISHED.inc_by(count as u64);
}
