//! The adsync worker: consumes job messages, reads reports from ad platforms and writes them
//! idempotently to destinations.
//!
//! Layout, in reading order:
//! - [`consumer`]: RabbitMQ consumption, acks and dead-lettering;
//! - [`executor`]: one job from claim to recorded outcome ([`Worker::execute_job`], also the
//!   entry point tests drive directly);
//! - [`retry`]: what a failed attempt's error class means for the job;
//! - [`connectors`]: one folder per platform, behind one registry `match`;
//! - [`destinations`]: one folder per sink, behind one registry `match`;
//! - [`metrics`]: every metric the worker emits.
//!
//! Not here: scheduling (scheduler), HTTP routes beyond health and metrics (api).

pub mod connectors;
pub mod consumer;
pub mod destinations;
pub mod executor;
pub mod metrics;
pub mod retry;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use shared::Config;
use shared::crypto::KeyRing;
use shared::ops::{self, Readiness};
use shared::queue::{self, Topology};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use executor::{Outcome, Worker};

/// Runs a worker until `shutdown` is cancelled: connects to PostgreSQL and RabbitMQ, declares
/// the topology, serves health and metrics on `worker.listen`, and consumes jobs.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    let config = Arc::new(config);
    let pool = shared::db::pool(&config.database)?;
    let keys = KeyRing::from_config(&config.crypto)?;
    let connection = queue::connect(&config.rabbitmq, "adsync-worker", Duration::from_secs(60))
        .await
        .context("connecting to rabbitmq")?;
    let topology = Topology::new(&config.rabbitmq);
    topology
        .declare(&connection.create_channel().await?)
        .await
        .context("declaring the queue topology")?;

    let listener = TcpListener::bind(config.worker.listen)
        .await
        .with_context(|| format!("binding worker.listen {}", config.worker.listen))?;
    tracing::info!(address = %listener.local_addr()?, "worker health and metrics listening");
    let readiness = Readiness::new(pool.clone(), Some(connection.status().clone()));
    let ops_server = tokio::spawn(ops::serve(
        listener,
        ops::router(readiness),
        shutdown.clone(),
    ));

    let worker = Arc::new(Worker::new(pool, keys, config.clone())?);
    tracing::info!(worker_id = worker.id(), "worker consuming");
    consumer::consume(
        worker,
        &connection,
        &topology,
        config.rabbitmq.prefetch,
        usize::from(config.worker.concurrency),
        shutdown.clone(),
    )
    .await
    .context("consuming job messages")?;
    ops_server.await??;
    connection.close(200, "worker stopped".into()).await.ok();
    Ok(())
}
