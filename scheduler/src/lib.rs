//! The adsync scheduler: keeps a leader lease and, while leader, turns due syncs into jobs
//! ([`tick`]), publishes pending jobs ([`relay`]) and returns jobs whose worker died
//! ([`rescue`]). Each runs in its own loop, gated by leadership.
//!
//! Layout, in reading order:
//! - [`clock`]: what a tick takes as now (real time, or a compressed day for benchmarks);
//! - [`leader`]: the lease, renewed every third of its length, trusted for part of it;
//! - [`tick`]: due syncs → jobs, `next_run_at` advanced, in one transaction per batch;
//! - [`relay`]: pending jobs → RabbitMQ → `queued` (the transactional outbox), woken by
//!   LISTEN/NOTIFY;
//! - [`rescue`]: running jobs with expired leases → `pending` (or `failed` on their last
//!   attempt);
//! - [`purge`]: erasure of deleted tenants and retention by plan;
//! - [`metrics`]: every metric the scheduler emits.
//!
//! Not here: platform calls and row movement (worker), HTTP routes beyond health (api).

pub mod clock;
pub mod leader;
pub mod metrics;
pub mod purge;
pub mod relay;
pub mod rescue;
pub mod tick;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use shared::Config;
use shared::db::Pool;
use shared::ops::{self, Readiness};
use shared::queue::Publisher;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument as _, error, info};

pub use clock::{Clock, ClockError};
pub use purge::{PurgeReport, purge};
pub use relay::relay;
pub use rescue::rescue;
pub use tick::{TickReport, TickSettings, tick};

/// How often the leader reads its gauges from the database (scrapes come every 15–60 s).
const GAUGE_INTERVAL: Duration = Duration::from_secs(10);

/// Runs the scheduler until `shutdown` is cancelled.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    run_with_clock(config, Clock::System, shutdown).await
}

/// [`run`], with ticks and retention reading `clock` instead of real time (`bench scale`
/// compresses a day this way).
pub async fn run_with_clock(
    config: Config,
    clock: Clock,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    metrics::register();
    let pool = shared::db::pool(&config.database)?;
    let publisher = Publisher::connect(
        &config.rabbitmq,
        "adsync-scheduler",
        Duration::from_secs(60),
    )
    .await
    .context("connecting to rabbitmq")?;
    let listener = TcpListener::bind(config.scheduler.listen)
        .await
        .with_context(|| format!("binding scheduler.listen {}", config.scheduler.listen))?;
    info!(address = %listener.local_addr()?, "scheduler health and metrics listening");
    let readiness = Readiness::new(pool.clone(), Some(publisher.status()));
    let ops_server = tokio::spawn(ops::serve(
        listener,
        ops::router(readiness),
        shutdown.clone(),
    ));

    let (leading, is_leader) = watch::channel(false);
    let holder = format!("scheduler-{}", uuid::Uuid::now_v7());
    let lease = Duration::from_secs(u64::from(config.scheduler.leader_lease_secs));
    let elect = tokio::spawn(keep_leadership(
        pool.clone(),
        leader::Leadership::new(holder, lease),
        leading,
        shutdown.clone(),
    ));

    let settings = TickSettings {
        batch: config.scheduler.tick_batch,
        max_attempts: config.jobs.max_attempts,
    };
    let ticks = tokio::spawn(while_leader(
        is_leader.clone(),
        shutdown.clone(),
        every(Duration::from_millis(config.scheduler.tick_interval_ms)),
        {
            let pool = pool.clone();
            move || {
                let pool = pool.clone();
                async move {
                    let started = Instant::now();
                    let span = tracing::info_span!("tick");
                    match tick(&pool, settings, clock.now()).instrument(span).await {
                        Ok(report) if report.created > 0 => {
                            info!(
                                due = report.due,
                                created = report.created,
                                "tick created jobs"
                            );
                        }
                        Ok(_) => {}
                        Err(error) => error!(%error, "tick failed"),
                    }
                    metrics::record_tick(started.elapsed());
                }
            }
        },
    ));

    // The gauges read every due job (a backlog of 100,000 queued jobs is a scan of them all),
    // so they are read on a cadence of their own, not after every tick.
    let gauges = tokio::spawn(while_leader(
        is_leader.clone(),
        shutdown.clone(),
        every(GAUGE_INTERVAL),
        {
            let pool = pool.clone();
            move || {
                let pool = pool.clone();
                async move {
                    if let Err(error) = tick::record_gauges(&pool).await {
                        tracing::warn!(%error, "reading the scheduler's gauges failed");
                    }
                }
            }
        },
    ));

    let wake = Arc::new(Notify::new());
    let notifications = tokio::spawn(relay::listen(
        config.database.clone(),
        wake.clone(),
        shutdown.clone(),
    ));
    let relay_batch = config.scheduler.relay_batch;
    let relay_concurrency = usize::from(config.scheduler.relay_concurrency);
    let sweep = Duration::from_millis(config.scheduler.relay_sweep_ms);
    let relays = tokio::spawn(while_leader(
        is_leader.clone(),
        shutdown.clone(),
        {
            let wake = wake.clone();
            move || {
                let wake = wake.clone();
                async move {
                    tokio::select! {
                        () = wake.notified() => {}
                        () = tokio::time::sleep(sweep) => {}
                    }
                }
            }
        },
        {
            let pool = pool.clone();
            move || {
                let (pool, publisher) = (pool.clone(), publisher.clone());
                async move {
                    match relay(&pool, &publisher, relay_batch, relay_concurrency).await {
                        Ok(0) => {}
                        Ok(published) => tracing::debug!(published, "relay published jobs"),
                        Err(error) => error!(%error, "relay failed"),
                    }
                }
            }
        },
    ));

    let queued_timeout = Duration::from_secs(config.jobs.queued_timeout_secs);
    let rescues = tokio::spawn(while_leader(
        is_leader.clone(),
        shutdown.clone(),
        every(Duration::from_millis(config.scheduler.rescue_interval_ms)),
        {
            let pool = pool.clone();
            move || {
                let pool = pool.clone();
                async move {
                    match rescue(&pool, queued_timeout).await {
                        Ok(report) if report.retried + report.failed > 0 => info!(
                            retried = report.retried,
                            failed = report.failed,
                            "rescued jobs whose worker stopped renewing their lease"
                        ),
                        Ok(report) if report.republished > 0 => info!(
                            republished = report.republished,
                            "republishing jobs queued too long (message lost)"
                        ),
                        Ok(_) => {}
                        Err(error) => error!(%error, "rescue failed"),
                    }
                }
            }
        },
    ));

    let retention = config.retention.clone();
    let purges = tokio::spawn(while_leader(
        is_leader,
        shutdown.clone(),
        every(Duration::from_secs(config.retention.purge_interval_secs)),
        {
            let pool = pool.clone();
            move || {
                let (pool, retention) = (pool.clone(), retention.clone());
                async move {
                    match purge(&pool, &retention, clock.now()).await {
                        Ok(report) if report != PurgeReport::default() => info!(
                            tenants_erased = report.tenants_erased,
                            jobs_deleted = report.jobs_deleted,
                            warehouse_rows_deleted = report.warehouse_rows_deleted,
                            "purged data past its retention"
                        ),
                        Ok(_) => {}
                        Err(error) => error!(%error, "purge failed"),
                    }
                }
            }
        },
    ));

    for task in [ticks, gauges, relays, rescues, purges, notifications] {
        task.await?;
    }
    elect.await?;
    ops_server.await??;
    info!("scheduler stopped");
    Ok(())
}

