//! The rescuer: jobs whose worker stopped renewing its lease (it died, hung or lost its
//! network) go back to `pending` for another attempt, or end `failed` if that was their last;
//! jobs queued for longer than `jobs.queued_timeout_secs` (their message was lost, for example
//! in a purged queue) go back to `pending`, to be published again.

use shared::db::jobs::{self, RescueReport};
use std::time::Duration;

use shared::db::{DbError, Pool};

use crate::metrics;

/// Jobs rescued per statement.
const BATCH: i64 = 1000;

/// Rescues every running job whose lease has expired and every job queued too long.
pub async fn rescue(pool: &Pool, queued_timeout: Duration) -> Result<RescueReport, DbError> {
    let mut total = RescueReport {
        republished: jobs::requeue_stale(&pool.get().await?, queued_timeout).await?,
        ..RescueReport::default()
    };
    metrics::record_republished(total.republished);
    loop {
        let client = pool.get().await?;
        let report = jobs::rescue_expired(&client, BATCH).await?;
        metrics::record_rescued(report);
        total.retried += report.retried;
        total.failed += report.failed;
        if (report.retried + report.failed) < BATCH as usize {
            return Ok(total);
        }
    }
}
