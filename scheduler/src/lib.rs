//! The adsync scheduler: one loop that keeps a leader lease and, while leader, turns due syncs
//! into jobs ([`tick`]) and publishes pending jobs ([`relay`]).
//!
//! Layout, in reading order:
//! - [`leader`]: the lease, renewed every loop, trusted for part of its life;
//! - [`tick`]: due syncs → jobs, `next_run_at` advanced, in one transaction;
//! - [`relay`]: pending jobs → RabbitMQ → `queued` (the transactional outbox);
//! - [`metrics`]: every metric the scheduler emits.
//!
//! Not here: platform calls and row movement (worker), HTTP routes beyond health (api).

pub mod leader;
pub mod metrics;
pub mod relay;
pub mod tick;

use std::time::{Duration, Instant};

use anyhow::Context as _;
use shared::Config;
use shared::ops::{self, Readiness};
use shared::queue::{self, Publisher, Topology};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use relay::relay;
pub use tick::{TickReport, TickSettings, tick};

/// Runs the scheduler loop until `shutdown` is cancelled.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    let pool = shared::db::pool(&config.database)?;
    let connection = queue::connect(
        &config.rabbitmq,
        "adsync-scheduler",
        Duration::from_secs(60),
    )
    .await
    .context("connecting to rabbitmq")?;
    let topology = Topology::new(&config.rabbitmq);
    topology
        .declare(&connection.create_channel().await?)
        .await
        .context("declaring the queue topology")?;
    let publisher = Publisher::new(&connection, topology).await?;

    let listener = TcpListener::bind(config.scheduler.listen)
        .await
        .with_context(|| format!("binding scheduler.listen {}", config.scheduler.listen))?;
    tracing::info!(address = %listener.local_addr()?, "scheduler health and metrics listening");
    let readiness = Readiness::new(pool.clone(), Some(connection.status().clone()));
    let ops_server = tokio::spawn(ops::serve(
        listener,
        ops::router(readiness),
        shutdown.clone(),
    ));

    let holder = format!("scheduler-{}", uuid::Uuid::now_v7());
    let mut leadership = leader::Leadership::new(
        holder,
        Duration::from_secs(u64::from(config.scheduler.leader_lease_secs)),
    );
    let settings = TickSettings {
        batch: config.scheduler.tick_batch,
        max_attempts: config.jobs.max_attempts,
    };
    let interval = Duration::from_millis(config.scheduler.tick_interval_ms);
    tracing::info!(holder = leadership.holder(), "scheduler running");
    let mut was_leader = false;
    while !shutdown.is_cancelled() {
        let is_leader = leadership.refresh(&pool).await.unwrap_or(false);
        if is_leader != was_leader {
            tracing::info!(is_leader, "scheduler leadership changed");
            was_leader = is_leader;
        }
        metrics::record_leadership(is_leader);
        if is_leader {
            let started = Instant::now();
            match tick(&pool, settings, chrono::Utc::now()).await {
                Ok(report) if report.created > 0 => {
                    tracing::info!(
                        due = report.due,
                        created = report.created,
                        "tick created jobs"
                    );
                }
                Ok(_) => {}
                Err(error) => tracing::error!(%error, "tick failed"),
            }
            match relay(&pool, &publisher, config.scheduler.relay_batch).await {
                Ok(0) => {}
                Ok(published) => tracing::info!(published, "relay published jobs"),
                Err(error) => tracing::error!(%error, "relay failed"),
            }
            metrics::record_tick(started.elapsed());
        }
        tokio::select! {
            () = shutdown.cancelled() => {}
            () = tokio::time::sleep(interval) => {}
        }
    }
    leadership.resign(&pool).await;
    metrics::record_leadership(false);
    ops_server.await??;
    connection.close(200, "scheduler stopped".into()).await.ok();
    Ok(())
}
