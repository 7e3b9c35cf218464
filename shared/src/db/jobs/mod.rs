//! The `jobs` and `job_events` tables: every state transition of the job lifecycle.
//!
//! Transitions are conditional updates: each names the state (and, for a running job, the
//! worker and attempt) it expects, so a stale worker or a duplicate message can never overwrite
//! a newer state. Triggers append a `job_events` row for every state change (one insert per
//! statement) and notify `adsync_jobs_pending` when a job becomes pending.
//!
//! Layout: this module (rows, creation, reading), `dispatch` (the relay's and the rescuer's
//! statements), `leases` (claims, heartbeats and outcomes of running jobs, in batches),
//! `control` (cancel and retry on request).

mod control;
mod dispatch;
mod leases;

pub use control::{CancelOutcome, RetryOutcome, cancel, cancel_requested, retry};
pub use dispatch::{
    Dispatch, RescueReport, mark_queued, oldest_due_ages, queue_due, requeue_stale, rescue_expired,
};
pub use leases::{
    ClaimSettings, Claims, Failure, JobCounts, Lease, claim_many, fail_attempt, heartbeat_many,
    holds, release, succeed_many,
};

use chrono::{DateTime, NaiveDate, Utc};
use tokio_postgres::Row;

use super::{DbError, GenericClient};
use crate::domain::{
    AccountId, ConnectorKind, DateWindow, JobId, JobState, SyncId, TenantId, Trigger,
};
use crate::telemetry;

#[derive(Debug, Clone)]
pub struct Job {
    pub id: JobId,
    pub tenant_id: TenantId,
    pub sync_id: SyncId,
    pub account_id: AccountId,
    pub connector: ConnectorKind,
    pub trigger: Trigger,
    pub priority: u8,
    pub window: DateWindow,
    pub state: JobState,
    pub state_reason: String,
    pub attempt: i32,
    pub max_attempts: i32,
    pub run_after: DateTime<Utc>,
    pub dedup_key: String,
    pub worker_id: Option<String>,
    pub lease_expires_at: Option<DateTime<Utc>>,
    pub rows_read: Option<i64>,
    pub rows_written: Option<i64>,
    pub api_calls: Option<i32>,
    pub error_class: Option<String>,
    pub error_message: Option<String>,
    /// When someone asked to cancel the job while it ran.
    pub cancel_requested_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    /// The W3C `traceparent` of the span that created the job, when tracing was on.
    pub traceparent: Option<String>,
}

pub(super) fn corrupt(column: &str, error: impl std::fmt::Display) -> DbError {
    DbError::Corrupt(format!("jobs.{column}: {error}"))
}

pub(super) fn from_row(row: &Row) -> Result<Job, DbError> {
    let connector: String = row.try_get("connector")?;
    let trigger: String = row.try_get("trigger")?;
    let state: String = row.try_get("state")?;
    let priority: i16 = row.try_get("priority")?;
    let start: NaiveDate = row.try_get("window_start")?;
    let end: NaiveDate = row.try_get("window_end")?;
    Ok(Job {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        sync_id: row.try_get("sync_id")?,
        account_id: row.try_get("account_id")?,
        connector: connector.parse().map_err(|e| corrupt("connector", e))?,
        trigger: trigger.parse().map_err(|e| corrupt("trigger", e))?,
        priority: u8::try_from(priority).map_err(|e| corrupt("priority", e))?,
        window: DateWindow::new(start, end).map_err(|e| corrupt("window", e))?,
        state: state.parse().map_err(|e| corrupt("state", e))?,
        state_reason: row.try_get("state_reason")?,
        attempt: row.try_get("attempt")?,
        max_attempts: row.try_get("max_attempts")?,
        run_after: row.try_get("run_after")?,
        dedup_key: row.try_get("dedup_key")?,
        worker_id: row.try_get("worker_id")?,
        lease_expires_at: row.try_get("lease_expires_at")?,
        rows_read: row.try_get("rows_read")?,
        rows_written: row.try_get("rows_written")?,
        api_calls: row.try_get("api_calls")?,
        error_class: row.try_get("error_class")?,
        error_message: row.try_get("error_message")?,
        cancel_requested_at: row.try_get("cancel_requested_at")?,
        created_at: row.try_get("created_at")?,
        started_at: row.try_get("started_at")?,
        finished_at: row.try_get("finished_at")?,
        updated_at: row.try_get("updated_at")?,
        traceparent: row.try_get("traceparent")?,
    })
}

