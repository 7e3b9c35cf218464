//! The outbox relay: marks every `pending` job whose `run_after` has passed `queued` and
//! publishes it, committing only once the broker confirmed, so a crash between a job's commit
//! and its publish loses nothing. A worker that receives a message before the commit waits for
//! the job's row lock, then claims it.
//!
//! The relay wakes when PostgreSQL notifies `adsync_jobs_pending` (a trigger fires whenever a
//! job becomes pending), and sweeps at least every `scheduler.relay_sweep_ms` for jobs whose
//! `run_after` has come (retries and snoozes) or whose notification was missed.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use shared::config::DatabaseConfig;
use shared::db::{DbError, Pool, jobs};
use shared::queue::{PublishError, Publisher};
use tokio::sync::Notify;
use tokio_postgres::{AsyncMessage, NoTls};
use tokio_util::sync::CancellationToken;

use crate::metrics;

/// The channel the `jobs` triggers notify when a statement leaves a job pending.
pub const PENDING_CHANNEL: &str = "adsync_jobs_pending";

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Publish(#[from] PublishError),
}

/// Publishes every due pending job, in batches of `batch`, with `concurrency` transactions
/// under way at once (each locks different jobs): while one waits for the broker's confirms,
/// another reads and marks. Returns how many were published.
pub async fn relay(
    pool: &Pool,
    publisher: &Publisher,
    batch: u32,
    concurrency: usize,
) -> Result<usize, RelayError> {
    let lanes = (0..concurrency.max(1)).map(|_| relay_lane(pool, publisher, batch));
    let published = futures_util::future::try_join_all(lanes).await?;
    Ok(published.into_iter().sum())
}

/// One relay transaction after another until no due job is left.
async fn relay_lane(pool: &Pool, publisher: &Publisher, batch: u32) -> Result<usize, RelayError> {
    let mut published = 0;
    loop {
        let mut client = pool.get().await.map_err(DbError::from)?;
        let transaction = client.transaction().await.map_err(DbError::from)?;
        let due = jobs::queue_due(&transaction, i64::from(batch)).await?;
        if due.is_empty() {
            return Ok(published);
        }
        // Dropping the transaction on a failed publish rolls the jobs back to pending.
        publisher.publish_jobs(&due).await?;
        transaction.commit().await.map_err(DbError::from)?;
        published += due.len();
        metrics::record_jobs_published(due.len());
        for job in &due {
            metrics::record_relay_lag(job.connector, job.due_for);
        }
        if due.len() < batch as usize {
            return Ok(published);
        }
    }
}

/// Listens for `adsync_jobs_pending` on a connection of its own and wakes `wake` on each
/// notification, reconnecting whenever the connection drops, until `shutdown`.
pub async fn listen(database: DatabaseConfig, wake: Arc<Notify>, shutdown: CancellationToken) {
    let mut interrupted = false;
    while !shutdown.is_cancelled() {
        if interrupted {
            shared::telemetry::count_reconnect(shared::telemetry::Backend::Postgres);
        }
        if let Err(error) = listen_once(&database, &wake, &shutdown).await {
            tracing::warn!(%error, "relay notifications interrupted; listening again shortly");
        }
        interrupted = true;
        // Anything notified while disconnected is caught by this wake and the sweeps.
        wake.notify_one();
        tokio::select! {
            () = shutdown.cancelled() => {}
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

async fn listen_once(
    database: &DatabaseConfig,
    wake: &Notify,
    shutdown: &CancellationToken,
) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = tokio_postgres::connect(database.url.expose(), NoTls).await?;
    let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
    let statement = format!("LISTEN {PENDING_CHANNEL}");
    let listen = client.batch_execute(&statement);
    tokio::pin!(listen);
    let mut listening = false;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            result = &mut listen, if !listening => {
                result?;
                listening = true;
            }
            message = messages.next() => match message {
                Some(Ok(AsyncMessage::Notification(_))) => wake.notify_one(),
                Some(Ok(_)) => {}
                Some(Err(error)) => return Err(error),
                None => return Ok(()),
            },
        }
    }
}
