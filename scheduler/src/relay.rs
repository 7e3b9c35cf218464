//! The outbox relay: publishes every `pending` job whose `run_after` has passed and marks it
//! `queued`, so a crash between a job's commit and its publish loses nothing. Jobs are locked
//! while published; a worker that receives the message first waits for the lock, then claims.

use shared::db::{DbError, Pool, jobs};
use shared::queue::{PublishError, Publisher};

use crate::metrics;

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Publish(#[from] PublishError),
}

/// Publishes due pending jobs in batches of `batch`. Returns how many were published.
pub async fn relay(pool: &Pool, publisher: &Publisher, batch: u32) -> Result<usize, RelayError> {
    let mut published = 0;
    loop {
        let mut client = pool.get().await.map_err(DbError::from)?;
        let transaction = client.transaction().await.map_err(DbError::from)?;
        let due = jobs::lock_due_pending(&transaction, i64::from(batch)).await?;
        if due.is_empty() {
            return Ok(published);
        }
        publisher.publish_jobs(&due).await?;
        let ids: Vec<_> = due.iter().map(|job| job.job_id).collect();
        jobs::mark_queued(&transaction, &ids).await?;
        transaction.commit().await.map_err(DbError::from)?;
        published += due.len();
        metrics::record_jobs_published(due.len());
        if due.len() < batch as usize {
            return Ok(published);
        }
    }
}