/// A job to create.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub tenant_id: TenantId,
    pub sync_id: SyncId,
    pub account_id: AccountId,
    pub connector: ConnectorKind,
    pub trigger: Trigger,
    pub window: DateWindow,
    pub max_attempts: i32,
    pub run_after: DateTime<Utc>,
    pub dedup_key: String,
}

impl NewJob {
    /// The dedup key of a sync's regular runs: one active run per sync.
    pub fn run_key(sync_id: SyncId) -> String {
        format!("sync:{sync_id}")
    }

    /// The dedup key of one backfill chunk: chunks run beside the regular runs and each other,
    /// and asking for the same chunk again while it is active returns the active job.
    pub fn backfill_key(sync_id: SyncId, window: DateWindow) -> String {
        format!(
            "sync:{sync_id}:backfill:{}:{}",
            window.start(),
            window.end()
        )
    }
}

/// The outcome of asking for a job: a new one, or the active one that already had the key.
#[derive(Debug, Clone)]
pub enum Enqueued {
    Created(Job),
    Existing(Job),
}

impl Enqueued {
    pub fn job(&self) -> &Job {
        match self {
            Enqueued::Created(job) | Enqueued::Existing(job) => job,
        }
    }
}

/// Creates a `pending` job unless an active job (pending, queued or running) has the same
/// dedup key, in which case that job is returned (debounce). The job remembers the current
/// span's `traceparent`, so whoever publishes it continues the caller's trace.
pub async fn insert(client: &impl GenericClient, new: &NewJob) -> Result<Enqueued, DbError> {
    let traceparent = telemetry::current_traceparent();
    // The existing active job may finish between the two statements; try again then.
    for _ in 0..3 {
        let created = client
            .query_opt(
                "INSERT INTO jobs (id, tenant_id, sync_id, account_id, connector, trigger, priority,
                     window_start, window_end, state, state_reason, max_attempts, run_after, dedup_key,
                    traceparent)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10, $11, $12, $13, $14)
                 ON CONFLICT (dedup_key) WHERE state IN ('pending', 'queued', 'running') DO NOTHING
                 RETURNING *",
                &[
                    &JobId::new(),
                    &new.tenant_id,
                    &new.sync_id,
                    &new.account_id,
                    &new.connector.as_str(),
                    &new.trigger.as_str(),
                    &i16::from(new.trigger.priority()),
                    &new.window.start(),
                    &new.window.end(),
                    &new.trigger.as_str(),
                    &new.max_attempts,
                    &new.run_after,
                    &new.dedup_key,
                    &traceparent,
                ],
            )
            .await?;
        if let Some(row) = created {
            return Ok(Enqueued::Created(from_row(&row)?));
        }
        let existing = client
            .query_opt(
                "SELECT * FROM jobs WHERE dedup_key = $1
                   AND state IN ('pending', 'queued', 'running')",
                &[&new.dedup_key],
            )
            .await?;
        if let Some(row) = existing {
            return Ok(Enqueued::Existing(from_row(&row)?));
        }
    }
    Err(DbError::Corrupt(format!(
        "jobs: could not insert or find an active job for {}",
        new.dedup_key
    )))
}

/// A job [`insert_many`] created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreatedJob {
    pub id: JobId,
    pub sync_id: SyncId,
}

