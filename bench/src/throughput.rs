//! `throughput`: no-op jobs through the whole pipeline — inserted in PostgreSQL, published by
//! the scheduler's relay with confirms, consumed, claimed, completed and acked by a worker,
//! everything durable — measured twice: as fast as it goes (jobs per second), and at an
//! offered rate (enqueue-to-complete latency). The raw broker ceiling is measured in the same
//! run.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::Utc;
use serde_json::json;
use shared::db::Pool;
use shared::db::jobs::{self, JobCounts, NewJob};
use shared::domain::{ConnectorKind, DateWindow, Trigger};
use tokio_util::sync::CancellationToken;
use worker::{AttemptFailure, Execute};

use crate::setup::{BenchEnv, Fixture};

/// A job that does nothing: the benchmark measures the engine, not a platform.
pub(crate) struct Noop;

impl Execute for Noop {
    async fn execute(&self, _job: &jobs::Job) -> Result<JobCounts, AttemptFailure> {
        Ok(JobCounts::default())
    }
}

/// The worker's counter of finished attempts (by outcome), recorded once committed.
const SUCCEEDED: &str = "adsync_worker_jobs_total";

/// Jobs inserted per statement by the producer.
const INSERT_BATCH: usize = 1000;

pub(crate) struct Options {
    /// Also run on the cluster of `scripts/services.sh up --cluster` (its URLs from
    /// `ADSYNC_CLUSTER_DATABASE_URL` and `ADSYNC_CLUSTER_AMQP_URLS`).
    pub(crate) cluster: bool,
    pub(crate) jobs: usize,
    /// Offered rate for the latency phase, jobs per second.
    pub(crate) rate: usize,
    /// Jobs in the latency phase.
    pub(crate) latency_jobs: usize,
}

pub(crate) async fn run(options: Options) -> anyhow::Result<serde_json::Value> {
    if !options.cluster {
        return leg(&options, &[]).await;
    }
    // With --cluster, three legs in one run: the single node (classic queues), the RabbitMQ
    // cluster with quorum queues on the single PostgreSQL, and the whole cluster (quorum queues
    // and the PostgreSQL primary with its synchronous standby).
    let cluster_var = |name: &str| {
        std::env::var(name).with_context(|| {
            format!("{name} is not set: scripts/services.sh up --cluster, then eval \"$(scripts/services.sh env --cluster | grep ADSYNC_CLUSTER_)\"")
        })
    };
    let amqp_urls = cluster_var("ADSYNC_CLUSTER_AMQP_URLS")?;
    let database_url = cluster_var("ADSYNC_CLUSTER_DATABASE_URL")?;
    let quorum = [
        ("ADSYNC__RABBITMQ__URL", amqp_urls),
        ("ADSYNC__RABBITMQ__QUEUE_TYPE", "quorum".to_string()),
    ];
    eprintln!("throughput: leg 1 of 3, single RabbitMQ node (classic queues), single PostgreSQL");
    let mut result = leg(
        &options,
        &[("ADSYNC__RABBITMQ__QUEUE_TYPE", "classic".to_string())],
    )
    .await?;
    eprintln!(
        "throughput: leg 2 of 3, three-node RabbitMQ cluster (quorum queues), single PostgreSQL"
    );
    result["rabbitmq_cluster"] = leg(&options, &quorum).await?;
    eprintln!(
        "throughput: leg 3 of 3, RabbitMQ cluster and PostgreSQL primary with a synchronous standby"
    );
    let mut whole = quorum.to_vec();
    whole.push(("ADSYNC__DATABASE__URL", database_url));
    result["cluster"] = leg(&options, &whole).await?;
    Ok(result)
}

