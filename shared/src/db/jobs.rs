//! The `jobs` and `job_events` tables: every state transition of the job lifecycle.
//!
//! Transitions are conditional updates: each names the state (and, for a running job, the
//! worker and attempt) it expects, so a stale worker or a duplicate message can never overwrite
//! a newer state. The `jobs_record_event` trigger appends a `job_events` row for every change.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use tokio_postgres::Row;

use super::{DbError, GenericClient};
use crate::domain::{
    AccountId, ConnectorKind, DateWindow, JobId, JobState, SyncId, TenantId, Trigger,
};

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
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

fn corrupt(column: &str, error: impl std::fmt::Display) -> DbError {
    DbError::Corrupt(format!("jobs.{column}: {error}"))
}

fn from_row(row: &Row) -> Result<Job, DbError> {
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
        created_at: row.try_get("created_at")?,
        started_at: row.try_get("started_at")?,
        finished_at: row.try_get("finished_at")?,
        updated_at: row.try_get("updated_at")?,
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
/// dedup key, in which case that job is returned (debounce).
pub async fn insert(client: &impl GenericClient, new: &NewJob) -> Result<Enqueued, DbError> {
    // The existing active job may finish between the two statements; try again then.
    for _ in 0..3 {
        let created = client
            .query_opt(
                "INSERT INTO jobs (id, tenant_id, sync_id, account_id, connector, trigger, priority,
                     window_start, window_end, state, state_reason, max_attempts, run_after, dedup_key)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10, $11, $12, $13)
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
    /// Only jobs created before this one (cursor pagination, newest first).
    pub before: Option<JobId>,
}

/// Newest jobs first.
pub async fn list(
    client: &impl GenericClient,
    filter: &JobFilter,
    limit: i64,
) -> Result<Vec<Job>, DbError> {
    client
        .query(
            "SELECT * FROM jobs
             WHERE ($1::uuid IS NULL OR tenant_id = $1)
               AND ($2::text IS NULL OR state = $2)
               AND ($3::uuid IS NULL OR sync_id = $3)
               AND ($4::uuid IS NULL OR id < $4)
             ORDER BY id DESC LIMIT $5",
            &[
                &filter.tenant_id,
                &filter.state.map(JobState::as_str),
                &filter.sync_id,
                &filter.before,
                &limit,
            ],
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

/// What the relay needs to publish a job.
#[derive(Debug, Clone, Copy)]
pub struct Dispatch {
    pub job_id: JobId,
    pub connector: ConnectorKind,
    pub attempt: i32,
    pub priority: u8,
}

/// Locks up to `limit` pending jobs whose `run_after` has passed, oldest first, skipping jobs
/// another transaction holds. Call inside a transaction, publish, then [`mark_queued`].
pub async fn lock_due_pending(
    client: &impl GenericClient,
    limit: i64,
) -> Result<Vec<Dispatch>, DbError> {
    client
        .query(
            "SELECT id, connector, attempt, priority FROM jobs
             WHERE state = 'pending' AND run_after <= now()
             ORDER BY run_after LIMIT $1 FOR UPDATE SKIP LOCKED",
            &[&limit],
        )
        .await?
        .iter()
        .map(|row| {
            let connector: String = row.try_get("connector")?;
            let priority: i16 = row.try_get("priority")?;
            Ok(Dispatch {
                job_id: row.try_get("id")?,
                connector: connector.parse().map_err(|e| corrupt("connector", e))?,
                attempt: row.try_get("attempt")?,
                priority: u8::try_from(priority).map_err(|e| corrupt("priority", e))?,
            })
        })
        .collect()
}

/// Marks published jobs `queued`, if they are still `pending` (a worker may already have
/// claimed one). Returns how many changed.
pub async fn mark_queued(client: &impl GenericClient, ids: &[JobId]) -> Result<u64, DbError> {
    Ok(client
        .execute(
            "UPDATE jobs SET state = 'queued', state_reason = 'published', updated_at = now()
             WHERE id = ANY($1) AND state = 'pending'",
            &[&ids],
        )
        .await?)
}

fn lease_interval_ms(lease: Duration) -> f64 {
    lease.as_millis() as f64
}

/// Claims a job for `worker_id`: a queued job, a pending job that is due (its message may
/// arrive before the publisher marks it queued), or a running job whose lease has expired.
/// Starts a new attempt. `None` if the job is not claimable (finished, cancelled, snoozed,
/// held by a live lease) or does not exist.
pub async fn claim(
    client: &impl GenericClient,
    id: JobId,
    worker_id: &str,
    lease: Duration,
) -> Result<Option<Job>, DbError> {
    client
        .query_opt(
            "UPDATE jobs SET state = 'running', state_reason = 'claimed by ' || $2,
                 attempt = attempt + 1, worker_id = $2,
                 lease_expires_at = now() + $3 * interval '1 millisecond',
                 started_at = now(), updated_at = now()
             WHERE id = $1
               AND (state = 'queued'
                    OR (state = 'pending' AND run_after <= now())
                    OR (state = 'running' AND lease_expires_at < now()))
             RETURNING *",
            &[&id, &worker_id, &lease_interval_ms(lease)],
        )
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// Identifies one attempt of one job by one worker: only its holder may change a running job.
#[derive(Debug, Clone)]
pub struct Lease {
    pub job_id: JobId,
    pub worker_id: String,
    pub attempt: i32,
}

impl Lease {
    pub fn of(job: &Job, worker_id: &str) -> Self {
        Self {
            job_id: job.id,
            worker_id: worker_id.to_string(),
            attempt: job.attempt,
        }
    }
}

/// Extends a lease. `false` if the job is no longer this attempt's (lease lost).
pub async fn heartbeat(
    client: &impl GenericClient,
    lease: &Lease,
    duration: Duration,
) -> Result<bool, DbError> {
    Ok(client
        .execute(
            "UPDATE jobs SET lease_expires_at = now() + $4 * interval '1 millisecond'
             WHERE id = $1 AND state = 'running' AND worker_id = $2 AND attempt = $3",
            &[
                &lease.job_id,
                &lease.worker_id,
                &lease.attempt,
                &lease_interval_ms(duration),
            ],
        )
        .await?
        == 1)
}

/// What a finished attempt moved and cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobCounts {
    pub rows_read: i64,
    pub rows_written: i64,
    pub api_calls: i32,
}

/// `running → succeeded`. `false` if the lease was lost.
pub async fn succeed(
    client: &impl GenericClient,
    lease: &Lease,
    counts: JobCounts,
) -> Result<bool, DbError> {
    Ok(client
        .execute(
            "UPDATE jobs SET state = 'succeeded', state_reason = 'completed',
                 rows_read = $4, rows_written = $5, api_calls = $6,
                 error_class = NULL, error_message = NULL,
                 lease_expires_at = NULL, finished_at = now(), updated_at = now()
             WHERE id = $1 AND state = 'running' AND worker_id = $2 AND attempt = $3",
            &[
                &lease.job_id,
                &lease.worker_id,
                &lease.attempt,
                &counts.rows_read,
                &counts.rows_written,
                &counts.api_calls,
            ],
        )
        .await?
        == 1)
}

/// How a failed attempt ends.
#[derive(Debug, Clone)]
pub enum Failure<'a> {
    /// `running → pending` at `run_after`. `spend_attempt = false` gives the attempt back
    /// (a throttle snooze).
    RetryAt {
        run_after: DateTime<Utc>,
        spend_attempt: bool,
        class: &'a str,
        message: &'a str,
    },
    /// `running → failed` for good.
    Fail { class: &'a str, message: &'a str },
    /// `running → cancelled`: the job was cancelled while it ran.
    Cancel,
}

/// Records a failed attempt. `false` if the lease was lost.
pub async fn fail_attempt(
    client: &impl GenericClient,
    lease: &Lease,
    failure: Failure<'_>,
    counts: JobCounts,
) -> Result<bool, DbError> {
    let changed =
        match failure {
            Failure::RetryAt {
                run_after,
                spend_attempt,
                class,
                message,
            } => {
                let reason = if spend_attempt {
                    format!("{class} error, retry scheduled")
                } else {
                    format!("{class}, snoozed")
                };
                client
                    .execute(
                        "UPDATE jobs SET state = 'pending', state_reason = $4, run_after = $5,
                         attempt = attempt - CASE WHEN $6 THEN 0 ELSE 1 END,
                         error_class = $7, error_message = $8,
                         rows_read = $9, rows_written = $10, api_calls = $11,
                         worker_id = NULL, lease_expires_at = NULL, updated_at = now()
                     WHERE id = $1 AND state = 'running' AND worker_id = $2 AND attempt = $3",
                        &[
                            &lease.job_id,
                            &lease.worker_id,
                            &lease.attempt,
                            &reason,
                            &run_after,
                            &spend_attempt,
                            &class,
                            &message,
                            &counts.rows_read,
                            &counts.rows_written,
                            &counts.api_calls,
                        ],
                    )
                    .await?
            }
            Failure::Fail { class, message } => {
                client
                    .execute(
                        "UPDATE jobs SET state = 'failed', state_reason = $4 || ' error',
                         error_class = $4, error_message = $5,
                         rows_read = $6, rows_written = $7, api_calls = $8,
                         lease_expires_at = NULL, finished_at = now(), updated_at = now()
                     WHERE id = $1 AND state = 'running' AND worker_id = $2 AND attempt = $3",
                        &[
                            &lease.job_id,
                            &lease.worker_id,
                            &lease.attempt,
                            &class,
                            &message,
                            &counts.rows_read,
                            &counts.rows_written,
                            &counts.api_calls,
                        ],
                    )
                    .await?
            }
            Failure::Cancel => client
                .execute(
                    "UPDATE jobs SET state = 'cancelled', state_reason = 'cancelled while running',
                         rows_read = $4, rows_written = $5, api_calls = $6,
                         lease_expires_at = NULL, finished_at = now(), updated_at = now()
                     WHERE id = $1 AND state = 'running' AND worker_id = $2 AND attempt = $3",
                    &[
                        &lease.job_id,
                        &lease.worker_id,
                        &lease.attempt,
                        &counts.rows_read,
                        &counts.rows_written,
                        &counts.api_calls,
                    ],
                )
                .await?,
        };
    Ok(changed == 1)
}
