//! `fanout`: N syncs fall due at once; the scheduler (its real loops: tick and relay) turns
//! them into jobs and publishes them all. Measured until every job is published.

use std::time::{Duration, Instant};

use anyhow::bail;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::setup::BenchEnv;

/// The relay's counter of jobs published (and committed `queued`).
const PUBLISHED: &str = "adsync_scheduler_jobs_published_total";

pub(crate) async fn run(syncs: usize) -> anyhow::Result<serde_json::Value> {
    let overrides = [
        ("ADSYNC__SCHEDULER__TICK_BATCH", "5000"),
        ("ADSYNC__SCHEDULER__RELAY_BATCH", "2000"),
        ("ADSYNC__SCHEDULER__TICK_INTERVAL_MS", "100"),
        ("ADSYNC__SCHEDULER__RELAY_CONCURRENCY", "4"),
    ]
    .map(|(k, v)| (k, v.to_string()));
    let env = BenchEnv::create("fanout", &overrides).await?;
    let fixture = env.fixture(1_000_000).await?;
    let client = env.pool.get().await?;
    eprintln!("fanout: creating {syncs} syncs");
    client
        .execute(
            "INSERT INTO syncs (id, tenant_id, account_id, destination_id, connector, report, cron,
                 time_zone, fresh_days, lookback_days, enabled, next_run_at)
             SELECT gen_random_uuid(), tenant_id, account_id, destination_id, connector, report,
                 '0 6 * * *', time_zone, fresh_days, lookback_days, true, now() + interval '1 day'
             FROM syncs, generate_series(1, $1::int) WHERE id = $2",
            &[&(syncs as i32), &fixture.sync],
        )
        .await?;
    client.batch_execute("VACUUM ANALYZE syncs").await?;

    let shutdown = CancellationToken::new();
    let scheduler = tokio::spawn(scheduler::run(env.config.clone(), shutdown.clone()));
    // Let the scheduler take the lead before the syncs fall due.
    tokio::time::sleep(Duration::from_secs(1)).await;
    eprintln!("fanout: {syncs} syncs fall due now");
    let published = crate::progress::counter(PUBLISHED, None);
    let started = Instant::now();
    client
        .execute(
            "UPDATE syncs SET next_run_at = now() WHERE enabled AND next_run_at > now()",
            &[],
        )
        .await?;
    // Watch the relay's own counter (a count over the jobs table every few milliseconds would
    // compete with the scheduler), then check the database once.
    crate::progress::wait_for(
        PUBLISHED,
        None,
        published + syncs as u64,
        Duration::from_secs(600),
    )
    .await?;
    let seconds = started.elapsed().as_secs_f64();
    let queued: i64 = client
        .query_one("SELECT count(*) FROM jobs WHERE state = 'queued'", &[])
        .await?
        .get(0);
    if queued as usize != syncs {
        bail!("{queued} jobs are queued, not {syncs}");
    }
    shutdown.cancel();
    scheduler.await??;
    drop(client);
    env.drop_database().await?;
    Ok(json!({
        "scenario": "fanout",
        "syncs": syncs,
        "seconds": (seconds * 100.0).round() / 100.0,
    }))
}