/// One run of both phases and the broker ceiling, with `extra` settings.
async fn leg(options: &Options, extra: &[(&str, String)]) -> anyhow::Result<serde_json::Value> {
    let mut overrides = [
        ("ADSYNC__WORKER__CONCURRENCY", "1000"),
        ("ADSYNC__WORKER__BATCH_SIZE", "500"),
        ("ADSYNC__WORKER__BATCH_LINGER_MS", "2"),
        ("ADSYNC__RABBITMQ__PREFETCH", "1000"),
        ("ADSYNC__SCHEDULER__RELAY_BATCH", "1000"),
        ("ADSYNC__DATABASE__POOL_SIZE", "16"),
    ]
    .map(|(k, v)| (k, v.to_string()))
    .to_vec();
    overrides.extend(extra.iter().cloned());
    let env = BenchEnv::create("throughput", &overrides).await?;
    let fixture = env.fixture(1_000_000).await?;
    let shutdown = CancellationToken::new();
    let worker = tokio::spawn(worker::run_with(
        env.config.clone(),
        env.pool.clone(),
        Noop,
        shutdown.clone(),
    ));
    let scheduler = tokio::spawn(scheduler::run(env.config.clone(), shutdown.clone()));

    eprintln!("throughput: {} jobs as fast as they go", options.jobs);
    let saturated = phase(&env.pool, fixture, options.jobs, None).await?;
    eprintln!(
        "throughput: {:.0} jobs/s; now {} jobs offered at {}/s",
        saturated.jobs_per_s, options.latency_jobs, options.rate
    );
    let offered = phase(&env.pool, fixture, options.latency_jobs, Some(options.rate)).await?;

    shutdown.cancel();
    worker.await??;
    scheduler.await??;
    eprintln!(
        "throughput: raw broker ceiling with {} messages",
        options.jobs
    );
    let ceiling = crate::broker::ceiling(&env.config.rabbitmq, options.jobs).await?;
    env.drop_database().await?;
    Ok(json!({
        "scenario": "throughput",
        "jobs": options.jobs,
        "jobs_per_s": round(saturated.jobs_per_s),
        "p50_ms": round(offered.p50_ms),
        "p99_ms": round(offered.p99_ms),
        "offered_per_s": options.rate,
        "broker_ceiling_per_s": round(ceiling),
        "ratio": (saturated.jobs_per_s / ceiling * 100.0).round() / 100.0,
        "saturated_p50_ms": round(saturated.p50_ms),
        "saturated_p99_ms": round(saturated.p99_ms),
    }))
}

fn round(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

struct PhaseResult {
    jobs_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// Inserts `count` jobs (all at once, or paced at `rate` per second) and waits until every one
/// has succeeded.
async fn phase(
    pool: &Pool,
    fixture: Fixture,
    count: usize,
    rate: Option<usize>,
) -> anyhow::Result<PhaseResult> {
    let client = pool.get().await?;
    let phase_id = uuid::Uuid::now_v7();
    let window = DateWindow::ending_on(Utc::now().date_naive(), 1);
    let new_job = |n: usize| NewJob {
        tenant_id: fixture.tenant,
        sync_id: fixture.sync,
        account_id: fixture.account,
        connector: ConnectorKind::MetaAds,
        trigger: Trigger::Scheduled,
        window,
        max_attempts: 3,
        run_after: Utc::now(),
        dedup_key: format!("bench:{phase_id}:{n}"),
    };
    let succeeded = crate::progress::counter(SUCCEEDED, Some(("outcome", "succeeded")));
    let started = Instant::now();
    let producer = async {
        let (chunk, tick) = match rate {
            // Ten inserts a second's worth per 100 ms would be bursty; pace every 10 ms.
            Some(rate) => ((rate / 100).max(1), Some(Duration::from_millis(10))),
            None => (INSERT_BATCH, None),
        };
        let mut interval = tick.map(tokio::time::interval);
        let mut inserted = 0;
        while inserted < count {
            if let Some(interval) = interval.as_mut() {
                interval.tick().await;
            }
            let batch: Vec<NewJob> = (inserted..(inserted + chunk).min(count))
                .map(new_job)
                .collect();
            inserted += jobs::insert_many(&client, &batch).await?.len();
        }
        anyhow::Ok(())
    };
    producer.await.context("inserting jobs")?;
    // Wait until every job has succeeded, watching the worker's own counter: a count over the
    // jobs table every few milliseconds would compete with the pipeline it watches.
    crate::progress::wait_for(
        SUCCEEDED,
        Some(("outcome", "succeeded")),
        succeeded + count as u64,
        Duration::from_secs(600),
    )
    .await?;
    let elapsed = started.elapsed();
    let watcher = pool.get().await?;
    let active: i64 = watcher
        .query_one(
            "SELECT count(*) FROM jobs WHERE state IN ('pending', 'queued', 'running')",
            &[],
        )
        .await?
        .get(0);
    if active != 0 {
        anyhow::bail!("{active} jobs are still active after all succeeded");
    }
    let key_prefix = format!("bench:{phase_id}:%");
    let latency = watcher
        .query_one(
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - created_at)),
                    percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - created_at))
             FROM jobs WHERE dedup_key LIKE $1",
            &[&key_prefix],
        )
        .await?;
    Ok(PhaseResult {
        jobs_per_s: count as f64 / elapsed.as_secs_f64(),
        p50_ms: latency.get::<_, f64>(0) * 1000.0,
        p99_ms: latency.get::<_, f64>(1) * 1000.0,
    })
}
