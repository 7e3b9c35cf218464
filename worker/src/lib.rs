//! The adsync worker: consumes job messages, reads reports from ad platforms and writes them
//! idempotently to destinations.
//!
//! Layout, in reading order:
//! - [`consumer`]: RabbitMQ consumption, batched claims, reconnects, graceful shutdown;
//!   [`acks`]: batched acknowledgements;
//! - [`engine`]: claims, leases and heartbeats, recorded outcomes ([`Engine::execute_one`] is
//!   also the entry point tests drive by hand);
//! - [`execute`]: what executing a job means to the engine; [`sync_job`]: the report sync, which
//!   reads through the `connectors` crate (one folder per platform) and writes through
//!   [`destinations`];
//! - [`retry`]: what a failed attempt's error class means for the job;
//! - [`destinations`]: one folder per sink, behind one registry `match`;
//! - [`batch`]: micro-batching; [`metrics`]: every metric the worker emits.
//!
//! Not here: scheduling (scheduler), HTTP routes beyond health and metrics (api).

pub mod acks;
pub mod batch;
pub mod consumer;
pub mod destinations;
pub mod engine;
pub mod execute;
pub mod metrics;
pub mod retry;
pub mod sync_job;

use std::time::Duration;

use anyhow::Context as _;
use shared::Config;
use shared::crypto::KeyRing;
use shared::ops::{self, Readiness};
use shared::queue::BrokerStatus;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use engine::{Engine, EngineSettings, Outcome};
pub use execute::{AttemptFailure, Execute};
pub use sync_job::SyncJob;

/// Runs a worker executing `executor`'s jobs until `shutdown` is cancelled: serves health and
/// metrics on `worker.listen` and consumes job messages.
pub async fn run_with<E: Execute>(
    config: Config,
    pool: shared::db::Pool,
    executor: E,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    metrics::register();
    let listener = TcpListener::bind(config.worker.listen)
        .await
        .with_context(|| format!("binding worker.listen {}", config.worker.listen))?;
    tracing::info!(address = %listener.local_addr()?, "worker health and metrics listening");
    let status = BrokerStatus::default();
    let readiness = Readiness::new(pool.clone(), Some(status.clone()));
    let ops_server = tokio::spawn(ops::serve(
        listener,
        ops::router(readiness),
        shutdown.clone(),
    ));
    let engine = Engine::start(
        pool,
        executor,
        worker_id(&config),
        EngineSettings::from_config(&config),
    );
    tracing::info!(worker_id = engine.worker_id(), "worker starting");
    let settings = consumer::ConsumerSettings {
        prefetch: config.rabbitmq.prefetch,
        concurrency: usize::from(config.worker.concurrency),
        shutdown_grace: Duration::from_secs(config.worker.shutdown_grace_secs),
    };
    consumer::run(engine, &config.rabbitmq, settings, status, shutdown).await;
    ops_server.await??;
    tracing::info!("worker stopped");
    Ok(())
}

/// Runs a worker executing report syncs until `shutdown` is cancelled.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    let pool = shared::db::pool(&config.database)?;
    let keys = KeyRing::from_config(&config.crypto)?;
    let executor = SyncJob::new(pool.clone(), keys, &config)?;
    run_with(config, pool, executor, shutdown).await
}

/// `worker.id`, or `<hostname>-<pid>` when it is empty.
pub fn worker_id(config: &Config) -> String {
    if !config.worker.id.is_empty() {
        return config.worker.id.clone();
    }
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "worker".to_string());
    format!("{host}-{}", std::process::id())
}
