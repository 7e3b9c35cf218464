//! Statements of the scheduler leader: the outbox relay's (publish due pending jobs, mark them
//! queued) and the rescuer's (return jobs whose worker stopped renewing its lease, and
//! republish jobs whose message was lost).

use std::time::Duration;

use chrono::Utc;

use super::{Job, corrupt};
use crate::db::{DbError, GenericClient};
use crate::domain::{ConnectorKind, JobId, JobState};

/// What the relay needs to publish a job.
#[derive(Debug, Clone)]
pub struct Dispatch {
    pub job_id: JobId,
    pub connector: ConnectorKind,
    pub attempt: i32,
    pub priority: u8,
    /// The trace the job's creator was part of, continued by the publish span.
    pub traceparent: Option<String>,
    /// How long the job had been due when it was marked queued (the relay's lag).
    pub due_for: Duration,
}

impl Dispatch {
    /// What publishing `job` right now needs.
    pub fn of(job: &Job) -> Self {
        Self {
            job_id: job.id,
            connector: job.connector,
            attempt: job.attempt,
            priority: job.priority,
            traceparent: job.traceparent.clone(),
            due_for: (Utc::now() - job.run_after).to_std().unwrap_or_default(),
        }
    }
}

/// Marks up to `limit` pending jobs whose `run_after` has passed `queued`, oldest first,
/// skipping jobs another transaction holds, and returns what publishing them needs. Call
/// inside a transaction, publish, then commit: if publishing fails, roll back and the jobs are
/// pending again. A worker whose message arrives before the commit waits for the row lock.
pub async fn queue_due(client: &impl GenericClient, limit: i64) -> Result<Vec<Dispatch>, DbError> {
    // Walk the pending index in order and stop at the limit. With statistics that lag behind a
    // burst (100,000 jobs just created, the planner expecting a few), the planner would rather
    // bitmap-scan and sort every pending job for each batch. The ids go through an array so the
    // update looks each one up by primary key: as `id IN (…)` the planner may hash-join them
    // against a sequential scan of the whole table, once per batch.
    client
        .batch_execute("SET LOCAL enable_bitmapscan = off")
        .await?;
    client
        .query(
            "UPDATE jobs SET state = 'queued', state_reason = 'published', updated_at = now()
             WHERE id = ANY(ARRAY(SELECT id FROM jobs WHERE state = 'pending' AND run_after <= now()
                                  ORDER BY run_after LIMIT $1 FOR UPDATE SKIP LOCKED))
             RETURNING id, connector, attempt, priority, traceparent,
                 extract(epoch FROM now() - run_after)::float8 AS due_for_secs",
            &[&limit],
        )
        .await?
        .iter()
        .map(dispatch_from_row)
        .collect()
}

fn dispatch_from_row(row: &tokio_postgres::Row) -> Result<Dispatch, DbError> {
    let connector: String = row.try_get("connector")?;
    let priority: i16 = row.try_get("priority")?;
    Ok(Dispatch {
        job_id: row.try_get("id")?,
        connector: connector.parse().map_err(|e| corrupt("connector", e))?,
        attempt: row.try_get("attempt")?,
        priority: u8::try_from(priority).map_err(|e| corrupt("priority", e))?,
        traceparent: row.try_get("traceparent")?,
        due_for: Duration::from_secs_f64(row.try_get::<_, f64>("due_for_secs")?.max(0.0)),
    })
}

/// Per connector with any, the age of the oldest job that is due and not running: `pending`
/// past its `run_after`, or `queued`; measured from its `run_after` (when it became due).
pub async fn oldest_due_ages(
    client: &impl GenericClient,
) -> Result<Vec<(ConnectorKind, Duration)>, DbError> {
    client
        .query(
            "SELECT connector, extract(epoch FROM now() - min(run_after))::float8 AS age_secs
             FROM jobs
             WHERE (state = 'pending' AND run_after <= now()) OR state = 'queued'
             GROUP BY connector",
            &[],
        )
        .await?
        .iter()
        .map(|row| {
            let connector: String = row.try_get("connector")?;
            let age: f64 = row.try_get("age_secs")?;
            Ok((
                connector.parse().map_err(|e| corrupt("connector", e))?,
                Duration::from_secs_f64(age.max(0.0)),
            ))
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

/// Returns jobs `queued` for longer than `max_age` to `pending`, so the relay publishes them
/// again: their message was most likely lost (a purged queue, a broker that lost its data).
/// A duplicate message is harmless. Returns how many.
pub async fn requeue_stale(
    client: &impl GenericClient,
    max_age: std::time::Duration,
) -> Result<u64, DbError> {
    Ok(client
        .execute(
            "UPDATE jobs SET state = 'pending', state_reason = 'queued too long, republishing',
                 run_after = now(), updated_at = now()
             WHERE state = 'queued' AND updated_at < now() - $1 * interval '1 millisecond'",
            &[&(max_age.as_millis() as f64)],
        )
        .await?)
}

/// What one rescue pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RescueReport {
    /// Returned to `pending` for another attempt.
    pub retried: usize,
    /// Ended `failed`: the job used up its attempts killing workers.
    pub failed: usize,
    /// Queued too long (message lost): back to `pending` to be published again.
    pub republished: u64,
}

/// Returns up to `limit` running jobs whose lease expired (their worker died or hung) to
/// `pending`, or ends them `failed` if that was their last attempt. The attempt that died
/// counts: it was spent when the job was claimed.
pub async fn rescue_expired(
    client: &impl GenericClient,
    limit: i64,
) -> Result<RescueReport, DbError> {
    let rows = client
        .query(
            "UPDATE jobs SET
                 state = CASE WHEN attempt >= max_attempts THEN 'failed' ELSE 'pending' END,
                 state_reason = CASE WHEN attempt >= max_attempts
                     THEN 'lease expired on the last attempt' ELSE 'lease expired, rescued' END,
                 error_class = 'transient',
                 error_message = 'the worker running this attempt stopped renewing its lease',
                 run_after = now(), worker_id = NULL, lease_expires_at = NULL,
                 finished_at = CASE WHEN attempt >= max_attempts THEN now() END,
                 updated_at = now()
             WHERE id = ANY(ARRAY(SELECT id FROM jobs
                                  WHERE state = 'running' AND lease_expires_at < now()
                                  ORDER BY lease_expires_at LIMIT $1 FOR UPDATE SKIP LOCKED))
             RETURNING state",
            &[&limit],
        )
        .await?;
    let mut report = RescueReport::default();
    for row in &rows {
        let state: String = row.try_get("state")?;
        match state.parse().map_err(|e| corrupt("state", e))? {
            JobState::Failed => report.failed += 1,
            _ => report.retried += 1,
        }
    }
    Ok(report)
}