/// Creates many `pending` jobs in one statement, skipping any whose dedup key already has an
/// active job. Returns the jobs created. Like [`insert`], the jobs remember the current span's
/// `traceparent`.
pub async fn insert_many(
    client: &impl GenericClient,
    new: &[NewJob],
) -> Result<Vec<CreatedJob>, DbError> {
    if new.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<JobId> = new.iter().map(|_| JobId::new()).collect();
    let column = |f: &dyn Fn(&NewJob) -> String| new.iter().map(f).collect::<Vec<String>>();
    let connectors = column(&|job| job.connector.as_str().to_string());
    let triggers = column(&|job| job.trigger.as_str().to_string());
    let dedup_keys = column(&|job| job.dedup_key.clone());
    let tenants: Vec<_> = new.iter().map(|job| job.tenant_id).collect();
    let syncs: Vec<_> = new.iter().map(|job| job.sync_id).collect();
    let accounts: Vec<_> = new.iter().map(|job| job.account_id).collect();
    let priorities: Vec<i16> = new
        .iter()
        .map(|job| i16::from(job.trigger.priority()))
        .collect();
    let starts: Vec<NaiveDate> = new.iter().map(|job| job.window.start()).collect();
    let ends: Vec<NaiveDate> = new.iter().map(|job| job.window.end()).collect();
    let max_attempts: Vec<i32> = new.iter().map(|job| job.max_attempts).collect();
    let run_afters: Vec<DateTime<Utc>> = new.iter().map(|job| job.run_after).collect();
    let traceparent = telemetry::current_traceparent();
    let rows = client
        .query(
            "INSERT INTO jobs (id, tenant_id, sync_id, account_id, connector, trigger, priority,
                 window_start, window_end, state, state_reason, max_attempts, run_after, dedup_key,
                 traceparent)
             SELECT id, tenant_id, sync_id, account_id, connector, trigger, priority,
                 window_start, window_end, 'pending', trigger, max_attempts, run_after, dedup_key,
                 $13
             FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::text[],
                 $7::int2[], $8::date[], $9::date[], $10::int4[], $11::timestamptz[], $12::text[])
                 AS n(id, tenant_id, sync_id, account_id, connector, trigger, priority,
                      window_start, window_end, max_attempts, run_after, dedup_key)
             ON CONFLICT (dedup_key) WHERE state IN ('pending', 'queued', 'running') DO NOTHING
             RETURNING id, sync_id",
            &[
                &ids,
                &tenants,
                &syncs,
                &accounts,
                &connectors,
                &triggers,
                &priorities,
                &starts,
                &ends,
                &max_attempts,
                &run_afters,
                &dedup_keys,
                &traceparent,
            ],
        )
        .await?;
    rows.iter()
        .map(|row| {
            Ok(CreatedJob {
                id: row.try_get("id")?,
                sync_id: row.try_get("sync_id")?,
            })
        })
        .collect()
}

/// The active jobs holding any of `keys`.
pub async fn active_by_keys(
    client: &impl GenericClient,
    keys: &[String],
) -> Result<Vec<Job>, DbError> {
    client
        .query(
            "SELECT * FROM jobs WHERE dedup_key = ANY($1)
               AND state IN ('pending', 'queued', 'running')",
            &[&keys],
        )
        .await?
        .iter()
        .map(from_row)
        .collect()
}

/// Reads a job; with a tenant, only that tenant's job.
pub async fn get(
    client: &impl GenericClient,
    tenant_id: Option<TenantId>,
    id: JobId,
) -> Result<Option<Job>, DbError> {
    client
        .query_opt(
            "SELECT * FROM jobs WHERE id = $1 AND ($2::uuid IS NULL OR tenant_id = $2)",
            &[&id, &tenant_id],
        )
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// Filters for [`list`]. `None` means "any".
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    pub tenant_id: Option<TenantId>,
    pub state: Option<JobState>,
    pub sync_id: Option<SyncId>,
    pub account_id: Option<AccountId>,
    pub connector: Option<ConnectorKind>,
    /// Jobs created at or after this instant.
    pub created_after: Option<DateTime<Utc>>,
    /// Jobs created before this instant.
    pub created_before: Option<DateTime<Utc>>,
    /// Only jobs after this position in the listing order (cursor pagination).
    pub after: Option<JobPosition>,
}

