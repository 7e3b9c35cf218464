//! Data rights and retention, run by the leader every `retention.purge_interval_secs`:
//! tenants whose erasure is due (`DELETE /v1/tenant` plus the grace period) lose everything
//! they owned, and every other tenant loses finished job history and warehouse rows older
//! than its plan keeps (`retention.<plan>_days`; 0 keeps everything). Deletes go in batches of
//! `retention.purge_batch` rows, so the purge never holds long locks on the jobs table.
//!
//! `now` is an argument, as for [`crate::tick`], so tests run the purge at any time.

use chrono::{DateTime, Duration, Utc};
use shared::config::RetentionConfig;
use shared::db::tenant_data;
use shared::db::{DbError, Pool};

/// What one purge did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgeReport {
    pub tenants_erased: usize,
    pub jobs_deleted: u64,
    pub warehouse_rows_deleted: u64,
}

/// Erases the tenants due at `now` and applies every other tenant's retention.
pub async fn purge(
    pool: &Pool,
    settings: &RetentionConfig,
    now: DateTime<Utc>,
) -> Result<PurgeReport, DbError> {
    let mut report = PurgeReport::default();
    let mut client = pool.get().await?;
    for tenant_id in tenant_data::erasures_due(&client, now).await? {
        // One transaction per tenant: an erasure is all or nothing.
        let transaction = client.transaction().await?;
        let purged = tenant_data::erase(&transaction, tenant_id, settings.purge_batch).await?;
        transaction.commit().await?;
        tracing::info!(%tenant_id, jobs = purged.jobs, warehouse_rows = purged.warehouse_rows,
            "erased a deleted tenant's data");
        report.tenants_erased += 1;
        report.jobs_deleted += purged.jobs;
        report.warehouse_rows_deleted += purged.warehouse_rows;
    }
    for (tenant_id, plan) in tenant_data::retained_tenants(&client).await? {
        let Some(days) = settings.days(plan) else {
            continue;
        };
        let cutoff = now - Duration::days(i64::from(days));
        // Autocommit batches: each deleted batch stays deleted if a later one fails.
        let purged =
            tenant_data::purge_older_than(&client, tenant_id, cutoff, settings.purge_batch).await?;
        report.jobs_deleted += purged.jobs;
        report.warehouse_rows_deleted += purged.warehouse_rows;
    }
    Ok(report)
}
