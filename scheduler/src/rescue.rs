//! The rescuer: jobs whose worker stopped renewing its lease (it died, hung or lost its
//! network) go back to `pending` for another attempt, or end `failed` if that was their last.

use shared::db::jobs::{self, RescueReport};
use shared::db::{DbError, Pool};

use crate::metrics;

/// Jobs rescued per statement.
const BATCH: i64 = 1000;

/// Rescues every running job whose lease has expired.
pub async fn rescue(pool: &Pool) -> Result<RescueReport, DbError> {
    let mut total = RescueReport::default();
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