/// A job's place in the listing order: newest `created_at` first, then highest id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobPosition {
    pub created_at: DateTime<Utc>,
    pub id: JobId,
}

impl Job {
    pub fn position(&self) -> JobPosition {
        JobPosition {
            created_at: self.created_at,
            id: self.id,
        }
    }
}

/// Newest jobs first, in a stable order (`created_at`, then `id`, both descending). The
/// statement names only the filters given, so the planner picks the owner index
/// (`jobs_tenant_created`, `jobs_sync_created`, `jobs_account_created`) and walks it in order.
pub async fn list(
    client: &impl GenericClient,
    filter: &JobFilter,
    limit: i64,
) -> Result<Vec<Job>, DbError> {
    let state = filter.state.map(JobState::as_str);
    let connector = filter.connector.map(ConnectorKind::as_str);
    let mut conditions: Vec<String> = Vec::new();
    let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = Vec::new();
    if let Some(tenant) = &filter.tenant_id {
        params.push(tenant);
        conditions.push(format!("tenant_id = ${}", params.len()));
    }
    if let Some(state) = &state {
        params.push(state);
        conditions.push(format!("state = ${}", params.len()));
    }
    if let Some(sync) = &filter.sync_id {
        params.push(sync);
        conditions.push(format!("sync_id = ${}", params.len()));
    }
    if let Some(account) = &filter.account_id {
        params.push(account);
        conditions.push(format!("account_id = ${}", params.len()));
    }
    if let Some(connector) = &connector {
        params.push(connector);
        conditions.push(format!("connector = ${}", params.len()));
    }
    if let Some(after) = &filter.created_after {
        params.push(after);
        conditions.push(format!("created_at >= ${}", params.len()));
    }
    if let Some(before) = &filter.created_before {
        params.push(before);
        conditions.push(format!("created_at < ${}", params.len()));
    }
    if let Some(position) = &filter.after {
        params.push(&position.created_at);
        params.push(&position.id);
        conditions.push(format!(
            "(created_at, id) < (${}, ${})",
            params.len() - 1,
            params.len()
        ));
    }
    params.push(&limit);
    let limit_param = params.len();
    let condition = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    client
        .query(
            &format!(
                "SELECT * FROM jobs {condition}
                 ORDER BY created_at DESC, id DESC LIMIT ${limit_param}"
            ),
            &params,
        )
        .await?
        .iter()
        .map(from_row)
        .collect()
}

#[derive(Debug, Clone)]
pub struct JobEvent {
    pub from_state: Option<JobState>,
    pub to_state: JobState,
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// A job's history, oldest first.
pub async fn events(client: &impl GenericClient, id: JobId) -> Result<Vec<JobEvent>, DbError> {
    client
        .query(
            "SELECT from_state, to_state, reason, at FROM job_events WHERE job_id = $1 ORDER BY id",
            &[&id],
        )
        .await?
        .iter()
        .map(|row| {
            let from: Option<String> = row.try_get("from_state")?;
            let to: String = row.try_get("to_state")?;
            Ok(JobEvent {
                from_state: from
                    .map(|s| s.parse())
                    .transpose()
                    .map_err(|e| DbError::Corrupt(format!("job_events.from_state: {e}")))?,
                to_state: to
                    .parse()
                    .map_err(|e| DbError::Corrupt(format!("job_events.to_state: {e}")))?,
                reason: row.try_get("reason")?,
                at: row.try_get("at")?,
            })
        })
        .collect()
}
