//! The `syncs` table: recurring intents, and the due-sync query the scheduler ticks on.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use tokio_postgres::Row;

use super::{DbError, GenericClient};
use crate::domain::schedule::{local_date, parse_time_zone};
use crate::domain::{
    AccountId, ConnectorKind, DateWindow, DestinationId, ReportSpec, SyncId, TenantId,
};

/// One sync: this account's report, to that destination, on that schedule.
/// (Named `SyncDefinition` because `Sync` is a standard trait.)
#[derive(Debug, Clone)]
pub struct SyncDefinition {
    pub id: SyncId,
    pub tenant_id: TenantId,
    pub account_id: AccountId,
    pub destination_id: DestinationId,
    pub connector: ConnectorKind,
    pub report: ReportSpec,
    pub cron: String,
    pub time_zone: String,
    /// Days the frequent runs re-read, ending today.
    pub fresh_days: i32,
    /// Days the daily lookback run re-reads, ending today: the platform's restatement horizon.
    pub lookback_days: i32,
    pub enabled: bool,
    pub paused_reason: Option<String>,
    pub next_run_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl SyncDefinition {
    /// The window a manual run starting at `now` reads: the whole lookback, the `lookback_days`
    /// days ending today in the sync's time zone.
    pub fn window_at(&self, now: DateTime<Utc>) -> DateWindow {
        run_window(self.time_zone(), self.lookback_days, now)
    }

    pub fn time_zone(&self) -> Tz {
        parse_time_zone(&self.time_zone, "time_zone").unwrap_or(chrono_tz::UTC)
    }
}

/// The `lookback_days` days ending today in `time_zone`.
pub fn run_window(time_zone: Tz, lookback_days: i32, now: DateTime<Utc>) -> DateWindow {
    DateWindow::ending_on(
        local_date(now, time_zone),
        u32::try_from(lookback_days).unwrap_or(1),
    )
}

/// What a scheduler tick needs of a due sync.
#[derive(Debug, Clone)]
pub struct DueSync {
    pub id: SyncId,
    pub tenant_id: TenantId,
    pub account_id: AccountId,
    pub connector: ConnectorKind,
    pub cron: String,
    pub time_zone: String,
    pub fresh_days: i32,
    pub lookback_days: i32,
    /// The local date of the last lookback run enqueued.
    pub lookback_enqueued_on: Option<NaiveDate>,
}

impl DueSync {
    /// What a scheduled run starting at `now` (a local date of `time_zone`) reads: the first run
    /// of each local day reads the whole lookback, the others the fresh days. Returns the
    /// window and whether it is the lookback.
    pub fn scheduled_window(&self, time_zone: Tz, now: DateTime<Utc>) -> (DateWindow, bool) {
        let today = local_date(now, time_zone);
        let lookback = self.lookback_enqueued_on.is_none_or(|day| day < today);
        let days = if lookback {
            self.lookback_days
        } else {
            self.fresh_days
        };
        (run_window(time_zone, days, now), lookback)
    }
}

fn from_row(row: &Row) -> Result<SyncDefinition, DbError> {
    let connector: String = row.try_get("connector")?;
    let report: serde_json::Value = row.try_get("report")?;
    Ok(SyncDefinition {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        account_id: row.try_get("account_id")?,
        destination_id: row.try_get("destination_id")?,
        connector: connector
            .parse()
            .map_err(|e| DbError::Corrupt(format!("syncs.connector: {e}")))?,
        report: serde_json::from_value(report)
            .map_err(|e| DbError::Corrupt(format!("syncs.report: {e}")))?,
        cron: row.try_get("cron")?,
        time_zone: row.try_get("time_zone")?,
        fresh_days: row.try_get("fresh_days")?,
        lookback_days: row.try_get("lookback_days")?,
        enabled: row.try_get("enabled")?,
        paused_reason: row.try_get("paused_reason")?,
        next_run_at: row.try_get("next_run_at")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub struct NewSync<'a> {
    pub tenant_id: TenantId,
    pub account_id: AccountId,
    pub destination_id: DestinationId,
    pub connector: ConnectorKind,
    pub report: &'a ReportSpec,
    pub cron: &'a str,
    pub time_zone: &'a str,
    pub fresh_days: i32,
    pub lookback_days: i32,
    pub enabled: bool,
    pub next_run_at: DateTime<Utc>,
}

pub async fn insert(
    client: &impl GenericClient,
    new: NewSync<'_>,
) -> Result<SyncDefinition, DbError> {
    let report = serde_json::to_value(new.report)
        .map_err(|e| DbError::Corrupt(format!("syncs.report: {e}")))?;
    let row = client
        .query_one(
            "INSERT INTO syncs (id, tenant_id, account_id, destination_id, connector, report, cron,
                 time_zone, lookback_days, enabled, next_run_at, fresh_days)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             RETURNING *",
            &[
                &SyncId::new(),
                &new.tenant_id,
                &new.account_id,
                &new.destination_id,
                &new.connector.as_str(),
                &report,
                &new.cron,
                &new.time_zone,
                &new.lookback_days,
                &new.enabled,
                &new.next_run_at,
                &new.fresh_days,
            ],
        )
        .await?;
    from_row(&row)
}

pub async fn get(
    client: &impl GenericClient,
    tenant_id: TenantId,
    id: SyncId,
) -> Result<Option<SyncDefinition>, DbError> {
    client
        .query_opt(
            "SELECT * FROM syncs WHERE tenant_id = $1 AND id = $2",
            &[&tenant_id, &id],
        )
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

pub async fn list(
    client: &impl GenericClient,
    tenant_id: TenantId,
) -> Result<Vec<SyncDefinition>, DbError> {
    client
        .query(
            "SELECT * FROM syncs WHERE tenant_id = $1 ORDER BY created_at, id",
            &[&tenant_id],
        )
        .await?
        .iter()
        .map(from_row)
        .collect()
}

/// Locks up to `limit` enabled syncs due at `now`, skipping rows another transaction holds.
/// Call inside a transaction.
pub async fn lock_due(
    client: &impl GenericClient,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<DueSync>, DbError> {
    // Walk the due index in order and stop at the limit, even when statistics lag behind many
    // syncs falling due at once (see `jobs::queue_due`).
    client
        .batch_execute("SET LOCAL enable_bitmapscan = off")
        .await?;
    client
        .query(
            "SELECT id, tenant_id, account_id, connector, cron, time_zone, fresh_days,
                    lookback_days, lookback_enqueued_on
             FROM syncs WHERE enabled AND next_run_at <= $1
             ORDER BY next_run_at LIMIT $2 FOR UPDATE SKIP LOCKED",
            &[&now, &limit],
        )
        .await?
        .iter()
        .map(|row| {
            let connector: String = row.try_get("connector")?;
            Ok(DueSync {
                id: row.try_get("id")?,
                tenant_id: row.try_get("tenant_id")?,
                account_id: row.try_get("account_id")?,
                connector: connector
                    .parse()
                    .map_err(|e| DbError::Corrupt(format!("syncs.connector: {e}")))?,
                cron: row.try_get("cron")?,
                time_zone: row.try_get("time_zone")?,
                fresh_days: row.try_get("fresh_days")?,
                lookback_days: row.try_get("lookback_days")?,
                lookback_enqueued_on: row.try_get("lookback_enqueued_on")?,
            })
        })
        .collect()
}

/// After a tick: a sync's next run, and the local date of the lookback run just enqueued.
#[derive(Debug, Clone, Copy)]
pub struct NextRun {
    pub id: SyncId,
    pub at: DateTime<Utc>,
    pub lookback_enqueued_on: Option<NaiveDate>,
}

/// Sets each sync's next run (and lookback date, where given), in one statement.
pub async fn set_next_runs(
    client: &impl GenericClient,
    next_runs: &[NextRun],
) -> Result<(), DbError> {
    let ids: Vec<SyncId> = next_runs.iter().map(|run| run.id).collect();
    let times: Vec<DateTime<Utc>> = next_runs.iter().map(|run| run.at).collect();
    let lookbacks: Vec<Option<NaiveDate>> = next_runs
        .iter()
        .map(|run| run.lookback_enqueued_on)
        .collect();
    client
        .execute(
            "UPDATE syncs s SET next_run_at = n.next_run_at,
                    lookback_enqueued_on = coalesce(n.lookback_on, s.lookback_enqueued_on),
                    updated_at = now()
             FROM unnest($1::uuid[], $2::timestamptz[], $3::date[]) AS n(id, next_run_at, lookback_on)
             WHERE s.id = n.id",
            &[&ids, &times, &lookbacks],
        )
        .await?;
    Ok(())
}
