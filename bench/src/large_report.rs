//! `large-report`: one job reading a report of about 1,000,000 rows — Google Ads, ad level by
//! device, for the sandbox's large customer — through a real worker process into the
//! warehouse, and the worker's peak resident memory while it does.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use chrono::{Days, Utc};
use serde_json::json;
use shared::crypto::KeyRing;
use shared::db::jobs::{self, Enqueued, NewJob};
use shared::domain::{ConnectorKind, DateWindow, RawReport, Trigger};
use testkit::fixtures::{SyncOptions, sync_fixture};
use tokio_util::sync::CancellationToken;

use crate::process::{WorkerProcess, sibling_binary};
use crate::setup::SandboxServer;

/// The sandbox's large Google Ads customer: 50 campaigns × 20 ad groups × 10 ads.
const CUSTOMER: &str = "7000000001";
/// How long the job may take before the benchmark gives up.
const TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// What one large job did.
pub(crate) struct LargeJob {
    pub(crate) rows: i64,
    pub(crate) seconds: f64,
    pub(crate) peak_rss_mb: f64,
}

pub(crate) async fn run(days: u32) -> anyhow::Result<serde_json::Value> {
    let job = run_job(days).await?;
    Ok(json!({
        "scenario": "large-report",
        "rows": job.rows,
        "rows_per_s": (job.rows as f64 / job.seconds).round(),
        "peak_rss_mb": job.peak_rss_mb,
    }))
}

/// Runs one job over `days` days of the large customer's ads by device in a real worker.
pub(crate) async fn run_job(days: u32) -> anyhow::Result<LargeJob> {
    let worker_binary = sibling_binary("worker")?;
    let server = SandboxServer::start(sandbox::SandboxConfig::default()).await?;
    let env = server.bench_env("large_report").await?;
    let keys = KeyRing::from_config(&env.config.crypto)?;

    let facts = sandbox::google_ads::customer(CUSTOMER).context("the large customer")?;
    let metrics: Vec<String> = [
        "impressions",
        "clicks",
        "spend",
        "conversions",
        "ctr",
        "cpc",
    ]
    .map(String::from)
    .to_vec();
    let report = connectors::catalogue(ConnectorKind::GoogleAds).parse_report(RawReport {
        stream: None,
        level: "ad",
        metrics: &metrics,
        breakdowns: &["platform".to_owned()],
    })?;
    let fixture = sync_fixture(
        &env.pool,
        &keys,
        SyncOptions::new(
            ConnectorKind::GoogleAds,
            CUSTOMER,
            facts.time_zone.name(),
            &facts.currency.to_string(),
            report,
        ),
    )
    .await;
    let yesterday = Utc::now().with_timezone(&facts.time_zone).date_naive() - Days::new(1);
    let window = DateWindow::ending_on(yesterday, days);
    let client = env.pool.get().await?;
    let job = match jobs::insert(
        &client,
        &NewJob {
            tenant_id: fixture.tenant.id,
            sync_id: fixture.sync.id,
            account_id: fixture.account.id,
            connector: ConnectorKind::GoogleAds,
            trigger: Trigger::Manual,
            window,
            max_attempts: 1,
            run_after: Utc::now(),
            dedup_key: NewJob::run_key(fixture.sync.id),
        },
    )
    .await?
    {
        Enqueued::Created(job) | Enqueued::Existing(job) => job,
    };

    eprintln!("large-report: {days} days of ads by device for customer {CUSTOMER}");
    let mut worker = WorkerProcess::spawn(&worker_binary, &env)?;
    let shutdown = CancellationToken::new();
    let scheduler = tokio::spawn(scheduler::run(env.config.clone(), shutdown.clone()));
    let started = Instant::now();
    let finished = loop {
        let done = jobs::get(&client, None, job.id)
            .await?
            .context("the job vanished")?;
        if done.state.is_terminal() {
            break done;
        }
        if started.elapsed() > TIMEOUT {
            bail!("the job did not finish in {TIMEOUT:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let seconds = started.elapsed().as_secs_f64();
    let peak_rss_mb = worker.peak_rss_mb()?;
    shutdown.cancel();
    scheduler.await??;
    worker.stop()?;
    let rows = finished.rows_written.unwrap_or(0);
    if finished.state != shared::domain::JobState::Succeeded {
        bail!(
            "the job ended {:?}: {:?}",
            finished.state,
            finished.error_message
        );
    }
    eprintln!("large-report: {rows} rows in {seconds:.1} s, worker peak RSS {peak_rss_mb} MB");
    drop(client);
    env.drop_database().await?;
    Ok(LargeJob {
        rows,
        seconds,
        peak_rss_mb,
    })
}
