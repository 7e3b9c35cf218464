//! `memory`: the resident memory of a real worker process (the `worker` binary built next to
//! `bench`), idle, and while it runs many jobs at once (200 by default) against a sandbox that
//! answers slowly.

use std::time::{Duration, Instant};

use anyhow::bail;
use sandbox::{Connector, Fault, SandboxConfig};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::process::{WorkerProcess, sibling_binary};
use crate::setup::{BenchEnv, SandboxServer};

pub(crate) struct Options {
    /// Jobs running at once in the loaded phase.
    pub(crate) jobs: usize,
    /// How long the sandbox takes to answer, so every job is in flight at the same time.
    pub(crate) delay_ms: u64,
}

pub(crate) async fn run(options: Options) -> anyhow::Result<serde_json::Value> {
    let concurrent_jobs = options.jobs;
    let worker_binary = sibling_binary("worker")?;
    let server = SandboxServer::start(SandboxConfig::default()).await?;
    server.sandbox.add_fault(
        Fault::slow(Connector::MetaAds, Duration::from_millis(options.delay_ms)).times(1_000_000),
    );
    let sandbox_url = format!("{}/meta_ads", server.url);

    let concurrency = concurrent_jobs.to_string();
    let overrides = [
        ("ADSYNC__CONNECTORS__META_ADS__BASE_URL", sandbox_url),
        ("ADSYNC__WORKER__CONCURRENCY", concurrency.clone()),
        ("ADSYNC__RABBITMQ__PREFETCH", concurrency),
    ];
    let env = BenchEnv::create("memory", &overrides).await?;
    let fixture = env.fixture(100_000).await?;
    let client = env.pool.get().await?;
    // One sync per job (a sync has one active job at a time), all due now.
    client
        .execute(
            "INSERT INTO syncs (id, tenant_id, account_id, destination_id, connector, report, cron,
                 time_zone, fresh_days, lookback_days, enabled, next_run_at)
             SELECT gen_random_uuid(), tenant_id, account_id, destination_id, connector, report,
                 cron, time_zone, fresh_days, lookback_days, true, now()
             FROM syncs, generate_series(1, $1::int) WHERE id = $2",
            &[&(concurrent_jobs as i32), &fixture.sync],
        )
        .await?;

    eprintln!("memory: starting {}", worker_binary.display());
    let mut worker = WorkerProcess::spawn(&worker_binary, &env)?;
    // Idle: connected, consuming, nothing to do.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle = worker.rss_mb()?;

    eprintln!("memory: {concurrent_jobs} jobs at once");
    let shutdown = CancellationToken::new();
    let scheduler = tokio::spawn(scheduler::run(env.config.clone(), shutdown.clone()));
    let started = Instant::now();
    let mut peak_running = 0;
    loop {
        let running: i64 = client
            .query_one("SELECT count(*) FROM jobs WHERE state = 'running'", &[])
            .await?
            .get(0);
        peak_running = peak_running.max(running);
        let counts = client
            .query_one(
                "SELECT count(*) FILTER (WHERE state = 'succeeded'),
                        count(*) FILTER (WHERE state IN ('failed', 'cancelled'))
                 FROM jobs",
                &[],
            )
            .await?;
        let (done, failed): (i64, i64) = (counts.get(0), counts.get(1));
        if failed > 0 {
            bail!("{failed} jobs failed; the figures would not be those of {concurrent_jobs} jobs");
        }
        if done as usize >= concurrent_jobs {
            break;
        }
        if started.elapsed() > Duration::from_secs(120) {
            bail!("only {done} of {concurrent_jobs} jobs finished in 120 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let peak = worker.peak_rss_mb()?;
    shutdown.cancel();
    scheduler.await??;
    worker.stop()?;
    drop(client);
    env.drop_database().await?;
    Ok(json!({
        "scenario": "memory",
        "idle_rss_mb": idle,
        "concurrent_jobs": peak_running,
        "peak_rss_mb": peak,
    }))
}