/// A pause of `period`.
fn every(period: Duration) -> impl Fn() -> tokio::time::Sleep + Send + Sync + 'static {
    move || tokio::time::sleep(period)
}

/// Runs `work`, then `pause`, again and again while this process leads, until shutdown.
async fn while_leader<P, PF, W, WF>(
    mut is_leader: watch::Receiver<bool>,
    shutdown: CancellationToken,
    pause: P,
    work: W,
) where
    P: Fn() -> PF,
    PF: Future<Output = ()>,
    W: Fn() -> WF,
    WF: Future<Output = ()>,
{
    while !shutdown.is_cancelled() {
        if !*is_leader.borrow_and_update() {
            tokio::select! {
                () = shutdown.cancelled() => return,
                changed = is_leader.changed() => if changed.is_err() { return },
            }
            continue;
        }
        work().await;
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = pause() => {}
            _ = is_leader.changed() => {}
        }
    }
}

/// Refreshes the leader lease every third of its length and publishes whether this process
/// leads; resigns at shutdown.
async fn keep_leadership(
    pool: Pool,
    mut leadership: leader::Leadership,
    leading: watch::Sender<bool>,
    shutdown: CancellationToken,
) {
    let every = leadership.ttl() / 3;
    info!(holder = leadership.holder(), "scheduler running");
    while !shutdown.is_cancelled() {
        let is_leader = leadership.refresh(&pool).await.unwrap_or(false);
        // Wake the loops only when leadership changes, not on every renewal.
        leading.send_if_modified(|leads| {
            let changed = *leads != is_leader;
            if changed {
                info!(is_leader, "scheduler leadership changed");
                *leads = is_leader;
            }
            changed
        });
        metrics::record_leadership(is_leader);
        tokio::select! {
            () = shutdown.cancelled() => {}
            () = tokio::time::sleep(every) => {}
        }
    }
    leading.send_replace(false);
    leadership.resign(&pool).await;
    metrics::record_leadership(false);
}
